/**
 * grpc.health.v1 and ServerReady while the models load: the server listens first, answers
 * NOT_SERVING for readiness until every model is warm, then streams SERVING to its watchers.
 * The load is made to last by a model_warmup of the sized slow model, about two seconds here.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { INFERENCE_SERVICE } from '../src/transport/server';
import { freePort } from '../scripts/bench/free-port';
import { writeSlowToLoadRepository } from './support/batching-slow-model';
import { createHealthClient, removeDir, type HealthClient } from './support/e2e-helpers';
import { createClient, REPO_ROOT, startTestServer, type InferenceClient, type TestServer } from './support/server';
import { waitFor } from './support/wait-for';

const PROBE = path.join(REPO_ROOT, '..', 'shared', 'clients', 'bin', 'grpc_health_probe');
/** How long the warm-up should hold the load: far longer than the checks made during it. */
const LOAD_MS = 2000;

/** Waits until `ready()` holds. */
const until = (what: string, ready: () => boolean | Promise<boolean>): Promise<boolean> => waitFor(what, ready, (yes) => yes);

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** grpc_health_probe's exit code: 0 SERVING, 4 NOT_SERVING. */
const probe = (port: number, service: string): Promise<number> =>
  new Promise((resolve) => execFile(PROBE, [`-addr=127.0.0.1:${port}`, `-service=${service}`], (err) => resolve(err ? Number(err.code) : 0)));

describe('e2e: health and readiness while models load', function () {
  this.timeout(60_000);
  let repo: string;
  let port: number;
  let starting: Promise<TestServer>;
  let health: HealthClient;
  let client: InferenceClient;
  let watch: ReturnType<HealthClient['watch']> | undefined;
  const watched: string[] = [];

  before(async () => {
    repo = await writeSlowToLoadRepository(LOAD_MS);
    port = await freePort();
    starting = startTestServer({ MODEL_REPOSITORY: repo, GRPC_PORT: String(port) });
    await until('the server listens', () => accepts(port));
    health = createHealthClient(port);
    client = createClient(port);
    watch = health.watch(INFERENCE_SERVICE, (status) => watched.push(status));
    // Cancelling ends the call with an error event; without a listener that would be thrown.
    watch.on('error', () => undefined);
    await until('the first status of Watch', () => watched.length > 0);
  });

  after(async () => {
    // The server's graceful stop waits for open calls, and a Watch never ends by itself.
    watch?.cancel();
    health?.close();
    client?.close();
    await (await starting)?.stop();
    if (repo) removeDir(repo);
  });

  describe('while the model warms up', () => {
    it('streams NOT_SERVING to a Watch of inference.GRPCInferenceService', () => {
      expect(watched).to.deep.equal(['NOT_SERVING']);
    });

    it('answers Check, ServerReady and ModelReady with not ready, and ServerLive with live', async () => {
      expect(await health.check(INFERENCE_SERVICE)).to.equal('NOT_SERVING');
      expect((await client.unary<{ ready: boolean }>('ServerReady', {})).ready).to.equal(false);
      expect((await client.unary<{ ready: boolean }>('ModelReady', { name: 'slow_to_load' })).ready).to.equal(false);
      expect((await client.unary<{ live: boolean }>('ServerLive', {})).live).to.equal(true);
    });

    it('makes grpc_health_probe exit 4 (NOT_SERVING) for readiness and for the model', async function () {
      if (!fs.existsSync(PROBE)) this.skip();
      expect(await probe(port, INFERENCE_SERVICE)).to.equal(4);
      expect(await probe(port, 'slow_to_load')).to.equal(4);
    });

    it('answers liveness (service "") SERVING already, so a slow load is not a restart', async function () {
      expect(await health.check('')).to.equal('SERVING');
      if (fs.existsSync(PROBE)) expect(await probe(port, '')).to.equal(0);
    });
  });

  describe('once every model is ready', () => {
    before(async () => {
      await starting;
      await until('SERVING on the Watch stream', () => watched.includes('SERVING'));
    });

    it('streams SERVING on the same Watch, once', () => {
      expect(watched).to.deep.equal(['NOT_SERVING', 'SERVING']);
    });

    it('answers Check, ServerReady and ModelReady with ready', async () => {
      expect(await health.check(INFERENCE_SERVICE)).to.equal('SERVING');
      expect(await health.check('slow_to_load')).to.equal('SERVING');
      expect((await client.unary<{ ready: boolean }>('ServerReady', {})).ready).to.equal(true);
      expect((await client.unary<{ ready: boolean }>('ModelReady', { name: 'slow_to_load' })).ready).to.equal(true);
    });

    it('makes grpc_health_probe exit 0 (SERVING)', async function () {
      if (!fs.existsSync(PROBE)) {
        console.log(`      (skipped: ${PROBE} is absent)`);
        this.skip();
      }
      expect(await probe(port, INFERENCE_SERVICE)).to.equal(0);
    });
  });
});
