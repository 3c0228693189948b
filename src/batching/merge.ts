/**
 * Gathers the inputs of a batch's jobs into one tensor per input along the batch
 * dimension, and scatters the model's outputs back to each job as views, not copies. A tensor
 * with Triton's `reshape` changes only its dims on the way: the bytes are the same row-major run.
 */
import { internal } from '../errors';
import { allocate, fromOrtType, isNumeric, toOrtType, type NumericArray } from '../tensor/datatype';
import { elementCount, type Tensor } from '../tensor/tensor';
import type { ModelConfig } from '../repository/model-config';
import type { WireTensor } from '../runtime/worker-protocol';
import type { InferenceJob } from './inference-job';

export interface MergedFeeds {
  readonly feeds: Record<string, WireTensor>;
  /** Fresh buffers that may move to the worker without copying. */
  readonly transfer: ArrayBuffer[];
}

const utf8 = new TextDecoder();

/** Per tensor with a reshape, without the batch dimension: the dims the model takes for an input, the dims clients get for an output. */
export interface Reshapes {
  readonly inputs: ReadonlyMap<string, readonly number[]>;
  readonly outputs: ReadonlyMap<string, readonly number[]>;
}

export const NO_RESHAPES: Reshapes = { inputs: new Map(), outputs: new Map() };

export function reshapesOf(config: Pick<ModelConfig, 'inputs' | 'outputs'>): Reshapes {
  const inputs = new Map<string, readonly number[]>();
  for (const t of config.inputs) if (t.reshape) inputs.set(t.name, t.reshape);
  const outputs = new Map<string, readonly number[]>();
  for (const t of config.outputs) if (t.reshape) outputs.set(t.name, t.dims);
  return { inputs, outputs };
}

/** Every job carries the same input names (validation guarantees it) and, within a batch, the same non-batch dims. */
export function mergeInputs(jobs: readonly Pick<InferenceJob, 'inputs'>[], rows: number, batched: boolean, reshapes = NO_RESHAPES): MergedFeeds {
  const feeds: Record<string, WireTensor> = {};
  const transfer: ArrayBuffer[] = [];
  for (const first of jobs[0].inputs) {
    const own = reshapes.inputs.get(first.name);
    const dims = batched ? [rows, ...(own ?? first.shape.slice(1))] : [...(own ?? first.shape)];
    if (isNumeric(first.datatype)) {
      const data = allocate(first.datatype, elementCount(dims));
      let offset = 0;
      for (const job of jobs) {
        const src = inputNamed(job, first.name).data as NumericArray;
        // Same constructor on both sides, so set() is a plain memory copy.
        (data as Uint8Array).set(src as Uint8Array, offset);
        offset += src.length;
      }
      feeds[first.name] = { type: toOrtType(first.datatype), dims, data };
      transfer.push(data.buffer as ArrayBuffer);
    } else {
      const data: string[] = [];
      for (const job of jobs) for (const bytes of inputNamed(job, first.name).data as readonly Uint8Array[]) data.push(utf8.decode(bytes));
      feeds[first.name] = { type: 'string', dims, data };
    }
  }
  return { feeds, transfer };
}

function inputNamed(job: Pick<InferenceJob, 'inputs'>, name: string): Tensor {
  for (const t of job.inputs) if (t.name === name) return t;
  throw internal(`batched job lacks input '${name}'`);
}

/** Splits each output by the jobs' row counts; each job gets only the outputs it asked for. */
export function splitOutputs(jobs: readonly InferenceJob[], outputs: Record<string, WireTensor>, rows: number, batched: boolean, reshapes = NO_RESHAPES): Tensor[][] {
  const perJob: Tensor[][] = [];
  for (let i = 0; i < jobs.length; i++) perJob.push([]);
  for (const name in outputs) {
    const out = outputs[name];
    const datatype = fromOrtType(out.type);
    if (!datatype) throw internal(`output '${name}' has type ${out.type}, which the protocol cannot carry`);
    if (batched && out.dims[0] !== rows) {
      throw internal(`output '${name}' has ${out.dims[0]} rows for a batch of ${rows}`);
    }
    const rowElements = batched && rows > 0 ? out.data.length / rows : 0;
    const clients = reshapes.outputs.get(name);
    if (clients && (batched ? rowElements : out.data.length) !== elementCount(clients)) {
      throw internal(`output '${name}' has dims [${out.dims.join(',')}], which its reshape to [${clients.join(',')}] cannot take`);
    }
    let row = 0;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i];
      const start = row;
      row += job.rows;
      if (!job.outputs.includes(name)) continue;
      if (!batched) {
        perJob[i].push({ name, datatype, shape: clients ?? out.dims, data: bytesOf(out.data) });
        continue;
      }
      const from = start * rowElements;
      const to = row * rowElements;
      const data = Array.isArray(out.data) ? bytesOf(out.data.slice(from, to)) : (out.data as NumericArray).subarray(from, to);
      perJob[i].push({ name, datatype, shape: [job.rows, ...(clients ?? out.dims.slice(1))], data });
    }
  }
  return perJob;
}

function bytesOf(data: WireTensor['data']): Tensor['data'] {
  return Array.isArray(data) ? data.map((s) => Buffer.from(s, 'utf8')) : (data as NumericArray);
}
