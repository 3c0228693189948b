import { expect } from 'chai';
import { completeConfig } from '../src/repository/auto-config';
import { ModelConfigError, parseModelConfig } from '../src/repository/model-config';
import type { IoMetadata } from '../src/runtime/worker-protocol';
import { modelConfigError } from './support/model-config-error';

const QUEUE = 1024;
const io = (type: string, shape: number[]): { inputs: IoMetadata[]; outputs: IoMetadata[] } => ({
  inputs: [{ name: 'x', type, shape }],
  outputs: [{ name: 'y', type: 'float32', shape: [-1, 1] }],
});
const defaults = (statisticsColumns: number) => ({ maxBatchSize: 4, maxQueueSize: QUEUE, statisticsColumns });
const input = (dataType: string, extra: object, dims: number[] = [8]) => ({ input: [{ name: 'x', data_type: dataType, dims, ...extra }] });

const parseError = (json: unknown): string => modelConfigError(json, QUEUE);

describe('config.json input rules: validation and statistics', () => {
  it('reads validation beside the input, unbounded sides as infinities', () => {
    const c = parseModelConfig('m', input('TYPE_FP32', { validation: { reject_non_finite: true, min: -10, max: 10 } }), QUEUE);
    expect(c.inputs![0].validation).to.deep.equal({ rejectNonFinite: true, min: -10, max: 10 });
    const onlyMax = parseModelConfig('m', input('TYPE_INT32', { validation: { max: 5 } }), QUEUE);
    expect(onlyMax.inputs![0].validation).to.deep.equal({ rejectNonFinite: false, min: -Infinity, max: 5 });
    const fp16 = parseModelConfig('m', input('TYPE_FP16', { validation: { reject_non_finite: true } }), QUEUE);
    expect(fp16.inputs![0].validation).to.deep.equal({ rejectNonFinite: true, min: -Infinity, max: Infinity });
  });

  it('is off by default: an input without rules, or with rules that check nothing, carries none', () => {
    expect(parseModelConfig('m', input('TYPE_FP32', {}), QUEUE).inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [8] }]);
    expect(parseModelConfig('m', input('TYPE_FP32', { validation: {} }), QUEUE).inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [8] }]);
    expect(parseModelConfig('m', input('TYPE_FP64', { validation: { reject_non_finite: false } }), QUEUE).inputs![0]).to.not.have.property('validation');
  });

  it('refuses every bad rule with a ModelConfigError naming the model and the key', () => {
    expect(parseError(input('TYPE_FP32', { validation: { reject_nan: true } }))).to.equal(
      "model 'm' config.json: input[0].validation.reject_nan is not a known key (known: reject_non_finite, min, max)",
    );
    expect(parseError(input('TYPE_FP32', { validation: { min: 3, max: 2 } }))).to.contain('input[0].validation: min 3 is greater than max 2');
    expect(parseError(input('TYPE_STRING', { validation: { min: 0 } }))).to.contain('input[0].validation: min and max apply to numeric inputs, not BYTES');
    expect(parseError(input('TYPE_BOOL', { validation: { max: 1 } }))).to.contain('not BOOL');
    expect(parseError(input('TYPE_INT32', { validation: { reject_non_finite: true } }))).to.contain('input[0].validation.reject_non_finite applies to FP16, FP32 and FP64 inputs, not INT32');
    expect(parseError(input('TYPE_FP32', { validation: { reject_non_finite: 'yes' } }))).to.contain('input[0].validation.reject_non_finite must be true or false');
    expect(parseError(input('TYPE_FP32', { validation: { min: '1' } }))).to.contain('input[0].validation.min must be a finite number');
    expect(parseError(input('TYPE_FP32', { validation: [] }))).to.contain('input[0].validation must be an object');
    expect(parseError(input('TYPE_FP32', { statistics: { columns: 4, window: 60 } }))).to.contain('input[0].statistics.window is not a known key');
    expect(parseError(input('TYPE_FP32', { statistics: {} }))).to.contain('input[0].statistics.columns is required');
    expect(parseError(input('TYPE_FP32', { statistics: { columns: -1 } }))).to.contain('input[0].statistics.columns must be an integer >= 0');
    // Five arrays of this length, and a scrape loop over it: 100,000,000 would have been 4 GB.
    expect(parseError(input('TYPE_FP32', { statistics: { columns: 100_000_000 } }))).to.contain('input[0].statistics.columns 100000000 is above 1024');
    expect(parseModelConfig('m', input('TYPE_FP32', { statistics: { columns: 1024 } }), QUEUE).inputs?.[0].statistics).to.deep.equal({ columns: 1024 });
    expect(parseError(input('TYPE_INT64', { statistics: { columns: 4 } }))).to.contain('input[0].statistics applies to FP16, FP32 and FP64 inputs, not INT64');
    expect(parseError({ output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1], validation: { min: 0 } }] })).to.contain('output[0].validation applies to inputs only');
    expect(parseError({ output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1], statistics: { columns: 1 } }] })).to.contain('output[0].statistics applies to inputs only');
  });

  it('keeps an input\'s statistics once the model shows it 2-D, and refuses them on any other rank', () => {
    const c = completeConfig(parseModelConfig('m', { max_batch_size: 8, ...input('TYPE_FP32', { statistics: { columns: 16 } }) }, QUEUE), true, io('float32', [-1, 8]), defaults(0));
    expect(c.inputs[0].statistics).to.deep.equal({ columns: 16 });
    const unbatched = parseModelConfig('m', { max_batch_size: 0, ...input('TYPE_FP32', { statistics: { columns: 2 } }, [3, 8]) }, QUEUE);
    expect(completeConfig(unbatched, true, io('float32', [3, 8]), defaults(0)).inputs[0].statistics).to.deep.equal({ columns: 2 });
    const threeD = parseModelConfig('m', { max_batch_size: 8, ...input('TYPE_FP32', { statistics: { columns: 2 } }, [3, 8]) }, QUEUE);
    expect(() => completeConfig(threeD, true, io('float32', [-1, 3, 8]), defaults(0))).to.throw(ModelConfigError, "input 'x' statistics need a 2-D input");
  });

  it('applies the server default to 2-D float inputs that set nothing, and an input\'s columns 0 turns it off', () => {
    const auto = completeConfig(parseModelConfig('m', {}, QUEUE), false, io('float32', [-1, 8]), defaults(4));
    expect(auto.inputs[0].statistics).to.deep.equal({ columns: 4 });
    expect(completeConfig(parseModelConfig('m', {}, QUEUE), false, io('float32', [-1, 8]), defaults(0)).inputs[0]).to.not.have.property('statistics');
    expect(completeConfig(parseModelConfig('m', {}, QUEUE), false, io('int64', [-1, 8]), defaults(4)).inputs[0], 'not float').to.not.have.property('statistics');
    expect(completeConfig(parseModelConfig('m', {}, QUEUE), false, io('float32', [-1, 2, 8]), defaults(4)).inputs[0], 'not 2-D').to.not.have.property('statistics');
    const off = parseModelConfig('m', { max_batch_size: 8, ...input('TYPE_FP32', { statistics: { columns: 0 } }) }, QUEUE);
    expect(completeConfig(off, true, io('float32', [-1, 8]), defaults(4)).inputs[0]).to.not.have.property('statistics');
  });
});
