/**
 * A bounded number of client connections. grpc-js has no such limit, so the server listens
 * itself and hands each connection to grpc-js through its public connection injector; a
 * connection past the bound goes instead to a small HTTP/2 server that answers each of its
 * calls RESOURCE_EXHAUSTED, naming the limit, and closes it. A TCP reset (net.Server's
 * maxConnections) would tell the client only that the connection dropped, and it would retry.
 * Under TLS the refusing server would need the rotating certificates grpc-js holds, so a
 * connection past the bound is closed instead (the client sees UNAVAILABLE), and logged.
 */
import { status, type Server, type ServerCredentials } from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { LineThrottle } from '../observability/line-throttle';
import type { Logger } from '../observability/logger';

/** How long a refused connection may stay open for its calls to be answered. */
const REFUSED_LINGER_MS = 1000;
/** A client connecting in a loop gets one line a second of each kind, counting those it stands for. */
const LINE_EVERY_MS = 1000;
/** What every HTTP/2 client sends first: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`. A TLS ClientHello is longer. */
const PREFACE_BYTES = 24;

export interface ConnectionListener {
  readonly port: number;
  /** Open connections handed to grpc-js. */
  readonly open: number;
  /** Stops accepting; grpc-js's own shutdown ends the connections it holds. */
  close(): void;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  /** A connection that has not sent PREFACE_BYTES by then is closed. */
  readonly prefaceTimeoutMs: number;
  readonly credentials: ServerCredentials;
  /** TLS: a refused connection is closed rather than answered. */
  readonly secure: boolean;
}

export async function listenWithConnectionLimit(server: Server, options: ListenOptions, log: Logger): Promise<ConnectionListener> {
  const { host, port, maxConnections } = options;
  const injector = server.createConnectionInjector(options.credentials);
  const refuser = createRefuser(maxConnections);
  const lines = new LineThrottle(LINE_EVERY_MS);
  let open = 0;
  // gRPC turns Nagle off on every socket; small replies must not wait for an ACK.
  const listener = net.createServer({ noDelay: true }, (socket) => {
    if (open >= maxConnections) {
      const skipped = lines.take('refused');
      if (skipped !== undefined) {
        log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, max_connections: maxConnections, refused_since_last_line: skipped }, 'connection refused: connection limit reached');
      }
      if (options.secure) socket.destroy();
      else refuser.accept(socket);
      return;
    }
    open++;
    // grpc-js keeps a connection that never speaks for good: max_connections of them would refuse every client.
    const preface = setTimeout(() => {
      if (socket.bytesRead >= PREFACE_BYTES) return;
      const skipped = lines.take('silent');
      if (skipped !== undefined) {
        log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, preface_timeout_ms: options.prefaceTimeoutMs, closed_since_last_line: skipped }, 'connection closed: no HTTP/2 preface in time');
      }
      socket.destroy();
    }, options.prefaceTimeoutMs);
    socket.once('close', () => {
      open--;
      clearTimeout(preface);
    });
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  return {
    port: (listener.address() as net.AddressInfo).port,
    get open() {
      return open;
    },
    close: () => {
      listener.close();
      refuser.destroyAll();
    },
  };
}

function createRefuser(maxConnections: number) {
  const message = `the server is at its limit of open connections (GRPC_MAX_CONNECTIONS=${maxConnections}); retry later or on another replica`;
  const http2Server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    session.setTimeout(REFUSED_LINGER_MS, () => session.destroy());
  });
  http2Server.on('stream', (stream) => {
    stream.on('error', () => stream.destroy());
    // A trailers-only response: the gRPC status in the one HEADERS frame.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status.RESOURCE_EXHAUSTED), 'grpc-message': message }, { endStream: true });
    stream.session?.close();
  });
  return {
    accept: (socket: net.Socket) => {
      socket.on('error', () => socket.destroy());
      http2Server.emit('connection', socket);
    },
    destroyAll: () => {
      for (const session of sessions) session.destroy();
    },
  };
}
