/**
 * Our keys in Triton's `parameters` map of a config.json ({ "key": { "string_value": "..." } }):
 * `run_on_event_loop` "true" runs the model's one session on the event loop instead of a worker
 * thread; "lone" keeps the worker threads and adds a session on the event loop for a request that
 * arrives alone (a batch of one request, nothing else queued or running), which would otherwise
 * pay two thread wake-ups for nothing; "false" (the default) is worker threads only.
 * `event_loop_run_limit_us` (default 1000) is the longest run allowed on the event loop before the
 * model leaves it for good. Other keys are left alone, as Triton leaves them to backends.
 */
import { isObject, parameterString, positiveInt, type Fail } from './config-json';

export interface EventLoopConfig {
  readonly limitUs: number;
  /** Only requests that arrive alone run there; the others go to the worker threads. */
  readonly loneOnly: boolean;
}

export const DEFAULT_EVENT_LOOP_LIMIT_US = 1000;

/** Undefined: worker threads, the default. */
export function parseEventLoop(parameters: unknown, instanceCount: number, fail: Fail): EventLoopConfig | undefined {
  if (parameters === undefined) return undefined;
  if (!isObject(parameters)) return fail('parameters must be an object');
  const on = parameterString(parameters, 'run_on_event_loop', fail);
  const limit = parameterString(parameters, 'event_loop_run_limit_us', fail);
  if (on !== undefined && on !== 'true' && on !== 'lone' && on !== 'false') fail(`parameters.run_on_event_loop must be "true", "lone" or "false", not "${on}"`);
  if (on !== 'true' && on !== 'lone') {
    if (limit !== undefined) fail('parameters.event_loop_run_limit_us needs parameters.run_on_event_loop "true" or "lone"');
    return undefined;
  }
  if (on === 'true' && instanceCount > 1) fail('parameters.run_on_event_loop runs one session on the event loop: instance_group[0].count must be 1');
  const limitUs = limit === undefined ? DEFAULT_EVENT_LOOP_LIMIT_US : positiveInt(/^[0-9]+$/.test(limit) ? Number(limit) : NaN, 'parameters.event_loop_run_limit_us', fail);
  return { limitUs, loneOnly: on === 'lone' };
}
