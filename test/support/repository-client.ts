/**
 * The repository extension from a client's side (RepositoryIndex, RepositoryModelLoad / Unload),
 * and affine models whose every version has its own weights, so an answer tells which file computed it.
 */
import { expect } from 'chai';
import { maxAbsDiff } from './batching-client';
import { affineModel, affineReference, affineRequest, type AffineOutput } from './generated-models';
import { readFp32, type InferenceClient } from './server';

export interface IndexRow {
  name: string;
  version: string;
  state: string;
  reason: string;
}

/** RepositoryIndex, with the fields proto-loader leaves out when empty filled in as ''. */
export async function repositoryIndex(client: InferenceClient, ready = false): Promise<IndexRow[]> {
  const res = await client.unary<{ models?: Partial<IndexRow>[] }>('RepositoryIndex', { ready });
  return (res.models ?? []).map((m) => ({ name: m.name ?? '', version: m.version ?? '', state: m.state ?? '', reason: m.reason ?? '' }));
}

/** One model's rows as 'version state' strings, e.g. ['1 READY', '2 UNAVAILABLE']. */
export async function versionStates(client: InferenceClient, model: string): Promise<string[]> {
  return (await repositoryIndex(client)).filter((r) => r.name === model).map((r) => `${r.version} ${r.state}`.trim());
}

export function loadModel(client: InferenceClient, name: string, parameters: object = {}): Promise<unknown> {
  return client.unary('RepositoryModelLoad', { model_name: name, parameters });
}

export function unloadModel(client: InferenceClient, name: string, parameters: object = {}): Promise<unknown> {
  return client.unary('RepositoryModelUnload', { model_name: name, parameters });
}

/** RepositoryModelLoad's 'config' parameter: a configuration that replaces config.json. */
export function configParameter(config: object): object {
  return { config: { string_param: JSON.stringify(config) } };
}

export const WIDTH = 4;

/** Version v computes y = x * (1 + v / 2) + (3 - 1.25 v): no two versions agree anywhere on WIDE_X. */
export function weightsOf(version: number): AffineOutput {
  return { name: 'y', scale: 1 + version / 2, bias: 3 - 1.25 * version };
}

export function versionedModel(version: number): Uint8Array {
  return affineModel([WIDTH], [weightsOf(version)]);
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: { name: string; shape: string[] }[];
  raw_output_contents: Buffer[];
}

/** Two rows of values away from the points where two versions' lines cross. */
export const X = Float32Array.from({ length: 2 * WIDTH }, (_, i) => 10 + i);

export function inferVersioned(client: InferenceClient, model: string, version?: string): Promise<InferResponse> {
  return client.unary<InferResponse>('ModelInfer', affineRequest(model, [2, WIDTH], X, { version }));
}

/** The response is version `version`'s: its label, and the values only that version's weights give. */
export function expectComputedBy(res: InferResponse, version: number): void {
  expect(res.model_version, 'model_version').to.equal(String(version));
  expect(computedBy(res), `the version whose weights gave y (labelled ${res.model_version})`).to.equal(version);
}

/** The version among 1..9 whose weights give the response's y, or undefined. */
export function computedBy(res: InferResponse): number | undefined {
  const y = readFp32(res.raw_output_contents[0]);
  for (let v = 1; v <= 9; v++) if (maxAbsDiff(y, affineReference(X, weightsOf(v))) < 1e-4) return v;
  return undefined;
}
