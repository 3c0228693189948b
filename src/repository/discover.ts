import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CONFIG_FILES, type ConfigSource } from './config-source';
import type { VersionPolicy } from './model-config';
import { fileStamp, isMissing } from './model-fingerprint';

/** One `<repository>/<model>/` folder as it is on disk now. */
export interface ModelFolder {
  readonly name: string;
  readonly dir: string;
  /** Each configuration file present (config.pbtxt, config.json): none means auto-config, two are refused at load. */
  readonly configs: readonly ConfigSource[];
  /** Numeric version folders that hold a model.onnx, ascending, each with its file's stamp. */
  readonly versions: ReadonlyMap<number, string>;
  /** Numeric folders holding a model.onnx that name no version, each with why ("'01' (a leading zero: name it '1')"). */
  readonly ignored: readonly string[];
  /** Version folders without a model.onnx, ascending: an ensemble's versions are folders with nothing in them. */
  readonly bareVersions: readonly number[];
}

export const MODEL_FILE = 'model.onnx';

/** The model folders of the repository in Triton's layout, by name; hidden entries are ignored. */
export async function listModelFolders(repository: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(repository, { withFileTypes: true });
  } catch (err) {
    throw new Error(`model repository '${repository}' cannot be read: ${(err as Error).message}`);
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    // A symbolic link to a folder counts too (Kubernetes volumes are made of them).
    if (entry.isDirectory() || (entry.isSymbolicLink() && (await isFolder(path.join(repository, entry.name))))) names.push(entry.name);
  }
  return names.sort((a, b) => a.localeCompare(b));
}

/** Reads `<repository>/<name>/`: its configuration files and version folders; undefined when the folder is gone. */
export async function readModelFolder(repository: string, name: string): Promise<ModelFolder | undefined> {
  const dir = path.join(repository, name);
  let children;
  try {
    children = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const found: [number, string][] = [];
  const ignored: string[] = [];
  const bare: number[] = [];
  for (const child of children) {
    if (!/^[0-9]+$/.test(child.name)) continue;
    const stamp = await fileStamp(path.join(dir, child.name, MODEL_FILE));
    // The version's files are found again by its number, so the folder must be named as it prints.
    const version = Number(child.name);
    if (stamp === undefined) {
      if (Number.isSafeInteger(version) && String(version) === child.name && (await isFolder(path.join(dir, child.name)))) bare.push(version);
      continue;
    }
    if (!Number.isSafeInteger(version)) ignored.push(`'${child.name}' (past 2^53 - 1, the largest version)`);
    else if (String(version) !== child.name) ignored.push(`'${child.name}' (a leading zero: name it '${version}')`);
    else found.push([version, stamp]);
  }
  const configs: ConfigSource[] = [];
  for (const file of CONFIG_FILES) {
    try {
      configs.push({ file, text: await fs.readFile(path.join(dir, file), 'utf8') });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return { name, dir, configs, versions: new Map(found.sort(([a], [b]) => a - b)), ignored: ignored.sort(), bareVersions: bare.sort((a, b) => a - b) };
}

/** The versions a policy serves out of those on disk. */
export function selectVersions(available: readonly number[], policy: VersionPolicy): number[] {
  switch (policy.kind) {
    case 'all':
      return [...available];
    case 'latest':
      return available.slice(-policy.numVersions);
    case 'specific':
      return available.filter((v) => policy.versions.includes(v));
  }
}

async function isFolder(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
