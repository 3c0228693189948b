/** Reading values out of a parsed config.json: every check names the key it failed on. */

export type Json = Record<string, unknown>;

/** Throws the caller's error type with the message; never returns. */
export type Fail = (message: string) => never;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON from protobuf writes uint64 as strings, so accept both. */
export function nonNegativeInt(value: unknown, key: string, fail: Fail): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`${key} must be an integer >= 0`);
  return n as number;
}

export function positiveInt(value: unknown, key: string, fail: Fail): number {
  const n = nonNegativeInt(value, key, fail);
  if (n < 1) fail(`${key} must be an integer >= 1`);
  return n;
}

/** A value of Triton's `parameters` map ({ "key": { "string_value": "..." } }); undefined when the key is absent. */
export function parameterString(parameters: Json, key: string, fail: Fail): string | undefined {
  const entry = parameters[key];
  if (entry === undefined) return undefined;
  if (!isObject(entry) || typeof entry.string_value !== 'string') return fail(`parameters.${key} must be an object with a string_value`);
  return entry.string_value;
}
