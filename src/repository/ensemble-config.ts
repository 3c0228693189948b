/**
 * Triton's ensembles (`platform: "ensemble"`, `ensemble_scheduling`): a pipeline of other models,
 * each step's inputs taken from the ensemble's inputs or earlier steps' outputs. The graph is
 * checked here, once, so that every request can run it without asking again: each step's inputs
 * are produced, no tensor is produced twice, every ensemble output is produced, every ensemble
 * input is used, and the steps form no cycle. The composing models themselves are looked up when
 * a request runs (ensemble-readiness.ts), as they load and reload on their own.
 */
import { isObject, type Fail, type Json } from './config-json';
import { checkModelName } from './model-name';

export interface EnsembleStep {
  readonly modelName: string;
  /** -1: the version a request naming none would get (the model's rollout, else its latest ready version). */
  readonly modelVersion: number;
  /** The composing model's input name -> the ensemble tensor that feeds it. */
  readonly inputMap: ReadonlyMap<string, string>;
  /** The composing model's output name -> the ensemble tensor it becomes. */
  readonly outputMap: ReadonlyMap<string, string>;
}

/** Fields of a model's configuration that belong to its composing models, not to an ensemble. */
const NOT_FOR_ENSEMBLES = ['instance_group', 'dynamic_batching', 'model_warmup', 'optimization'];

/** Steps as written, checked as a graph over the ensemble's `inputs` and `outputs` (their names). */
export function parseEnsembleSteps(c: Json, inputs: readonly string[], outputs: readonly string[], fail: Fail): EnsembleStep[] {
  for (const key of NOT_FOR_ENSEMBLES) {
    if (isSet(key, c[key])) fail(`${key} does not apply to an ensemble: set it on its composing models`);
  }
  const scheduling = c.ensemble_scheduling;
  if (!isObject(scheduling)) return fail("platform 'ensemble' needs ensemble_scheduling with its steps");
  const list = scheduling.step;
  if (!Array.isArray(list) || list.length === 0) return fail('ensemble_scheduling.step must list at least one step');
  const steps = list.map((s: unknown, i: number) => parseStep(s, `ensemble_scheduling.step[${i}]`, fail));
  checkGraph(steps, inputs, outputs, fail);
  return steps;
}

/** Written with something in it; `dynamic_batching {}` counts, as it turns the batcher on. */
function isSet(key: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (key === 'dynamic_batching') return true;
  if (Array.isArray(value)) return value.length > 0;
  return !isObject(value) || Object.keys(value).length > 0;
}

function parseStep(value: unknown, where: string, fail: Fail): EnsembleStep {
  if (!isObject(value)) return fail(`${where} must be an object`);
  const s = value as Json;
  if (typeof s.model_name !== 'string' || s.model_name === '') fail(`${where}.model_name must be a non-empty string`);
  // Explicit mode reads the folder a step names (model-control.ts): the name must be one folder.
  try {
    checkModelName(s.model_name as string, `${where}.model_name`);
  } catch (err) {
    fail((err as Error).message);
  }
  if (s.model_namespace !== undefined && s.model_namespace !== '') fail(`${where}.model_namespace is not supported`);
  const version = s.model_version === undefined ? -1 : Number(s.model_version);
  if (!Number.isSafeInteger(version) || (version < 1 && version !== -1)) fail(`${where}.model_version must be -1 (latest) or a version >= 1`);
  const inputMap = tensorMap(s.input_map, `${where}.input_map`, fail);
  const outputMap = tensorMap(s.output_map, `${where}.output_map`, fail);
  if (outputMap.size === 0) fail(`${where}.output_map must map at least one output`);
  return { modelName: s.model_name as string, modelVersion: version, inputMap, outputMap };
}

function tensorMap(value: unknown, where: string, fail: Fail): Map<string, string> {
  if (value === undefined) return new Map();
  if (!isObject(value)) return fail(`${where} must be an object of tensor names`);
  const map = new Map<string, string>();
  for (const [key, tensor] of Object.entries(value)) {
    if (key === '' || typeof tensor !== 'string' || tensor === '') fail(`${where} must map non-empty names to non-empty names`);
    map.set(key, tensor as string);
  }
  return map;
}

/** Triton's checks of the dataflow, with the step (by position and model) each failure is in. */
function checkGraph(steps: readonly EnsembleStep[], inputs: readonly string[], outputs: readonly string[], fail: Fail): void {
  const label = (i: number): string => `ensemble_scheduling.step[${i}] (model '${steps[i].modelName}')`;
  const producer = new Map<string, number>();
  steps.forEach((step, i) => {
    for (const tensor of step.outputMap.values()) {
      if (inputs.includes(tensor)) fail(`${label(i)} writes '${tensor}', which is an ensemble input`);
      const other = producer.get(tensor);
      if (other !== undefined) fail(`${label(i)} writes '${tensor}', which ${label(other)} writes too`);
      producer.set(tensor, i);
    }
  });
  const consumed = new Set<string>();
  steps.forEach((step, i) => {
    for (const tensor of step.inputMap.values()) {
      if (!inputs.includes(tensor) && !producer.has(tensor)) fail(`${label(i)} reads '${tensor}', which is neither an ensemble input nor any step's output`);
      consumed.add(tensor);
    }
  });
  for (const output of outputs) if (!producer.has(output)) fail(`ensemble output '${output}' is not written by any step`);
  for (const input of inputs) if (!consumed.has(input)) fail(`ensemble input '${input}' is not read by any step`);
  checkAcyclic(steps, producer, label, fail);
}

/** Depth-first over "step i reads what step j writes"; a step met again on its own path closes a cycle. */
function checkAcyclic(steps: readonly EnsembleStep[], producer: ReadonlyMap<string, number>, label: (i: number) => string, fail: Fail): void {
  const state = new Array<'open' | 'done' | undefined>(steps.length);
  const visit = (i: number, path: number[]): void => {
    if (state[i] === 'done') return;
    if (state[i] === 'open') fail(`the steps form a cycle, each reading what the next one writes: ${[...path.slice(path.indexOf(i)), i].map(label).join(' -> ')}`);
    state[i] = 'open';
    for (const tensor of steps[i].inputMap.values()) {
      const from = producer.get(tensor);
      if (from !== undefined) visit(from, [...path, i]);
    }
    state[i] = 'done';
  };
  steps.forEach((_, i) => visit(i, []));
}
