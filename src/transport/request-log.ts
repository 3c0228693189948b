import type { InferenceError } from '../errors';
import type { Logger } from '../observability/logger';

/** A model name as the client sent it may be megabytes long; the log keeps its start. */
const MAX_LOGGED_NAME = 256;

/** The one log line per failed request: server faults at error, client and overload errors at warn. */
export function logFailedRequest(log: Logger, rpc: string, model: string | undefined, error: InferenceError): void {
  const name = model !== undefined && model.length > MAX_LOGGED_NAME ? `${model.slice(0, MAX_LOGGED_NAME)}…` : model;
  const entry = { rpc, model: name, code: error.code, reason: error.message };
  if (error.code === 'INTERNAL') log.error(entry, 'request failed');
  else log.warn(entry, 'request failed');
}
