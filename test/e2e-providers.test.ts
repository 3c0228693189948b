/**
 * The real server as a child process (`node dist/src/main.js`), configured by environment:
 * execution-provider fallback as the JSON logs report it, serving on the bound port,
 * graceful shutdown on SIGTERM, and refusal of an invalid configuration.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { createClient, fp32Bytes, MODELS_DIR, readFp32, REPO_ROOT, type InferenceClient } from './support/server';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
const BUNDLED = fs.readdirSync(MODELS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
/** The bundled models whose config.json says KIND_CPU: they never try CUDA. */
const CPU_KIND = new Set(
  BUNDLED.filter((name) => {
    const file = path.join(MODELS_DIR, name, 'config.json');
    if (!fs.existsSync(file)) return false;
    const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { instance_group?: { kind?: string }[] };
    return config.instance_group?.[0]?.kind === 'KIND_CPU';
  }),
);
/** The bundled models that try CUDA first (KIND_AUTO): each falls back here. */
const WANT_CUDA = BUNDLED.filter((name) => !CPU_KIND.has(name));
/** Without the NVIDIA driver's device nodes, the CUDA provider cannot work here. */
const NO_GPU = !fs.existsSync('/dev/nvidiactl');

/** Every setting the server reads from the environment, so the parent's own values cannot leak in. */
const CONFIG_ENV = [
  'CONFIG_FILE', 'MODEL_REPOSITORY', 'GRPC_HOST', 'GRPC_PORT', 'GRPC_MAX_MESSAGE_BYTES', 'LOG_LEVEL', 'EXECUTION_PROVIDERS',
  'ORT_INTRA_OP_THREADS', 'ORT_GRAPH_OPTIMIZATION_LEVEL', 'DEFAULT_MAX_BATCH_SIZE', 'DEFAULT_MAX_QUEUE_SIZE', 'REQUIRE_GPU', 'PROBE_NODE_PLACEMENT',
];

function serverEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of CONFIG_ENV) delete env[key];
  // Metrics off: its default port, 8002, would collide with any other server on the machine.
  return { ...env, METRICS_PORT: '0', ...overrides };
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface StartedLine extends LogLine {
  grpc: string;
  ready: boolean;
  models: { name: string; versions: { version: number; provider: string; state: string }[] }[];
}

