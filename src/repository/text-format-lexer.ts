/**
 * The tokens of protobuf's text format (https://protobuf.dev/reference/protobuf/textformat-spec/):
 * identifiers, numbers, quoted strings (their bytes, escapes resolved) and punctuation, with
 * whitespace and `#` comments skipped. Positions are kept as offsets and turned into a line and
 * column only for an error.
 */

export type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The source text; for a string, its bytes are in `bytes`. */
  readonly text: string;
  readonly bytes?: Buffer;
  readonly offset: number;
}

export class TextFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TextFormatError';
  }
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:0[xX][0-9A-Fa-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)/y;
const SPACE = /(?:\s|#[^\n]*)*/y;
/** What a quoted string holds up to its next quote, escape or line end. */
const PLAIN_IN_DOUBLE = /[^"\\\n]+/y;
const PLAIN_IN_SINGLE = /[^'\\\n]+/y;
const PUNCT = '{}<>[]:,;-/.';
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };

export class Lexer {
  private pos = 0;
  private ahead: Token | undefined;

  constructor(private readonly source: string) {}

  peek(): Token {
    this.ahead ??= this.read();
    return this.ahead;
  }

  next(): Token {
    const token = this.peek();
    this.ahead = undefined;
    return token;
  }

  /** An error at a token: "line 3, column 7: message". */
  error(at: Token, message: string): TextFormatError {
    const before = this.source.slice(0, at.offset);
    const line = before.split('\n').length;
    const column = at.offset - before.lastIndexOf('\n');
    return new TextFormatError(`line ${line}, column ${column}: ${message}`);
  }

  private read(): Token {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.source);
    const offset = (this.pos = SPACE.lastIndex);
    if (offset >= this.source.length) return { kind: 'end', text: '', offset };
    const c = this.source[offset];
    if (c === '"' || c === "'") return this.string(offset, c);
    const number = this.match(NUMBER, offset);
    if (number !== undefined) {
      const follower = this.source[this.pos];
      if (follower !== undefined && /[A-Za-z0-9_]/.test(follower)) {
        throw this.error({ kind: 'number', text: number, offset }, `'${number}${follower}' is not a number`);
      }
      return { kind: 'number', text: number, offset };
    }
    const ident = this.match(IDENT, offset);
    if (ident !== undefined) return { kind: 'ident', text: ident, offset };
    if (PUNCT.includes(c)) {
      this.pos = offset + 1;
      return { kind: 'punct', text: c, offset };
    }
    throw this.error({ kind: 'punct', text: c, offset }, `unexpected character ${JSON.stringify(c)}`);
  }

  private match(pattern: RegExp, offset: number): string | undefined {
    pattern.lastIndex = offset;
    const m = pattern.exec(this.source);
    if (!m) return undefined;
    this.pos = pattern.lastIndex;
    return m[0];
  }

  /** A quoted string to its bytes: the source's characters as UTF-8, escapes as the bytes or code points they name. */
  private string(offset: number, quote: string): Token {
    const chunks: Buffer[] = [];
    const fail = (at: number, message: string): never => {
      throw this.error({ kind: 'string', text: '', offset: at }, message);
    };
    const plain = quote === '"' ? PLAIN_IN_DOUBLE : PLAIN_IN_SINGLE;
    let i = offset + 1;
    for (;;) {
      plain.lastIndex = i;
      const run = plain.exec(this.source);
      if (run) {
        chunks.push(Buffer.from(run[0], 'utf8'));
        i = plain.lastIndex;
      }
      const c = this.source[i];
      if (c === undefined || c === '\n') return fail(offset, 'a string is not closed on its line');
      if (c === quote) break;
      const e = this.source[i + 1] ?? '';
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        chunks.push(Buffer.from([simple]));
        i += 2;
      } else if (/[0-7]/.test(e)) {
        const digits = /^[0-7]{1,3}/.exec(this.source.slice(i + 1, i + 4))![0];
        const value = parseInt(digits, 8);
        if (value > 255) fail(i, `escape \\${digits} is past a byte`);
        chunks.push(Buffer.from([value]));
        i += 1 + digits.length;
      } else if (e === 'x' || e === 'X') {
        const digits = /^[0-9A-Fa-f]{1,2}/.exec(this.source.slice(i + 2, i + 4))?.[0] ?? fail(i, 'escape \\x needs hex digits');
        chunks.push(Buffer.from([parseInt(digits, 16)]));
        i += 2 + digits.length;
      } else if (e === 'u' || e === 'U') {
        const width = e === 'u' ? 4 : 8;
        const digits = this.source.slice(i + 2, i + 2 + width);
        if (!new RegExp(`^[0-9A-Fa-f]{${width}}$`).test(digits)) fail(i, `escape \\${e} needs ${width} hex digits`);
        const point = parseInt(digits, 16);
        if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) fail(i, `escape \\${e}${digits} is not a Unicode scalar value`);
        chunks.push(Buffer.from(String.fromCodePoint(point), 'utf8'));
        i += 2 + width;
      } else {
        fail(i, `unknown escape \\${e}`);
      }
    }
    this.pos = i + 1;
    return { kind: 'string', text: this.source.slice(offset, i + 1), bytes: Buffer.concat(chunks), offset };
  }
}
