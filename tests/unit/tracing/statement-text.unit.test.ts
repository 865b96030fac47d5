import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { maskLiterals } from '../../../src/adapters/tracing/statement-text.js';

describe("a statement's text in a span", () => {
  it('keeps the statement and its parameters', () => {
    expect(maskLiterals('SELECT * FROM users WHERE id = $1 LIMIT 20')).toBe(
      'SELECT * FROM users WHERE id = $1 LIMIT 20',
    );
    expect(maskLiterals('SELECT "o\'neil", "a""b" FROM t')).toBe('SELECT "o\'neil", "a""b" FROM t');
  });

  it("masks every quoted literal as '?', whatever its quoting", () => {
    expect(maskLiterals("WHERE status = 'PENDING' AND kind = 'A'")).toBe("WHERE status = '?' AND kind = '?'");
    expect(maskLiterals("VALUES ('k''1', E'{\"a\":\"\\\\x\"}'::jsonb)")).toBe("VALUES ('?', '?'::jsonb)");
    expect(maskLiterals("SELECT E'a\\'b secret1', 'x'")).toBe("SELECT '?', '?'");
    expect(maskLiterals("SELECT $$it's$$, 'secret2', $body$ a $$ b $body$")).toBe("SELECT '?', '?', '?'");
    expect(maskLiterals("SELECT U&'d\\0061t\\+000061', B'1010', X'1F'")).toBe("SELECT '?', '?', '?'");
  });

  it('drops comments, so a quote in one cannot unmask what follows', () => {
    expect(maskLiterals("-- the order's row\nSELECT 'secret5'")).toBe("\nSELECT '?'");
    expect(maskLiterals("SELECT /* isn't /* nested */ still */ 'secret6'")).toBe("SELECT   '?'");
  });

  it('shows only the statement’s first word when it cannot tell where a literal ends', () => {
    expect(maskLiterals("INSERT INTO t VALUES ('unterminated secret")).toBe('INSERT …');
    expect(maskLiterals('SELECT $tag$ never closed')).toBe('SELECT …');
    expect(maskLiterals('SELECT /* never closed')).toBe('SELECT …');
  });

  it('never shows any value pg.escapeLiteral inlines, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), (secret, other) => {
        const marked = `XX${secret}YY`;
        const statement = `INSERT INTO keys (key, body) VALUES (${pg.escapeLiteral(marked)}, ${pg.escapeLiteral(other)}::jsonb);\nCOMMIT`;
        const masked = maskLiterals(statement);
        // escapeLiteral writes ` E'…'` (a space first) when the value holds a backslash.
        expect(masked).toMatch(/^INSERT INTO keys \(key, body\) VALUES \( ?'\?', {1,2}'\?'::jsonb\);\nCOMMIT$/);
      }),
    );
  });
});
