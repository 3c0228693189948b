import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Where a bearer token could sit in a logged object (call metadata, HTTP headers). Nothing logs
 * them today; this keeps a future `log.debug({ metadata })` from writing the admin token.
 */
const REDACTED_PATHS = ['authorization', '*.authorization', '*.*.authorization'];

/** JSON logs on stdout, or on `destination` (tests); `silent` turns them off. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'onnx-grpc-server' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