/** A spawned server: its JSON log lines as they arrive, its stderr, and its exit. */
class ServerProcess {
  readonly lines: LogLine[] = [];
  readonly nonJson: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.nonJson.push(line);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first log line whose msg is `msg`; rejects if the process exits first or after `ms`. */
  async waitFor(msg: string, ms: number): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find((l) => l.msg === msg);
      if (found) return found;
      if (!this.running) throw new Error(`server exited before logging '${msg}'; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${msg}' log line within ${ms} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]);
}

describe('e2e: the server as a child process', function () {
  this.timeout(30000);

  describe('with EXECUTION_PROVIDERS=cuda,cpu', () => {
    let server: ServerProcess;
    let started: StartedLine;
    let port: number;
    let client: InferenceClient | undefined;

    before(async () => {
      server = new ServerProcess(serverEnv({
        EXECUTION_PROVIDERS: 'cuda,cpu',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: '0',
        LOG_LEVEL: 'info',
        MODEL_REPOSITORY: MODELS_DIR,
      }));
      started = (await server.waitFor('server started', 25000)) as StartedLine;
      port = Number(/^127\.0\.0\.1:(\d+)$/.exec(started.grpc)?.[1]);
      client = createClient(port);
    });
    after(async () => {
      client?.close();
      if (server?.running) {
        server.signal('SIGKILL');
        await server.exited;
      }
    });

    const fallbackLines = () => server.lines.filter((l) => l.provider === 'cuda' && /unavailable/.test(l.msg));

    it('writes only JSON log lines to stdout', () => {
      expect(server.nonJson).to.deep.equal([]);
      expect(server.lines.length).to.be.greaterThan(0);
    });

    it('logs, for each model that wants CUDA, a warning that the cuda provider is unavailable, with the reason', function () {
      const lines = fallbackLines();
      if (!NO_GPU && lines.length === 0) {
        // A machine where CUDA works: then no model falls back, which the next test checks.
        const providers = started.models.filter((m) => !CPU_KIND.has(m.name)).flatMap((m) => m.versions.map((v) => v.provider));
        expect(providers).to.satisfy((ps: string[]) => ps.every((p) => p === 'cuda'));
        return;
      }
      expect(WANT_CUDA.length, 'some bundled model wants CUDA').to.be.greaterThan(0);
      expect(lines.map((l) => l.model as string).sort()).to.deep.equal(WANT_CUDA);
      for (const line of lines) {
        expect(line.level, `level of ${line.model}`).to.equal(40);
        expect(line.msg).to.contain('cuda');
        expect(line.version).to.equal(1);
        // The loader's own words: the missing provider library or the dependency it cannot open.
        expect(line.reason, `reason for ${line.model}`).to.match(/Failed to load shared library: (onnxruntime-node has no CUDA provider library at \S+|\S+: cannot open shared object file)/);
      }
    });

    it('never tries CUDA for a bundled model whose config.json says KIND_CPU', () => {
      expect(CPU_KIND.has('stock_scorer')).to.equal(true);
      expect(fallbackLines().filter((l) => CPU_KIND.has(l.model as string))).to.deep.equal([]);
      for (const model of started.models.filter((m) => CPU_KIND.has(m.name))) {
        expect(model.versions.map((v) => v.provider), model.name).to.deep.equal(['cpu']);
      }
    });

    it("reports provider 'cpu' for every model version in the 'server started' line, where cuda fell back", () => {
      expect(started.models.map((m) => m.name).sort()).to.deep.equal(BUNDLED);
      const fellBack = new Set(fallbackLines().map((l) => l.model));
      for (const model of started.models) {
        expect(model.versions, model.name).to.have.length(1);
        for (const v of model.versions) {
          expect(v.state, model.name).to.equal('READY');
          expect(v.provider, model.name).to.equal(fellBack.has(model.name) || CPU_KIND.has(model.name) ? 'cpu' : 'cuda');
        }
      }
      if (NO_GPU) expect(fellBack.size, 'every model that wants CUDA falls back without a GPU').to.equal(WANT_CUDA.length);
    });

    it("reports the bound port, readiness and the provider list in the 'server started' line", () => {
      expect(started.grpc).to.match(/^127\.0\.0\.1:\d+$/);
      expect(port).to.be.within(1, 65535);
      expect(started.ready).to.equal(true);
      expect(started.execution_providers).to.deep.equal(['cuda', 'cpu']);
    });

    it('answers ServerReady true on that port', async () => {
      expect(await client!.unary('ServerReady', {})).to.deep.equal({ ready: true });
    });

    it('answers a ModelInfer to stock_scorer on that port', async () => {
      const res = await client!.unary<{ model_version: string; outputs: { name: string; shape: string[] }[]; raw_output_contents: Buffer[] }>('ModelInfer', {
        model_name: 'stock_scorer',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 8] }],
        raw_input_contents: [fp32Bytes(new Array(24).fill(0.5))],
        outputs: [{ name: 'score' }],
      });
      expect(res.model_version).to.equal('1');
      expect(res.outputs).to.deep.equal([{ name: 'score', datatype: 'FP32', shape: ['3', '1'] }]);
      expect(readFp32(res.raw_output_contents[0])).to.have.length(3);
    });

    it('exits with code 0 on SIGTERM, after logging that it is shutting down', async () => {
      client?.close();
      client = undefined;
      server.signal('SIGTERM');
      const { code, signal } = await withTimeout(server.exited, 15000, 'shutdown after SIGTERM');
      expect(signal, server.stderr).to.equal(null);
      expect(code, server.stderr).to.equal(0);
      expect(server.lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).to.equal(true);
    });
  });

  describe('with EXECUTION_PROVIDERS=cuda,cpu and REQUIRE_GPU=1', () => {
    it("fails each model that wants CUDA, with the reason in the 'server started' line, and serves the KIND_CPU ones", async function () {
      if (!NO_GPU) this.skip();
      const server = new ServerProcess(serverEnv({ EXECUTION_PROVIDERS: 'cuda,cpu', REQUIRE_GPU: '1', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', LOG_LEVEL: 'info', MODEL_REPOSITORY: MODELS_DIR }));
      try {
        const started = (await server.waitFor('server started', 25000)) as StartedLine & { models: { name: string; failures?: string[] }[] };
        expect(started.ready, 'not ready while a model failed').to.equal(false);
        for (const model of started.models) {
          if (CPU_KIND.has(model.name)) {
            expect(model.versions.map((v) => `${v.provider} ${v.state}`), model.name).to.deep.equal(['cpu READY']);
            continue;
          }
          expect(model.versions, model.name).to.deep.equal([]);
          expect(model.failures, model.name).to.have.length(1);
          expect(model.failures![0], model.name).to.match(/^version 1: execution provider cuda is required \(REQUIRE_GPU\) and could not be had: cuda: .*Failed to load shared library: /);
        }
        expect(server.lines.filter((l) => /unavailable, falling back/.test(l.msg))).to.deep.equal([]);
      } finally {
        server.signal('SIGKILL');
        await server.exited;
      }
    });
  });

  describe('with an invalid configuration', () => {
    it('exits non-zero with a message on stderr naming grpc.port when GRPC_PORT=abc', async () => {
      const server = new ServerProcess(serverEnv({ GRPC_PORT: 'abc', GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'info', MODEL_REPOSITORY: MODELS_DIR, EXECUTION_PROVIDERS: 'cpu' }));
      const { code } = await withTimeout(server.exited, 15000, 'exit on a bad GRPC_PORT');
      expect(code).to.be.a('number').and.not.equal(0);
      expect(server.stderr).to.contain('grpc.port');
      expect(server.lines.filter((l) => l.msg === 'server started')).to.deep.equal([]);
    });

    it('exits non-zero naming the folder when the model repository does not exist', async () => {
      const missing = path.join(MODELS_DIR, 'no-such-repository');
      const server = new ServerProcess(serverEnv({ GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'info', MODEL_REPOSITORY: missing, EXECUTION_PROVIDERS: 'cpu' }));
      const { code } = await withTimeout(server.exited, 15000, 'exit on a missing repository');
      expect(code).to.be.a('number').and.not.equal(0);
      expect(server.stderr).to.contain(`model repository '${missing}' cannot be read`);
    });
  });
});
