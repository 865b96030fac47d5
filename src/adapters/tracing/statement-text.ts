/**
 * A statement's text as a span may show it: every literal replaced by '?' and every comment dropped.
 * The service's statements carry their values as parameters, except the ones sent with COMMIT (which can't
 * have parameters, so pg.escapeLiteral inlines them) and a few constants; this keeps any value out either way.
 * It reads PostgreSQL's lexical rules for what can hold a quote: '…' with '' inside, E'…' with backslash
 * escapes, U&'…', B'…', X'…' and N'…', $tag$…$tag$, "identifiers", line comments and nested block comments. When it can't
 * tell where one ends, it shows the statement's first word alone: unsure is hidden, never shown.
 */
export function maskLiterals(statement: string): string {
  const out: string[] = [];
  let i = 0;
  while (i < statement.length) {
    const end = tokenEnd(statement, i);
    if (end === UNTERMINATED) return firstWordOf(statement);
    if (end === undefined) {
      out.push(statement[i]!);
      i++;
      continue;
    }
    const token = statement.slice(i, end.at);
    out.push(
      end.kind === 'identifier' ? token : end.kind === 'literal' ? MASK : end.kind === 'line-comment' ? '' : ' ',
    );
    i = end.at;
  }
  return out.join('');
}

const MASK = "'?'";
const UNTERMINATED = 'unterminated';
type TokenEnd = { kind: 'literal' | 'identifier' | 'line-comment' | 'block-comment'; at: number };

/** A letter, digit, _ or $ of an identifier, or any non-ASCII character (which PostgreSQL allows in one). */
const IDENTIFIER_CHARACTER = /[\w$\u0080-\uffff]/;
/** $$ or $tag$, where the tag is an identifier that does not start with a digit ($1 is a parameter). */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/y;

/** Where the token starting at `i` ends, if one that can hide a value or a quote starts there. */
function tokenEnd(text: string, i: number): TokenEnd | typeof UNTERMINATED | undefined {
  const c = text[i]!;
  const next = text[i + 1];
  const afterIdentifier = i > 0 && IDENTIFIER_CHARACTER.test(text[i - 1]!);
  if (c === '-' && next === '-') {
    const newline = text.indexOf('\n', i);
    return { kind: 'line-comment', at: newline === -1 ? text.length : newline };
  }
  if (c === '/' && next === '*') return found('block-comment', endOfBlockComment(text, i));
  if (c === '"') return found('identifier', endOfQuoted(text, i, '"', false));
  if (c === "'") return found('literal', endOfQuoted(text, i, "'", false));
  if (afterIdentifier) return undefined;
  if ((c === 'E' || c === 'e') && next === "'") return found('literal', endOfQuoted(text, i + 1, "'", true));
  if ('BbXxNn'.includes(c) && next === "'") return found('literal', endOfQuoted(text, i + 1, "'", false));
  if ((c === 'U' || c === 'u') && next === '&' && text[i + 2] === "'")
    return found('literal', endOfQuoted(text, i + 2, "'", false));
  if (c === '$') {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(text)?.[0];
    if (tag === undefined) return undefined;
    const close = text.indexOf(tag, i + tag.length);
    return found('literal', close === -1 ? -1 : close + tag.length);
  }
  return undefined;
}

const found = (kind: TokenEnd['kind'], at: number): TokenEnd | typeof UNTERMINATED =>
  at === -1 ? UNTERMINATED : { kind, at };

/** The index just past the quote closing the one at `start`, or -1; a doubled quote is one quote inside. */
function endOfQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let j = start + 1; j < text.length; j++) {
    if (backslashEscapes && text[j] === '\\') j++;
    else if (text[j] === quote) {
      if (text[j + 1] !== quote) return j + 1;
      j++;
    }
  }
  return -1;
}

/** The index just past the block comment opened at `start` (they nest in PostgreSQL), or -1. */
function endOfBlockComment(text: string, start: number): number {
  let depth = 0;
  for (let j = start; j < text.length - 1; j++) {
    if (text[j] === '/' && text[j + 1] === '*') {
      depth++;
      j++;
    } else if (text[j] === '*' && text[j + 1] === '/') {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

function firstWordOf(statement: string): string {
  const word = /^\s*([A-Za-z]+)/.exec(statement)?.[1];
  return word ? `${word.toUpperCase()} …` : '…';
}
