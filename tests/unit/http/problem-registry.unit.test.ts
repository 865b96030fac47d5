import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../../src/adapters/http/problems.js';

/**
 * The error registry checked against what throws and what the contract promises, in the manner of fastify's
 * test/internals/errors.test.js: a code missing from PROBLEMS would surface as a 500, an entry nothing
 * answers with is dead, and a contract code without an entry is a broken promise.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const contract = readFileSync(path.resolve(repoRoot, '..', 'shared', 'API.md'), 'utf8');
const registered = Object.keys(PROBLEMS);

/** Contract codes that later issues will serve; each leaves this list when its registry entry lands. */
const NOT_YET_SERVED: Readonly<Record<string, string>> = {};

/** UPPER_SNAKE names the contract backticks that are not error codes. */
const NOT_ERROR_CODES: Readonly<Record<string, string>> = {
  SHOP_TIMEZONE: 'configuration',
  DATA_PLATFORM_MAX_ATTEMPTS: 'configuration',
  ADMIN_EMAIL: 'configuration',
  ADMIN_PASSWORD: 'configuration',
  AUTH_SIGNING_KEY: 'configuration',
  AUTH_JWKS_URL: 'configuration',
  AUTH_ISSUER: 'configuration',
  AUTH_AUDIENCE: 'configuration',
  AUTH_ADMIN_CLAIM: 'configuration',
  AUTH_ADMIN_ROLE: 'configuration',
  AUTH_RATE_LIMIT_PER_MINUTE: 'configuration',
  TRUST_PROXY: 'configuration',
  DATABASE_URL: 'configuration',
  DATABASE_REPLICA_URLS: 'configuration',
  DATABASE_REPLICA_MAX_LAG_MS: 'configuration',
  DATA_PLATFORM_URL: 'configuration',
  DATA_PLATFORM_SECRET: 'configuration',
  DATA_PLATFORM_PREVIOUS_SECRETS: 'configuration',
  CUSTOMER: 'a role',
  ADMIN: 'a role',
  REFUND: 'a balance history type',
  ORDER_PAID: 'a data-platform event type',
  SET: 'an SQL command',
  LISTEN: 'an SQL command',
};

const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/** Every backticked UPPER_SNAKE name (and every `code: "…"` value) in the contract that is not named above. */
function contractCodes(markdown: string): Set<string> {
  const codes = new Set<string>();
  for (const [, span = ''] of markdown.matchAll(/`([^`]+)`/g)) {
    if (span.length > 1 && UPPER_SNAKE.test(span)) codes.add(span);
    for (const [, code = ''] of span.matchAll(/"?code"?\s*:\s*"([A-Z][A-Z0-9_]*)"/g)) codes.add(code);
  }
  for (const name of Object.keys(NOT_ERROR_CODES)) codes.delete(name);
  return codes;
}

/** The status the contract gives a code where it writes one (`409 \`INSUFFICIENT_STOCK\``). */
function contractStatuses(markdown: string): Array<[code: string, status: number]> {
  return [...markdown.matchAll(/\b([1-5]\d\d)\s+`([A-Z][A-Z0-9_]*)`/g)].map(([, status, code]) => [
    code ?? '',
    Number(status),
  ]);
}

interface ErrorClass {
  readonly name: string;
  readonly base: string;
  readonly where: string;
  /** Its own `code`; undefined when it inherits one; a string starting with '?' when it can't be read. */
  readonly code: string | undefined;
}

function literalText(node: ts.Expression | undefined): string | undefined {
  let inner = node;
  while (inner && (ts.isAsExpression(inner) || ts.isParenthesizedExpression(inner))) inner = inner.expression;
  return inner && (ts.isStringLiteral(inner) || ts.isNoSubstitutionTemplateLiteral(inner)) ? inner.text : undefined;
}

