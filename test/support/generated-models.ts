/**
 * Tiny models generated on the fly, whose every answer a test can compute by hand, and the
 * plumbing to serve them: a throw-away repository (any versions, any config.json) behind a real server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, floatTensor, node, serializeModel, valueInfo, type Dim } from '../../scripts/onnx/builder';
import { makeTempDir, removeDir, writeModelConfig, writeModelFile } from './e2e-helpers';
import type { Logger } from '../../src/observability/logger';
import { fp32Bytes, startTestServer, type TestServer } from './server';

/** One output of an affine model: out = x * scale + bias, element by element. */
export interface AffineOutput {
  readonly name: string;
  readonly scale: number;
  readonly bias: number;
}

/**
 * x FLOAT [batch, ...dims] -> one output per entry of `outputs`, each of x's shape.
 * Element-wise, so any symbolic dim accepts any size, and rows never mix.
 */
export function affineModel(dims: readonly Dim[], outputs: readonly AffineOutput[]): Uint8Array {
  const shape: Dim[] = ['batch', ...dims];
  return serializeModel({
    graphName: 'affine',
    docString: 'Each output is x * scale + bias, element-wise.',
    inputs: [valueInfo('x', DataType.FLOAT, shape)],
    outputs: outputs.map((o) => valueInfo(o.name, DataType.FLOAT, shape)),
    initializers: outputs.flatMap((o) => [
      floatTensor(`${o.name}_scale`, [], Float32Array.of(o.scale)),
      floatTensor(`${o.name}_bias`, [], Float32Array.of(o.bias)),
    ]),
    nodes: outputs.flatMap((o) => [
      node('Mul', ['x', `${o.name}_scale`], [`${o.name}_scaled`], `${o.name}_mul`),
      node('Add', [`${o.name}_scaled`, `${o.name}_bias`], [o.name], `${o.name}_add`),
    ]),
  });
}

/** What an affine output holds for `x`, in float32 as ONNX Runtime computes it. */
export function affineReference(x: Float32Array, output: AffineOutput): Float32Array {
  return x.map((v) => Math.fround(Math.fround(v * output.scale) + output.bias));
}

/** Deterministic values for a tensor of `count` elements, distinct per seed. */
export function valuesOf(seed: number, count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.fround(Math.sin(seed * 3.7 + i * 0.61) * 4));
}

/** A ModelInferRequest (proto-loader object form) with one FP32 input 'x'. */
export function affineRequest(
  model: string,
  shape: readonly number[],
  x: Float32Array,
  options: { id?: string; version?: string; outputs?: readonly string[] } = {},
): object {
  return {
    model_name: model,
    ...(options.version !== undefined && { model_version: options.version }),
    id: options.id ?? '',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [...shape] }],
    ...(options.outputs && { outputs: options.outputs.map((name) => ({ name })) }),
    raw_input_contents: [fp32Bytes(x)],
  };
}

/** A model folder: its config.json (undefined: none) and the bytes of each version's model.onnx. */
export interface RepositoryModel {
  readonly name: string;
  readonly config: object | undefined;
  readonly versions: ReadonlyMap<number, Uint8Array>;
  /** Version folders made empty (an ensemble's). */
  readonly emptyVersions?: readonly number[];
}

export interface RepositoryServer extends TestServer {
  readonly repo: string;
}

/** Writes the models to a fresh temporary repository and serves it; stop() removes the folder too. */
export async function serveRepository(models: readonly RepositoryModel[], env: NodeJS.ProcessEnv = {}, log?: Logger): Promise<RepositoryServer> {
  const repo = makeTempDir('e2e-generated');
  try {
    for (const m of models) {
      for (const [version, bytes] of m.versions) writeModelFile(repo, m.name, version, bytes);
      for (const version of m.emptyVersions ?? []) fs.mkdirSync(path.join(repo, m.name, String(version)), { recursive: true });
      if (m.config) writeModelConfig(repo, m.name, { name: m.name, ...m.config });
    }
    const t = await startTestServer({ MODEL_REPOSITORY: repo, ORT_INTRA_OP_THREADS: '1', ...env }, log);
    return {
      ...t,
      repo,
      stop: async () => {
        await t.stop();
        removeDir(repo);
      },
    };
  } catch (err) {
    removeDir(repo);
    throw err;
  }
}
