/**
 * A fuzzing campaign against a running server: `count` cases, each made from (seed, index)
 * alone so any one can be replayed, sent as raw HTTP/2 calls, `concurrency` at a time, each
 * checked by the oracle; the server's memory and open files sampled after a warm-up and at the end.
 */
import { status } from '@grpc/grpc-js';
import { mulberry32 } from '../../src/tensor/seeded-random';
import { H2Channel, grpcFrame, type CallOutcome } from './h2-client';
import { int, mutateMessage, pick, type Random } from './mutate';
import { checkRefusal, checkResponseShape, checkServed, read, refusedAsUnreadable } from './oracle';
import { scorerRequest, seedRequests } from './seeds';
import type { FuzzServer, ProcessSample } from './server-child';
import { decodeResponse, decodeStreamResponse, encodeRequest, MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from './wire';

export interface FuzzOptions {
  readonly count: number;
  readonly seed: number;
  readonly concurrency: number;
  /** How long a call may take before it counts as a hang. */
  readonly deadlineMs: number;
  /** Cases run before the baseline sample of memory and open files. */
  readonly warmup: number;
  /** Only this case (with --seed, to replay one). */
  readonly only?: number;
  readonly onProgress?: (done: number, elapsedSeconds: number) => void;
}

type Kind = 'unary' | 'stream' | 'frame';

interface Case {
  readonly index: number;
  readonly kind: Kind;
  readonly path: string;
  readonly body: Buffer;
  /** The messages framed in the body (frame cases: the one message before its framing was broken). */
  readonly messages: Buffer[];
  readonly steps: string[];
}

export interface Violation {
  readonly index: number;
  readonly kind: Kind;
  readonly steps: string[];
  readonly problem: string;
  /** The body sent, hex, cut at 512 bytes. */
  readonly body: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly cases: number;
  readonly concurrency: number;
  readonly deadlineMs: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  /** Final status of each call, by code name (or 'hang' / 'no-status'), per RPC. */
  readonly statuses: { readonly ModelInfer: Record<string, number>; readonly ModelStreamInfer: Record<string, number> };
  /** Stream messages answered in-stream: served, refused (error_message). */
  readonly streamReplies: { served: number; refused: number };
  /** Messages sent (unary and in streams) that protobufjs could not read, and readable ones served OK. */
  readonly unreadableMessages: number;
  readonly servedMessages: number;
  /** Readable messages (protobuf) refused by validation: how deep the mutations reach. */
  readonly refusedReadableMessages: number;
  /** Good requests checked between cases. */
  readonly goodChecks: number;
  readonly server: {
    readonly alive: boolean;
    readonly exit?: number | string;
    readonly afterWarmup: ProcessSample;
    readonly atEnd: ProcessSample | undefined;
    readonly errorLog: string[];
  };
  readonly violationCount: number;
  /** The first 50. */
  readonly violations: Violation[];
}

/** Bytes of a case depend on (seed, index) alone. */
function caseRandom(seed: number, index: number): Random {
  return mulberry32((Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

const SEEDS: readonly Buffer[] = seedRequests().map(encodeRequest);
const GOOD = encodeRequest(scorerRequest(1));

function message(rng: Random): { bytes: Buffer; steps: string[] } {
  return mutateMessage(rng, pick(rng, SEEDS), SEEDS);
}

/** gRPC framing broken: lengths that lie, flags, a cut prefix, bytes after the frame. */
function brokenFrame(rng: Random, bytes: Buffer): { body: Buffer; step: string } {
  switch (int(rng, 6)) {
    case 0: return { body: grpcFrame(bytes, { declaredLength: bytes.length + 1 + int(rng, 100) }), step: 'frame-length-long' };
    case 1: return { body: grpcFrame(bytes, { declaredLength: int(rng, bytes.length) }), step: 'frame-length-short' };
    case 2: return { body: Buffer.concat([Buffer.from([1 + int(rng, 255)]), grpcFrame(bytes).subarray(1)]), step: 'frame-flag' };
    case 3: return { body: grpcFrame(bytes).subarray(0, int(rng, 5)), step: 'frame-prefix-cut' };
    case 4: return { body: Buffer.concat([grpcFrame(bytes), Buffer.from([0, 0, 0])]), step: 'frame-trailing-bytes' };
    default: return { body: Buffer.alloc(0), step: 'frame-none' };
  }
}

export function makeCase(seed: number, index: number): Case {
  const rng = caseRandom(seed, index);
  const roll = rng();
  if (roll < 0.6) {
    const m = message(rng);
    return { index, kind: 'unary', path: MODEL_INFER_PATH, body: grpcFrame(m.bytes), messages: [m.bytes], steps: m.steps };
  }
  if (roll < 0.9) {
    const messages: Buffer[] = [];
    const steps: string[] = [];
    for (let n = 2 + int(rng, 4); n > 0; n--) {
      if (rng() < 0.4) {
        messages.push(pick(rng, SEEDS));
        steps.push('valid');
      } else {
        const m = message(rng);
        messages.push(m.bytes);
        steps.push(m.steps.join('+'));
      }
    }
    return { index, kind: 'stream', path: MODEL_STREAM_INFER_PATH, body: Buffer.concat(messages.map((m) => grpcFrame(m))), messages, steps };
  }
  const m = rng() < 0.5 ? { bytes: pick(rng, SEEDS), steps: ['valid'] } : message(rng);
  const broken = brokenFrame(rng, m.bytes);
  return { index, kind: 'frame', path: rng() < 0.5 ? MODEL_INFER_PATH : MODEL_STREAM_INFER_PATH, body: broken.body, messages: [m.bytes], steps: [...m.steps, broken.step] };
}

/** Codes a call whose gRPC framing is broken may end with (grpc-js decides most of them). */
const FRAME_CODES: ReadonlySet<number> = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.RESOURCE_EXHAUSTED, status.UNIMPLEMENTED, status.INTERNAL]);

class Tally {
  readonly statuses = { ModelInfer: {} as Record<string, number>, ModelStreamInfer: {} as Record<string, number> };
  readonly streamReplies = { served: 0, refused: 0 };
  unreadable = 0;
  served = 0;
  refusedReadable = 0;
  goodChecks = 0;
  violationCount = 0;
  readonly violations: Violation[] = [];

  status(path: string, outcome: CallOutcome): void {
    const table = path === MODEL_INFER_PATH ? this.statuses.ModelInfer : this.statuses.ModelStreamInfer;
    const key = typeof outcome.status === 'number' ? status[outcome.status] ?? String(outcome.status) : outcome.status;
    table[key] = (table[key] ?? 0) + 1;
  }

  violation(c: Case, problem: string): void {
    this.violationCount++;
    if (this.violations.length < 50) {
      this.violations.push({ index: c.index, kind: c.kind, steps: c.steps, problem, body: c.body.subarray(0, 512).toString('hex') });
    }
  }
}

/** The problem with one call's outcome, or undefined. */
function judge(c: Case, outcome: CallOutcome, tally: Tally): string | undefined {
  if (typeof outcome.status !== 'number') return `${outcome.status}: ${outcome.detail ?? ''}`;
  const code = outcome.status;
  if (c.kind === 'unary') {
    const reading = read(c.messages[0]);
    if (reading.request === undefined) tally.unreadable++;
    if (code !== status.OK) {
      if (reading.request !== undefined) tally.refusedReadable++;
      return checkRefusal(reading, code, outcome.message);
    }
    if (outcome.messages.length !== 1) return `OK with ${outcome.messages.length} messages`;
    tally.served++;
    return checkServed(reading, decodeResponse(outcome.messages[0]));
  }
  if (c.kind === 'stream') {
    if (code !== status.OK) return `a stream of whole frames ended ${status[code]} '${outcome.message}'`;
    if (outcome.messages.length !== c.messages.length) return `${c.messages.length} messages answered ${outcome.messages.length} times`;
    for (let i = 0; i < c.messages.length; i++) {
      const reading = read(c.messages[i]);
      if (reading.request === undefined) tally.unreadable++;
      const reply = decodeStreamResponse(outcome.messages[i]);
      let problem: string | undefined;
      if (reply.error_message) {
        tally.streamReplies.refused++;
        if (reading.request !== undefined) tally.refusedReadable++;
        if (reading.request === undefined && !refusedAsUnreadable(reply.error_message)) problem = `unreadable bytes (${reading.error}) refused with '${reply.error_message}'`;
      } else {
        tally.streamReplies.served++;
        tally.served++;
        problem = reply.infer_response ? checkServed(reading, reply.infer_response) : 'a reply with neither error_message nor infer_response';
      }
      if (problem) return `message ${i}: ${problem}`;
    }
    return undefined;
  }
  if (!FRAME_CODES.has(code)) return `broken framing answered ${status[code]} '${outcome.message}'`;
  if (code !== status.OK && outcome.message === '') return `${status[code]} with no message`;
  for (const m of outcome.messages) {
    const reply = c.path === MODEL_INFER_PATH ? { infer_response: decodeResponse(m) } : decodeStreamResponse(m);
    if (reply.error_message) continue;
    const problem = reply.infer_response ? checkResponseShape(reply.infer_response) : 'a reply with neither error_message nor infer_response';
    if (problem) return problem;
  }
  return undefined;
}

async function checkGood(channel: H2Channel, deadlineMs: number): Promise<string | undefined> {
  const outcome = await channel.call(MODEL_INFER_PATH, grpcFrame(GOOD), deadlineMs);
  if (outcome.status !== status.OK) return `a good request answered ${String(outcome.status)} '${outcome.message}' ${outcome.detail ?? ''}`;
  return checkServed(read(GOOD), decodeResponse(outcome.messages[0]));
}

/** Waits until the server serves a good request (it logs nothing below error level). */
export async function waitUntilServing(server: FuzzServer, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (server.exited() !== undefined) throw new Error(`the server exited (${server.exited()}): ${server.errors.join('\n')}`);
    const channel = new H2Channel(server.authority);
    const problem = await checkGood(channel, 5000).catch((err: Error) => err.message);
    channel.close();
    if (problem === undefined) return;
    if (Date.now() > until) throw new Error(`the server is not serving after ${timeoutMs} ms: ${problem}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runCampaign(server: FuzzServer, options: FuzzOptions): Promise<FuzzReport> {
  const tally = new Tally();
  const channel = new H2Channel(server.authority);
  const started = Date.now();
  let done = 0;

  const runRange = async (from: number, to: number): Promise<void> => {
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to && server.exited() === undefined) {
        const index = next++;
        if (index % 500 === 0) {
          tally.goodChecks++;
          const problem = await checkGood(channel, options.deadlineMs);
          if (problem) tally.violation({ index, kind: 'unary', path: MODEL_INFER_PATH, body: GOOD, messages: [GOOD], steps: ['good'] }, problem);
        }
        const c = makeCase(options.seed, index);
        const outcome = await channel.call(c.path, c.body, options.deadlineMs);
        tally.status(c.path, outcome);
        let problem: string | undefined;
        try {
          problem = judge(c, outcome, tally);
        } catch (err) {
          problem = `an answer that does not decode: ${(err as Error).message}`;
        }
        if (problem) tally.violation(c, problem);
        done++;
        if (done % 10_000 === 0) options.onProgress?.(done, (Date.now() - started) / 1000);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  };

  let afterWarmup: ProcessSample;
  if (options.only !== undefined) {
    afterWarmup = server.sample();
    await runRange(options.only, options.only + 1);
  } else {
    const warmup = Math.min(options.warmup, options.count);
    await runRange(0, warmup);
    afterWarmup = server.sample();
    await runRange(warmup, options.count);
  }
  const seconds = (Date.now() - started) / 1000;
  const alive = server.exited() === undefined;
  if (alive) {
    tally.goodChecks++;
    const problem = await checkGood(channel, options.deadlineMs);
    if (problem) tally.violation({ index: -1, kind: 'unary', path: MODEL_INFER_PATH, body: GOOD, messages: [GOOD], steps: ['good'] }, problem);
  }
  const atEnd = alive ? server.sample() : undefined;
  channel.close();
  return {
    seed: options.seed,
    cases: done,
    concurrency: options.concurrency,
    deadlineMs: options.deadlineMs,
    seconds,
    callsPerSecond: done / seconds,
    statuses: tally.statuses,
    streamReplies: tally.streamReplies,
    unreadableMessages: tally.unreadable,
    servedMessages: tally.served,
    refusedReadableMessages: tally.refusedReadable,
    goodChecks: tally.goodChecks,
    server: { alive, exit: server.exited(), afterWarmup, atEnd, errorLog: [...server.errors] },
    violationCount: tally.violationCount,
    violations: tally.violations,
  };
}

/** How much the server may grow between the warm-up sample and the end before it counts as a leak. */
export const LEAK_BOUNDS = { rssBytes: 96 * 1024 * 1024, openFds: 4 } as const;

/** Crash, hang-free but leaking, or any violation: every reason the campaign failed. */
export function failures(report: FuzzReport): string[] {
  const out: string[] = [];
  if (!report.server.alive) out.push(`the server died (${String(report.server.exit)})`);
  const { afterWarmup, atEnd } = report.server;
  if (atEnd && atEnd.rssBytes - afterWarmup.rssBytes > LEAK_BOUNDS.rssBytes) {
    out.push(`RSS grew from ${mib(afterWarmup.rssBytes)} to ${mib(atEnd.rssBytes)} MiB after warm-up`);
  }
  if (atEnd && atEnd.openFds - afterWarmup.openFds > LEAK_BOUNDS.openFds) {
    out.push(`open file descriptors grew from ${afterWarmup.openFds} to ${atEnd.openFds}`);
  }
  if (report.violationCount > 0) out.push(`${report.violationCount} calls answered wrongly (first: case ${report.violations[0].index}: ${report.violations[0].problem})`);
  return out;
}

export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** The report as text: counts per status, throughput, memory and files, and the first violations. */
export function formatReport(report: FuzzReport): string {
  const codes = [...new Set([...Object.keys(report.statuses.ModelInfer), ...Object.keys(report.statuses.ModelStreamInfer)])].sort();
  const lines = [
    `seed ${report.seed}: ${report.cases} cases in ${report.seconds.toFixed(1)} s (${report.callsPerSecond.toFixed(0)} calls/s, ${report.concurrency} in flight, deadline ${report.deadlineMs} ms)`,
    '',
    `${'status'.padEnd(20)}${'ModelInfer'.padStart(12)}${'ModelStreamInfer'.padStart(18)}`,
    ...codes.map((c) => `${c.padEnd(20)}${String(report.statuses.ModelInfer[c] ?? 0).padStart(12)}${String(report.statuses.ModelStreamInfer[c] ?? 0).padStart(18)}`),
    '',
    `in-stream replies: ${report.streamReplies.served} served, ${report.streamReplies.refused} refused`,
    `messages protobufjs cannot read: ${report.unreadableMessages}; readable ones refused: ${report.refusedReadableMessages}, served OK: ${report.servedMessages}; good requests checked: ${report.goodChecks}`,
    `server RSS ${mib(report.server.afterWarmup.rssBytes)} MiB after warm-up, ${report.server.atEnd ? mib(report.server.atEnd.rssBytes) : '-'} MiB at the end; ` +
      `open fds ${report.server.afterWarmup.openFds} -> ${report.server.atEnd?.openFds ?? '-'}; alive: ${report.server.alive}`,
    `server error log lines: ${report.server.errorLog.length}`,
  ];
  for (const v of report.violations.slice(0, 10)) lines.push(`VIOLATION case ${v.index} (${v.kind}, ${v.steps.join(' ')}): ${v.problem}`);
  return lines.join('\n');
}
