/**
 * What a poll compares to tell whether a model changed on disk, and what a loaded version was
 * built from. A configuration file counts by its content (it is small). A model.onnx counts by size,
 * modification time (ns) and inode rather than by a hash: hashing every file of every model at
 * every poll would read gigabytes to find nothing, while a rewrite in place changes the mtime and
 * a replacement by rename (the safe way to update a model) changes the inode.
 */
import * as fs from 'node:fs/promises';
import type { ConfigSource } from './config-source';

/** size:mtimeNs:inode of a file, or undefined when there is none. */
export async function fileStamp(file: string): Promise<string | undefined> {
  try {
    const s = await fs.stat(file, { bigint: true });
    return s.isFile() ? `${s.size}:${s.mtimeNs}:${s.ino}` : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The configuration as read (undefined: none, auto-config) and the file a version is loaded from. */
export function versionSource(config: string | undefined, stamp: string): string {
  return JSON.stringify([config ?? null, stamp]);
}

/** Everything of a model folder that a poll watches: its configuration files, each version's file stamp, and the empty version folders (an ensemble's). */
export function folderFingerprint(configs: readonly ConfigSource[], versions: ReadonlyMap<number, string>, bareVersions: readonly number[]): string {
  return JSON.stringify([configs, [...versions], bareVersions]);
}

/** The path, or a folder on it, does not exist. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
