/**
 * A message in protobuf's text format (Triton's config.pbtxt) read against its protobufjs schema
 * into the object protobufjs's `toObject` gives (`keepCase`, enums by name, 64-bit integers as
 * numbers while exact, else decimal strings, bytes as base64, maps as objects): the same object
 * JSON.parse gives for the message's JSON form, so config.pbtxt and config.json share one reader.
 * The schema says which fields repeat and which are maps, messages or enums; every value is
 * checked against its field's type, and what the text format refuses is refused: an unknown
 * field, a singular field or a oneof set twice, a list on a field that does not repeat.
 */
import { Enum, MapField, Type, type Field } from 'protobufjs';
import type { Json } from './config-json';
import { Lexer, type Token } from './text-format-lexer';

export { TextFormatError } from './text-format-lexer';

/** One field as the parser needs it; a map's entries are read as messages of two such fields. */
interface FieldInfo {
  readonly name: string;
  readonly repeated: boolean;
  /** The map's key and value, when the field is a map. */
  readonly entry?: readonly [FieldInfo, FieldInfo];
  /** A message or enum type, or the scalar type's name. */
  readonly type: Type | Enum | string;
  readonly oneof?: string;
}

interface Scope {
  readonly typeName: string;
  field(name: string): FieldInfo | undefined;
}

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const CLOSE: Record<string, string> = { '{': '}', '<': '>' };
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Throws TextFormatError naming the line and column of the first problem. */
export function parseTextFormat(text: string, type: Type): Json {
  const lexer = new Lexer(text);
  return new Parser(lexer).message(messageScope(type), undefined);
}

function messageScope(type: Type): Scope {
  // hasOwn: a name such as 'constructor' is no field.
  return { typeName: type.fullName.replace(/^\./, ''), field: (name) => (Object.hasOwn(type.fields, name) ? fieldInfo(type.fields[name]) : undefined) };
}

function fieldInfo(field: Field): FieldInfo {
  const resolved = field.resolve().resolvedType;
  const info = { name: field.name, repeated: field.repeated, type: resolved ?? field.type, oneof: field.partOf?.name };
  if (!(field instanceof MapField)) return info;
  const key: FieldInfo = { name: 'key', repeated: false, type: field.keyType };
  return { ...info, repeated: true, entry: [key, { name: 'value', repeated: false, type: resolved ?? field.type }] };
}

class Parser {
  constructor(private readonly lexer: Lexer) {}

  /** Fields up to `close` (the end of the text for the top level). */
  message(scope: Scope, close: string | undefined): Json {
    const out: Json = {};
    const oneofs = new Map<string, string>();
    for (;;) {
      const token = this.lexer.next();
      if (token.kind === 'end') {
        if (close === undefined) return out;
        throw this.lexer.error(token, `expected '${close}' to close ${scope.typeName}, found the end of the text`);
      }
      if (token.kind === 'punct' && token.text === close) return out;
      if (token.kind === 'punct' && token.text === '[') throw this.lexer.error(token, 'extensions and Any fields are not supported');
      if (token.kind !== 'ident') throw this.lexer.error(token, `expected a field name of ${scope.typeName}, found ${describe(token)}`);
      const field = scope.field(token.text);
      if (!field) throw this.lexer.error(token, `${scope.typeName} has no field '${token.text}'`);
      if (field.oneof !== undefined) {
        const other = oneofs.get(field.oneof);
        if (other !== undefined && other !== field.name) throw this.lexer.error(token, `'${field.name}' and '${other}' are one of ${field.oneof}: set only one`);
        oneofs.set(field.oneof, field.name);
      }
      this.fieldValues(field, token, out);
      const separator = this.lexer.peek();
      if (separator.kind === 'punct' && (separator.text === ',' || separator.text === ';')) this.lexer.next();
    }
  }

  private fieldValues(field: FieldInfo, at: Token, out: Json): void {
    const isMessage = field.entry !== undefined || field.type instanceof Type;
    const colon = this.lexer.peek();
    if (colon.kind === 'punct' && colon.text === ':') this.lexer.next();
    else if (!isMessage) throw this.lexer.error(colon, `expected ':' after '${field.name}', found ${describe(colon)}`);
    const open = this.lexer.peek();
    if (!(open.kind === 'punct' && open.text === '[')) {
      this.store(field, at, this.value(field), out);
      return;
    }
    if (!field.repeated) throw this.lexer.error(open, `'${field.name}' is not a repeated field: it takes one value, not a list`);
    this.lexer.next();
    if (this.isPunct(']')) {
      this.lexer.next();
      this.store(field, at, undefined, out);
      return;
    }
    for (;;) {
      this.store(field, at, this.value(field), out);
      const after = this.lexer.next();
      if (after.kind === 'punct' && after.text === ']') return;
      if (!(after.kind === 'punct' && after.text === ',')) throw this.lexer.error(after, `expected ',' or ']' in the list of '${field.name}', found ${describe(after)}`);
    }
  }

