import * as grpc from '@grpc/grpc-js';
import { InferenceClientError } from './client-error';
import { healthClient, inferenceServiceClient } from './protos';
import { withRetries, type RetryPolicy } from './retry';
import { streamAnswers, type StreamAnswer, type WireStreamResponse } from './stream-session';
import { decodeTensor, encodeTensor, type Datatype, type TensorData, type TensorValue } from './tensor-codec';

export interface InferenceClientOptions {
  /** Each call's deadline, retries and backoffs included (default 30,000 ms). */
  readonly deadlineMs?: number;
  /** Further attempts after UNAVAILABLE or RESOURCE_EXHAUSTED (default 3); nothing else is retried. */
  readonly retries?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** true: TLS with the system's roots; or the PEM files; absent: plaintext. */
  readonly tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /**
   * The request parameter that carries `routingKey`: the model's `rollout.sticky_parameter`
   * (default `routing_key`). The server reads it per model, so set it to match your models.
   */
  readonly routingParameter?: string;
  /** grpc-js client options (channel arguments, interceptors), passed as they are. */
  readonly grpcOptions?: grpc.ClientOptions;
}

export interface InferOptions {
  /** Every input's shape (default: 1-D, its length); `shapes` overrides it per input. */
  readonly shape?: readonly number[];
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** Datatypes for ambiguous arrays: a Uint8Array as BOOL, a Uint16Array as UINT16. */
  readonly datatypes?: Readonly<Record<string, Datatype>>;
  /** Pins `model_version`; absent: the server's choice (a rollout's, if the model has one). */
  readonly version?: string | number;
  /** Sticks a caller to one version of a canary rollout: the same key, the same version. */
  readonly routingKey?: string;
  /** Triton's `priority` parameter (1 is the highest level). */
  readonly priority?: number;
  /** Triton's `timeout` parameter: the longest the request may wait in the server's queue, in µs. */
  readonly timeoutUs?: number;
  /** The outputs wanted; absent: every output. */
  readonly outputs?: readonly string[];
  /** Echoed back in the result. */
  readonly id?: string;
  /** This call's deadline instead of the client's. */
  readonly deadlineMs?: number;
}

/** One request of a stream: its inputs and options (an id is given to one without). */
export interface StreamRequest {
  readonly inputs: Readonly<Record<string, TensorValue>>;
  readonly options?: Omit<InferOptions, 'deadlineMs'>;
}

export interface StreamOptions {
  /** Answers owed or not yet taken before the next request is pulled (default 16). */
  readonly maxInFlight?: number;
  /** A deadline for the whole stream; none by default. Streams are not retried. */
  readonly deadlineMs?: number;
}

export interface OutputTensor {
  readonly datatype: string;
  readonly shape: number[];
  readonly data: TensorData;
}

export interface InferResult {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputs: Record<string, OutputTensor>;
}

export interface ModelStatistics {
  /** The server's ModelStatisticsResponse as decoded: int64 counters as decimal strings. */
  readonly model_stats?: Record<string, unknown>[];
}

interface WireOutput {
  name: string;
  datatype: string;
  shape?: string[];
}

interface WireInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs?: WireOutput[];
  raw_output_contents?: Buffer[];
}

type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** A typed client for the KServe v2 / Open Inference Protocol gRPC API and grpc.health.v1. */
export class InferenceClient {
  private readonly inference: grpc.Client;
  private readonly health: grpc.Client;
  private readonly deadlineMs: number;
  private readonly policy: RetryPolicy;
  private readonly routingParameter: string;

