/**
 * End-to-end benchmark of the gRPC inference server on the bundled stock_scorer model, or on
 * feature_mlp (--model), a 64-feature MLP with two hidden layers of 512 made by the model script.
 *
 *   npm run bench -- [--model stock_scorer|feature_mlp] [--contents raw|typed] [--duration 8] [--warmup 2] [--concurrency 1,8,64] [--out bench-report.json]
 *                    [--modes unary,stream] [--batching on,off] [--queue-delay-us 0] [--channels 1] [--deadline-ms 20000]
 *                    [--rounds 3] [--generator ghz|node] [--profile [--profile-dir /tmp/prof]] [--soak MINUTES]
 *                    [--client-calls 6000] [--no-client-overhead] [--validate] [--event-loop | --lone] [--delay-sweep LIST]
 *
 * Each server runs as a child process (dist/src/main.js on a temporary repository holding only
 * the model) so that its CPU time and RSS come from its own /proc accounting; the load
 * generator runs here and shares the cores. Two ceilings are measured in the same run: a bare
 * grpc-js server answering the same-sized response without inference (per mode and
 * concurrency), and ONNX Runtime in-process at the batch sizes the server formed.
 *
 * --rounds N runs the whole sequence N times, interleaved (bench/rounds.ts): each mode and
 * concurrency is shown from its median round, with every round's ratios beside it.
 *
 * Queue delay: "batching on" uses max_queue_delay_microseconds 0 at c=1 (the latency target
 * compares against the ceiling with no added wait) and --queue-delay-us at c>1 (default 0:
 * the batcher takes whatever queued while the instance was busy, which is how a
 * single-instance Triton model batches under load without adding latency; typical
 * deployments use 0-500 us). A non-zero --queue-delay-us starts a second batching server.
 *
 * --validate measures every server scenario twice, back to back: as above, and on a server whose
 * model's input has every config.json rule (validation with reject_non_finite, min and max,
 * statistics of its 8 columns), shown as "+rules". With --soak, the soak's one server has them.
 *
 * --soak MINUTES runs only the soak: c=64 unary, batching on, RSS sampled every 10 s.
 * --profile runs the server children under `node --cpu-prof` and prints where their CPU went
 * (profiling slows them: read the verdicts of a profiled run as indicative only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measureClientOverhead, type ClientOverhead } from './bench/client-overhead';
import { formatProfiles, summarizeProfiles, type ThreadProfile } from './bench/cpu-profile';
import { findGhz } from './bench/ghz';
import { parseCpuSplit, pinThisProcess, type CpuSplit } from './bench/cpu-pinning';
import type { Mode } from './bench/load-result';
import { ModelStatsClient } from './bench/model-stats-client';
import { measureOrtCeilings, type OrtCeiling } from './bench/ort-ceiling';
import { measureHandoff, type HandoffCost } from './bench/worker-handoff';
import { probe, type ProbeResult } from './bench/probe';
import { Progress } from './bench/progress';
import { REPO_ROOT, serializedInferRequest, type ContentsForm } from './bench/protocol';
import { formatClientOverhead, formatDelaySweep, formatHandoff, formatOrt, formatRulesCost, formatScenarios, formatSoak, formatVerdicts, machineInfo, type BenchReport } from './bench/report';
import { scenarioLabel, type ScenarioResult, type ScenarioSpec } from './bench/scenario';
import { runScenario, type RunSettings } from './bench/scenario-runner';
import { combineRounds } from './bench/rounds';
import { batchingLabel, startBareServer, startModelServer, type Batching, type ChildServer, type EventLoopMode } from './bench/server-process';
import { runSoak, SOAK_SAMPLE_SECONDS, type SoakResult } from './bench/soak';
import { judgeTargets } from './bench/targets';
import { ON_DEMAND_MODELS, writeFiles } from './make-models';

interface BenchOptions {
  readonly model: BenchModelName;
  readonly contents: ContentsForm;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly concurrency: readonly number[];
  readonly modes: readonly Mode[];
  readonly batching: readonly boolean[];
  readonly queueDelayUs: number;
  readonly channels: number;
  readonly deadlineMs: number;
  readonly out: string;
  readonly soakMinutes: number | undefined;
  /** undefined: ghz when it can be found, else the Node generator. */
  readonly generator: 'ghz' | 'node' | undefined;
  readonly profileDir: string | undefined;
  readonly ortSeconds: number;
  readonly retries: number;
  readonly otherCpuLimitPct: number;
  /** Calls per side and concurrency for the client-overhead section; 0 skips it. */
  readonly clientCalls: number;
  /** Server scenarios also on a server that checks input rules and keeps per-column statistics. */
  readonly validate: boolean;
  /** The model's session on the event loop in every server (config.json parameters.run_on_event_loop). */
  readonly eventLoop: EventLoopMode | undefined;
  /** Queue delays (µs) measured at c=1 and c=8, unary, on a batching server each; empty: none. */
  readonly delaySweepUs: readonly number[];
  /** The servers' CPUs and the generators' (ghz, this process); undefined: not pinned. */
  readonly pin: CpuSplit | undefined;
}

