/**
 * Graceful shutdown in Kubernetes' order: readiness goes NOT_SERVING at once; new calls are
 * still served for `delayMs` while endpoints and load balancers catch up; then new calls are
 * refused and the server waits up to `graceMs` for what it accepted (running and queued).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admission } from '../dataplane/admission';
import type { Readiness } from '../health/readiness';
import type { Logger } from '../observability/logger';

export interface DrainTargets {
  readonly readiness: Readiness;
  readonly admission: Admission;
  /** Refuses model loads and unloads from now on, and abandons those in progress. */
  stopModelControl(): void;
  /** Fails the requests still queued at the grace limit; returns how many. */
  cutQueued(): number;
  /** Closes the listener and ends whatever calls are still open, after the wait. */
  closeTransport(): Promise<void>;
  /** Frees the models' workers. */
  unloadModels(): Promise<void>;
}

export interface DrainTimes {
  readonly delayMs: number;
  readonly graceMs: number;
}

export interface DrainOutcome {
  /** Requests still unanswered at the grace limit, ended without their result. */
  readonly cut: number;
}

export async function drain(targets: DrainTargets, times: DrainTimes, log: Logger): Promise<DrainOutcome> {
  const { readiness, admission } = targets;
  readiness.markDraining();
  if (times.delayMs > 0) {
    log.info({ delay_ms: times.delayMs }, 'draining: readiness is NOT_SERVING; new calls are still served during the delay');
    await sleep(times.delayMs);
  }
  // Refused by the data plane with UNAVAILABLE, not by closing connections: a stream that
  // HTTP/2 refuses mid-shutdown reaches some clients as CANCELLED, which they do not retry.
  admission.close();
  // Before the transport closes: it waits for every open call, a RepositoryModelLoad's included.
  targets.stopModelControl();
  log.info({ pending: admission.pending, grace_ms: times.graceMs }, 'draining: new calls are refused; waiting for accepted requests');
  const grace = new AbortController();
  const idle = await Promise.race([
    admission.whenIdle().then(() => true),
    sleep(times.graceMs, false, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  let cut = 0;
  if (!idle) {
    cut = targets.cutQueued();
    log.error({ cut, running: admission.pending, grace_ms: times.graceMs }, 'draining: grace period over; queued requests were refused, running batches finish');
    // A run cannot be stopped safely (see runtime/session-worker.ts); each ends within one run time.
    await admission.whenIdle();
  }
  await targets.closeTransport();
  await targets.unloadModels();
  log.info({ cut }, 'drained');
  return { cut };
}
