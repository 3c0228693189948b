/**
 * A model's configuration as written in its folder: Triton's `config.pbtxt` (protobuf's text
 * format), or `config.json` (the same fields as JSON, and this server's additions: `rollout`, an
 * input's `validation` and `statistics`). Both read into one object, the one JSON.parse gives for
 * config.json, so one reader checks both.
 */
import * as path from 'node:path';
import { Root, type Type } from 'protobufjs';
import { PROTO_DIR } from '../platform/proto-dir';
import { ModelConfigError } from './model-config';
import { parseTextFormat, TextFormatError } from './text-format';

export const CONFIG_FILES = ['config.pbtxt', 'config.json'] as const;
export type ConfigFile = (typeof CONFIG_FILES)[number];

export interface ConfigSource {
  readonly file: ConfigFile;
  readonly text: string;
}

let modelConfigType: Type | undefined;

/** The configuration's object; throws naming the model and the file, and the line for config.pbtxt. */
export function configObject(model: string, source: ConfigSource): unknown {
  if (source.file === 'config.json') {
    try {
      return JSON.parse(source.text);
    } catch (err) {
      throw new Error(`model '${model}' config.json is not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return parseTextFormat(source.text, schema());
  } catch (err) {
    if (err instanceof TextFormatError) throw new ModelConfigError(model, err.message, source.file);
    throw err;
  }
}

/** Triton's ModelConfig message, read from proto/model_config.proto on first use. */
function schema(): Type {
  if (!modelConfigType) {
    const root = new Root().loadSync(path.join(PROTO_DIR, 'model_config.proto'), { keepCase: true });
    root.resolveAll();
    modelConfigType = root.lookupType('inference.ModelConfig');
  }
  return modelConfigType;
}