/** The bundled model, and one with real work per row that the model script makes on demand. */
const BENCH_MODELS = ['stock_scorer', 'feature_mlp'] as const;
type BenchModelName = (typeof BENCH_MODELS)[number];

const USAGE = `usage: node dist/scripts/bench.js [options]
  --model NAME              stock_scorer (bundled, 8 features, a tiny MLP) or feature_mlp (64 features,
                            two hidden layers of 512, 16 outputs; written to a temporary folder by the
                            model script) (default stock_scorer)
  --contents raw|typed      the row in raw_input_contents (Triton's clients) or in contents.fp32_contents
                            (JSON written for ghz or grpcurl) (default raw)
  --duration SECONDS        measured window per scenario (default 6)
  --rounds N                run every scenario N times, interleaved; show each mode and concurrency
                            from its median round, with every round's ratios (default 3)
  --warmup SECONDS          load before each window, not measured (default 2)
  --concurrency LIST        in-flight requests, comma list (default 1,8,64)
  --modes LIST              unary,stream (default both)
  --batching LIST           on,off (default both)
  --queue-delay-us N        max_queue_delay_microseconds for batching-on scenarios at c>1 (default 0; c=1 always 0)
  --channels N              HTTP/2 connections of the Node load generator (default 1)
  --deadline-ms N           deadline of every unary call, as ghz's --timeout (default 20000, ghz's own; 0: none)
  --ort-seconds SECONDS     per batch size for the ONNX Runtime ceiling (default 2)
  --retries N               measure a scenario again, up to N times, when other processes on the machine
                            used more than --other-cpu-limit during its window (default 2)
  --other-cpu-limit PCT     share of one core (default 25)
  --out PATH                JSON report (default bench-report.json)
  --soak MINUTES            run only the soak: c=64 unary, batching on, RSS every ${SOAK_SAMPLE_SECONDS} s
  --generator ghz|node      unary load from ghz (../shared/clients/bin/ghz, then PATH) or from the Node
                            generator (default: ghz when it is found); streams always use the Node one
  --profile                 run the server children under node --cpu-prof and summarize
  --profile-dir DIR         where the .cpuprofile files go (default /tmp/prof)
  --client-calls N          InferenceClient vs raw grpc-js calls against the bare server, per side and
                            concurrency (c=1, c=16), over 6 interleaved rounds (default 6000)
  --no-client-overhead      skip that section
  --event-loop              run the model's session on the event loop (parameters.run_on_event_loop)
                            in every server, to compare with a run without it
  --lone                    keep the worker and run only lone requests on an event-loop session
                            (parameters.run_on_event_loop "lone")
  --delay-sweep LIST        queue delays in us measured at c=1 and c=8, unary, batching on, one server each
                            (default 0,100,200,500,2000; none: skip)
  --pin auto|off|S/G        run the servers on CPUs S and the generators (ghz, and this process with its
                            stream generator) on CPUs G, taskset's lists, e.g. 1/0; auto: the first half
                            of the CPUs to the generators, the rest to the servers (default auto; off on
                            one CPU or without taskset)
  --validate                measure each server scenario also, back to back, on a server that checks config.json
                            input rules (reject_non_finite, min, max) and keeps statistics of every column of the input`;

