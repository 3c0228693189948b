/**
 * Child entry (dist/scripts/bench/bare-server.js): the transport ceiling. A bare grpc-js
 * server with the real server's proto, proto-loader options and message limits, whose
 * ModelInfer answers a precomputed ModelInferResponse the size of the real one, and whose
 * ModelStreamInfer answers each message the same way, with no inference in between.
 * Reads GRPC_HOST / GRPC_PORT and logs {"msg":"server started","grpc":"host:port"} like the server.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadInferenceService } from '../../src/transport/protos';
import { bareInferResponse } from './protocol';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024; // the server's default grpc.max_message_bytes

const response = bareInferResponse();
const streamResponse = { infer_response: response };

const server = new Server({
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
});
server.addService(loadInferenceService(), {
  ModelInfer: (_call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => callback(null, response),
  ModelStreamInfer: (call: ServerDuplexStream<object, object>) => {
    call.on('data', () => call.write(streamResponse));
    call.on('end', () => call.end());
  },
});

const host = process.env.GRPC_HOST ?? '127.0.0.1';
server.bindAsync(`${host}:${process.env.GRPC_PORT ?? '0'}`, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'server started', grpc: `${host}:${port}`, ready: true })}\n`);
});

const stop = (): void => server.tryShutdown(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
