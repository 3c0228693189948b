import type { ModelVersion, ServedVersion } from '../../src/repository/model-version';

/** The version as an ONNX model's, for a test that reads its pool or scheduler; throws for an ensemble or none. */
export function onnxVersion(version: ServedVersion | undefined): ModelVersion {
  if (version?.kind !== 'onnx') throw new Error(`expected a loaded ONNX model version, got ${version ? version.kind : 'none'}`);
  return version;
}
