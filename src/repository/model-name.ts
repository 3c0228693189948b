/**
 * A model name is one folder of the model repository, and explicit mode reads <repository>/<name>/
 * for it: every RPC checks the name it is given here, before any lookup or file system access,
 * so no name can lead outside the repository.
 */
import { invalidArgument } from '../errors';

/** The usual limit on one path component (ext4, XFS, most others). */
export const MAX_MODEL_NAME_BYTES = 255;

/** A name with none of the flaws below but its length: one test on the hot path (ModelInfer). */
const PLAIN_NAME = /^[^./\\\u0000-\u001f\u007f][^/\\\u0000-\u001f\u007f]*$/;

/** What makes `name` no folder name, or undefined when it is one. */
function flaw(name: string): string | undefined {
  if (Buffer.byteLength(name, 'utf8') > MAX_MODEL_NAME_BYTES) return `it is longer than ${MAX_MODEL_NAME_BYTES} bytes`;
  if (name.startsWith('.')) return "it starts with '.'";
  if (/[/\\]/.test(name)) return "it contains a path separator ('/' or '\\')";
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a NUL or another control character';
  return undefined;
}

/** `field` is the request's field that carried the name, so the client knows which one to fix. */
export function checkModelName(name: string, field: string): void {
  if (name === '') throw invalidArgument(`${field} is required`);
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so a short plain name needs no byte count.
  if (name.length <= MAX_MODEL_NAME_BYTES / 3 && PLAIN_NAME.test(name)) return;
  const why = flaw(name);
  if (why !== undefined) throw invalidArgument(`${field} '${printable(name)}' is not the name of a folder in the model repository: ${why}`);
}

/** The name as an error message may show it: control characters escaped, at most 64 characters. */
function printable(name: string): string {
  const escaped = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > 64 ? `${escaped.slice(0, 64)}…` : escaped;
}
