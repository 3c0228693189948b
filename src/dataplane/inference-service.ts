/**
 * The data plane: liveness, readiness, metadata, inference and statistics, with no
 * knowledge of gRPC. The transport decodes, calls one method here, and encodes.
 */
import { performance } from 'node:perf_hooks';
import { asInferenceError, notFound } from '../errors';
import type { ModelRepository } from '../repository/model-repository';
import type { ModelVersion } from '../repository/model-version';
import type { Router } from '../routing/router';
import type { Tensor } from '../tensor/tensor';
import type { InferRequest, InferResult } from './infer-request';
import { validateRequest } from './validate-request';

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
  private started = false;

  constructor(
    private readonly repository: ModelRepository,
    private readonly router: Router,
    readonly info: ServerInfo,
  ) {}

  /** Called once every model has been loaded and warmed up (or failed). */
  markStarted(): void {
    this.started = true;
  }

  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    return this.started && this.repository.allReady;
  }

  modelReady(name: string, version: string): boolean {
    try {
      return this.router.resolve(name, version).ready;
    } catch {
      return false;
    }
  }

  modelVersion(name: string, version: string): ModelVersion {
    return this.router.resolve(name, version);
  }

  modelMetadata(name: string, version: string): ModelMetadata {
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

  /** Resolves with the outputs or rejects with an InferenceError; never throws synchronously. */
  infer(request: InferRequest): Promise<InferResult> {
    let model: ModelVersion;
    try {
      model = this.router.resolve(request.modelName, request.modelVersion);
    } catch (err) {
      return Promise.reject(asInferenceError(err));
    }
    const acceptedAt = performance.now();
    const { stats } = model;
    return new Promise<InferResult>((resolve, reject) => {
      const fail = (err: unknown): void => {
        stats.recordFailure((performance.now() - acceptedAt) * 1e6);
        reject(asInferenceError(err));
      };
      try {
        const shape = validateRequest(model.config, request.inputs, request.outputs);
        model.scheduler.submit({
          inputs: request.inputs,
          rows: shape.rows,
          shapeKey: shape.shapeKey,
          outputs: shape.outputs,
          priority: priorityLevel(model, request.priority),
          acceptedAt,
          deadlineAt: request.deadlineAt,
          timeoutMicros: request.timeoutMicros,
          cancellation: request.cancellation,
          // Success is timed by the scheduler, once per batch.
          resolve: (outputs: Tensor[]) => resolve({ modelName: model.name, modelVersion: String(model.version), id: request.id, outputs }),
          reject: fail,
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  /** Statistics of every loaded version of one model, or of all models when name is empty. */
  statistics(name: string, version: string): ModelVersion[] {
    if (name === '') return [...this.repository.entries()].flatMap((e) => [...e.versions.values()]);
    if (version !== '') return [this.router.resolve(name, version)];
    const entry = this.repository.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    return [...entry.versions.values()];
  }
}

function priorityLevel(model: ModelVersion, requested: number): number {
  const db = model.config.dynamicBatching;
  const levels = db ? db.priorityLevels : 0;
  if (levels === 0) return 1;
  // Triton's rule: 0 or a level past the last one means the default level.
  return requested === 0 || requested > levels ? db!.defaultPriorityLevel : requested;
}
