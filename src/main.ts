import { ConfigError, loadConfig } from './config/load';
import { createLogger } from './observability/logger';
import { startServer } from './app';
import { pinNextTickMaps } from './platform/pin-tick-maps';

async function main(): Promise<void> {
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
  const server = await startServer(config, log);
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
