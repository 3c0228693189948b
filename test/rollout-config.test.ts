/** The rollout block of config.json: what it keeps, what it refuses and why, and the check against the served versions. */
import { expect } from 'chai';
import type { ConfigSource } from '../src/repository/config-source';
import type { ModelFolder } from '../src/repository/discover';
import { planLoad } from '../src/repository/load-plan';
import { parseRollout } from '../src/repository/rollout-config';

const fail = (message: string): never => {
  throw new Error(message);
};

function refusal(rollout: unknown): string {
  try {
    parseRollout(rollout, fail);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the rollout to be refused');
}

const WEIGHTS = { weights: { '1': 90, '2': 10 } };
const GUARD = { canary: '2', max_error_rate: 0.02, max_p99_ratio: 1.5, min_requests: 200, window_seconds: 60 };

function folder(config: object, versions: readonly number[]): { folder: ModelFolder; configs: ConfigSource[] } {
  const configs = [{ file: 'config.json' as const, text: JSON.stringify(config) }];
  return { folder: { name: 'm', dir: '/nowhere/m', configs, versions: new Map(versions.map((v) => [v, `stamp${v}`])), ignored: [], bareVersions: [] }, configs };
}

describe('rollout config.json block', () => {
  it('keeps weights by version, the sticky parameter, the guard and the shadow', () => {
    const r = parseRollout({ ...WEIGHTS, sticky_parameter: 'routing_key', guard: GUARD, shadow: { version: '3', fraction: 0.05 } }, fail)!;
    expect([...r.weights]).to.deep.equal([[1, 90], [2, 10]]);
    expect(r.stickyParameter).to.equal('routing_key');
    expect(r.guard).to.deep.equal({ canary: 2, maxErrorRate: 0.02, maxP99Ratio: 1.5, minRequests: 200, windowSeconds: 60 });
    expect(r.shadow).to.deep.equal({ version: 3, fraction: 0.05 });
  });

  it('is optional, and so are sticky_parameter, guard and shadow', () => {
    expect(parseRollout(undefined, fail)).to.equal(undefined);
    const r = parseRollout({ weights: { '3': 0.5, '1': 0, '2': 1.5 } }, fail)!;
    expect([...r.weights], 'ascending by version').to.deep.equal([[1, 0], [2, 1.5], [3, 0.5]]);
    expect([r.stickyParameter, r.guard, r.shadow]).to.deep.equal([undefined, undefined, undefined]);
  });

  it('refuses bad weights, naming the key', () => {
    expect(refusal([])).to.equal('rollout must be an object');
    expect(refusal({})).to.match(/^rollout.weights must be an object/);
    expect(refusal({ weights: {} })).to.equal('rollout.weights must name at least one version');
    expect(refusal({ weights: { x: 1 } })).to.equal("rollout.weights key 'x' must be a version number >= 1");
    expect(refusal({ weights: { '0': 1 } })).to.equal("rollout.weights key '0' must be a version number >= 1");
    expect(refusal({ weights: { '1': -1 } })).to.equal('rollout.weights.1 must be a number >= 0');
    expect(refusal({ weights: { '1': '5' } })).to.equal('rollout.weights.1 must be a number >= 0');
    expect(refusal({ weights: { '1': 0, '2': 0 } })).to.equal('rollout.weights must give some version a weight > 0');
  });

  it('refuses a bad sticky_parameter', () => {
    expect(refusal({ ...WEIGHTS, sticky_parameter: '' })).to.equal('rollout.sticky_parameter must be a non-empty string');
    expect(refusal({ ...WEIGHTS, sticky_parameter: 7 })).to.equal('rollout.sticky_parameter must be a non-empty string');
    expect(refusal({ ...WEIGHTS, sticky_parameter: 'priority' })).to.match(/^rollout.sticky_parameter 'priority' is a parameter the server reads/);
  });

  it('refuses guard and shadow fields out of range, naming each', () => {
    const guard = (change: object): string => refusal({ ...WEIGHTS, guard: { ...GUARD, ...change } });
    expect(refusal({ ...WEIGHTS, guard: 1 })).to.equal('rollout.guard must be an object');
    expect(guard({ canary: 'two' })).to.equal('rollout.guard.canary must be a version number >= 1');
    expect(guard({ max_error_rate: 1.5 })).to.equal('rollout.guard.max_error_rate must be within [0, 1]');
    expect(guard({ max_error_rate: undefined })).to.equal('rollout.guard.max_error_rate must be a number');
    expect(guard({ max_p99_ratio: 0 })).to.equal('rollout.guard.max_p99_ratio must be > 0');
    expect(guard({ min_requests: 0 })).to.equal('rollout.guard.min_requests must be an integer >= 1');
    expect(guard({ min_requests: 2.5 })).to.equal('rollout.guard.min_requests must be an integer >= 0');
    expect(guard({ window_seconds: -1 })).to.equal('rollout.guard.window_seconds must be > 0');
    expect(refusal({ ...WEIGHTS, shadow: { version: '3', fraction: -0.1 } })).to.equal('rollout.shadow.fraction must be within [0, 1]');
    expect(refusal({ ...WEIGHTS, shadow: { fraction: 0.1 } })).to.equal('rollout.shadow.version must be a version number >= 1');
  });

  it('refuses, at load, a rollout that names a version the version policy does not serve', () => {
    const all = { version_policy: { all: {} } };
    const load = (rollout: object, versions: readonly number[], config: object = all): (() => unknown) => {
      const { folder: f, configs } = folder({ ...config, rollout }, versions);
      return () => planLoad(f, configs, 16);
    };
    expect(load(WEIGHTS, [1, 2])).not.to.throw();
    expect(load({ weights: { '1': 90, '3': 10 } }, [1, 2])).to.throw("model 'm' config.json: rollout weights name version 3, which is not loaded (loaded: 1, 2)");
    expect(load(WEIGHTS, [1, 2], {}), 'latest 1 serves version 2 only').to.throw('rollout weights name version 1, which is not loaded (loaded: 2)');
    expect(load({ ...WEIGHTS, guard: { ...GUARD, canary: '4' } }, [1, 2])).to.throw('rollout.guard.canary names version 4, which is not loaded (loaded: 1, 2)');
    expect(load({ ...WEIGHTS, shadow: { version: '3', fraction: 0.1 } }, [1, 2])).to.throw('rollout.shadow.version names version 3, which is not loaded (loaded: 1, 2)');
  });

  it('gives the versions the same source whatever the rollout says, so a weight change reloads nothing', () => {
    const all = { version_policy: { all: {} } };
    const sources = (rollout: object): string[] => {
      const { folder: f, configs } = folder({ ...all, rollout }, [1, 2]);
      return [...planLoad(f, configs, 16).versions.values()];
    };
    expect(sources({ weights: { '1': 80, '2': 20 } })).to.deep.equal(sources(WEIGHTS));
    const { folder: f, configs } = folder({ ...all, max_batch_size: 2, rollout: WEIGHTS }, [1, 2]);
    expect([...planLoad(f, configs, 16).versions.values()], 'any other change still does').not.to.deep.equal(sources(WEIGHTS));
  });
});
