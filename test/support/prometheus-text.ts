/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4), written from the format's
 * description rather than from the server's code: it fails the test on any line Prometheus would
 * refuse, and on the rules a scrape relies on beyond the grammar (one TYPE per family before its
 * samples, each family in one group, no repeated series, histograms cumulative and complete).
 */
import { expect } from 'chai';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class Exposition {
  /** Family name to its TYPE. */
  readonly types = new Map<string, string>();
  readonly samples: Sample[] = [];

  /** The one sample with exactly these labels; fails when there is none or more than one. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
    expect(found, `samples of ${name}${JSON.stringify(labels)}`).to.have.length(1);
    return found[0].value;
  }

  /** Every sample of `name` whose labels include `labels`. */
  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
}

export function parseExposition(text: string): Exposition {
  expect(text.endsWith('\n'), 'the text ends with a newline').to.equal(true);
  const out = new Exposition();
  const helps = new Set<string>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, line: string): void => {
    if (family === current) return;
    expect(finished.has(family), `family ${family} in one group, again at: ${line}`).to.equal(false);
    if (current !== undefined) finished.add(current);
    current = family;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!meta) continue; // any other comment is allowed
      const [, kind, name, rest = ''] = meta;
      expect(name, line).to.match(METRIC_NAME);
      enter(name, line);
      if (kind === 'HELP') {
        expect(helps.has(name), `one HELP for ${name}`).to.equal(false);
        expect(rest, `HELP escapes only \\\\ and \\n: ${line}`).to.match(/^(?:[^\\]|\\[\\n])*$/);
        helps.add(name);
      } else {
        expect(out.types.has(name), `one TYPE for ${name}`).to.equal(false);
        expect(out.samples.some((s) => familyOf(s.name, out.types) === name), `TYPE of ${name} before its samples`).to.equal(false);
        expect(TYPES.has(rest), line).to.equal(true);
        out.types.set(name, rest);
      }
      continue;
    }
    const sample = parseSample(line);
    const family = familyOf(sample.name, out.types);
    expect(out.types.has(family), `a TYPE line for ${sample.name}`).to.equal(true);
    enter(family, line);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    expect(series.has(key), `series once: ${line}`).to.equal(false);
    series.add(key);
    if (out.types.get(family) === 'counter') expect(sample.value, `counter not negative: ${line}`).to.be.at.least(0);
    out.samples.push(sample);
  }
  for (const [name, type] of out.types) if (type === 'histogram') checkHistogram(name, out);
  return out;
}

/** `name{label="value",...} value [timestamp]`, with the escapes \\, \" and \n in label values. */
function parseSample(line: string): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  expect(head, `a metric name at the start of: ${line}`).to.not.equal(null);
  const name = head![1];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const label = /^([^=]*)="/.exec(line.slice(at));
      expect(label, `label at ${at} of: ${line}`).to.not.equal(null);
      expect(label![1], line).to.match(LABEL_NAME);
      expect(labels, `label ${label![1]} once: ${line}`).to.not.have.property(label![1]);
      at += label![0].length;
      let value = '';
      for (; line[at] !== '"'; at++) {
        expect(at, `closed label value in: ${line}`).to.be.below(line.length);
        if (line[at] !== '\\') {
          value += line[at];
          continue;
        }
        const escaped = line[++at];
        expect(['\\', '"', 'n'], `escape \\${escaped} in: ${line}`).to.include(escaped);
        value += escaped === 'n' ? '\n' : escaped;
      }
      labels[label![1]] = value;
      at++;
      if (line[at] === ',') at++;
      else expect(line[at], `',' or '}' at ${at} of: ${line}`).to.equal('}');
    }
    at++;
  }
  const rest = /^ (\S+)(?: (-?[0-9]+))?$/.exec(line.slice(at));
  expect(rest, `value (and timestamp) after the labels of: ${line}`).to.not.equal(null);
  return { name, labels, value: parseValue(rest![1], line) };
}

function parseValue(text: string, line: string): number {
  if (/^[+-]?Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  expect(text, `a number in: ${line}`).to.match(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/);
  return Number(text);
}

/** The family a sample belongs to: histograms and summaries own their _bucket, _sum and _count. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  const suffixed = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffixed) {
    const type = types.get(suffixed[1]);
    if (type === 'histogram' || (type === 'summary' && suffixed[2] !== 'bucket')) return suffixed[1];
  }
  return name;
}

/** Per label set: buckets by ascending le, counts never falling, a +Inf bucket equal to _count, and a _sum. */
function checkHistogram(name: string, out: Exposition): void {
  const sets = new Map<string, Sample[]>();
  for (const s of out.samples.filter((x) => x.name === `${name}_bucket`)) {
    const { le, ...rest } = s.labels;
    expect(le, `le on ${name}_bucket`).to.be.a('string');
    const key = JSON.stringify(Object.entries(rest).sort());
    sets.set(key, [...(sets.get(key) ?? []), s]);
  }
  for (const buckets of sets.values()) {
    const { le: _le, ...labels } = buckets[0].labels;
    const bounds = buckets.map((b) => parseValue(b.labels.le, `${name} le="${b.labels.le}"`));
    for (let i = 1; i < buckets.length; i++) {
      expect(bounds[i], `${name} le ascending`).to.be.above(bounds[i - 1]);
      expect(buckets[i].value, `${name} buckets cumulative`).to.be.at.least(buckets[i - 1].value);
    }
    expect(bounds[bounds.length - 1], `${name} ends with le="+Inf"`).to.equal(Infinity);
    expect(out.value(`${name}_count`, labels), `${name}_count is the +Inf bucket`).to.equal(buckets[buckets.length - 1].value);
    out.value(`${name}_sum`, labels);
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
