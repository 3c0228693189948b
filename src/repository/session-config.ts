/**
 * Triton's onnxruntime-backend session settings of a model, which replace the server's
 * `runtime.*` defaults for it: `optimization.graph.level` (-1 basic, 1 extended, 2 disabled,
 * anything else all, as the backend maps them) and the `parameters` `intra_op_thread_count` and
 * `inter_op_thread_count` (0: ONNX Runtime picks, one thread per core), `execution_mode` (0
 * sequential, 1 parallel), `enable_mem_arena` and `enable_mem_pattern` (0 or 1). The backend's
 * other keys are left alone, as it leaves keys it does not know.
 */
import type { GraphOptimizationLevel } from '../config/schema';
import { isObject, parameterString, type Fail } from './config-json';

export interface SessionSettings {
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
  readonly executionMode?: 'sequential' | 'parallel';
  readonly enableCpuMemArena?: boolean;
  readonly enableMemPattern?: boolean;
}

/** The most threads a model may ask for: more only oversubscribes the cores. */
export const MAX_SESSION_THREADS = 1024;

const GRAPH_LEVELS: Readonly<Record<string, GraphOptimizationLevel>> = { '-1': 'basic', '1': 'extended', '2': 'disabled' };

export function parseSessionSettings(optimization: unknown, parameters: unknown, fail: Fail): SessionSettings {
  const settings: { -readonly [K in keyof SessionSettings]: SessionSettings[K] } = {};
  const graph = isObject(optimization) ? optimization.graph : undefined;
  if (graph !== undefined) {
    if (!isObject(graph)) return fail('optimization.graph must be an object');
    const level = graph.level ?? 0;
    if (typeof level !== 'number' && typeof level !== 'string') return fail('optimization.graph.level must be an integer');
    if (!Number.isSafeInteger(Number(level))) fail(`optimization.graph.level must be an integer, not '${String(level)}'`);
    settings.graphOptimizationLevel = GRAPH_LEVELS[String(Number(level))] ?? 'all';
  }
  if (!isObject(parameters)) return settings;
  const value = (key: string): string | undefined => parameterString(parameters, key, fail)?.trim();
  const threads = (key: string): number | undefined => {
    const v = value(key);
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v) || Number(v) > MAX_SESSION_THREADS) fail(`parameters.${key} must be a number of threads from 0 (ONNX Runtime picks) to ${MAX_SESSION_THREADS}, not '${v}'`);
    return Number(v);
  };
  const flag = (key: string): boolean | undefined => {
    const v = value(key);
    if (v === undefined) return undefined;
    if (v !== '0' && v !== '1') fail(`parameters.${key} must be 0 or 1, not '${v}'`);
    return v === '1';
  };
  const intra = threads('intra_op_thread_count');
  const inter = threads('inter_op_thread_count');
  const mode = value('execution_mode');
  if (mode !== undefined && mode !== '0' && mode !== '1') fail(`parameters.execution_mode must be 0 (sequential) or 1 (parallel), not '${mode}'`);
  const arena = flag('enable_mem_arena');
  const pattern = flag('enable_mem_pattern');
  if (intra !== undefined) settings.intraOpThreads = intra;
  if (inter !== undefined) settings.interOpThreads = inter;
  if (mode !== undefined) settings.executionMode = mode === '1' ? 'parallel' : 'sequential';
  if (arena !== undefined) settings.enableCpuMemArena = arena;
  if (pattern !== undefined) settings.enableMemPattern = pattern;
  return settings;
}
