/**
 * The data plane: liveness, readiness, metadata, inference and statistics, with no
 * knowledge of gRPC. The transport decodes, calls one method here, and encodes.
 */
import { performance } from 'node:perf_hooks';
import { asInferenceError, notFound, unavailable } from '../errors';
import type { Readiness } from '../health/readiness';
import type { ModelRepository } from '../repository/model-repository';
import type { EnsembleVersion } from '../repository/ensemble-version';
import type { ServedVersion } from '../repository/model-version';
import { ensembleProblem } from '../repository/ensemble-readiness';
import type { RolloutState } from '../rollout/rollout-state';
import type { Router } from '../routing/router';
import type { RepositoryService } from './repository-service';
import type { InferenceJob } from '../batching/inference-job';
import type { Cancellation } from '../batching/cancellation';
import type { Tensor } from '../tensor/tensor';
import type { InferReply, InferRequest } from './infer-request';
import type { Admission } from './admission';
import type { ShadowTraffic } from '../rollout/shadow-traffic';
import { checkClassifications, classifyOutputs } from './classification';
import { EnsembleRun, type StepRunner } from './ensemble-run';
import { checkInputRules } from './input-rules';
import { checkRequestLimits, type RequestLimits } from './request-limits';
import { validateRequest, type ValidatedShape } from './validate-request';
import { checkModelName } from '../repository/model-name';

export interface ServerInfo {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

export class InferenceService {
  /** Bound once: an ensemble's steps enter here, past the drain's refusal, as part of a request already admitted. */
  private readonly runStep: StepRunner = (request, reply) => this.accept(request, reply);

  constructor(
    private readonly repository: ModelRepository,
    private readonly router: Router,
    private readonly readiness: Readiness,
    private readonly admission: Admission,
    readonly info: ServerInfo,
    /** The repository extension's RPCs (RepositoryIndex, RepositoryModelLoad / Unload). */
    readonly repositoryService: RepositoryService,
    /** Offered each unpinned request once answered (the rollout's shadow traffic). */
    private readonly shadow: ShadowTraffic,
    /** The operator's request limits; the transport decodes within them too. */
    readonly limits: RequestLimits,
  ) {}

  /** A process that answers is alive; a wedged event loop answers nothing. */
  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    return this.readiness.serverReady;
  }

  modelReady(name: string, version: string): boolean {
    checkModelName(name, 'name');
    if (version === '') return this.readiness.modelReady(name);
    return /^[0-9]+$/.test(version) && this.readiness.versionReady(name, Number(version));
  }

  modelVersion(name: string, version: string): ServedVersion {
    checkModelName(name, 'name');
    return this.router.resolve(name, version);
  }