  constructor(address: string, options: InferenceClientOptions = {}) {
    const credentials = makeCredentials(options.tls);
    const clientOptions: grpc.ClientOptions = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, ...options.grpcOptions };
    this.inference = new (inferenceServiceClient())(address, credentials, clientOptions);
    // The health client rides the inference client's channel: one connection for both.
    this.health = new (healthClient())(address, credentials, { channelOverride: this.inference.getChannel() });
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.policy = { retries: options.retries ?? 3, initialBackoffMs: options.initialBackoffMs ?? 25, maxBackoffMs: options.maxBackoffMs ?? 1_000 };
    this.routingParameter = options.routingParameter ?? 'routing_key';
  }

  async infer(model: string, inputs: Readonly<Record<string, TensorValue>>, options: InferOptions = {}): Promise<InferResult> {
    const request = this.inferRequest(model, inputs, options);
    const res = await this.call<WireInferResponse>(this.inference, 'ModelInfer', request, options.deadlineMs);
    return inferResult(res);
  }

  /**
   * ModelStreamInfer: sends `requests` on one stream, pulling each only while fewer than
   * maxInFlight answers are owed (back-pressure), and yields each answer with its request's id.
   */
  stream(model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options: StreamOptions = {}): AsyncGenerator<StreamAnswer<InferResult>> {
    // grpc-js attaches the RPCs from the proto at run time; index them by name.
    const methods = this.inference as unknown as Record<string, (metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientDuplexStream<object, WireStreamResponse>>;
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    const open = () => methods.ModelStreamInfer.call(this.inference, new grpc.Metadata(), callOptions);
    const codec = {
      encode: (request: StreamRequest, sequence: number) => {
        const id = request.options?.id ?? String(sequence);
        return { id, wire: this.inferRequest(model, request.inputs, { ...request.options, id }) };
      },
      decode: (response: object) => inferResult(response as WireInferResponse),
    };
    return streamAnswers(open, requests, codec, options.maxInFlight ?? 16);
  }

  /** ModelMetadataResponse as decoded: name, versions, platform, inputs and outputs with datatype and shape. */
  metadata(model: string, version?: string | number): Promise<Record<string, unknown>> {
    return this.call(this.inference, 'ModelMetadata', { name: model, version: version === undefined ? '' : String(version) });
  }

  /** ModelStatisticsResponse for a model (every version unless one is named). */
  statistics(model: string, version?: string | number): Promise<ModelStatistics> {
    return this.call(this.inference, 'ModelStatistics', { name: model, version: version === undefined ? '' : String(version) });
  }

  /** Through grpc.health.v1: the server's readiness, or a model's; false for a model the server does not know. */
  async ready(model?: string): Promise<boolean> {
    try {
      const res = await this.call<{ status?: string }>(this.health, 'Check', { service: model ?? 'inference.GRPCInferenceService' });
      return res.status === 'SERVING';
    } catch (err) {
      if (err instanceof InferenceClientError && err.code === grpc.status.NOT_FOUND) return false;
      throw err;
    }
  }

  /**
   * Resolves once the server (or `model`) is SERVING, watched through Health.Watch; waits for a
   * server not yet listening too (wait-for-ready); DEADLINE_EXCEEDED after timeoutMs. `model: ''`
   * is the server's liveness, SERVING as soon as it listens.
   */
  waitUntilReady(options: { timeoutMs?: number; model?: string } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? this.deadlineMs);
    // grpc-js attaches the RPCs from the proto at run time; index them by name.
    const methods = this.health as unknown as Record<string, (request: object, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<{ status?: string }>>;
    return new Promise((resolve, reject) => {
      const request = { service: options.model ?? 'inference.GRPCInferenceService' };
      const call = methods.Watch.call(this.health, request, new grpc.Metadata({ waitForReady: true }), { deadline });
      call.on('data', (res: { status?: string }) => {
        if (res.status !== 'SERVING') return;
        resolve();
        call.cancel();
      });
      // Called after a resolve too (the cancel); a settled promise ignores it.
      call.on('error', (err) => reject(InferenceClientError.from(err)));
    });
  }

  close(): void {
    this.health.close();
    this.inference.close();
  }

  private inferRequest(model: string, inputs: Readonly<Record<string, TensorValue>>, options: InferOptions): object {
    const tensors = [];
    const raw = [];
    for (const [name, value] of Object.entries(inputs)) {
      const encoded = encodeTensor(name, value, options.shapes?.[name] ?? options.shape, options.datatypes?.[name]);
      tensors.push(encoded.tensor);
      raw.push(encoded.raw);
    }
    const parameters: Record<string, object> = {};
    if (options.routingKey !== undefined) parameters[this.routingParameter] = { string_param: options.routingKey };
    if (options.priority !== undefined) parameters.priority = { uint64_param: String(options.priority) };
    if (options.timeoutUs !== undefined) parameters.timeout = { int64_param: String(options.timeoutUs) };
    return {
      model_name: model,
      model_version: options.version === undefined ? '' : String(options.version),
      id: options.id ?? '',
      parameters,
      inputs: tensors,
      outputs: (options.outputs ?? []).map((name) => ({ name })),
      raw_input_contents: raw,
    };
  }

  private call<Res>(client: grpc.Client, rpc: string, request: object, deadlineMs = this.deadlineMs): Promise<Res> {
    // grpc-js attaches the RPCs from the proto at run time; index them by name.
    const method = (client as unknown as Record<string, Unary>)[rpc];
    return withRetries(this.policy, Date.now() + deadlineMs, (deadline) =>
      new Promise<Res>((resolve, reject) => {
        method.call(client, request, new grpc.Metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res as Res)));
      }),
    );
  }
}

function inferResult(res: WireInferResponse): InferResult {
  const outputs: Record<string, OutputTensor> = {};
  const raw = res.raw_output_contents ?? [];
  (res.outputs ?? []).forEach((output, i) => {
    const shape = (output.shape ?? []).map(Number);
    if (raw[i] === undefined) throw new InferenceClientError(grpc.status.INTERNAL, `output '${output.name}' came without raw contents`);
    outputs[output.name] = { datatype: output.datatype, shape, data: decodeTensor(output.name, output.datatype, shape, raw[i]) };
  });
  return { modelName: res.model_name, modelVersion: res.model_version ?? '', id: res.id ?? '', outputs };
}

function makeCredentials(tls: InferenceClientOptions['tls']): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  return grpc.credentials.createSsl(tls.rootCerts ?? null, tls.privateKey ?? null, tls.certChain ?? null);
}
