/**
 * Closed-loop load generator on @grpc/grpc-js: `concurrency` calls always outstanding,
 * unary (one call per request) or streaming (in-flight messages on one bidirectional
 * stream per channel, responses matched by order). Every call sends the same
 * pre-serialized request bytes, and responses are not decoded (only the first is kept for
 * a check), so the generator spends as little of the shared CPUs as it can.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './latency-recorder';
import type { LoadWindow, Mode } from './load-result';
import { CHANNEL_OPTIONS, INFER_PATH, STREAM_PATH } from './protocol';

export interface LoadSpec {
  readonly address: string;
  readonly mode: Mode;
  readonly concurrency: number;
  /** HTTP/2 connections; in-flight calls are spread over them round-robin. */
  readonly channels: number;
  readonly request: Buffer;
  /** Deadline of each unary call, as ghz's --timeout gives one (20 s by default); 0 sends none. */
  readonly deadlineMs: number;
}

const passThrough = (bytes: Buffer): Buffer => bytes;

/** ModelStreamInferResponse field 1 (error_message, length-delimited) starts with this tag. */
const STREAM_ERROR_TAG = 0x0a;

export class NodeLoadGenerator {
  private readonly clients: grpc.Client[];
  private readonly recorder = new LatencyRecorder();
  private running = false;
  private recording = false;
  private windowStarted = 0;
  private windowErrors = 0;
  private windowCpu: NodeJS.CpuUsage | undefined;
  private firstError: string | undefined;
  private outstanding = 0;
  private readonly streamsOpen = new Set<grpc.ClientDuplexStream<Buffer, Buffer>>();
  private onIdle: (() => void) | undefined;
  /** Successful responses since start, for progress. */
  completed = 0;
  errors = 0;
  /** The first response's bytes, for the caller to check. */
  sampleResponse: Buffer | undefined;

  constructor(private readonly spec: LoadSpec) {
    // A local subchannel pool per client makes each one its own TCP connection.
    const options = spec.channels > 1 ? { ...CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 } : CHANNEL_OPTIONS;
    this.clients = Array.from({ length: spec.channels }, () => new grpc.Client(spec.address, grpc.credentials.createInsecure(), options));
  }

  start(): void {
    this.running = true;
    const { concurrency, channels, mode } = this.spec;
    if (mode === 'unary') {
      for (let i = 0; i < concurrency; i++) this.issueUnary(this.clients[i % channels]);
      return;
    }
    for (let ch = 0; ch < channels; ch++) {
      const inFlight = Math.floor(concurrency / channels) + (ch < concurrency % channels ? 1 : 0);
      if (inFlight > 0) this.openStream(this.clients[ch], inFlight);
    }
  }

  beginWindow(): void {
    this.recorder.reset();
    this.windowErrors = 0;
    this.recording = true;
    this.windowCpu = process.cpuUsage();
    this.windowStarted = performance.now();
  }

  endWindow(): LoadWindow {
    const seconds = (performance.now() - this.windowStarted) / 1000;
    this.recording = false;
    const cpu = process.cpuUsage(this.windowCpu);
    const requests = this.recorder.count;
    return {
      generator: 'node',
      requests,
      errors: this.windowErrors,
      firstError: this.firstError,
      seconds,
      rps: requests / seconds,
      clientCpuPct: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      ...this.recorder.summary(),
    };
  }

  /** Stops issuing, waits (up to timeoutMs) for what is in flight, closes the channels. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.running = false;
    if (this.outstanding > 0 || this.streamsOpen.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const stream of this.streamsOpen) stream.cancel();
    for (const client of this.clients) client.close();
  }

  private complete(startedAt: number, error: string | undefined, response: Buffer | undefined): void {
    if (error !== undefined) {
      this.errors++;
      this.firstError ??= error;
      if (this.recording) this.windowErrors++;
      return;
    }
    this.completed++;
    this.sampleResponse ??= response;
    if (this.recording) this.recorder.record(performance.now() - startedAt);
  }

  private checkIdle(): void {
    if (!this.running && this.outstanding === 0 && this.streamsOpen.size === 0) this.onIdle?.();
  }

  private issueUnary(client: grpc.Client): void {
    const startedAt = performance.now();
    this.outstanding++;
    const options: grpc.CallOptions = this.spec.deadlineMs > 0 ? { deadline: Date.now() + this.spec.deadlineMs } : {};
    client.makeUnaryRequest<Buffer, Buffer>(INFER_PATH, passThrough, passThrough, this.spec.request, options, (err, response) => {
      this.outstanding--;
      this.complete(startedAt, err ? `${err.code} ${err.details}` : undefined, response);
      if (this.running && !err) this.issueUnary(client);
      else if (this.running) setTimeout(() => this.running && this.issueUnary(client), 10); // do not spin on a failing server
      else this.checkIdle();
    });
  }

  private openStream(client: grpc.Client, inFlight: number): void {
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(STREAM_PATH, passThrough, passThrough);
    this.streamsOpen.add(call);
    // Send times of the messages in flight, oldest at `head`: responses come back in request order.
    const sentAt = new Float64Array(inFlight);
    let head = 0;
    let tail = 0;
    let pending = 0;
    const send = (): void => {
      sentAt[tail] = performance.now();
      tail = (tail + 1) % inFlight;
      pending++;
      call.write(this.spec.request);
    };
    call.on('data', (response: Buffer) => {
      const startedAt = sentAt[head];
      head = (head + 1) % inFlight;
      pending--;
      const failed = response.length === 0 || response[0] === STREAM_ERROR_TAG;
      this.complete(startedAt, failed ? `in-stream error: ${response.subarray(2).toString('utf8', 0, 200)}` : undefined, response);
      if (this.running) send();
      else if (pending === 0) call.end();
    });
    const closed = (): void => {
      if (!this.streamsOpen.delete(call)) return;
      this.checkIdle();
    };
    call.on('error', (err: grpc.ServiceError) => {
      if (this.running) {
        this.errors++;
        this.firstError ??= `stream: ${err.code} ${err.details}`;
      }
      closed();
    });
    call.on('status', closed);
    call.on('end', closed);
    for (let i = 0; i < inFlight; i++) send();
  }
}
