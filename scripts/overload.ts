/**
 * Overload check: many callers at once against a model whose queue is bounded.
 *
 *   npm run overload -- [--callers 1000] [--rounds 5] [--queue 64] [--max-batch 8] [--connections 4]
 *                       [--request-bytes 16384] [--out bench-report-overload.json]
 *
 * The real server runs as a child process serving the slow model (sized to this machine, see
 * test/support/batching-slow-model.ts) with dynamic_batching.default_queue_policy.max_queue_size
 * set to --queue. Each round fires --callers ModelInfer calls at once over --connections
 * connections; a thread of its own sends a health Check every 10 ms throughout; the server's RSS
 * is sampled every 10 ms from /proc. Before the rounds: health when idle, and the same burst sent
 * to a model the server does not have (NOT_FOUND: the same bytes and path, no queue, no run),
 * which is what a refusal costs at this concurrency on this machine.
 *
 * Columns: "accepted bound" is the queue bound plus a batch for each run that could have started
 * before the round's last refusal; "queue runs ms" is the model time the accepted calls imply
 * (their batches plus one run under way), to read beside the accepted calls' latency.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LatencySummary } from './bench/latency-recorder';
import { HealthPoller, RssSampler, fireRound, ownChannel, readModelRuns, type RoundOutcome } from './bench/overload-round';
import { startOverloadServer } from './bench/overload-server';
import { machineInfo, table } from './bench/report';

const { values: args } = parseArgs({
  options: {
    callers: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    queue: { type: 'string', default: '64' },
    'max-batch': { type: 'string', default: '8' },
    connections: { type: 'string', default: '4' },
    'request-bytes': { type: 'string', default: '16384' },
    out: { type: 'string', default: 'bench-report-overload.json' },
  },
});
const CALLERS = Number(args.callers);
const ROUNDS = Number(args.rounds);
const QUEUE = Number(args.queue);
const MAX_BATCH = Number(args['max-batch']);
const CONNECTIONS = Number(args.connections);
const REQUEST_BYTES = Number(args['request-bytes']);
const DEADLINE_MS = 120_000;

const f = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const triple = (s: LatencySummary): string => `${f(s.p50Ms)} / ${f(s.p99Ms)} / ${f(s.maxMs)}`;

async function main(): Promise<void> {
  console.log(`overload: ${CALLERS} callers x ${ROUNDS} rounds, queue bound ${QUEUE}, max_batch_size ${MAX_BATCH}, ${CONNECTIONS} connections, ${REQUEST_BYTES} B requests`);
  const server = await startOverloadServer({ queueBound: QUEUE, maxBatch: MAX_BATCH, requestBytes: REQUEST_BYTES });
  const channels = Array.from({ length: CONNECTIONS }, () => ownChannel(server.address));
  try {
    const idlePoller = await HealthPoller.start(server.address);
    await sleep(1000);
    const idleHealth = await idlePoller.stop();
    // Warms both sides up, then measures a burst that is refused with no queue in the way.
    await fireRound(channels, server.absentModelRequest, CALLERS, DEADLINE_MS, grpc.status.NOT_FOUND);
    const lookupPoller = await HealthPoller.start(server.address);
    const lookup = await fireRound(channels, server.absentModelRequest, CALLERS, DEADLINE_MS, grpc.status.NOT_FOUND);
    const lookupHealth = await lookupPoller.stop();
    const idleRss = new RssSampler(server.pid).stop();

    const before = await readModelRuns(server.address, server.model);
    const poller = await HealthPoller.start(server.address);
    const rounds: { outcome: RoundOutcome; peakRss: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const rss = new RssSampler(server.pid);
      const outcome = await fireRound(channels, server.request, CALLERS, DEADLINE_MS);
      rounds.push({ outcome, peakRss: rss.stop() });
      process.stdout.write(`  round ${i + 1}: ${outcome.accepted.count} OK, ${outcome.refused.count} RESOURCE_EXHAUSTED, ${Object.keys(outcome.other).length === 0 ? 'no other' : JSON.stringify(outcome.other)}\n`);
    }
    const health = await poller.stop();
    const after = await readModelRuns(server.address, server.model);
    const runMs = after.meanRunMs;

    const rows = rounds.map(({ outcome: o, peakRss }, i) => {
      const runsDuringBurst = 1 + Math.ceil(o.lastRefusalMs / runMs);
      return [
        String(i + 1),
        String(o.accepted.count),
        String(o.refused.count),
        String(Object.values(o.other).reduce((a, b) => a + b, 0)),
        triple(o.refused.summary()),
        triple(o.accepted.summary()),
        `${QUEUE + runsDuringBurst * MAX_BATCH}`,
        f((Math.ceil(o.accepted.count / MAX_BATCH) + 1) * runMs),
        mib(peakRss),
      ];
    });
    console.log('');
    console.log(table(['round', 'OK', 'RES_EXH', 'other', 'to RESOURCE_EXHAUSTED p50/p99/max ms', 'accepted p50/p99/max ms', 'accepted bound', 'queue runs ms', 'peak RSS MiB'], rows));
    const idle = idleHealth.latency.summary();
    const loaded = health.latency.summary();
    const lookupRefused = lookup.refused.summary();
    const refusals = after.failures - before.failures;
    const serverRefuseMs = refusals > 0 ? ((after.meanFailureMs * after.failures - (before.failures > 0 ? before.meanFailureMs * before.failures : 0)) / refusals) : NaN;
    const expectedHeldBytes = (QUEUE + MAX_BATCH) * server.request.length;
    const peak = Math.max(...rounds.map((r) => r.peakRss));
    console.log('');
    console.log(table(['measure', 'value'], [
      ['model run (server, mean)', `${f(runMs)} ms`],
      ['time to refuse (server: routing to status)', `${f(serverRefuseMs)} ms`],
      ['same burst refused NOT_FOUND p50/p99/max', `${triple(lookupRefused)} ms`],
      ['health idle p50/p99/max', `${triple(idle)} ms (${idleHealth.latency.count} checks)`],
      ['health during NOT_FOUND burst p50/p99/max', `${triple(lookupHealth.latency.summary())} ms (${lookupHealth.latency.count} checks)`],
      ['health under overload p50/p99/max', `${triple(loaded)} ms (${health.latency.count} checks, ${health.failures} failed)`],
      ['health checks over 100 ms under overload', String(health.latency.countAbove(100))],
      ['RSS idle (after warm-up) / peak', `${mib(idleRss)} / ${mib(peak)} MiB (+${mib(peak - idleRss)})`],
      ['held at most: (queue + one batch) x request', `${mib(expectedHeldBytes)} MiB; one burst's bytes: ${mib(CALLERS * server.request.length)} MiB`],
    ]));
    const report = {
      machine: machineInfo(),
      settings: { callers: CALLERS, rounds: ROUNDS, queueBound: QUEUE, maxBatch: MAX_BATCH, connections: CONNECTIONS, requestBytes: server.request.length },
      modelRunMs: runMs,
      serverRefuseMs,
      lookupBurst: lookupRefused,
      health: { idle, duringLookupBurst: lookupHealth.latency.summary(), underOverload: loaded, failures: health.failures, over100Ms: health.latency.countAbove(100) },
      rss: { idleBytes: idleRss, peakBytes: peak, expectedHeldBytes },
      rounds: rounds.map(({ outcome: o, peakRss }) => ({
        accepted: o.accepted.count, refused: o.refused.count, other: o.other,
        toRefusal: o.refused.summary(), acceptedLatency: o.accepted.summary(), lastRefusalMs: o.lastRefusalMs, durationMs: o.durationMs, peakRssBytes: peakRss,
      })),
    };
    fs.writeFileSync(args.out!, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${args.out}`);
  } finally {
    for (const c of channels) c.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