  /** Adds one value; undefined: an empty list, which still makes a repeated field present. */
  private store(field: FieldInfo, at: Token, value: unknown, out: Json): void {
    if (field.entry) {
      const map = (out[field.name] ??= {}) as Json;
      if (value === undefined) return;
      const entry = value as Json;
      const [key, val] = field.entry;
      // defineProperty: a key such as "__proto__" is then a key, as JSON.parse makes it.
      Object.defineProperty(map, String(entry.key ?? defaultOf(key)), { value: entry.value ?? defaultOf(val), enumerable: true, writable: true, configurable: true });
    } else if (field.repeated) {
      const list = (out[field.name] ??= []) as unknown[];
      if (value !== undefined) list.push(value);
    } else {
      if (Object.hasOwn(out, field.name)) throw this.lexer.error(at, `'${field.name}' is set twice; it is not a repeated field`);
      out[field.name] = value;
    }
  }

  private value(field: FieldInfo): unknown {
    if (field.entry) return this.braced(entryScope(field.name, field.entry));
    if (field.type instanceof Type) return this.braced(messageScope(field.type));
    return this.scalar(field);
  }

  private braced(scope: Scope): Json {
    const open = this.lexer.next();
    const close = open.kind === 'punct' ? CLOSE[open.text] : undefined;
    if (close === undefined) throw this.lexer.error(open, `expected '{' to open ${scope.typeName}, found ${describe(open)}`);
    return this.message(scope, close);
  }

  private scalar(field: FieldInfo): unknown {
    const { type } = field;
    if (type === 'string' || type === 'bytes') return this.strings(field, type);
    const negative = this.isPunct('-');
    if (negative) this.lexer.next();
    const token = this.lexer.next();
    const sign = negative ? '-' : '';
    const fail = (expected: string): never => {
      throw this.lexer.error(token, `'${field.name}' takes ${expected}, not ${describe(token, sign)}`);
    };
    if (type instanceof Enum) {
      if (token.kind === 'ident' && !negative) {
        if (!Object.hasOwn(type.values, token.text)) fail(`one of ${Object.keys(type.values).join(', ')}`);
        return token.text;
      }
      const name = token.kind === 'number' ? type.valuesById[Number(this.integer(token, sign, fail))] : undefined;
      return name ?? fail(`one of ${Object.keys(type.values).join(', ')}`);
    }
    if (type === 'bool') {
      if (negative) fail('true or false');
      if (['true', 'True', 't', '1'].includes(token.text)) return true;
      if (['false', 'False', 'f', '0'].includes(token.text)) return false;
      return fail('true or false');
    }
    if (type === 'float' || type === 'double') {
      if (token.kind === 'ident') {
        const word = token.text.toLowerCase();
        if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
        if (word === 'nan') return NaN;
        return fail('a number');
      }
      if (token.kind !== 'number') return fail('a number');
      const digits = token.text.replace(/[fF]$/, '');
      return /^0[xX]/.test(digits) || /^0[0-7]+$/.test(digits) ? Number(this.integer(token, sign, fail)) : Number(sign + digits);
    }
    const range = INT_RANGES[type as string] ?? fail('a value of a type this reader does not know');
    const n = this.integer(token, sign, fail);
    if (n < range[0] || n > range[1]) fail(`an integer within ${range[0]}..${range[1]}`);
    // int64 and uint64 as protobufjs's toObject with longs: Number would, but only while exact.
    return Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
  }

  /** An integer literal: decimal, 0x hex or 0 octal; a float literal is refused. */
  private integer(token: Token, sign: string, fail: (expected: string) => never): bigint {
    const t = token.text;
    let magnitude: bigint;
    if (token.kind !== 'number') return fail('an integer');
    if (/^0[xX][0-9A-Fa-f]+$/.test(t)) magnitude = BigInt(`0x${t.slice(2)}`);
    else if (/^0[0-7]+$/.test(t)) magnitude = BigInt(`0o${t.slice(1)}`);
    else if (/^(?:0|[1-9][0-9]*)$/.test(t)) magnitude = BigInt(t);
    else return fail('an integer');
    return sign ? -magnitude : magnitude;
  }

  /** One string or several side by side, concatenated; a string field must be UTF-8. */
  private strings(field: FieldInfo, type: 'string' | 'bytes'): string {
    const first = this.lexer.next();
    if (first.kind !== 'string') throw this.lexer.error(first, `'${field.name}' takes a quoted string, not ${describe(first)}`);
    const parts = [first.bytes!];
    while (this.lexer.peek().kind === 'string') parts.push(this.lexer.next().bytes!);
    const bytes = Buffer.concat(parts);
    if (type === 'bytes') return bytes.toString('base64');
    try {
      return UTF8.decode(bytes);
    } catch {
      throw this.lexer.error(first, `'${field.name}' is not valid UTF-8`);
    }
  }

  private isPunct(text: string): boolean {
    const token = this.lexer.peek();
    return token.kind === 'punct' && token.text === text;
  }
}

function entryScope(name: string, [key, value]: readonly [FieldInfo, FieldInfo]): Scope {
  return { typeName: `the entry of map '${name}'`, field: (n) => (n === 'key' ? key : n === 'value' ? value : undefined) };
}

/** What protobufjs's toObject gives an unset map key or value. */
function defaultOf(field: FieldInfo): unknown {
  const { type } = field;
  if (type instanceof Type) return {};
  if (type instanceof Enum) return type.valuesById[0];
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

/** A token as an error shows it, after a '-' read before it if there was one. */
function describe(token: Token, sign = ''): string {
  if (token.kind === 'end') return 'the end of the text';
  const text = sign + token.text;
  return `'${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`;
}
