/**
 * npm run fuzz -- --count N [--seed S] [--concurrency C] [--deadline-ms D] [--json PATH] [--only I]
 *
 * Fuzzes the real server (a child process on the bundled models) over the wire: mutated and
 * random ModelInfer and ModelStreamInfer messages as raw HTTP/2 calls. Exits 1 if the server
 * crashed, a call hung or ended without a status, a malformed message was answered OK or with
 * a server-fault code, or memory or open files grew past the bounds after warm-up.
 * --only I replays case I of seed S alone.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { failures, formatReport, runCampaign, waitUntilServing } from './fuzz/campaign';
import { startFuzzServer } from './fuzz/server-child';

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      count: { type: 'string', default: '10000' },
      seed: { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      'deadline-ms': { type: 'string', default: '10000' },
      json: { type: 'string', default: 'fuzz-report.json' },
      only: { type: 'string' },
    },
  });
  const count = positiveInt('count', values.count);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : positiveInt('seed', values.seed);
  console.log(`fuzz: seed ${seed} (replay with --seed ${seed}), ${count} cases`);
  const server = await startFuzzServer();
  try {
    await waitUntilServing(server);
    const report = await runCampaign(server, {
      count,
      seed,
      concurrency: Math.max(1, positiveInt('concurrency', values.concurrency)),
      deadlineMs: positiveInt('deadline-ms', values['deadline-ms']),
      warmup: Math.min(2000, Math.ceil(count / 10)),
      only: values.only === undefined ? undefined : positiveInt('only', values.only),
      onProgress: (done, seconds) => console.log(`  ${done} cases, ${(done / seconds).toFixed(0)} calls/s`),
    });
    console.log(formatReport(report));
    const failed = failures(report);
    fs.writeFileSync(values.json, `${JSON.stringify({ ...report, failures: failed }, null, 2)}\n`);
    console.log(`report written to ${values.json}`);
    for (const f of failed) console.log(`FAIL: ${f}`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    await server.stop();
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(2);
});
