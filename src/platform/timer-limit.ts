/**
 * Node's timers hold a 32-bit signed count of milliseconds: a longer timeout fires after 1 ms
 * instead, with a TimeoutOverflowWarning on stderr each time. A wait sized by a client (the
 * `timeout` parameter, up to 2^53 µs) or by a model's config would then re-arm every millisecond,
 * printing a line each time. Timers whose callback rechecks the time are capped here instead:
 * after about 24.8 days they wake, find nothing due, and arm again.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const timerDelay = (ms: number): number => Math.min(ms, MAX_TIMER_MS);
