import { ConfigError, loadConfig } from './config/load';
import { createLogger } from './observability/logger';
import { startServer } from './app';
import { handleShutdownSignals } from './lifecycle/signals';
import { pinNextTickMaps } from './platform/pin-tick-maps';

async function main(): Promise<void> {
  // onnxruntime 1.30 on Linux otherwise starts Microsoft's telemetry (files under /tmp and ~/.cache,
  // uploads). Set here, before any session worker exists, so their ONNX Runtime reads it; an explicit value wins.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
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
