/** The value formats of the settings (schema.ts) that convict lacks or gets wrong. */
import convict from 'convict';
import { MAX_STATISTICS_COLUMNS } from '../observability/feature-statistics';
import { MAX_TIMER_MS } from '../platform/timer-limit';

/** Accepts an array or a comma list (from env and flags) of known execution providers. */
const providerList = (known: readonly string[]): convict.Format => ({
  name: 'provider-list',
  coerce: (value: string) => value.split(',').map((p) => p.trim()).filter((p) => p.length > 0),
  validate(value: unknown) {
    if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty list of execution providers');
    for (const provider of value) {
      if (!(known as readonly unknown[]).includes(provider)) {
        throw new Error(`unknown execution provider '${String(provider)}' (known: ${known.join(', ')})`);
      }
    }
  },
});

/** convict's own int formats use parseInt, which reads '8O01' as 8; these refuse anything but digits. */
function strictInt(name: string, min: number, max = Number.MAX_SAFE_INTEGER, why = ''): convict.Format {
  return {
    name,
    coerce: (value: string) => (/^\s*-?[0-9]+\s*$/.test(value) ? Number(value) : Number.NaN),
    validate(value: unknown) {
      if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
        throw new Error(`must be an integer from ${min} to ${max}${why}`);
      }
    },
  };
}

/**
 * Durations become Node timers, ours or grpc-js's, which hold 32-bit milliseconds: a longer one
 * fires after 1 ms (grpc-js would then send every connection GOAWAY at once, or ping every
 * millisecond).
 */
const TIMER_RANGE = " (Node's timers hold at most 2^31 - 1 ms, about 24.8 days)";
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Model names to load at start in explicit mode: an array, a comma list, or a repeated flag; '*' means all. */
const nameList: convict.Format = {
  name: 'name-list',
  coerce: (value: string) => value.split(',').map((p) => p.trim()).filter((p) => p.length > 0),
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) throw new Error('must be a list of model names');
  },
};

/** convict's Boolean reads anything but 'false' as true ('0', 'no', 'off' included); this takes only true/false/1/0. */
const flag: convict.Format = {
  name: 'flag',
  coerce: (value: string) => ({ true: true, '1': true, false: false, '0': false })[value.trim().toLowerCase()] ?? value,
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false (or 1 or 0)');
  },
};

/** A port, or empty for none: the admin listener's, where empty means the inference port serves the admin RPCs too. */
const optionalPort: convict.Format = {
  name: 'optional-tcp-port',
  coerce: (value: string) => (value.trim() === '' ? null : /^\s*[0-9]+\s*$/.test(value) ? Number(value) : Number.NaN),
  validate(value: unknown) {
    if (value === null) return;
    if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > 65535) throw new Error('must be empty or an integer from 0 to 65535');
  },
};

/** `executionProviders`: the providers the 'provider-list' format knows. */
export function registerFormats(executionProviders: readonly string[]): void {
  convict.addFormat(providerList(executionProviders));
  convict.addFormat(optionalPort);
  convict.addFormat(nameList);
  convict.addFormat(flag);
  convict.addFormat(strictInt('positive-int', 1));
  convict.addFormat(strictInt('count', 0));
  convict.addFormat(strictInt('tcp-port', 0, 65535));
  convict.addFormat(strictInt('statistics-columns', 0, MAX_STATISTICS_COLUMNS, ' (each column is five Prometheus series per input)'));
  convict.addFormat(strictInt('duration-ms', 0, MAX_TIMER_MS, TIMER_RANGE));
  convict.addFormat(strictInt('positive-duration-ms', 1, MAX_TIMER_MS, TIMER_RANGE));
  convict.addFormat(strictInt('duration-seconds', 0, MAX_TIMER_SECONDS, TIMER_RANGE));
  convict.addFormat(strictInt('positive-duration-seconds', 1, MAX_TIMER_SECONDS, TIMER_RANGE));
}
