/** What one measured window of load produced, whichever generator made it. */
import type { LatencySummary } from './latency-recorder';

export type Mode = 'unary' | 'stream';
export type GeneratorName = 'node' | 'ghz';

export interface LoadWindow extends LatencySummary {
  readonly generator: GeneratorName;
  /** Successful responses that arrived inside the window. */
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly rps: number;
  /** Load generator process CPU over the window as a share of one core (node only). */
  readonly clientCpuPct: number | undefined;
}
