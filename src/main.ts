import { ConfigError, loadConfig } from './config/load';
import { createLogger } from './observability/logger';
import { startServer } from './app';
import { handleShutdownSignals } from './lifecycle/signals';
import { turnOffOrtTelemetryByDefault } from './platform/ort-telemetry';
import { pinNextTickMaps } from './platform/pin-tick-maps';

async function main(): Promise<void> {
  // Before any session worker exists, so that their ONNX Runtime reads it.
  turnOffOrtTelemetryByDefault();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  pinNextTickMaps();
  const signals = handleShutdownSignals(log);
  signals.attach(await startServer(config, log));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
