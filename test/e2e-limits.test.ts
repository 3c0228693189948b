/**
 * Each limit on a real server set low: the client past it gets its status and a message naming
 * the limit and its setting, and a client within it, before and after, is served as usual.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import pino from 'pino';
import { DataType, node, serializeModel, valueInfo } from '../scripts/onnx/builder';
import { createClient, fp32Bytes, startTestServer, type InferenceClient, type TestServer } from './support/server';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import { createHealthClient, expectRpcError, frameBytes } from './support/e2e-helpers';
import { silentConnection } from './support/silent-connection';
import { waitFor } from './support/wait-for';

/** text_echo: text STRING [batch, n] -> same, by Identity; auto-configured (max_batch_size 4). */
function textEchoModel(): Uint8Array {
  return serializeModel({
    graphName: 'text_echo',
    docString: 'echo = Identity(text)',
    inputs: [valueInfo('text', DataType.STRING, ['batch', 'n'])],
    outputs: [valueInfo('echo', DataType.STRING, ['batch', 'n'])],
    nodes: [node('Identity', ['text'], ['echo'], 'echo')],
  });
}

function textRequest(rows: number, elements: readonly string[]): object {
  return {
    model_name: 'text_echo',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [rows, elements.length / rows] }],
    raw_input_contents: [frameBytes(elements.map((e) => Buffer.from(e)))],
  };
}

function scorerRequest(rows: number): object {
  return {
    model_name: 'stock_scorer',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 8] }],
    raw_input_contents: [fp32Bytes(new Float32Array(rows * 8).fill(0.5))],
  };
}

/** A channel of its own: grpc-js otherwise shares one connection among clients of the same target and options. */
function ownConnection(port: number): { client: grpc.Client; check: () => Promise<void> } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const check = () =>
    new Promise<void>((resolve, reject) => {
      client.makeUnaryRequest(
        '/inference.GRPCInferenceService/ServerLive',
        () => Buffer.alloc(0),
        (b: Buffer) => b,
        {},
        (err) => (err ? reject(err) : resolve()),
      );
    });
  return { client, check };
}

const repeat = (n: number, s: string): string[] => Array.from({ length: n }, () => s);

