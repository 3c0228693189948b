/** The sha256 of each loaded version's model file, hashed once per version and forgotten with it. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../logger';
import { MODEL_FILE } from '../../repository/discover';
import type { ModelVersion } from '../../repository/model-version';

export class ModelFileDigests {
  private readonly digests = new WeakMap<ModelVersion, Promise<string | undefined>>();

  constructor(private readonly repositoryRoot: string, private readonly log: Logger) {}

  /** Hex sha256 of `<repository>/<model>/<version>/model.onnx`; undefined (and logged once) when it cannot be read. */
  of(version: ModelVersion): Promise<string | undefined> {
    let digest = this.digests.get(version);
    if (!digest) {
      digest = this.hash(version);
      this.digests.set(version, digest);
    }
    return digest;
  }

  private async hash(version: ModelVersion): Promise<string | undefined> {
    const file = path.join(this.repositoryRoot, version.name, String(version.version), MODEL_FILE);
    try {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    } catch (err) {
      this.log.warn({ model: version.name, version: version.version, file, err: (err as Error).message }, 'model file could not be hashed for metrics');
      return undefined;
    }
  }
}
