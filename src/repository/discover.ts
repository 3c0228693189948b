import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { VersionPolicy } from './model-config';

export interface DiscoveredModel {
  readonly name: string;
  readonly dir: string;
  /** Parsed config.json, or undefined when the folder has none (auto-config). */
  readonly configJson: unknown;
  /** Why config.json could not be parsed: that model fails to load, the others still serve. */
  readonly configError: string | undefined;
  /** Numeric version folders that hold a model.onnx, ascending. */
  readonly versions: readonly number[];
}

export const MODEL_FILE = 'model.onnx';

/** Lists `<repo>/<model>/<version>/model.onnx` in Triton's layout; other entries are ignored. */
export async function discoverModels(repository: string): Promise<DiscoveredModel[]> {
  let entries;
  try {
    entries = await fs.readdir(repository, { withFileTypes: true });
  } catch (err) {
    throw new Error(`model repository '${repository}' cannot be read: ${(err as Error).message}`);
  }
  const models: DiscoveredModel[] = [];
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(repository, entry.name);
    const children = await fs.readdir(dir, { withFileTypes: true });
    const versions: number[] = [];
    for (const child of children) {
      if (!child.isDirectory() || !/^[0-9]+$/.test(child.name)) continue;
      if (await exists(path.join(dir, child.name, MODEL_FILE))) versions.push(Number(child.name));
    }
    const configPath = path.join(dir, 'config.json');
    let configJson: unknown;
    let configError: string | undefined;
    if (await exists(configPath)) {
      try {
        configJson = JSON.parse(await fs.readFile(configPath, 'utf8'));
      } catch (err) {
        configError = `model '${entry.name}' config.json is not valid JSON: ${(err as Error).message}`;
      }
    }
    models.push({ name: entry.name, dir, configJson, configError, versions: versions.sort((a, b) => a - b) });
  }
  return models;
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

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