describe('e2e: limits', function () {
  this.timeout(30000);

  describe('request contents (MAX_REQUEST_ELEMENTS=16, MAX_BYTES_ELEMENT_BYTES=8)', () => {
    let t: RepositoryServer;
    before(async () => {
      t = await serveRepository([{ name: 'text_echo', config: undefined, versions: new Map([[1, textEchoModel()]]) }], {
        MAX_REQUEST_ELEMENTS: '16',
        MAX_BYTES_ELEMENT_BYTES: '8',
      });
    });
    after(async () => t?.stop());

    it('serves a request of exactly 16 elements and refuses one of 20 with INVALID_ARGUMENT naming the input, the limit and its setting', async () => {
      await t.client.unary('ModelInfer', textRequest(4, repeat(16, 'a')));
      await expectRpcError(t.client.unary('ModelInfer', textRequest(4, repeat(20, 'a'))), grpc.status.INVALID_ARGUMENT, "input 'text'", '20 elements', 'limit of 16', 'MAX_REQUEST_ELEMENTS');
      await t.client.unary('ModelInfer', textRequest(2, repeat(4, 'b')));
    });

    it('serves BYTES elements of 8 bytes and refuses a 9-byte one with INVALID_ARGUMENT naming the element, the limit and its setting', async () => {
      await t.client.unary('ModelInfer', textRequest(1, ['12345678', 'x']));
      await expectRpcError(t.client.unary('ModelInfer', textRequest(1, ['x', '123456789'])), grpc.status.INVALID_ARGUMENT, "input 'text'", 'element 1', '9 bytes', 'limit of 8', 'MAX_BYTES_ELEMENT_BYTES');
      await t.client.unary('ModelInfer', textRequest(1, ['12345678']));
    });
  });

  describe('BYTES elements (MAX_BYTES_ELEMENTS=6)', () => {
    let t: RepositoryServer;
    before(async () => {
      t = await serveRepository([{ name: 'text_echo', config: undefined, versions: new Map([[1, textEchoModel()]]) }], { MAX_BYTES_ELEMENTS: '6' });
    });
    after(async () => t?.stop());

    it('serves 6 elements and refuses 8, raw or typed, with INVALID_ARGUMENT naming the count, the limit and its setting', async () => {
      await t.client.unary('ModelInfer', textRequest(2, repeat(6, 'a')));
      await expectRpcError(t.client.unary('ModelInfer', textRequest(2, repeat(8, 'a'))), grpc.status.INVALID_ARGUMENT, "input 'text'", '8 BYTES elements', 'limit of 6', 'MAX_BYTES_ELEMENTS');
      const typed = (n: number): object => ({
        model_name: 'text_echo',
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, n], contents: { bytes_contents: repeat(n, 'b').map((s) => Buffer.from(s)) } }],
      });
      await t.client.unary('ModelInfer', typed(6));
      await expectRpcError(t.client.unary('ModelInfer', typed(8)), grpc.status.INVALID_ARGUMENT, 'bytes_contents: 8 elements', 'limit of 6', 'MAX_BYTES_ELEMENTS');
      await t.client.unary('ModelInfer', textRequest(1, repeat(3, 'c')));
    });
  });

  describe('message size (GRPC_MAX_MESSAGE_BYTES=4096)', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ GRPC_MAX_MESSAGE_BYTES: '4096' });
    });
    after(async () => t?.stop());

    it('serves a 2 KiB request and refuses a 8 KiB one with RESOURCE_EXHAUSTED naming the size and the limit', async () => {
      await t.client.unary('ModelInfer', scorerRequest(64)); // 64 rows x 8 x 4 bytes = 2 KiB
      await expectRpcError(t.client.unary('ModelInfer', { ...scorerRequest(64), id: 'x'.repeat(6000) }), grpc.status.RESOURCE_EXHAUSTED, /larger than max \(\d+ vs\.? 4096\)/);
      await t.client.unary('ModelInfer', scorerRequest(64));
    });
  });

  describe('connections (GRPC_MAX_CONNECTIONS=2)', () => {
    let t: TestServer;
    const clients: grpc.Client[] = [];
    const lines: { msg: string; refused_since_last_line?: number }[] = [];
    before(async () => {
      const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
      t = await startTestServer({ GRPC_MAX_CONNECTIONS: '2' }, log);
      // The test server's own client holds no connection until it calls, and this test never calls with it.
    });
    after(async () => {
      for (const c of clients) c.close();
      await t?.stop();
    });

    it('answers every call on a third connection RESOURCE_EXHAUSTED naming GRPC_MAX_CONNECTIONS, serves the two within it, and the third once one of them leaves', async () => {
      const [first, second, third] = [0, 1, 2].map(() => ownConnection(t.port));
      clients.push(first.client, second.client, third.client);
      await first.check();
      await second.check();
      await expectRpcError(third.check(), grpc.status.RESOURCE_EXHAUSTED, 'limit of open connections', 'GRPC_MAX_CONNECTIONS=2');
      await expectRpcError(third.check(), grpc.status.RESOURCE_EXHAUSTED, 'GRPC_MAX_CONNECTIONS');
      await first.check();
      await second.check();
      first.client.close();
      // The server counts the connection gone once its socket closes; until then the third may still be refused.
      await waitFor('the third connection to be served', () => third.check().then(() => true, () => false), (served) => served);
      await second.check();
    });

    it('logs connections refused in a loop once a second, counting those each line stands for', async () => {
      for (const c of clients.splice(0)) c.close();
      const held = [0, 1].map(() => ownConnection(t.port));
      clients.push(...held.map((c) => c.client));
      // The server counts a closed connection gone once its socket closes.
      for (const c of held) await waitFor('a connection within the limit to be served', () => c.check().then(() => true, () => false), (served) => served);
      const refusedLines = () => lines.filter((l) => l.msg === 'connection refused: connection limit reached');
      // Each refused connection gets the refusing server's SETTINGS frame: the server has taken it by then.
      const refuse = () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect(t.port, '127.0.0.1');
          socket.once('data', () => {
            socket.destroy();
            resolve();
          });
          socket.once('error', reject);
        });
      const before = refusedLines().length;
      const started = performance.now();
      const refusals = 30;
      for (let i = 0; i < refusals; i++) await refuse();
      const elapsedMs = performance.now() - started;
      expect(refusedLines().length - before, `lines for ${refusals} refusals in ${Math.round(elapsedMs)} ms`).to.be.at.most(Math.floor(elapsedMs / 1000) + 1);
      // Refused until a line comes: it counts those left out since the line before, these among them.
      const last = refusedLines().length;
      await waitFor('the next line', async () => (await refuse(), refusedLines().length), (n) => n > last);
      const skipped = refusedLines().at(-1)!.refused_since_last_line ?? 0;
      expect(skipped).to.be.at.least(refusals - (last - before));
    });
  });

  describe('connections that never speak (GRPC_MAX_CONNECTIONS=1, GRPC_PREFACE_TIMEOUT_MS=300)', () => {
    const prefaceTimeoutMs = 300;
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ GRPC_MAX_CONNECTIONS: '1', GRPC_PREFACE_TIMEOUT_MS: String(prefaceTimeoutMs) });
    });
    after(async () => t?.stop());

    it('closes a connection that sends nothing once the preface timeout has passed, freeing its place for a client', async () => {
      const openedAt = performance.now();
      const closedAt = await (await silentConnection(t.port)).closed;
      // grpc-js kept such a connection for good: GRPC_MAX_CONNECTIONS of them refused every client.
      expect(closedAt - openedAt).to.be.at.least(prefaceTimeoutMs - 20);
      const client = ownConnection(t.port);
      try {
        await waitFor('a client in the freed place', () => client.check().then(() => true, () => false), (served) => served);
      } finally {
        client.client.close();
      }
    });

    it('keeps a client that has spoken, however long it then stays quiet', async () => {
      const first = ownConnection(t.port);
      const second = ownConnection(t.port);
      try {
        await waitFor('the first client served', () => first.check().then(() => true, () => false), (served) => served);
        await new Promise((resolve) => setTimeout(resolve, 3 * prefaceTimeoutMs));
        // The one place is still the first client's: had its connection been closed, the second would have it.
        await expectRpcError(second.check(), grpc.status.RESOURCE_EXHAUSTED, 'GRPC_MAX_CONNECTIONS=1');
        await first.check();
      } finally {
        first.client.close();
        second.client.close();
      }
    });
  });

  describe('concurrent streams (GRPC_MAX_CONCURRENT_STREAMS=2)', () => {
    let t: TestServer;
    let health: ReturnType<typeof createHealthClient>;
    before(async () => {
      t = await startTestServer({ GRPC_MAX_CONCURRENT_STREAMS: '2' });
      health = createHealthClient(t.port);
    });
    after(async () => {
      health?.close();
      await t?.stop();
    });

    it('advertises SETTINGS_MAX_CONCURRENT_STREAMS 2 to every connection', async () => {
      const session = http2.connect(`http://127.0.0.1:${t.port}`);
      try {
        const settings = await new Promise<http2.Settings>((resolve, reject) => {
          session.once('remoteSettings', resolve);
          session.once('error', reject);
        });
        expect(settings.maxConcurrentStreams).to.equal(2);
      } finally {
        session.close();
      }
    });

    // What a client does with a third call is its own: grpc-js on Node 20 holds it until a stream
    // ends; on Node 24 the stream is reset and the call fails RESOURCE_EXHAUSTED. Either way it does
    // not run beside the two, and other connections are served.
    it('never runs a third call beside two open streams on one connection, while other connections are served', async () => {
      const statuses: string[] = [];
      const watches = [health.watch('', (s) => statuses.push(s)), health.watch('', (s) => statuses.push(s))];
      for (const w of watches) w.on('error', () => undefined);
      await waitFor('both Watch streams to answer', () => statuses.length, (n) => n >= 2);
      const third: { outcome: 'pending' | 'served' | 'refused' } = { outcome: 'pending' };
      const ended = health.check('').then(
        () => (third.outcome = 'served'),
        (err: { code?: number }) => {
          expect(err.code, String(err)).to.equal(grpc.status.RESOURCE_EXHAUSTED);
          third.outcome = 'refused';
        },
      );
      // Round trips on another connection, each longer than the third call would need if it ran.
      const other: InferenceClient = createClient(t.port);
      for (let i = 0; i < 5; i++) await other.unary('ServerLive', {});
      other.close();
      expect(third.outcome, 'the third stream was answered while two were open').to.not.equal('served');
      watches[0].cancel();
      await ended;
      watches[1].cancel();
      if (third.outcome === 'refused') console.log('      (this Node.js resets the third stream rather than holding it)');
    });
  });

  describe('keepalive (GRPC_KEEPALIVE_TIME_MS=100)', () => {
    it('pings a quiet connection every GRPC_KEEPALIVE_TIME_MS, where a server with the default (2 hours) sends none', async () => {
      const pinging = await startTestServer({ GRPC_KEEPALIVE_TIME_MS: '100' });
      const quiet = await startTestServer();
      const sessions = [pinging, quiet].map((t) => http2.connect(`http://127.0.0.1:${t.port}`));
      const pings = [0, 0];
      sessions.forEach((session, i) => session.on('ping', () => pings[i]++));
      try {
        await waitFor('two keepalive pings', () => pings[0], (n) => n >= 2);
        expect(pings[1], 'pings from the server with the default keepalive time').to.equal(0);
      } finally {
        for (const session of sessions) session.destroy();
        await pinging.stop();
        await quiet.stop();
      }
    });
  });

  describe('connection age (GRPC_MAX_CONNECTION_AGE_MS=200) and idleness (GRPC_MAX_CONNECTION_IDLE_MS=200)', () => {
    for (const env of [{ GRPC_MAX_CONNECTION_AGE_MS: '200', GRPC_MAX_CONNECTION_AGE_GRACE_MS: '1000' }, { GRPC_MAX_CONNECTION_IDLE_MS: '200' }]) {
      it(`with ${Object.keys(env)[0]}, the server closes the client's connection (GOAWAY) and its next call is served on a new one`, async () => {
        const t = await startTestServer(env);
        const { client, check } = ownConnection(t.port);
        try {
          await check();
          const channel = client.getChannel();
          expect(channel.getConnectivityState(false)).to.equal(grpc.connectivityState.READY);
          // Waits for the channel to leave READY: the server's GOAWAY, nothing the client did.
          await new Promise<void>((resolve, reject) =>
            channel.watchConnectivityState(grpc.connectivityState.READY, Date.now() + 20_000, (err) => (err ? reject(err) : resolve())),
          );
          expect(channel.getConnectivityState(false)).to.not.equal(grpc.connectivityState.READY);
          await check();
        } finally {
          client.close();
          await t.stop();
        }
      });
    }
  });
});
