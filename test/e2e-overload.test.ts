/**
 * 1,000 callers at once against a model whose queue holds 64, on the real server in a child
 * process: the excess is refused RESOURCE_EXHAUSTED without waiting on the model, what is
 * accepted is bounded by the queue and the runs under way, health keeps answering, and memory
 * does not follow the callers. Durations are compared with what this machine measured in the
 * same test (the model's run time, the same burst refused NOT_FOUND, health when idle).
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOverloadServer, type OverloadServer } from '../scripts/bench/overload-server';
import { HealthPoller, RssSampler, fireRound, ownChannel, readModelRuns, type RoundOutcome } from '../scripts/bench/overload-round';

const CALLERS = 1000;
const QUEUE_BOUND = 64;
const MAX_BATCH = 8;
const CONNECTIONS = 4;
/** Each request's size: large enough that a server holding every caller's would show it in RSS. */
const REQUEST_BYTES = 64 * 1024;
/** Health's budget under overload: the median within it; the 99th percentile within it on top of this machine's own without the queue. */
const HEALTH_BUDGET_MS = 100;

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const ms = (value: number): string => value.toFixed(1);

describe('e2e: overload', function () {
  this.timeout(120_000);
  let server: OverloadServer;
  let channels: grpc.Client[];

  before(async () => {
    server = await startOverloadServer({ queueBound: QUEUE_BOUND, maxBatch: MAX_BATCH, requestBytes: REQUEST_BYTES });
    channels = Array.from({ length: CONNECTIONS }, () => ownChannel(server.address));
  });
  after(async () => {
    for (const c of channels ?? []) c.close();
    await server?.stop();
  });

  it(`answers ${CALLERS} callers OK or RESOURCE_EXHAUSTED, accepts at most the queue bound plus the runs under way, refuses as fast as an unknown model, keeps health answering and memory bounded`, async () => {
    // Idle health; then the same burst refused by a lookup (NOT_FOUND: no queue, no model run), once to warm up, once measured.
    const idleHealth = await HealthPoller.start(server.address);
    await sleep(500);
    const idle = await idleHealth.stop();
    await fireRound(channels, server.absentModelRequest, CALLERS, 60_000, grpc.status.NOT_FOUND);
    const baselineHealthPoller = await HealthPoller.start(server.address);
    const baseline = await fireRound(channels, server.absentModelRequest, CALLERS, 60_000, grpc.status.NOT_FOUND);
    const baselineHealth = await baselineHealthPoller.stop();
    expect(baseline.refused.count, 'the baseline burst refused NOT_FOUND').to.equal(CALLERS);
    const idleRss = new RssSampler(server.pid).stop();

    const health = await HealthPoller.start(server.address);
    const rounds: RoundOutcome[] = [];
    const peakRss: number[] = [];
    for (let round = 0; round < 2; round++) {
      const rss = new RssSampler(server.pid);
      rounds.push(await fireRound(channels, server.request, CALLERS, 60_000));
      peakRss.push(rss.stop());
    }
    const loaded = await health.stop();
    const stats = await readModelRuns(server.address, server.model);
    const runMs = stats.meanRunMs;

    const base = baseline.refused.summary();
    const idleSummary = idle.latency.summary();
    const loadedSummary = loaded.latency.summary();
    const baselineHealthSummary = baselineHealth.latency.summary();
    console.log(
      `      run ${ms(runMs)} ms, server's time to refuse ${ms(stats.meanFailureMs)} ms; NOT_FOUND burst p50/max ${ms(base.p50Ms)}/${ms(base.maxMs)} ms, health p99/max ${ms(baselineHealthSummary.p99Ms)}/${ms(baselineHealthSummary.maxMs)} ms; ` +
      rounds.map((o, i) => `round ${i}: ${o.accepted.count} OK (max ${ms(o.accepted.summary().maxMs)} ms), ${o.refused.count} RESOURCE_EXHAUSTED p50/max ${ms(o.refused.summary().p50Ms)}/${ms(o.refused.summary().maxMs)} ms`).join('; ') +
      `; health idle p50/p99/max ${ms(idleSummary.p50Ms)}/${ms(idleSummary.p99Ms)}/${ms(idleSummary.maxMs)} ms, under load p50/p99/max ${ms(loadedSummary.p50Ms)}/${ms(loadedSummary.p99Ms)}/${ms(loadedSummary.maxMs)} ms (${loaded.latency.count} checks)` +
      `; RSS idle ${mib(idleRss)} MiB, peak of each round ${peakRss.map(mib).join(', ')} MiB`,
    );

    for (const o of rounds) {
      expect(o.other, 'outcomes other than OK and RESOURCE_EXHAUSTED').to.deep.equal({});
      expect(o.accepted.count + o.refused.count).to.equal(CALLERS);
      expect(o.accepted.count, 'accepted at least what the queue holds').to.be.at.least(QUEUE_BOUND);
      // Until the last refusal, at most this many runs can have started, each taking up to MAX_BATCH off the queue.
      const runsDuringBurst = 1 + Math.ceil(o.lastRefusalMs / runMs);
      expect(o.accepted.count, `accepted, with ${runsDuringBurst} run(s) possible during the burst`).to.be.at.most(QUEUE_BOUND + runsDuringBurst * MAX_BATCH);
      // Seen by the client, a refusal costs what a lookup refusal does at this concurrency: had it waited on the
      // model, the median caller would have waited for dozens of runs.
      const refusedSummary = o.refused.summary();
      expect(refusedSummary.p50Ms, 'median time to RESOURCE_EXHAUSTED').to.be.below(2 * base.p50Ms + runMs);
      expect(refusedSummary.maxMs, 'slowest RESOURCE_EXHAUSTED').to.be.below(2 * base.maxMs + runMs);
      // An accepted call waits at most for the runs that empty the queue ahead of it, plus what the burst itself costs here.
      const queueRunsMs = (Math.ceil(o.accepted.count / MAX_BATCH) + 1) * runMs;
      expect(o.accepted.summary().maxMs, `slowest accepted call (the queue's runs: ${ms(queueRunsMs)} ms)`).to.be.below(queueRunsMs + 2 * base.maxMs);
    }
    // Seen by the server, from routing to refusal, no model run is waited for.
    expect(stats.failures, 'refusals the server counted').to.equal(rounds.reduce((n, o) => n + o.refused.count, 0));
    expect(stats.meanFailureMs, "the server's mean time to refuse").to.be.below(runMs / 10);
    expect(loaded.failures, 'health checks that failed or passed their deadline').to.equal(0);
    expect(loaded.latency.count, 'health checks answered during the rounds').to.be.greaterThan(10);
    expect(loadedSummary.p50Ms, 'median health answer under overload').to.be.below(HEALTH_BUDGET_MS);
    // The tail: within the budget of this machine's own tail without the queue (idle, or the same burst refused by a lookup).
    const machineP99 = Math.max(idleSummary.p99Ms, baselineHealthSummary.p99Ms);
    expect(loadedSummary.p99Ms, `99th percentile health answer under overload (this machine's without the queue: ${ms(machineP99)} ms)`).to.be.below(HEALTH_BUDGET_MS + machineP99);
    // Idle RSS is taken after two bursts of the same size (refused NOT_FOUND), so the heap has already grown to
    // pass a burst through. Holding both rounds' refused requests would take 2 x (wire bytes + decoded copy), over
    // this bound; V8 returns memory lazily, so one round's garbage may still show, and the bound leaves room for it.
    const burstBytes = CALLERS * server.request.length;
    expect(Math.max(...peakRss) - idleRss, 'RSS growth over both rounds').to.be.below(2 * burstBytes);
  });
});
