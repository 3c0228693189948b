import type { InferenceError } from '../errors';
import type { Logger } from '../observability/logger';

/** The one log line per failed request: server faults at error, client and overload errors at warn. */
export function logFailedRequest(log: Logger, rpc: string, model: string | undefined, error: InferenceError): void {
  const entry = { rpc, model, code: error.code, reason: error.message };
  if (error.code === 'INTERNAL') log.error(entry, 'request failed');
  else log.warn(entry, 'request failed');
}
