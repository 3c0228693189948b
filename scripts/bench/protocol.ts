/**
 * The protocol pieces the benchmark's processes share: the proto-loader definition (same
 * proto and options as the server), the one pre-serialized request, and the response the
 * bare server answers with (same names, shapes and size as the real server's).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_DIR } from '../../src/transport/protos';
import { STOCK_FEATURES } from '../make-models';

export const MODEL_NAME = 'stock_scorer';
export const SERVICE_NAME = 'inference.GRPCInferenceService';
export const REPO_ROOT = path.dirname(PROTO_DIR);
export const MODEL_DIR = path.join(REPO_ROOT, 'models', MODEL_NAME);
export const MODEL_FILE = path.join(MODEL_DIR, '1', 'model.onnx');
export const INFER_PATH = `/${SERVICE_NAME}/ModelInfer`;
export const STREAM_PATH = `/${SERVICE_NAME}/ModelStreamInfer`;
export const STATS_PATH = `/${SERVICE_NAME}/ModelStatistics`;

/** Channel options both sides use: the server's own limits are 64 MiB, which these messages never reach. */
export const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

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

/** One row of the eight features (their cross-sectional means), as a client would send it. */
export function inferRequestMessage(): object {
  const features = Float32Array.from(STOCK_FEATURES.map((f) => f.mean));
  return {
    model_name: MODEL_NAME,
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, features.length] }],
    raw_input_contents: [Buffer.from(features.buffer, features.byteOffset, features.byteLength)],
  };
}

/** The request serialized once; every call of the load generator sends these same bytes. */
export function serializedInferRequest(): Buffer {
  return methodDefinition('ModelInfer').requestSerialize(inferRequestMessage());
}

interface ConfigOutput {
  readonly name: string;
  readonly data_type: string;
  readonly dims: readonly number[];
}

/**
 * What the real server answers for one row, built from the model's config.json:
 * every output with shape [1, ...dims] and raw bytes of zeros.
 */
export function bareInferResponse(): object {
  const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8')) as { output: ConfigOutput[] };
  const outputs = config.output.map((o) => {
    if (o.data_type !== 'TYPE_FP32') throw new Error(`bare response: output ${o.name} is ${o.data_type}, only TYPE_FP32 is handled`);
    return { name: o.name, datatype: 'FP32', shape: [1, ...o.dims] };
  });
  return {
    model_name: MODEL_NAME,
    model_version: '1',
    outputs,
    raw_output_contents: config.output.map((o) => Buffer.alloc(4 * o.dims.reduce((a, b) => a * b, 1))),
  };
}
