/** What a scenario is and what it measured. */
import type { LoadWindow, Mode } from './load-result';
import type { BatchTimes } from './model-stats-client';
import type { Batching } from './server-process';

export type Target = 'bare' | 'server';

export interface ScenarioSpec {
  readonly target: Target;
  readonly mode: Mode;
  readonly concurrency: number;
  /** Server scenarios only. */
  readonly batching: Batching | undefined;
  /** A server whose config.json gives the input every rule (--validate), measured beside the same server without. */
  readonly inputRules?: boolean;
}

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly label: string;
  readonly load: LoadWindow;
  /** inference_count / execution_count over the window, from ModelStatistics (server only). */
  readonly meanBatch: number | undefined;
  /**
   * Per run over the window, from ModelStatistics (server only): compute_infer, and compute_input
   * plus compute_output, which charge the round trip to the session beyond the run, merge and split.
   */
  readonly batchTimes?: BatchTimes;
  readonly serverCpuUsPerReq: number;
  /** The part of serverCpuUsPerReq spent on the server's main (event loop) thread. */
  readonly serverMainThreadUsPerReq: number;
  /** Server CPU over the window as a share of one core. */
  readonly serverCpuPct: number;
  readonly serverRssMiB: number;
  /**
   * CPU the rest of the machine used over the window (share of one core): machine-wide busy
   * time minus the server's and the load generator's. High values mean a neighbour competed.
   */
  readonly otherCpuPct: number | undefined;
  /** Requests the server answered in this scenario, warm-up and retries included (for per-request profile figures). */
  readonly servedTotal: number;
  /** Runs made: a window that a neighbour disturbed is measured again (--retries). */
  readonly attempts: number;
  /** Rounds this spec was measured in (--rounds); the window shown is from its group's median round. */
  readonly rounds?: number;
  /** Against the bare grpc-js server at the same mode and concurrency, in the same round. */
  readonly rpsVsBare?: number;
  readonly cpuVsBare?: number;
  /** Every round's ratios, each against the bare window of its own round, and the figures they came from. */
  readonly roundRatios?: RoundRatios;
}

export interface RoundRatios {
  readonly cpuVsBare: readonly number[];
  readonly rpsVsBare: readonly number[];
  readonly serverCpuUsPerReq: readonly number[];
  readonly bareCpuUsPerReq: readonly number[];
  readonly rps: readonly number[];
  readonly bareRps: readonly number[];
  readonly p50Ms: readonly number[];
  readonly bareP50Ms: readonly number[];
}

export function scenarioLabel(spec: ScenarioSpec): string {
  const batching = spec.batching ? (spec.batching.enabled ? `on(${spec.batching.queueDelayUs}us)` : 'off') : '-';
  return `${spec.target === 'bare' ? 'bare  ' : 'server'} ${spec.mode.padEnd(6)} c=${String(spec.concurrency).padEnd(3)} batching=${batching}${spec.inputRules ? ' +rules' : ''}`;
}
