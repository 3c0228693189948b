/** What the check ran on: the GPU as nvidia-smi names it, the CPU, Node and onnxruntime-node. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface GpuInfo {
  readonly name: string;
  readonly driverVersion: string;
  readonly memoryTotal: string;
}

export interface MachineInfo {
  /** One per card nvidia-smi lists; empty when there is none. */
  readonly gpus: readonly GpuInfo[];
  /** Why no card is known: nvidia-smi missing or failing. */
  readonly gpuNote: string | undefined;
  readonly cpuModel: string;
  readonly cpuCores: number;
  readonly node: string;
  readonly onnxruntimeNode: string;
}

export function describeMachine(): MachineInfo {
  const { gpus, note } = queryGpus();
  const cpus = os.cpus();
  return {
    gpus,
    gpuNote: note,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCores: os.availableParallelism(),
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
  };
}

/** The card's name for titles: the first card, with the count when there are several. */
export function gpuTitle(machine: MachineInfo): string {
  if (machine.gpus.length === 0) return 'no GPU';
  const first = machine.gpus[0].name;
  return machine.gpus.length > 1 ? `${machine.gpus.length}x ${first}` : first;
}

function queryGpus(): { gpus: GpuInfo[]; note: string | undefined } {
  let out: string;
  try {
    out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return { gpus: [], note: 'none: nvidia-smi is not on PATH' };
    return { gpus: [], note: `none: nvidia-smi failed: ${(e.stderr ?? e.message).toString().trim()}` };
  }
  const gpus = out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [name = '', driverVersion = '', memoryTotal = ''] = line.split(',').map((f) => f.trim());
      return { name, driverVersion, memoryTotal };
    });
  return { gpus, note: gpus.length === 0 ? 'none: nvidia-smi lists no GPU' : undefined };
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