function parseOptions(argv: string[]): BenchOptions {
  try {
    return readOptions(argv);
  } catch (err) {
    // parseArgs throws plain TypeErrors (unknown option, missing value): they are usage errors.
    throw err instanceof UsageError ? err : new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function readOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: 'string', default: 'stock_scorer' },
      contents: { type: 'string', default: 'raw' },
      duration: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '1,8,64' },
      modes: { type: 'string', default: 'unary,stream' },
      batching: { type: 'string', default: 'on,off' },
      'queue-delay-us': { type: 'string', default: '0' },
      channels: { type: 'string', default: '1' },
      'deadline-ms': { type: 'string', default: '20000' },
      'ort-seconds': { type: 'string', default: '2' },
      retries: { type: 'string', default: '2' },
      'other-cpu-limit': { type: 'string', default: '25' },
      out: { type: 'string', default: 'bench-report.json' },
      soak: { type: 'string' },
      generator: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-dir': { type: 'string', default: '/tmp/prof' },
      'client-calls': { type: 'string', default: '6000' },
      'no-client-overhead': { type: 'boolean', default: false },
      validate: { type: 'boolean', default: false },
      'delay-sweep': { type: 'string', default: '0,100,200,500,2000' },
      'event-loop': { type: 'boolean', default: false },
      lone: { type: 'boolean', default: false },
      pin: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, text: string, min: number, integer = false): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${text}'`);
    return n;
  };
  const list = (name: string, text: string, allowed: readonly string[]): string[] => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const item of items) if (!allowed.includes(item)) throw new UsageError(`--${name}: '${item}' is not one of ${allowed.join(', ')}`);
    if (items.length === 0) throw new UsageError(`--${name} is empty`);
    return [...new Set(items)];
  };
  const concurrency = [...new Set(values.concurrency.split(',').map((s) => number('concurrency', s.trim(), 1, true)))].sort((a, b) => a - b);
  return {
    model: list('model', values.model, BENCH_MODELS)[0] as BenchModelName,
    contents: list('contents', values.contents, ['raw', 'typed'])[0] as ContentsForm,
    durationSeconds: number('duration', values.duration, 0.5),
    rounds: number('rounds', values.rounds, 1, true),
    warmupSeconds: number('warmup', values.warmup, 0),
    concurrency,
    modes: list('modes', values.modes, ['unary', 'stream']) as Mode[],
    batching: list('batching', values.batching, ['off', 'on']).map((b) => b === 'on'),
    queueDelayUs: number('queue-delay-us', values['queue-delay-us'], 0, true),
    channels: number('channels', values.channels, 1, true),
    deadlineMs: number('deadline-ms', values['deadline-ms'], 0, true),
    ortSeconds: number('ort-seconds', values['ort-seconds'], 0.1),
    retries: number('retries', values.retries, 0, true),
    otherCpuLimitPct: number('other-cpu-limit', values['other-cpu-limit'], 0),
    out: values.out,
    soakMinutes: values.soak === undefined ? undefined : number('soak', values.soak, 0.5),
    generator: values.generator === undefined ? undefined : (list('generator', values.generator, ['ghz', 'node'])[0] as 'ghz' | 'node'),
    profileDir: values.profile ? values['profile-dir'] : undefined,
    clientCalls: values['no-client-overhead'] ? 0 : number('client-calls', values['client-calls'], 0, true),
    validate: values.validate,
    eventLoop: eventLoopMode(values['event-loop'], values.lone),
    pin: pinOption(values.pin),
    delaySweepUs: values['delay-sweep'] === 'none' ? [] : [...new Set(values['delay-sweep'].split(',').map((d) => number('delay-sweep', d.trim(), 0, true)))].sort((a, b) => a - b),
  };
}

class UsageError extends Error {}

function eventLoopMode(always: boolean, lone: boolean): EventLoopMode | undefined {
  if (always && lone) throw new UsageError('--event-loop and --lone are two modes: pick one');
  return always ? 'true' : lone ? 'lone' : undefined;
}

