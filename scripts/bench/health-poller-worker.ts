/**
 * The health poller's thread: a Check every `everyMs`, one at a time, on a connection of its
 * own, each timed and given a deadline. It runs apart from the load generator's event loop, so
 * its timings are the server's and not those of a thread busy firing 1,000 calls.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface HealthPollerData {
  readonly address: string;
  readonly everyMs: number;
  readonly deadlineMs: number;
}

/** What the thread posts once told 'stop' (before that, 'ready' once connected). */
export interface HealthPollerResult {
  readonly latenciesMs: number[];
  readonly failures: number;
}

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const { address, everyMs, deadlineMs } = workerData as HealthPollerData;
const channel = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
const latenciesMs: number[] = [];
let failures = 0;
let running = true;

parentPort!.on('message', () => {
  running = false;
});

function check(): Promise<boolean> {
  return new Promise((resolve) => {
    // An empty HealthCheckRequest asks about the whole server.
    channel.makeUnaryRequest(HEALTH_CHECK_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + deadlineMs }, (err) => resolve(!err));
  });
}

void (async () => {
  // The first Check also opens the connection: not a health answer's time.
  await check();
  parentPort!.postMessage('ready');
  while (running) {
    const started = performance.now();
    const ok = await check();
    const took = performance.now() - started;
    if (ok) latenciesMs.push(took);
    else failures++;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - took)));
  }
  channel.close();
  parentPort!.postMessage({ latenciesMs, failures } satisfies HealthPollerResult);
})();
