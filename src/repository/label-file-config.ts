/**
 * An output's `label_filename` in a model configuration: a file in the model's folder (labels.ts
 * reads it). Only a plain file name is taken: a path would let a configuration sent by
 * RepositoryModelLoad read any file the server can, and answer its lines to clients.
 */
import type { Fail } from './config-json';

export function parseLabelFile(value: unknown, where: string, fail: Fail): string {
  if (typeof value !== 'string' || value === '') return fail(`${where}.label_filename must be a non-empty string`);
  if (/[/\\\0]/.test(value) || value === '.' || value === '..') fail(`${where}.label_filename '${value}' must be a file name in the model's folder, not a path`);
  return value;
}
