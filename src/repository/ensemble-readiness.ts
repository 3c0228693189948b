/**
 * Whether an ensemble can serve now. Its composing models load, reload and unload on their own,
 * so this is asked whenever it matters (a readiness probe, every request) rather than once at
 * load: each step's model has a ready version (the one the step pins, else the newest), that
 * version has the inputs and outputs the step maps, with the data types the tensors have on the
 * other side of each map, and no ensemble reaches itself through its steps.
 */
import type { TensorSpec } from './model-config';
import { latestReady, type ModelEntry } from './model-entry';
import type { ServedVersion } from './model-version';
import type { EnsembleVersion } from './ensemble-version';

/** Why `ensemble` cannot serve now, or undefined when it can. `get` reads the repository's current entries. */
export function ensembleProblem(ensemble: EnsembleVersion, get: (name: string) => ModelEntry | undefined, path: readonly string[] = []): string | undefined {
  const through = [...path, ensemble.name];
  const chosen: ServedVersion[] = [];
  for (const [i, step] of ensemble.steps.entries()) {
    const where = `step[${i}] model '${step.modelName}'`;
    const version = composingVersion(get(step.modelName), step.modelVersion);
    if (typeof version === 'string') return `${where}: ${version}`;
    const { config } = version;
    for (const input of step.inputMap.keys()) if (!find(config.inputs, input)) return `${where} has no input '${input}'`;
    for (const output of step.outputMap.keys()) if (!find(config.outputs, output)) return `${where} has no output '${output}'`;
    if (version.kind === 'ensemble') {
      if (through.includes(version.name)) return `the ensembles form a cycle: ${[...through, version.name].join(' -> ')}`;
      const inner = ensembleProblem(version, get, through);
      if (inner !== undefined) return `${where}: ${inner}`;
    }
    chosen.push(version);
  }
  return typeMismatch(ensemble, chosen);
}

/** The ready version a step would run on, or why there is none. */
function composingVersion(entry: ModelEntry | undefined, pinned: number): ServedVersion | string {
  if (!entry || entry.versions.size === 0) return 'not loaded';
  if (pinned !== -1) {
    const version = entry.versions.get(pinned);
    return version?.ready ? version : `version ${pinned} is not ready`;
  }
  return latestReady(entry) ?? 'no version is ready';
}

/** Each ensemble tensor has one data type: as the ensemble declares it, or as the step that writes it gives it. */
function typeMismatch(ensemble: EnsembleVersion, chosen: readonly ServedVersion[]): string | undefined {
  const { config, steps } = ensemble;
  const types = new Map<string, { datatype: string; from: string }>();
  for (const t of config.inputs) types.set(t.name, { datatype: t.datatype, from: 'the ensemble input' });
  steps.forEach((step, i) => {
    for (const [output, tensor] of step.outputMap) types.set(tensor, { datatype: find(chosen[i].config.outputs, output)!.datatype, from: `step[${i}] output '${output}'` });
  });
  for (const t of config.outputs) {
    const written = types.get(t.name)!;
    if (written.datatype !== t.datatype) return `ensemble output '${t.name}' is ${t.datatype}, but ${written.from} is ${written.datatype}`;
  }
  for (const [i, step] of steps.entries()) {
    for (const [input, tensor] of step.inputMap) {
      const wanted = find(chosen[i].config.inputs, input)!.datatype;
      const given = types.get(tensor)!;
      if (given.datatype !== wanted) return `step[${i}] model '${step.modelName}' input '${input}' is ${wanted}, but ${given.from} '${tensor}' is ${given.datatype}`;
    }
  }
  return undefined;
}

function find(specs: readonly TensorSpec[], name: string): TensorSpec | undefined {
  return specs.find((s) => s.name === name);
}
