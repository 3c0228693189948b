/** Waiting for an observable fact rather than sleeping for a guessed time. */
import { expect } from 'chai';

/**
 * Polls `probe` every 2 ms until `done` holds for its value, and returns that value; fails, naming
 * `what` and the last value seen, after `timeoutMs`.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > giveUpAt) expect.fail(`gave up after ${timeoutMs} ms waiting for ${what}; last seen ${JSON.stringify(value, mapsAsEntries)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function mapsAsEntries(_key: string, value: unknown): unknown {
  return value instanceof Map ? [...value] : value;
}
