/**
 * A gRPC unary call made by hand over node:http2, for what a grpc-js client hides: it sends a
 * grpc-timeout but never cancels on its own when that deadline passes, so whatever status
 * comes back is the one the server chose to send.
 */
import * as http2 from 'node:http2';
import { grpcFrame, unframe } from '../../scripts/fuzz/h2-client';

export interface RawGrpcAnswer {
  /** grpc-status from the trailers (or from the headers of a trailers-only answer). */
  readonly status: number;
  /** grpc-message, percent-decoded. */
  readonly message: string;
  /** Every length-prefixed message of the body, without its 5-byte prefix. */
  readonly messages: Buffer[];
}

/**
 * POSTs one framed message to `path` (e.g. /inference.GRPCInferenceService/ModelInfer) on a
 * new connection, and waits, however long it takes, for the server to end the stream.
 */
export function rawUnary(port: number, path: string, message: Uint8Array, headers: http2.OutgoingHttpHeaders = {}): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      // A status with no message comes as trailers-only: grpc-status in the headers.
      const source = trailers ?? head;
      const status = source['grpc-status'];
      if (status === undefined) {
        reject(new Error(`no grpc-status in the answer (headers ${JSON.stringify(head)}, trailers ${JSON.stringify(trailers)})`));
        return;
      }
      resolve({
        status: Number(status),
        message: decodeURIComponent(String(source['grpc-message'] ?? '')),
        messages: unframe(Buffer.concat(chunks)),
      });
    });
    req.end(grpcFrame(message));
  });
}
