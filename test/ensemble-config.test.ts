/** An ensemble's configuration: Triton's own example in config.pbtxt, and every graph it refuses, by name. */
import { expect } from 'chai';
import { configObject } from '../src/repository/config-source';
import { parseModelConfig } from '../src/repository/model-config';
import { modelConfigError } from './support/model-config-error';

/** Triton's example from its ensemble documentation, as its users write it. */
const TRITON_EXAMPLE = `
name: "m"
platform: "ensemble"
max_batch_size: 1
input [ { name: "IMAGE" data_type: TYPE_STRING dims: [ 1 ] } ]
output [
  { name: "CLASSIFICATION" data_type: TYPE_FP32 dims: [ 1000 ] },
  { name: "SEGMENTATION" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }
]
ensemble_scheduling {
  step [
    {
      model_name: "image_preprocess_model"
      model_version: -1
      input_map { key: "RAW_IMAGE" value: "IMAGE" }
      output_map { key: "PREPROCESSED_OUTPUT" value: "preprocessed_image" }
    },
    {
      model_name: "classification_model"
      model_version: -1
      input_map { key: "FORMATTED_IMAGE" value: "preprocessed_image" }
      output_map { key: "CLASSIFICATION_OUTPUT" value: "CLASSIFICATION" }
    },
    {
      model_name: "segmentation_model"
      model_version: 3
      input_map { key: "FORMATTED_IMAGE" value: "preprocessed_image" }
      output_map { key: "SEGMENTATION_OUTPUT" value: "SEGMENTATION" }
    }
  ]
}`;

const fp32 = (name: string) => ({ name, data_type: 'TYPE_FP32', dims: [4] });
const step = (model: string, inputs: Record<string, string>, outputs: Record<string, string>, extra: object = {}) => ({ model_name: model, input_map: inputs, output_map: outputs, ...extra });
const ensemble = (steps: object[], extra: object = {}) => ({
  platform: 'ensemble',
  input: [fp32('a')],
  output: [fp32('z')],
  ensemble_scheduling: { step: steps },
  ...extra,
});
const error = (json: object): string => modelConfigError(json, 16);

describe('ensemble configuration', () => {
  it("reads Triton's documented example from config.pbtxt: steps, maps and pinned versions", () => {
    const json = configObject('m', { file: 'config.pbtxt', text: TRITON_EXAMPLE });
    const config = parseModelConfig('m', json, 16, 'config.pbtxt');
    expect(config.platform).to.equal('ensemble');
    expect(config.maxBatchSize).to.equal(1);
    expect(config.outputs!.map((o) => o.name)).to.deep.equal(['CLASSIFICATION', 'SEGMENTATION']);
    expect(config.ensemble!.map((s) => [s.modelName, s.modelVersion, [...s.inputMap], [...s.outputMap]])).to.deep.equal([
      ['image_preprocess_model', -1, [['RAW_IMAGE', 'IMAGE']], [['PREPROCESSED_OUTPUT', 'preprocessed_image']]],
      ['classification_model', -1, [['FORMATTED_IMAGE', 'preprocessed_image']], [['CLASSIFICATION_OUTPUT', 'CLASSIFICATION']]],
      ['segmentation_model', 3, [['FORMATTED_IMAGE', 'preprocessed_image']], [['SEGMENTATION_OUTPUT', 'SEGMENTATION']]],
    ]);
  });

  it('takes a model_version left out as -1, and max_batch_size left out as 0', () => {
    const config = parseModelConfig('m', ensemble([step('p', { x: 'a' }, { y: 'z' })]), 16);
    expect(config.ensemble![0].modelVersion).to.equal(-1);
    expect(config.maxBatchSize).to.equal(0);
  });

  const refused: [string, object, RegExp][] = [
    ['no ensemble_scheduling', { platform: 'ensemble', input: [fp32('a')], output: [fp32('z')] }, /needs ensemble_scheduling/],
    ['no steps', ensemble([]), /at least one step/],
    ['ensemble_scheduling on an ONNX model', { ensemble_scheduling: { step: [] } }, /ensemble_scheduling needs platform 'ensemble'/],
    ['no input list', { ...ensemble([step('p', { x: 'a' }, { y: 'z' })]), input: undefined }, /must list its input/],
    ['a reshape', { ...ensemble([step('p', { x: 'a' }, { y: 'z' })]), input: [{ ...fp32('a'), reshape: { shape: [2, 2] } }] }, /reshape does not apply/],
    ['instance_group', ensemble([step('p', { x: 'a' }, { y: 'z' })], { instance_group: [{ count: 2 }] }), /instance_group does not apply to an ensemble/],
    ['dynamic_batching', ensemble([step('p', { x: 'a' }, { y: 'z' })], { dynamic_batching: {} }), /dynamic_batching does not apply to an ensemble/],
    ['a backend', ensemble([step('p', { x: 'a' }, { y: 'z' })], { backend: 'onnxruntime' }), /an ensemble has none/],
    ['model_version 0', ensemble([step('p', { x: 'a' }, { y: 'z' }, { model_version: 0 })]), /model_version must be -1/],
    ['a step model name that is a path', ensemble([step('../outside', { x: 'a' }, { y: 'z' })]), /step\[0\]\.model_name '\.\.\/outside' is not the name of a folder/],
    ['a model_namespace', ensemble([step('p', { x: 'a' }, { y: 'z' }, { model_namespace: 'n' })]), /model_namespace is not supported/],
    ['an empty output_map', ensemble([step('p', { x: 'a' }, {}), step('q', { x: 'a' }, { y: 'z' })]), /step\[0\]\.output_map must map at least one output/],
    ['a tensor written twice', ensemble([step('p', { x: 'a' }, { y: 'z' }), step('q', { x: 'a' }, { y: 'z' })]), /step\[1\] \(model 'q'\) writes 'z', which ensemble_scheduling\.step\[0\] \(model 'p'\) writes too/],
    ['a step writing an ensemble input', ensemble([step('p', { x: 'a' }, { y: 'a', w: 'z' })]), /writes 'a', which is an ensemble input/],
    ['a step reading nothing anyone writes', ensemble([step('p', { x: 'a', w: 'ghost' }, { y: 'z' })]), /reads 'ghost', which is neither an ensemble input nor any step's output/],
    ['an output no step writes', ensemble([step('p', { x: 'a' }, { y: 'mid' })]), /ensemble output 'z' is not written by any step/],
    ['an input no step reads', { ...ensemble([step('p', { x: 'a' }, { y: 'z' })]), input: [fp32('a'), fp32('b')] }, /ensemble input 'b' is not read by any step/],
    [
      'steps in a cycle',
      ensemble([step('p', { x: 'a', w: 'c2' }, { y: 'c1' }), step('q', { x: 'c1' }, { y: 'c2', v: 'z' })]),
      /the steps form a cycle.*step\[0\] \(model 'p'\) -> .*step\[1\] \(model 'q'\) -> .*step\[0\]/,
    ],
  ];
  for (const [what, json, message] of refused) {
    it(`refuses ${what}, by name`, () => {
      expect(error(json)).to.match(message);
    });
  }
});
