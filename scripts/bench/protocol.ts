/**
 * The protocol pieces the benchmark's processes share: the proto-loader definition (same
 * proto and options as the server), the one pre-serialized request, and the response the
 * bare server answers with (same names, shapes and size as the real server's).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/platform/proto-dir';
import { LOADER_OPTIONS } from '../../src/transport/protos';
import { STOCK_FEATURES } from '../make-models';

export const SERVICE_NAME = 'inference.GRPCInferenceService';
export const REPO_ROOT = path.dirname(PROTO_DIR);
export const INFER_PATH = `/${SERVICE_NAME}/ModelInfer`;
export const STREAM_PATH = `/${SERVICE_NAME}/ModelStreamInfer`;
export const STATS_PATH = `/${SERVICE_NAME}/ModelStatistics`;

/** Channel options both sides use: the server's own limits are 64 MiB, which these messages never reach. */
export const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

/**
 * The model every process of the bench drives: BENCH_MODEL names it (default stock_scorer) and
 * BENCH_MODEL_DIR holds its config.json and 1/model.onnx (default models/<name>). The bench sets
 * both before it starts its servers, so that the children, the bare one included, agree.
 */
export interface BenchModel {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  /** Its one FP32 input, [batch, width]. */
  readonly input: string;
  readonly width: number;
  /** The row every request sends. */
  readonly row: Float32Array;
}

interface ConfigTensor {
  readonly name: string;
  readonly data_type: string;
  readonly dims: readonly number[];
}

interface BenchConfig {
  readonly input: readonly ConfigTensor[];
  readonly output: readonly ConfigTensor[];
}

let model: BenchModel | undefined;

export function benchModel(): BenchModel {
  if (model) return model;
  const name = process.env.BENCH_MODEL ?? 'stock_scorer';
  const dir = process.env.BENCH_MODEL_DIR ?? path.join(REPO_ROOT, 'models', name);
  const input = readConfig(dir).input;
  if (input.length !== 1 || input[0].data_type !== 'TYPE_FP32' || input[0].dims.length !== 1) throw new Error(`bench model ${name}: needs one FP32 input of dims [width]`);
  const width = input[0].dims[0];
  // stock_scorer gets plausible features (their means); other models a fixed pattern in [-0.5, 0.5).
  const row = name === 'stock_scorer' ? Float32Array.from(STOCK_FEATURES, (f) => f.mean) : Float32Array.from({ length: width }, (_, i) => ((i * 7919) % 97) / 97 - 0.5);
  model = { name, dir, file: path.join(dir, '1', 'model.onnx'), input: input[0].name, width, row };
  return model;
}

function readConfig(dir: string): BenchConfig {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as BenchConfig;
}

let definition: protoLoader.PackageDefinition | undefined;

export function packageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS);
  return definition;
}

export function methodDefinition(name: string): protoLoader.MethodDefinition<object, Record<string, unknown>> {
  const service = packageDefinition()[SERVICE_NAME] as protoLoader.ServiceDefinition;
  const method = service[name];
  if (!method) throw new Error(`${SERVICE_NAME} has no method ${name}`);
  return method as protoLoader.MethodDefinition<object, Record<string, unknown>>;
}

/**
 * How a request carries its row: `raw` in raw_input_contents (what Triton's clients send), `typed`
 * in the input's contents.fp32_contents (what a ghz or grpcurl user writing JSON sends).
 */
export type ContentsForm = 'raw' | 'typed';

/** One row of the bench model's input, as a client would send it. */
export function inferRequestMessage(form: ContentsForm = 'raw'): object {
  const { name, input, row } = benchModel();
  const tensor = { name: input, datatype: 'FP32', shape: [1, row.length] };
  if (form === 'typed') return { model_name: name, inputs: [{ ...tensor, contents: { fp32_contents: Array.from(row) } }] };
  return { model_name: name, inputs: [tensor], raw_input_contents: [Buffer.from(row.buffer, row.byteOffset, row.byteLength)] };
}

/** The request serialized once; every call of the load generator sends these same bytes. */
export function serializedInferRequest(form: ContentsForm = 'raw'): Buffer {
  return methodDefinition('ModelInfer').requestSerialize(inferRequestMessage(form));
}

/**
 * What the real server answers for one row, built from the model's config.json:
 * every output with shape [1, ...dims] and raw bytes of zeros.
 */
export function bareInferResponse(): object {
  const { name, dir } = benchModel();
  const config = readConfig(dir);
  const outputs = config.output.map((o) => {
    if (o.data_type !== 'TYPE_FP32') throw new Error(`bare response: output ${o.name} is ${o.data_type}, only TYPE_FP32 is handled`);
    return { name: o.name, datatype: 'FP32', shape: [1, ...o.dims] };
  });
  return {
    model_name: name,
    model_version: '1',
    outputs,
    raw_output_contents: config.output.map((o) => Buffer.alloc(4 * o.dims.reduce((a, b) => a * b, 1))),
  };
}
