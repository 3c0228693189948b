import type { InferenceError } from '../errors';
import { LineThrottle } from '../observability/line-throttle';
import type { Logger } from '../observability/logger';

/** Refusals (RESOURCE_EXHAUSTED) come in bursts under overload: one line per model a second, counting those it stands for. */
const REFUSAL_LINE_EVERY_MS = 1000;

const refusals = new WeakMap<Logger, LineThrottle>();

/** A model name as the client sent it may be megabytes long; the log keeps its start. */
const MAX_LOGGED_NAME = 256;
/** So may a reason that quotes another of its strings (a 10 MB repository_name made a 10 MB line). */
const MAX_LOGGED_REASON = 4096;

const start = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The one log line per failed request: server faults at error, client and overload errors at warn. */
export function logFailedRequest(log: Logger, rpc: string, model: string | undefined, error: InferenceError): void {
  const entry = { rpc, model: model === undefined ? undefined : start(model, MAX_LOGGED_NAME), code: error.code, reason: start(error.logMessage, MAX_LOGGED_REASON) };
  if (error.code === 'INTERNAL') log.error(entry, 'request failed');
  else if (error.code === 'RESOURCE_EXHAUSTED') logRefusal(log, entry);
  else log.warn(entry, 'request failed');
}

function logRefusal(log: Logger, entry: { rpc: string; model: string | undefined; code: string; reason: string }): void {
  let throttle = refusals.get(log);
  if (!throttle) refusals.set(log, (throttle = new LineThrottle(REFUSAL_LINE_EVERY_MS)));
  const skipped = throttle.take(entry.model ?? '');
  if (skipped !== undefined) log.warn({ ...entry, refused_since_last_line: skipped }, 'request failed');
}
