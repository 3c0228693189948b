/**
 * Shared pieces of the end-to-end tests: temporary model repositories, models built on the fly,
 * gRPC error assertions, the BYTES raw framing, and a grpc.health.v1 client.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataType, floatTensor, node, serializeModel, valueInfo } from '../../scripts/onnx/builder';
import { TYPE_ECHO_TYPES } from '../../scripts/make-models';
import { LOADER_OPTIONS } from '../../src/transport/protos';
import { MODELS_DIR } from './server';

/** A fresh temporary folder; remove it with removeDir. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `<repo>/<name>/<version>/model.onnx`. */
export function writeModelFile(repo: string, name: string, version: number | string, bytes: Uint8Array): void {
  const dir = path.join(repo, name, String(version));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
}

/** Writes `<repo>/<name>/config.json`. */
export function writeModelConfig(repo: string, name: string, config: object): void {
  fs.mkdirSync(path.join(repo, name), { recursive: true });
  fs.writeFileSync(path.join(repo, name, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** The bytes of a bundled model's version 1. */
export function bundledModelBytes(model: string): Buffer {
  return fs.readFileSync(path.join(MODELS_DIR, model, '1', 'model.onnx'));
}

/** The parsed config.json of a bundled model. */
export function bundledConfig(model: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, model, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * Y = X + [0, 1, 2, 3] with X FLOAT [batch, n] (n symbolic) and Y FLOAT [batch, m].
 * Broadcasting works for n = 1 (the server's warm-up row) and n = 4, and fails inside ONNX Runtime
 * for any other n, e.g. 3: a runtime failure the server cannot foresee from the model's metadata.
 */
export function broadcastAddModel(): Uint8Array {
  return serializeModel({
    graphName: 'broadcast_add',
    docString: 'Y = X + [0,1,2,3]; runs for n in {1, 4}, fails at run time otherwise.',
    inputs: [valueInfo('X', DataType.FLOAT, ['batch', 'n'])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['batch', 'm'])],
    initializers: [floatTensor('offsets', [4], Float32Array.from([0, 1, 2, 3]))],
    nodes: [node('Add', ['X', 'offsets'], ['Y'], 'add')],
  });
}

/**
 * Like the bundled type_echo, one Identity per datatype with in_<type> / out_<type> of shape
 * [batch, n], but without FP16: every datatype it has also has a typed contents field, so the
 * whole request can be sent as typed contents. Served by auto-config.
 */
export function typedEchoModel(): Uint8Array {
  const types = TYPE_ECHO_TYPES.filter((t) => t.suffix !== 'fp16');
  return serializeModel({
    graphName: 'typed_echo',
    docString: 'out_<type> = Identity(in_<type>) for every KServe datatype with a typed contents field.',
    inputs: types.map((t) => valueInfo(`in_${t.suffix}`, t.elemType, ['batch', 'n'])),
    outputs: types.map((t) => valueInfo(`out_${t.suffix}`, t.elemType, ['batch', 'n'])),
    nodes: types.map((t) => node('Identity', [`in_${t.suffix}`], [`out_${t.suffix}`], `echo_${t.suffix}`)),
  });
}

/** BYTES raw framing, written independently of the server: 4-byte little-endian length, then the bytes. */
export function frameBytes(elements: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of elements) {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(element.byteLength, 0);
    parts.push(prefix, Buffer.from(element));
  }
  return Buffer.concat(parts);
}

/** Splits BYTES raw framing back into its elements, checking that it is well formed. */
export function unframeBytes(raw: Uint8Array): Buffer[] {
  const buffer = Buffer.from(raw);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buffer.length) {
    expect(buffer.length - at, `BYTES element ${out.length} prefix`).to.be.at.least(4);
    const length = buffer.readUInt32LE(at);
    at += 4;
    expect(buffer.length - at, `BYTES element ${out.length} body`).to.be.at.least(length);
    out.push(buffer.subarray(at, at + length));
    at += length;
  }
  return out;
}

/** A copy of raw bytes with offset 0, safe to view as any typed array. */
export function aligned(raw: Uint8Array): ArrayBuffer {
  return Uint8Array.from(raw).buffer;
}

/** Awaits a call that must fail with `code`, and checks that its message holds every fragment. */
export async function expectRpcError(call: Promise<unknown>, code: grpc.status, ...fragments: (string | RegExp)[]): Promise<grpc.ServiceError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected the call to fail with ${grpc.status[code]}`).to.be.instanceOf(Error);
  const error = caught as grpc.ServiceError;
  expect(grpc.status[error.code], `status of "${error.details}"`).to.equal(grpc.status[code]);
  for (const fragment of fragments) {
    if (typeof fragment === 'string') expect(error.details).to.contain(fragment);
    else expect(error.details).to.match(fragment);
  }
  return error;
}

export interface HealthClient {
  check(service: string): Promise<string>;
  /** Health.Watch: every status the server streams for `service`, as it comes. */
  watch(service: string, onStatus: (status: string) => void): grpc.ClientReadableStream<{ status?: string }>;
  close(): void;
}

/** A grpc.health.v1.Health client built from proto/health.proto. */
export function createHealthClient(port: number): HealthClient {
  const definition = protoLoader.loadSync('health.proto', LOADER_OPTIONS);
  type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: Ctor } } } };
  const raw = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  // Methods are attached dynamically by grpc-js from the proto; index them by name.
  const methods = raw as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    check: (service: string) =>
      new Promise<string>((resolve, reject) => {
        methods.Check.call(raw, { service }, (err: grpc.ServiceError | null, res: { status?: string }) => (err ? reject(err) : resolve(res.status ?? 'UNKNOWN')));
      }),
    watch: (service: string, onStatus: (status: string) => void) => {
      const call = methods.Watch.call(raw, { service }) as grpc.ClientReadableStream<{ status?: string }>;
      call.on('data', (res: { status?: string }) => onStatus(res.status ?? 'UNKNOWN'));
      return call;
    },
    close: () => raw.close(),
  };
}
