/** The message of the ModelConfigError that parsing `json` as model 'm''s config.json throws. */
import { expect } from 'chai';
import { ModelConfigError, parseModelConfig } from '../../src/repository/model-config';

export function modelConfigError(json: unknown, defaultMaxQueueSize: number): string {
  try {
    parseModelConfig('m', json, defaultMaxQueueSize);
  } catch (err) {
    expect(err).to.be.instanceOf(ModelConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ModelConfigError');
}
