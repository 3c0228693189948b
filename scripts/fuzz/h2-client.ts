/**
 * gRPC calls made by hand over one node:http2 session, so the fuzzer can send any bytes,
 * framed or not, and see exactly how the server ends each call. No grpc-timeout is sent:
 * the deadline is the client's own, so a call the server never ends shows up as a hang.
 */
import * as http2 from 'node:http2';

export interface CallOutcome {
  /** grpc-status, or 'hang' (no end within the deadline) or 'no-status' (ended without one, e.g. RST_STREAM). */
  readonly status: number | 'hang' | 'no-status';
  readonly message: string;
  /** Every length-prefixed message of the answer's body, without its 5-byte prefix. */
  readonly messages: Buffer[];
  /** What went wrong when status is not a number. */
  readonly detail?: string;
}

/** The gRPC framing of one message: a compressed flag, a 4-byte big-endian length, the bytes. */
export function grpcFrame(message: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(options.compressed ? 1 : 0, 0);
  prefix.writeUInt32BE(options.declaredLength ?? message.byteLength, 1);
  return Buffer.concat([prefix, message]);
}

export function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

/** One HTTP/2 connection to the server, reopened if the server closes it. */
export class H2Channel {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly authority: string) {}

  private open(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.authority);
    // Errors surface on each stream; an unhandled 'error' event would end the process.
    session.on('error', () => undefined);
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  /** Sends `body` (already framed, one or several messages) on a new stream, with `headers` added, and waits for its end. */
  call(path: string, body: Buffer, deadlineMs: number, headers: http2.OutgoingHttpHeaders = {}): Promise<CallOutcome> {
    return new Promise((resolve) => {
      let settled = false;
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      const finish = (outcome: CallOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!req.destroyed) req.close(http2.constants.NGHTTP2_CANCEL);
        resolve(outcome);
      };
      const req = this.open().request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      const timer = setTimeout(() => finish({ status: 'hang', message: '', messages: unframe(Buffer.concat(chunks)), detail: `no end within ${deadlineMs} ms` }), deadlineMs);
      req.on('response', (h) => (head = h));
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('error', (err: Error) => finish({ status: 'no-status', message: '', messages: [], detail: err.message }));
      req.on('close', () => {
        // A status with no message comes trailers-only: grpc-status in the headers.
        const source = trailers ?? head;
        const status = source['grpc-status'];
        if (status === undefined) {
          finish({ status: 'no-status', message: '', messages: [], detail: `stream closed (rst code ${req.rstCode}) with headers ${JSON.stringify(head)}` });
          return;
        }
        finish({ status: Number(status), message: decodeURIComponent(String(source['grpc-message'] ?? '')), messages: unframe(Buffer.concat(chunks)) });
      });
      req.end(body);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
