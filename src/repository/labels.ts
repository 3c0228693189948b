/**
 * An output's `label_filename` (label-file-config.ts): one class label per line, the line's
 * number its class index, which Triton's classification extension appends to each class it
 * answers. Read when a version loads; a file named but missing fails the load, as in Triton.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ModelConfigError, type ModelConfig, type TensorSpec } from './model-config';

/** ImageNet's thousand labels take 22 KB. */
export const MAX_LABEL_FILE_BYTES = 16 * 1024 * 1024;

/** The configuration with each output's labels read from its label file. */
export async function withLabels(config: ModelConfig, modelDir: string): Promise<ModelConfig> {
  if (!config.outputs.some((o) => o.labelFile !== undefined)) return config;
  const outputs = await Promise.all(config.outputs.map((o) => (o.labelFile === undefined ? o : readLabels(config, o, modelDir))));
  return { ...config, outputs };
}

async function readLabels(config: ModelConfig, output: TensorSpec, modelDir: string): Promise<TensorSpec> {
  const file = path.join(modelDir, output.labelFile!);
  const fail = (why: string): never => {
    throw new ModelConfigError(config.name, `output '${output.name}' label_filename '${output.labelFile}' ${why}`, config.configFile);
  };
  let text: string;
  try {
    const { size } = await fs.stat(file);
    if (size > MAX_LABEL_FILE_BYTES) fail(`is ${size} bytes, more than ${MAX_LABEL_FILE_BYTES}`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ModelConfigError) throw err;
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  return { ...output, labels: lines };
}