/** Reads src/ with the TypeScript parser: every class and its `code`, every `problem('CODE', …)` call. */
function readSources(): { classes: ErrorClass[]; answered: Set<string> } {
  const classes: ErrorClass[] = [];
  const answered = new Set<string>();
  const srcDir = path.join(repoRoot, 'src');
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const source = ts.createSourceFile(
      file,
      readFileSync(path.join(srcDir, file), 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node) && node.name) {
        const extended = node.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword);
        const base = extended?.types[0]?.expression;
        const member = node.members.find((m) => m.name && ts.isIdentifier(m.name) && m.name.text === 'code');
        const abstract = member && ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Abstract;
        const code =
          !member || abstract
            ? undefined
            : (ts.isPropertyDeclaration(member) && literalText(member.initializer)) ||
              `? ${node.name.text}.code is not a string literal initializer`;
        if (base && ts.isIdentifier(base))
          classes.push({ name: node.name.text, base: base.text, where: `src/${file}`, code });
      }
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'problem') {
        const code = literalText(node.arguments[0]);
        if (code) answered.add(code);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { classes, answered };
}

/** The codes DomainError subclasses carry, found through any depth of subclassing. */
function domainErrorCodes(classes: ErrorClass[]): Map<string, string> {
  const family = new Set(['DomainError']);
  const codes = new Map<string, string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const error of classes) {
      if (family.has(error.name) || !family.has(error.base)) continue;
      family.add(error.name);
      grew = true;
      if (error.code !== undefined) codes.set(error.code, `${error.code} (${error.name}, ${error.where})`);
    }
  }
  return codes;
}

const sources = readSources();
const thrown = domainErrorCodes(sources.classes);
const used = new Set([...thrown.keys(), ...sources.answered]);
const promised = contractCodes(contract);

describe('the problem registry (src/adapters/http/problems.ts)', () => {
  it('reads the codes out of src/ and the contract (so the checks below are not vacuous)', () => {
    expect([...thrown.keys()]).toEqual(expect.arrayContaining(['INSUFFICIENT_STOCK', 'FORBIDDEN', 'INVALID_REQUEST']));
    expect([...sources.answered]).toEqual(expect.arrayContaining(['ROUTE_NOT_FOUND', 'INTERNAL_ERROR']));
    expect([...promised]).toEqual(expect.arrayContaining(['INSUFFICIENT_STOCK', 'INVALID_REQUEST', 'ROUTE_NOT_FOUND']));
  });

  it('reads every DomainError code as a string literal', () => {
    expect([...thrown.keys()].filter((code) => code.startsWith('?'))).toEqual([]);
  });

  it('has an entry for every code a DomainError carries or the edge answers with', () => {
    const missing = [...used].filter((code) => !registered.includes(code)).map((code) => thrown.get(code) ?? code);
    expect(missing, 'thrown or answered but not in PROBLEMS: it would be a 500').toEqual([]);
  });

  it('has no entry that nothing in src/ throws or answers with', () => {
    expect(
      registered.filter((code) => !used.has(code)),
      'in PROBLEMS but never thrown',
    ).toEqual([]);
  });

  it('has an entry for every error code in the contract, unless a later issue is named to serve it', () => {
    const missing = [...promised].filter((code) => !registered.includes(code) && !(code in NOT_YET_SERVED));
    expect(missing, 'in ../shared/API.md but not in PROBLEMS').toEqual([]);
  });

  it('answers with the status the contract gives each code', () => {
    const differing = contractStatuses(contract)
      .filter(([code]) => registered.includes(code))
      .filter(([code, status]) => PROBLEMS[code as keyof typeof PROBLEMS].status !== status)
      .map(([code, status]) => `${code}: contract ${status}`);
    expect(differing).toEqual([]);
  });

  it.each(Object.entries(NOT_YET_SERVED))('lists %s as not yet served (%s) only while it has no entry', (code) => {
    expect(promised, `${code} is no longer in the contract`).toContain(code);
    expect(registered, `${code} is in PROBLEMS now: remove it from NOT_YET_SERVED`).not.toContain(code);
  });

  it('sets aside as not error codes only names the contract uses, and never one it gives a status', () => {
    const withStatus = new Set(contractStatuses(contract).map(([code]) => code));
    for (const name of Object.keys(NOT_ERROR_CODES)) {
      expect(contract, `${name} is no longer in the contract`).toContain(`\`${name}\``);
      expect(withStatus.has(name) || registered.includes(name), `${name} is an error code`).toBe(false);
    }
  });
});
