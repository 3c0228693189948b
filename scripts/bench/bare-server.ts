/**
 * Child entry (dist/scripts/bench/bare-server.js): the transport ceiling. A bare grpc-js
 * server with the real server's proto, proto-loader options, grpc-js options (from the same
 * settings and environment, option for option) and listening socket, whose
 * ModelInfer answers a precomputed ModelInferResponse the size of the real one, and whose
 * ModelStreamInfer answers each message the same way, with no inference in between.
 * Reads GRPC_HOST / GRPC_PORT and logs {"msg":"server started","grpc":"host:port"} like the server.
 *
 * BARE_DEFER=1 answers unary calls the way any batching server must: held until a round trip
 * to a worker thread that does nothing, all waiting calls answered together. It measures what
 * deferring costs grpc-js itself, apart from batching and inference.
 */
import { Worker } from 'node:worker_threads';
import { Server, ServerCredentials, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/observability/logger';
import { listenWithConnectionLimit } from '../../src/transport/connection-limit';
import { loadInferenceService } from '../../src/transport/protos';
import { serverOptions } from '../../src/transport/server';
import { bareInferResponse } from './protocol';

const response = bareInferResponse();
const streamResponse = { infer_response: response };

const { grpc: options } = loadConfig([], process.env);
const server = new Server(serverOptions(options));
/** Holds calls while one no-op worker round trip is in flight, then answers them all. */
function deferredAnswers(): (callback: sendUnaryData<object>) => void {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  let waiting: sendUnaryData<object>[] = [];
  let inFlight: sendUnaryData<object>[] | undefined;
  const send = (): void => {
    if (inFlight || waiting.length === 0) return;
    inFlight = waiting;
    waiting = [];
    worker.postMessage(inFlight.length);
  };
  worker.on('message', () => {
    const done = inFlight ?? [];
    inFlight = undefined;
    for (const callback of done) callback(null, response);
    send();
  });
  return (callback) => {
    waiting.push(callback);
    send();
  };
}

const answer = process.env.BARE_DEFER === '1' ? deferredAnswers() : (callback: sendUnaryData<object>) => callback(null, response);

server.addService(loadInferenceService(), {
  ModelInfer: (_call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => answer(callback),
  ModelStreamInfer: (call: ServerDuplexStream<object, object>) => {
    call.on('data', () => call.write(streamResponse));
    call.on('end', () => call.end());
  },
});

listenWithConnectionLimit(
  server,
  { host: options.host, port: options.port, maxConnections: options.maxConnections, prefaceTimeoutMs: options.prefaceTimeoutMs, credentials: ServerCredentials.createInsecure(), secure: false },
  createLogger('silent'),
).then(
  ({ port }) => process.stdout.write(`${JSON.stringify({ msg: 'server started', grpc: `${options.host}:${port}`, ready: true })}\n`),
  (err: Error) => {
    process.stderr.write(`bare server: ${err.message}\n`);
    process.exit(1);
  },
);

const stop = (): void => server.tryShutdown(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
