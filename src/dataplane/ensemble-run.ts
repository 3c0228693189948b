/**
 * One request to an ensemble, run as Triton's ensemble scheduler runs it: every step whose inputs
 * are all there is sent to its composing model as a request of its own, through the same door as
 * a client's (routing, validation, the model's batcher), so steps of many ensemble requests batch
 * together. Each answer's outputs become the tensors later steps read; once every step has
 * answered, the ensemble's outputs go back to the caller. The first step to fail fails the
 * request, naming the step; steps already sent finish on their own, their answers dropped.
 */
import { performance } from 'node:perf_hooks';
import { InferenceError, internal } from '../errors';
import type { InferenceJob } from '../batching/inference-job';
import type { EnsembleVersion } from '../repository/ensemble-version';
import type { TensorSpec } from '../repository/model-config';
import type { Tensor } from '../tensor/tensor';
import type { InferReply, InferRequest, InferResult } from './infer-request';

/** The data plane's door for requests inside one already admitted: it does not refuse them while the server drains. */
export type StepRunner = (request: InferRequest, reply: InferReply) => void;

export class EnsembleRun {
  /** The ensemble's tensors by name: its inputs, then each step's outputs as they arrive. */
  private readonly tensors = new Map<string, Tensor>();
  private readonly sent: boolean[];
  private answered = 0;
  private settled = false;

  constructor(
    private readonly ensemble: EnsembleVersion,
    /** The caller's request, for what every step passes on: deadline, cancellation, priority, parameters. */
    private readonly request: InferRequest,
    private readonly job: InferenceJob,
    private readonly runStep: StepRunner,
  ) {
    this.sent = ensemble.steps.map(() => false);
  }

  start(): void {
    this.ensemble.begin();
    for (const t of this.job.inputs) this.tensors.set(t.name, t);
    this.sendReady();
  }

  /** Sends every step not yet sent whose inputs are all there. An answer may come back before runStep returns. */
  private sendReady(): void {
    const { request } = this;
    for (const [i, step] of this.ensemble.steps.entries()) {
      if (this.settled) return;
      if (this.sent[i] || ![...step.inputMap.values()].every((t) => this.tensors.has(t))) continue;
      this.sent[i] = true;
      const inputs = [...step.inputMap].map(([input, tensor]) => ({ ...this.tensors.get(tensor)!, name: input }));
      this.runStep(
        {
          modelName: step.modelName,
          modelVersion: step.modelVersion === -1 ? '' : String(step.modelVersion),
          id: request.id,
          inputs,
          outputs: [...step.outputMap.keys()],
          priority: request.priority,
          timeoutMicros: request.timeoutMicros,
          parameters: request.parameters,
          deadlineAt: request.deadlineAt,
          cancellation: request.cancellation,
        },
        new StepReply(this, i),
      );
    }
  }

  stepAnswered(i: number, result: InferResult): void {
    if (this.settled) return;
    const { outputMap } = this.ensemble.steps[i];
    for (const t of result.outputs) {
      const tensor = outputMap.get(t.name);
      if (tensor !== undefined) this.tensors.set(tensor, { ...t, name: tensor });
    }
    if (++this.answered === this.sent.length) this.finish();
    else this.sendReady();
  }

  stepFailed(i: number, error: InferenceError): void {
    if (this.settled) return;
    const where = `ensemble '${this.ensemble.name}' step[${i}] model '${this.ensemble.steps[i].modelName}': `;
    this.settle();
    this.job.reject(new InferenceError(error.code, where + error.message, where + error.logMessage));
  }

  private finish(): void {
    const { config, stats } = this.ensemble;
    const outputs: Tensor[] = [];
    for (const name of this.job.outputs) {
      const tensor = this.tensors.get(name)!;
      const wrong = outputProblem(config.outputs.find((s) => s.name === name)!, config.maxBatchSize, tensor);
      if (wrong !== undefined) {
        this.settle();
        this.job.reject(internal(`ensemble '${this.ensemble.name}' output '${name}' ${wrong}`));
        return;
      }
      outputs.push(tensor);
    }
    this.settle();
    stats.recordEnsembleRun(this.job.rows, (performance.now() - this.job.acceptedAt) * 1e6);
    this.job.resolve(outputs);
  }

  private settle(): void {
    this.settled = true;
    this.ensemble.end();
  }
}

/**
 * An output its composing model answered other than the ensemble declares. Readiness compared the
 * data types, but against the newest version, while a rollout may route to another.
 */
function outputProblem(spec: TensorSpec, maxBatchSize: number, { datatype, shape }: Tensor): string | undefined {
  if (datatype !== spec.datatype) return `came back as ${datatype}, where the ensemble declares ${spec.datatype}`;
  const dims = maxBatchSize > 0 ? [-1, ...spec.dims] : spec.dims;
  const fits = shape.length === dims.length && dims.every((d, k) => d === -1 || d === shape[k]);
  return fits ? undefined : `came back with shape [${shape.join(',')}], where the ensemble declares [${dims.join(',')}]`;
}

/** One step's answer, back to its run; an object, as the data plane's replies are. */
class StepReply implements InferReply {
  constructor(private readonly run: EnsembleRun, private readonly step: number) {}

  ok(result: InferResult): void {
    this.run.stepAnswered(this.step, result);
  }

  fail(error: InferenceError): void {
    this.run.stepFailed(this.step, error);
  }
}