  modelMetadata(name: string, version: string): ModelMetadata {
    checkModelName(name, 'name');
    const model = this.router.resolve(name, version);
    const entry = this.repository.get(name)!;
    const batchDim = model.config.maxBatchSize > 0 ? [-1] : [];
    const describe = (specs: typeof model.config.inputs): TensorMetadata[] =>
      specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: [...batchDim, ...s.dims] }));
    return {
      name,
      versions: [...entry.versions.keys()].sort((a, b) => a - b).map(String),
      platform: model.config.platform,
      inputs: describe(model.config.inputs),
      outputs: describe(model.config.outputs),
    };
  }

  /** Reports the outputs or an InferenceError to `reply`, never throws; the reply may come before this returns. */
  infer(request: InferRequest, reply: InferReply): void {
    if (!this.admission.open) {
      reply.fail(unavailable('the server is shutting down and takes no new requests; retry on another replica'));
      return;
    }
    this.accept(request, reply);
  }

  private accept(request: InferRequest, reply: InferReply): void {
    let model: ServedVersion;
    try {
      checkModelName(request.modelName, 'model_name');
      model = this.router.route(request.modelName, request.modelVersion, request.parameters);
    } catch (err) {
      reply.fail(asInferenceError(err));
      return;
    }
    const acceptedAt = performance.now();
    let shape: ValidatedShape;
    try {
      // First, so an oversized request costs no more than counting its elements.
      checkRequestLimits(this.limits, request.inputs);
      shape = validateRequest(model.config, request.inputs, request.outputs);
      if (request.classifications) checkClassifications(model.config, request.classifications);
      checkInputRules(model.config, request.inputs);
    } catch (err) {
      const error = asInferenceError(err);
      model.stats.recordFailure((performance.now() - acceptedAt) * 1e6, error.code);
      reply.fail(error);
      return;
    }
    model.features.record(request.inputs);
    const rollout = this.repository.get(request.modelName)?.rollout;
    const job = new AcceptedInference(model, request, shape, priorityLevel(model, request.priority), acceptedAt, reply, this.admission, rollout);
    // Only what the rollout routes is shadowed: a pinned request asked for one version on purpose.
    if (request.modelVersion === '') job.shadow = this.shadow;
    this.admission.enter();
    if (model.kind === 'ensemble') {
      this.runEnsemble(model, request, job);
      return;
    }
    try {
      model.scheduler.submit(job);
    } catch (err) {
      job.reject(err);
    }
  }

  private runEnsemble(ensemble: EnsembleVersion, request: InferRequest, job: AcceptedInference): void {
    const problem = ensembleProblem(ensemble, (name) => this.repository.get(name));
    if (problem !== undefined) {
      job.reject(unavailable(`ensemble '${ensemble.name}' cannot serve now: ${problem}`));
      return;
    }
    new EnsembleRun(ensemble, request, job, this.runStep).start();
  }

  /** Statistics of every loaded version of one model, or of all models when name is empty. */
  statistics(name: string, version: string): ServedVersion[] {
    if (name === '') return [...this.repository.entries()].flatMap((e) => [...e.versions.values()]);
    checkModelName(name, 'name');
    if (version !== '') return [this.router.resolve(name, version)];
    const entry = this.repository.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    return [...entry.versions.values()];
  }
}

function priorityLevel(model: ServedVersion, requested: number): number {
  const db = model.config.dynamicBatching;
  const levels = db ? db.priorityLevels : 0;
  if (levels === 0) return 1;
  // Triton's rule: 0 or a level past the last one means the default level.
  return requested === 0 || requested > levels ? db!.defaultPriorityLevel : requested;
}

/** A validated request in the scheduler's hands; it carries its outcome back to the caller's reply. */
class AcceptedInference implements InferenceJob {
  readonly inputs: readonly Tensor[];
  readonly rows: number;
  readonly shapeKey: string;
  readonly outputs: readonly string[];
  readonly deadlineAt: number | undefined;
  readonly timeoutMicros: number | undefined;
  readonly cancellation: Cancellation | undefined;
  private readonly id: string;
  private readonly classifications: ReadonlyMap<string, number> | undefined;
  /** Set for unpinned requests: offered the answer after the caller has it. */
  shadow: ShadowTraffic | undefined;

  constructor(
    private readonly model: ServedVersion,
    request: InferRequest,
    shape: ValidatedShape,
    readonly priority: number,
    readonly acceptedAt: number,
    private readonly reply: InferReply,
    private readonly admission: Admission,
    /** Told each outcome, for its live counts and guard. */
    private readonly rollout: RolloutState | undefined,
  ) {
    this.inputs = request.inputs;
    this.rows = shape.rows;
    this.shapeKey = shape.shapeKey;
    this.outputs = shape.outputs;
    this.deadlineAt = request.deadlineAt;
    this.timeoutMicros = request.timeoutMicros;
    this.cancellation = request.cancellation;
    this.id = request.id;
    this.classifications = request.classifications;
  }

  /** Success is timed by the scheduler, once per batch. */
  resolve(outputs: Tensor[]): void {
    const { model } = this;
    this.rollout?.observe(model.version, performance.now() - this.acceptedAt, undefined);
    this.admission.leave();
    const answered = this.classifications ? classifyOutputs(outputs, this.classifications, model.config) : outputs;
    this.reply.ok({ modelName: model.name, modelVersion: String(model.version), id: this.id, outputs: answered });
    // The shadow compares tensors with tensors, whatever form the caller asked for.
    this.shadow?.offer(model, this.inputs, this.outputs, outputs);
  }

  reject(err: unknown): void {
    const error = asInferenceError(err);
    this.model.stats.recordFailure((performance.now() - this.acceptedAt) * 1e6, error.code);
    this.rollout?.observe(this.model.version, performance.now() - this.acceptedAt, error.code);
    this.admission.leave();
    this.reply.fail(error);
  }
}
