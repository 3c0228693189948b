/**
 * Runs a version's warm-up on every instance before it takes traffic, straight on the
 * instances (not through the scheduler), so nothing of it reaches ModelStatistics.
 * Configured samples (model_warmup) must succeed; the automatic warm-up is a best effort.
 */
import { mergeInputs, reshapesOf } from '../batching/merge';
import type { Logger } from '../observability/logger';
import type { Instance } from '../runtime/model-instance';
import type { Tensor } from '../tensor/tensor';
import type { ModelConfig } from './model-config';
import { automaticWarmupInputs, sampleInputs, type SampleLimits } from './warmup-inputs';

interface PreparedSample {
  readonly name: string;
  readonly runs: number;
  readonly rows: number;
  readonly inputs: readonly Tensor[];
}

/** The one thing warm-up needs of an instance. */
export type WarmupTarget = Pick<Instance, 'run'>;

/**
 * `stopping` aborts between runs, with its reason: a sample's `count` may ask for more runs than
 * the server will wait for once it has been told to stop.
 */
export async function warmUp(
  config: ModelConfig,
  modelDir: string,
  instances: readonly WarmupTarget[],
  log: Logger,
  version: number,
  limits: SampleLimits,
  stopping: AbortSignal,
): Promise<void> {
  const batched = config.maxBatchSize > 0;
  if (config.warmup.length === 0) {
    try {
      const sample = { name: 'automatic', runs: 1, rows: 1, inputs: automaticWarmupInputs(config, limits) };
      await Promise.all(instances.map((instance) => runSamples(instance, [sample], config, batched, stopping)));
    } catch (err) {
      stopping.throwIfAborted();
      // Variable dims fed as 1 are not always valid input (a reflect Pad, a window wider than 1):
      // the model may still be perfectly servable, so the version serves without the warm-up.
      log.warn(
        { model: config.name, version, reason: (err as Error).message },
        'automatic warm-up failed; serving without it (set model_warmup in config.json to warm up with valid inputs)',
      );
    }
    return;
  }
  const samples: PreparedSample[] = [];
  for (const sample of config.warmup) {
    samples.push({ name: sample.name, runs: sample.runs, rows: sample.batchSize, inputs: await sampleInputs(config, modelDir, sample, limits) });
  }
  await Promise.all(instances.map((instance) => runSamples(instance, samples, config, batched, stopping)));
}

/** The samples in order on one instance; the first failure names its sample. */
async function runSamples(instance: WarmupTarget, samples: readonly PreparedSample[], config: ModelConfig, batched: boolean, stopping: AbortSignal): Promise<void> {
  const outputs = config.outputs.map((o) => o.name);
  const reshapes = reshapesOf(config);
  for (const sample of samples) {
    for (let run = 0; run < sample.runs; run++) {
      stopping.throwIfAborted();
      // A fresh merge per run: the worker takes the merged buffers by transfer.
      const { feeds, transfer } = mergeInputs([sample], sample.rows, batched, reshapes);
      try {
        await instance.run(feeds, outputs, transfer);
      } catch (err) {
        throw new Error(`warm-up sample '${sample.name}' failed: ${(err as Error).message}`);
      }
    }
  }
}
