/**
 * One loaded version of an ensemble: its configuration and counters, and the requests it is
 * running, which an unload waits for. Its steps run on the composing models' own versions,
 * chosen per request (dataplane/ensemble-run.ts).
 */
import type { EnsembleStep } from './ensemble-config';
import type { ModelConfig } from './model-config';
import { VersionBase } from './served-version';

export class EnsembleVersion extends VersionBase {
  readonly kind = 'ensemble';
  readonly steps: readonly EnsembleStep[];
  private running = 0;
  private idle: (() => void) | undefined;

  constructor(name: string, version: number, config: ModelConfig, onChange: () => void = () => {}) {
    super(name, version, config, onChange);
    this.steps = config.ensemble!;
  }

  /** A request starts its steps; `end` must follow, once. */
  begin(): void {
    this.running++;
  }

  end(): void {
    if (--this.running === 0) this.idle?.();
  }

  /** Requests already running finish their steps; new ones are no longer routed here. */
  async unload(): Promise<void> {
    this.state = 'UNLOADING';
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.state = 'UNAVAILABLE';
  }
}
