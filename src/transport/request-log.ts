import type { InferenceError } from '../errors';
import type { Logger } from '../observability/logger';

/**
 * Under overload a line per refused request would cost the event loop most when it can least
 * afford it (a synchronous write per refusal, blocking once the log pipe is full): refusals
 * (RESOURCE_EXHAUSTED) get one line per model a second, counting those it stands for.
 */
const REFUSAL_LINE_EVERY_MS = 1000;

interface RefusalWindow {
  lineAt: number;
  unlogged: number;
}

const refusals = new WeakMap<Logger, Map<string, RefusalWindow>>();

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
  let windows = refusals.get(log);
  if (!windows) refusals.set(log, (windows = new Map()));
  const key = entry.model ?? '';
  const now = Date.now();
  const window = windows.get(key);
  if (window && now - window.lineAt < REFUSAL_LINE_EVERY_MS) {
    window.unlogged++;
    return;
  }
  log.warn({ ...entry, refused_since_last_line: window?.unlogged ?? 0 }, 'request failed');
  windows.set(key, { lineAt: now, unlogged: 0 });
}
