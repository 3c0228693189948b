/**
 * SIGTERM and SIGINT start one drain; the exit code says whether it cut anything. A second
 * signal exits at once, for an operator who will not wait.
 */
import type { Logger } from '../observability/logger';
import type { DrainOutcome } from './drain';

export interface Drainable {
  drain(): Promise<DrainOutcome>;
}

/**
 * Installs the handlers before the server exists: a signal that arrives while models load
 * exits at once (nothing has been accepted yet); `attach` gives the running server.
 */
export function handleShutdownSignals(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): { attach(server: Drainable): void } {
  let server: Drainable | undefined;
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      log.warn({ signal }, 'second signal: exiting at once');
      dieBy(signal);
      return;
    }
    if (!server) {
      log.warn({ signal }, 'signal while starting: exiting at once');
      dieBy(signal);
      return;
    }
    draining = true;
    log.info({ signal }, 'shutting down');
    server.drain().then(
      ({ cut }) => exit(cut > 0 ? 1 : 0),
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'drain failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    attach: (running) => {
      server = running;
    },
  };
}

/**
 * Ends the process the way the signal itself would have (exit status 128 + its number).
 * process.exit would tear down the worker threads, and a worker stopped while ONNX Runtime
 * runs aborts the process instead.
 */
function dieBy(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}
