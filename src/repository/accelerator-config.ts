/**
 * Triton's `optimization` block, the parts about the CUDA provider:
 * `execution_accelerators.gpu_execution_accelerator: [{ "name": "cuda", "parameters": { key: value } }]`
 * (the keys of Triton's onnxruntime backend) and `cuda.graphs`. Values are checked here and kept
 * in ORT's own spelling; whether they can reach ORT is the runtime's to say (cuda-provider-options.ts).
 * The model's `parameters` may give four of them too, as the backend's older spelling.
 * The graph level is session-config.ts's; the other `optimization` keys (priority, pinned memory)
 * are left alone.
 */
import type { CudaOptionName, CudaOptions } from '../runtime/cuda-provider-options';
import { isObject, parameterString, type Fail, type Json } from './config-json';

type Normalize = (value: string) => string | undefined;

const FLAG: Normalize = (v) => ({ '0': '0', '1': '1', false: '0', true: '1' })[v.toLowerCase()];
const choice = (names: readonly string[]): Normalize => (v) => (/^[0-9]$/.test(v) ? names[Number(v)] : names.find((n) => n.toLowerCase() === v.toLowerCase()));

/** Triton's parameter key -> ORT option, and what values it takes (Triton accepts the numbers, ORT the names). */
const PARAMETERS: Readonly<Record<string, { readonly option: CudaOptionName; readonly normalize: Normalize; readonly expected: string }>> = {
  cudnn_conv_algo_search: { option: 'cudnn_conv_algo_search', normalize: choice(['EXHAUSTIVE', 'HEURISTIC', 'DEFAULT']), expected: '0/EXHAUSTIVE, 1/HEURISTIC or 2/DEFAULT' },
  gpu_mem_limit: { option: 'gpu_mem_limit', normalize: (v) => (/^[0-9]+$/.test(v) ? String(BigInt(v)) : undefined), expected: 'a number of bytes' },
  arena_extend_strategy: { option: 'arena_extend_strategy', normalize: choice(['kNextPowerOfTwo', 'kSameAsRequested']), expected: '0/kNextPowerOfTwo or 1/kSameAsRequested' },
  do_copy_in_default_stream: { option: 'do_copy_in_default_stream', normalize: FLAG, expected: '0 or 1' },
  cudnn_conv_use_max_workspace: { option: 'cudnn_conv_use_max_workspace', normalize: FLAG, expected: '0 or 1' },
  use_tf32: { option: 'use_tf32', normalize: FLAG, expected: '0 or 1' },
  enable_cuda_graph: { option: 'enable_cuda_graph', normalize: FLAG, expected: '0 or 1' },
  use_ep_level_unified_stream: { option: 'use_ep_level_unified_stream', normalize: FLAG, expected: '0 or 1' },
};

/** Triton's backend still reads these from the model's `parameters` too, its deprecated spelling. */
const DEPRECATED_PARAMETERS = ['cudnn_conv_algo_search', 'gpu_mem_limit', 'arena_extend_strategy', 'do_copy_in_default_stream'];

export function parseCudaOptions(optimization: unknown, parameters: unknown, fail: Fail): CudaOptions {
  const options: Partial<Record<CudaOptionName, string>> = {};
  if (isObject(parameters)) {
    const deprecated: Json = {};
    for (const key of DEPRECATED_PARAMETERS) {
      const value = parameterString(parameters, key, fail);
      if (value !== undefined) deprecated[key] = value;
    }
    parseParameters(deprecated, 'parameters', options, fail);
  }
  if (optimization === undefined) return options;
  if (!isObject(optimization)) return fail('optimization must be an object');
  parseAccelerators(optimization.execution_accelerators, options, fail);
  parseCuda(optimization.cuda, options, fail);
  return options;
}

function parseAccelerators(value: unknown, options: Partial<Record<CudaOptionName, string>>, fail: Fail): void {
  if (value === undefined) return;
  if (!isObject(value)) return fail('optimization.execution_accelerators must be an object');
  const cpu = value.cpu_execution_accelerator;
  if (cpu !== undefined && (!Array.isArray(cpu) || cpu.length > 0)) fail('optimization.execution_accelerators.cpu_execution_accelerator is not supported (no OpenVINO provider here)');
  const gpu = value.gpu_execution_accelerator;
  if (gpu === undefined) return;
  if (!Array.isArray(gpu)) return fail('optimization.execution_accelerators.gpu_execution_accelerator must be a list');
  (gpu as unknown[]).forEach((entry, i) => {
    const where = `optimization.execution_accelerators.gpu_execution_accelerator[${i}]`;
    if (!isObject(entry)) return fail(`${where} must be an object`);
    if (entry.name !== 'cuda') fail(`${where}.name '${String(entry.name)}' is not supported (only 'cuda')`);
    parseParameters(entry.parameters, `${where}.parameters`, options, fail);
  });
}

function parseParameters(value: unknown, where: string, options: Partial<Record<CudaOptionName, string>>, fail: Fail): void {
  if (value === undefined) return;
  if (!isObject(value)) return fail(`${where} must be an object of string values`);
  for (const [key, raw] of Object.entries(value as Json)) {
    const known = PARAMETERS[key];
    if (!known) fail(`${where}.${key} is not a CUDA provider parameter (known: ${Object.keys(PARAMETERS).join(', ')})`);
    if (typeof raw !== 'string') fail(`${where}.${key} must be a string`);
    const normalized = known.normalize((raw as string).trim());
    if (normalized === undefined) fail(`${where}.${key} must be ${known.expected}, not '${String(raw)}'`);
    options[known.option] = normalized;
  }
}

/** Triton's optimization.cuda: only `graphs` means something to the ONNX Runtime backend (CUDA graphs). */
function parseCuda(value: unknown, options: Partial<Record<CudaOptionName, string>>, fail: Fail): void {
  if (value === undefined) return;
  if (!isObject(value)) return fail('optimization.cuda must be an object');
  for (const key of Object.keys(value)) if (key !== 'graphs') fail(`optimization.cuda.${key} is not supported (only graphs)`);
  if (value.graphs === undefined) return;
  if (typeof value.graphs !== 'boolean') fail('optimization.cuda.graphs must be true or false');
  // false is the default, not a request: only true asks the provider for something.
  if (value.graphs) options.enable_cuda_graph = '1';
}