function pinOption(text: string): CpuSplit | undefined {
  try {
    return parseCpuSplit(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** One child server and the scenarios measured on it. */
interface ServerGroup {
  readonly batching: Batching | undefined;
  readonly inputRules: boolean;
  readonly scenarios: ScenarioSpec[];
}

/** The delay sweep's concurrencies: a lone caller, and a few that may share a batch. */
const DELAY_SWEEP_CONCURRENCY = [1, 8];

/** One group per child server: bare grpc-js, the server without batching, with batching (one per queue delay), each also with input rules (--validate). */
function planGroups(options: BenchOptions): ServerGroup[] {
  const groups: ServerGroup[] = [{ batching: undefined, inputRules: false, scenarios: [] }];
  const groupFor = (batching: Batching, inputRules: boolean): ServerGroup => {
    let group = groups.find((g) => g.batching && g.batching.enabled === batching.enabled && g.batching.queueDelayUs === batching.queueDelayUs && g.inputRules === inputRules);
    if (!group) groups.push((group = { batching, inputRules, scenarios: [] }));
    return group;
  };
  for (const enabled of [...options.batching].sort()) {
    for (const mode of options.modes) {
      for (const concurrency of options.concurrency) {
        const batching = { enabled, queueDelayUs: enabled && concurrency > 1 ? options.queueDelayUs : 0 };
        for (const inputRules of options.validate ? [false, true] : [false]) groupFor(batching, inputRules).scenarios.push({ target: 'server', mode, concurrency, batching, inputRules });
      }
    }
  }
  for (const queueDelayUs of options.delaySweepUs) {
    const batching = { enabled: true, queueDelayUs };
    const group = groupFor(batching, false);
    for (const concurrency of DELAY_SWEEP_CONCURRENCY) {
      const known = group.scenarios.some((sc) => sc.mode === 'unary' && sc.concurrency === concurrency);
      if (!known) group.scenarios.push({ target: 'server', mode: 'unary', concurrency, batching, inputRules: false });
    }
  }
  const bare = (mode: Mode, concurrency: number): void => {
    if (!groups[0].scenarios.some((sc) => sc.mode === mode && sc.concurrency === concurrency)) groups[0].scenarios.push({ target: 'bare', mode, concurrency, batching: undefined });
  };
  for (const mode of options.modes) for (const concurrency of options.concurrency) bare(mode, concurrency);
  if (options.delaySweepUs.length > 0) for (const concurrency of DELAY_SWEEP_CONCURRENCY) bare('unary', concurrency);
  return groups;
}

function profileDirFor(options: BenchOptions, label: string): string | undefined {
  if (!options.profileDir) return undefined;
  const dir = path.join(options.profileDir, label.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, ''));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Idle time between hand-offs: none, and about the server's gap between batches at c=64 and at c=1. */
const HANDOFF_GAPS_MS = [0, 1, 5];

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function runMatrix(options: BenchOptions, settings: RunSettings, settingsJson: Record<string, unknown>): Promise<void> {
  const groups = planGroups(options);
  const total = groups.reduce((n, g) => n + g.scenarios.length, 0) * options.rounds + 1 + (options.clientCalls > 0 ? 1 : 0);
  const progress = new Progress(total);
  const rounds: ScenarioResult[][] = [];
  let results: ScenarioResult[] = [];
  const probes: Record<string, ProbeResult> = {};
  const profiles: Record<string, ThreadProfile[]> = {};
  let clientOverhead: ClientOverhead[] | undefined;

  // Every server is started first and stays up (idle ones cost no CPU), so that a scenario and
  // its bare grpc-js ceiling run back to back and a slow drift on the machine hits both alike.
  const running: { group: ServerGroup; label: string; server: ChildServer; stats: ModelStatsClient | undefined; profileDir: string | undefined }[] = [];
  try {
    for (const group of groups) {
      const label = group.batching ? `server-batching-${batchingLabel(group.batching)}${group.inputRules ? '-rules' : ''}` : 'bare-grpc-js';
      const profileDir = profileDirFor(options, label);
      progress.note(`starting ${label}${profileDir ? ` (profiling into ${profileDir})` : ''}`);
      const server = group.batching ? await startModelServer(group.batching, { profileDir, validate: group.inputRules, eventLoop: options.eventLoop, cpus: options.pin?.server }) : await startBareServer({ profileDir, cpus: options.pin?.server });
      running.push({ group, label, server, stats: group.batching ? new ModelStatsClient(server.address) : undefined, profileDir });
      probes[label] = await probe(server.address, settings.request);
    }

    const rank = (spec: ScenarioSpec): number[] => [
      options.modes.indexOf(spec.mode),
      spec.concurrency,
      spec.target === 'bare' ? 0 : spec.batching?.enabled ? 2 : 1,
      spec.inputRules ? 1 : 0,
    ];
    const steps = running.flatMap((r) => r.group.scenarios.map((spec) => ({ spec, r })));
    steps.sort((a, b) => {
      const [x, y] = [rank(a.spec), rank(b.spec)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3];
    });
    for (let round = 1; round <= options.rounds; round++) {
      const measured: ScenarioResult[] = [];
      rounds.push(measured);
      for (const { spec, r } of steps) {
        const roundLabel = options.rounds > 1 ? `  [round ${round}/${options.rounds}]` : '';
        const step = progress.step(`${scenarioLabel(spec)}${roundLabel}`);
        const result = await runScenario(
          r.server,
          r.stats,
          spec,
          settings,
          (elapsed, rps) => step.update(`${fmt(elapsed)}/${fmt(options.durationSeconds)} s${rps === undefined ? '' : `  ${fmt(rps)} req/s`}`),
          (disturbed) => step.update(`other processes used ${fmt(disturbed.otherCpuPct ?? NaN)}% CPU (${fmt(disturbed.load.rps)} req/s); measuring again`),
        );
        measured.push(result);
        const batch = result.meanBatch === undefined ? '' : `, batch ${fmt(result.meanBatch, 2)}`;
        const other = result.otherCpuPct !== undefined && result.otherCpuPct > options.otherCpuLimitPct ? `, DISTURBED: others used ${fmt(result.otherCpuPct)}% CPU` : '';
        const errors = result.load.errors > 0 ? `, ${result.load.errors} ERRORS (${result.load.firstError})` : '';
        step.done(`${fmt(result.load.rps)} req/s, p50 ${fmt(result.load.p50Ms, 3)} ms, ${fmt(result.serverCpuUsPerReq, 1)} us/req server CPU${batch}${other}${errors}`);
      }
    }
    results = combineRounds(rounds);

    // The typed client against raw grpc-js, on the bare server while it is still up.
    if (options.clientCalls > 0) {
      const step = progress.step(`InferenceClient vs raw grpc-js, ${options.clientCalls} calls per side at c=1 and c=16`);
      clientOverhead = await measureClientOverhead(running[0].server.address, options.clientCalls, (run, round) =>
        step.update(`round ${round}: ${run.side} c=${run.concurrency} ${fmt(run.cpuUs / run.calls, 1)} us/call`),
      );
      step.done(clientOverhead.map((o) => `c=${o.concurrency} ${fmt(o.clientCpuUsPerCall, 1)} vs ${fmt(o.rawCpuUsPerCall, 1)} us/call (${fmt(o.cpuRatio, 2)}x)`).join(', '));
    }
  } finally {
    for (const r of running) {
      r.stats?.close();
      await r.server.stop();
      if (r.profileDir) {
        const scenarios = r.group.scenarios.map((sc) => `${sc.mode} c=${sc.concurrency}`).join(', ');
        const served = rounds.flat().filter((x) => r.group.scenarios.includes(x.spec)).reduce((n, x) => n + x.servedTotal, 0);
        profiles[`${r.label}, whole process life (${scenarios})`] = summarizeProfiles(r.profileDir, served);
      }
    }
  }

  // ONNX Runtime at the batch sizes the server formed, plus 1 and 64.
  const formed = results.filter((r) => r.meanBatch !== undefined && Number.isFinite(r.meanBatch)).map((r) => Math.max(1, Math.round(r.meanBatch!)));
  const batchSizes = [...new Set([1, ...formed, 64])].sort((a, b) => a - b);
  const ortStep = progress.step(`ONNX Runtime in-process, batch ${batchSizes.join(',')}`);
  const ort: OrtCeiling[] = await measureOrtCeilings(batchSizes, options.ortSeconds, (c) => ortStep.update(`batch ${c.batchSize}: ${fmt(c.runsPerSec)} runs/s`));
  ortStep.done(ort.map((c) => `b${c.batchSize} ${fmt(c.rowsPerSec)} rows/s`).join(', '));

  // The hand-off at batch 1 (a lone request) and at the largest batch the server formed,
  // back to back and idle between batches.
  const handoff: HandoffCost[] = [];
  for (const batch of new Set([1, Math.max(1, ...formed)])) {
    const step = progress.step(`session worker round trip, batch ${batch}`);
    const costs = await measureHandoff(batch, HANDOFF_GAPS_MS, options.ortSeconds, (c) => step.update(`gap ${c.gapMs} ms: p50 ${fmt(c.p50Ms, 3)} ms`));
    step.done(costs.map((c) => `gap ${c.gapMs} ms p50 ${fmt(c.p50Ms, 3)} ms, ${fmt(c.mainUsPerBatch + c.otherUsPerBatch, 1)} us/batch`).join('; '));
    handoff.push(...costs);
  }

  const verdicts = judgeTargets(results, ort, undefined, handoff);

  const bareProbe = probes['bare-grpc-js'];
  const sizeMismatch = Object.entries(probes).filter(([, p]) => bareProbe && p.responseBytes !== bareProbe.responseBytes);
  const out: string[] = [
    '',
    `gRPC inference benchmark: ${options.model}, ${machineInfo().cpus} x ${machineInfo().cpuModel}, node ${process.version}, generator ${settings.ghz ? 'ghz (unary) + node (stream)' : 'node'}${options.eventLoop === 'true' ? ', session on the event loop' : options.eventLoop === 'lone' ? ', lone requests on the event loop' : ''}, ${options.pin ? `servers on CPU ${options.pin.server}, generators on CPU ${options.pin.generator}` : 'not pinned'}, ${options.contents} contents, ${options.durationSeconds} s windows after ${options.warmupSeconds} s warm-up, ${options.rounds} round(s)`,
    `srv us/req = utime+stime of the server child (all threads) from /proc over the window / completed requests; main us/req = its event-loop thread alone;`,
    `batch = ModelStatistics inference_count / execution_count over the window; scenarios of the same mode and c run back to back;`,
    `with several rounds, each mode and c is shown from one round, the median by the batching server's cpu vs bare; the other rounds' ratios are listed;`,
    `cpu% columns are shares of one core; other% = machine-wide busy (/proc/stat) minus server and generator (a neighbour on the machine)`,
    '',
    formatScenarios(results),
    '',
    ...(options.validate ? ['input rules (--validate), each against the same server without them in the same round:', ...formatRulesCost(results), ''] : []),
    ...(options.delaySweepUs.length > 0 ? ['queue delay sweep (unary, batching on; extra = p50 - p50 at delay 0 - the delay):', formatDelaySweep(results, options.delaySweepUs), ''] : []),
    formatOrt(ort),
    '',
    formatHandoff(handoff),
    '',
    ...(clientOverhead ? ['client cpu us/call = this process\'s utime+stime (process.cpuUsage) over the run / calls; same request, same bare server', formatClientOverhead(clientOverhead), ''] : []),
    `response bytes: ${Object.entries(probes).map(([k, p]) => `${k} ${p.responseBytes}`).join(', ')}${sizeMismatch.length > 0 ? '  (MISMATCH: the bare response is not the real one\'s size)' : ''}`,
    '',
    'Targets:',
    formatVerdicts(verdicts),
  ];
  for (const [label, threads] of Object.entries(profiles)) out.push('', formatProfiles(label, threads));
  process.stdout.write(`${out.join('\n')}\n`);

  const report: BenchReport = {
    machine: machineInfo(),
    timestamp: new Date().toISOString(),
    settings: settingsJson,
    scenarios: results.filter((r) => r.spec.target === 'server'),
    rounds,
    ceilings: { bareGrpcJs: results.filter((r) => r.spec.target === 'bare'), onnxRuntime: ort, workerHandoff: handoff },
    checks: { probes },
    targets: verdicts,
    soak: undefined,
    profiles: options.profileDir ? profiles : undefined,
    clientOverhead,
  };
  writeReport(options.out, report);
}

async function runSoakOnly(options: BenchOptions, settings: RunSettings, settingsJson: Record<string, unknown>): Promise<void> {
  const minutes = options.soakMinutes!;
  const concurrency = 64;
  const progress = new Progress(1);
  const batching = { enabled: true, queueDelayUs: options.queueDelayUs };
  const label = `server-batching-${batchingLabel(batching)}`;
  const profileDir = profileDirFor(options, label);
  progress.note(`starting ${label}`);
  const server = await startModelServer(batching, { profileDir, validate: options.validate, eventLoop: options.eventLoop, cpus: options.pin?.server });
  let soak: SoakResult;
  try {
    const step = progress.step(`soak ${minutes} min unary c=${concurrency} batching=${batchingLabel(batching)}`);
    soak = await runSoak(server, settings, minutes, concurrency, (sample, totalSeconds) =>
      step.update(`${sample.seconds}/${totalSeconds} s  RSS ${fmt(sample.rssMiB, 1)} MiB  ${fmt(sample.rps)} req/s`),
    );
    step.done(`RSS ${fmt(soak.firstMiB, 1)} -> ${fmt(soak.lastMiB, 1)} MiB, drift ${fmt(soak.driftPct, 2)}%`);
  } finally {
    await server.stop();
  }
  const profiles = profileDir ? { [label]: summarizeProfiles(profileDir, soak.requests) } : undefined;
  const verdicts = judgeTargets([], [], soak).filter((v) => v.id === 'soak-rss');
  const out = ['', formatSoak(soak), '', 'Targets:', formatVerdicts(verdicts)];
  for (const [name, threads] of Object.entries(profiles ?? {})) out.push('', formatProfiles(name, threads));
  process.stdout.write(`${out.join('\n')}\n`);
  writeReport(options.out, {
    machine: machineInfo(),
    timestamp: new Date().toISOString(),
    settings: settingsJson,
    scenarios: [],
    ceilings: { bareGrpcJs: [], onnxRuntime: [], workerHandoff: [] },
    checks: {},
    targets: verdicts,
    soak,
    profiles,
  });
}

function writeReport(file: string, report: BenchReport): void {
  // NaN (a scenario with no requests) has no JSON form, and undefined would drop the key: both become null.
  const json = JSON.stringify(report, (_key, value: unknown) => (value === undefined || (typeof value === 'number' && !Number.isFinite(value)) ? null : value), 2);
  fs.writeFileSync(file, `${json}\n`);
  process.stderr.write(`report written to ${path.resolve(file)}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const serverEntry = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
  if (!fs.existsSync(serverEntry)) throw new UsageError(`${serverEntry} is missing: build first (npx tsc -p .)`);
  const ghzBin = options.generator === 'node' ? undefined : findGhz(REPO_ROOT);
  if (options.generator === 'ghz' && !ghzBin) throw new UsageError('--generator ghz: no ghz in ../shared/clients/bin or on PATH');
  // The stream generator, the ONNX Runtime ceiling and the hand-off measurement run here.
  if (options.pin) pinThisProcess(options.pin.generator);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    if (options.model !== 'stock_scorer') {
      // Read by every process of the bench through benchModel(), the child servers included.
      const models = path.join(scratch, 'models');
      writeFiles(models, ON_DEMAND_MODELS[options.model]());
      process.env.BENCH_MODEL = options.model;
      process.env.BENCH_MODEL_DIR = path.join(models, options.model);
    }
    const request = serializedInferRequest(options.contents);
    let ghz: RunSettings['ghz'];
    if (ghzBin) {
      const requestFile = path.join(scratch, 'model-infer-request.bin');
      fs.writeFileSync(requestFile, request);
      ghz = { bin: ghzBin, requestFile, cpus: options.pin?.generator };
    }
    const settings: RunSettings = {
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      channels: options.channels,
      deadlineMs: options.deadlineMs,
      request,
      ghz,
      retries: options.retries,
      otherCpuLimitPct: options.otherCpuLimitPct,
    };
    const settingsJson = {
      ...options,
      generator: ghzBin ? { unary: `ghz (${ghzBin})`, stream: 'node' } : { unary: 'node', stream: 'node' },
      queueDelayUsByConcurrency: Object.fromEntries(options.concurrency.map((c) => [c, c === 1 ? 0 : options.queueDelayUs])),
      requestBytes: request.length,
      env: { ORT_INTRA_OP_THREADS: process.env.ORT_INTRA_OP_THREADS ?? null, ORT_GRAPH_OPTIMIZATION_LEVEL: process.env.ORT_GRAPH_OPTIMIZATION_LEVEL ?? null },
    };
    if (options.soakMinutes !== undefined) await runSoakOnly(options, settings, settingsJson);
    else await runMatrix(options, settings, settingsJson);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// Exiting runs server-process.ts's exit hook, which kills the child servers.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(err instanceof UsageError ? `${err.message}\n${USAGE}\n` : `bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
