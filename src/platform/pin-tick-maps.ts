/**
 * A workaround for a V8 quirk that costs every process.nextTick call a trip into the runtime.
 *
 * Node builds each nextTick queue entry as an object literal with two computed symbol keys.
 * V8 records the feedback for such keys in the runtime, and once the hidden classes it saw
 * there are collected (a full GC with no entry queued drops the whole chain, since only live
 * entries hold it), the next entry gets fresh ones and the site turns megamorphic for good.
 * Under load our server then spent 4 to 5 us per request in that runtime path; holding one
 * entry for the life of the process keeps the chain alive. See README, "Benchmark".
 */
import { createHook } from 'node:async_hooks';

let pinned: object | undefined;

/**
 * Keeps one nextTick queue entry alive; the async hook that catches it is on only for that call.
 * Returns the entry, or undefined where Node no longer reports one: a lost optimization, not a
 * reason to refuse to start.
 */
export function pinNextTickMaps(): object | undefined {
  if (pinned) return pinned;
  const hook = createHook({
    init(_asyncId, type, _trigger, resource) {
      if (type === 'TickObject') pinned ??= resource;
    },
  }).enable();
  try {
    process.nextTick(() => undefined);
  } finally {
    hook.disable();
  }
  return pinned;
}
