/** Protobuf's text format read against Triton's ModelConfig schema: config.pbtxt as Triton writes it, the grammar's corners, and what it refuses. */
import { expect } from 'chai';
import * as path from 'node:path';
import { Root, type Type } from 'protobufjs';
import { PROTO_DIR } from '../src/platform/proto-dir';
import { parseTextFormat, TextFormatError } from '../src/repository/text-format';

describe('protobuf text format (config.pbtxt)', () => {
  let modelConfig: Type;
  before(() => {
    const root = new Root().loadSync(path.join(PROTO_DIR, 'model_config.proto'), { keepCase: true });
    root.resolveAll();
    modelConfig = root.lookupType('inference.ModelConfig');
  });
  const parse = (text: string): unknown => parseTextFormat(text, modelConfig);
  const refuse = (text: string, message: string): void => {
    expect(() => parse(text), text).to.throw(TextFormatError, message);
  };

  it("reads Triton's densenet_onnx example into the object its JSON form parses to", () => {
    // docs/examples/model_repository/densenet_onnx/config.pbtxt in triton-inference-server/server.
    const text = [
      'name: "densenet_onnx"',
      'platform: "onnxruntime_onnx"',
      'max_batch_size : 1',
      'input [',
      '  {',
      '    name: "data_0"',
      '    data_type: TYPE_FP32',
      '    format: FORMAT_NCHW',
      '    dims: [ 3, 224, 224 ]',
      '  }',
      ']',
      'output [',
      '  {',
      '    name: "fc6_1"',
      '    data_type: TYPE_FP32',
      '    dims: [ 1000 ]',
      '    reshape { shape: [ 1000, 1, 1 ] }',
      '    label_filename: "densenet_labels.txt"',
      '  }',
      ']',
    ].join('\n');
    expect(parse(text)).to.deep.equal({
      name: 'densenet_onnx',
      platform: 'onnxruntime_onnx',
      max_batch_size: 1,
      input: [{ name: 'data_0', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [3, 224, 224] }],
      output: [{ name: 'fc6_1', data_type: 'TYPE_FP32', dims: [1000], reshape: { shape: [1000, 1, 1] }, label_filename: 'densenet_labels.txt' }],
    });
  });

  it('reads messages in braces or angle brackets, with or without a colon, lists or repeated fields, and either separator', () => {
    const text = `
      # a comment line
      instance_group: [ { count: 2, kind: KIND_GPU; gpus: 0 gpus: [1, 2] } , < kind: KIND_CPU > ]
      instance_group { count: 1 }   # a repeated message field given again appends
      version_policy < specific: { versions: 3 } >
      dynamic_batching {}
      input []
    `;
    expect(parse(text)).to.deep.equal({
      instance_group: [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1, 2] }, { kind: 'KIND_CPU' }, { count: 1 }],
      version_policy: { specific: { versions: [3] } },
      dynamic_batching: {},
      input: [],
    });
  });

  it('reads maps as objects, from entries given one by one or as a list, with defaults for a missing key or value', () => {
    const text = `
      parameters { key: "run_on_event_loop" value: { string_value: "true" } }
      parameters [ { key: "b" value { string_value: "2" } }, { key: "novalue" } ]
      parameters { key: "__proto__" value { string_value: "a key like any other" } }
      dynamic_batching { priority_levels: 2 priority_queue_policy { key: 2 value { timeout_action: DELAY } } priority_queue_policy { value { max_queue_size: 4 } } }
      optimization { execution_accelerators { gpu_execution_accelerator [ { name: "cuda" parameters { key: "use_tf32" value: "0" } } ] } }
    `;
    const parsed = parse(text) as { parameters: object };
    expect(parsed).to.deep.equal({
      parameters: JSON.parse('{"run_on_event_loop":{"string_value":"true"},"b":{"string_value":"2"},"novalue":{},"__proto__":{"string_value":"a key like any other"}}'),
      dynamic_batching: { priority_levels: 2, priority_queue_policy: { 2: { timeout_action: 'DELAY' }, 0: { max_queue_size: 4 } } },
      optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda', parameters: { use_tf32: '0' } }] } },
    });
    expect(Object.getPrototypeOf(parsed.parameters), '"__proto__" stays a key').to.equal(Object.prototype);
  });

  it('reads integers in decimal, hex and octal, signed where the type allows, 64-bit ones as numbers while exact', () => {
    const parsed = parse('max_batch_size: 0x10 input { name: "x" dims: [ -1, 017, 0, 9007199254740991, 9007199254740993 ] }');
    expect(parsed).to.deep.equal({ max_batch_size: 16, input: [{ name: 'x', dims: [-1, 15, 0, 9007199254740991, '9007199254740993'] }] });
  });

  it('reads floats, inf and nan for a double field, and bools in every spelling the format has', () => {
    const parsed = parse(`
      model_metrics { metric_control { histogram_options { buckets: [ 0.5, 1e3, .25, 2f, -inf, 3, nan ] } } }
      input { optional: true allow_ragged_batch: t is_shape_tensor: False }
      input { optional: 1 allow_ragged_batch: f }
    `) as { model_metrics: { metric_control: { histogram_options: { buckets: number[] } }[] }; input: unknown[] };
    const buckets = parsed.model_metrics.metric_control[0]!.histogram_options.buckets;
    expect(buckets.slice(0, 6)).to.deep.equal([0.5, 1000, 0.25, 2, -Infinity, 3]);
    expect(buckets[6]).to.be.NaN;
    expect(parsed.input).to.deep.equal([
      { optional: true, allow_ragged_batch: true, is_shape_tensor: false },
      { optional: true, allow_ragged_batch: false },
    ]);
  });

  it('reads strings in either quote, side by side, with C escapes, octal and hex bytes and Unicode escapes', () => {
    expect(parse(`name: "a" 'b' "\\"\\'\\\\\\n\\t" backend: "\\101\\x42\\u00e9\\U0001F600é"`)).to.deep.equal({ name: 'ab"\'\\\n\t', backend: 'ABé😀é' });
  });

  it('refuses what the text format refuses, naming the line and column', () => {
    refuse('max_batch_size: 1\nmax_batch_size: 2', "line 2, column 1: 'max_batch_size' is set twice");
    refuse('version_policy { latest {} all {} }', "line 1, column 28: 'all' and 'latest' are one of policy_choice: set only one");
    refuse('dynamic_batching {} sequence_batching {}', "'sequence_batching' and 'dynamic_batching' are one of scheduling_choice");
    refuse('max_batch_sise: 4', "line 1, column 1: inference.ModelConfig has no field 'max_batch_sise'");
    refuse('constructor: 1', "inference.ModelConfig has no field 'constructor'");
    refuse('input { name: "x" shape: [1] }', "inference.ModelInput has no field 'shape'");
    refuse('parameters { key: "a" val { string_value: "b" } }', "the entry of map 'parameters' has no field 'val'");
    refuse('max_batch_size 4', "expected ':' after 'max_batch_size', found '4'");
    refuse('max_batch_size: [4]', "'max_batch_size' is not a repeated field");
    refuse('max_batch_size: 1.5', "'max_batch_size' takes an integer, not '1.5'");
    refuse('max_batch_size: 2147483648', "'max_batch_size' takes an integer within -2147483648..2147483647, not '2147483648'");
    refuse('version_policy { latest { num_versions: -1 } }', "'num_versions' takes an integer within 0..4294967295, not '-1'");
    refuse('max_batch_size: 08', "'max_batch_size' takes an integer, not '08'");
    refuse('max_batch_size: 4x', "'4x' is not a number");
    refuse('name: TYPE_FP32', "'name' takes a quoted string, not 'TYPE_FP32'");
    refuse('input { data_type: TYPE_FP31 }', "'data_type' takes one of TYPE_INVALID, TYPE_BOOL");
    refuse('input { optional: yes }', "'optional' takes true or false, not 'yes'");
    refuse('name: "unclosed\n"', 'line 1, column 7: a string is not closed on its line');
    refuse('name: "\\q"', 'unknown escape \\q');
    refuse('name: "\\xff"', "'name' is not valid UTF-8");
    refuse('name: "\\ud800"', 'escape \\ud800 is not a Unicode scalar value');
    refuse('input [ { name: "a" }', "expected ',' or ']' in the list of 'input', found the end of the text");
    refuse('dynamic_batching {', "expected '}' to close inference.ModelDynamicBatching, found the end of the text");
    refuse('dynamic_batching { >', "expected a field name of inference.ModelDynamicBatching, found '>'");
    refuse('dynamic_batching: 4', "expected '{' to open inference.ModelDynamicBatching, found '4'");
    refuse('[inference.ext] { }', 'extensions and Any fields are not supported');
    refuse('name: "a" @', 'line 1, column 11: unexpected character "@"');
  });
  it('throws nothing but TextFormatError, whatever the text (3,000 seeded mutations of a full configuration)', () => {
    const base = `name: "x" max_batch_size: 64 input [ { name: "f" data_type: TYPE_FP32 dims: [ 8, -1 ] reshape { shape: [ 2, -1 ] } } ]
      output { name: "s" data_type: TYPE_FP32 dims: [1] } dynamic_batching { preferred_batch_size: [4, 8] priority_queue_policy { key: 1 value { timeout_action: DELAY } } }
      instance_group [ { count: 1, kind: KIND_CPU } ] parameters { key: "a" value: { string_value: "b\\x41\\u00e9" } } version_policy < latest { num_versions: 2 } >
      model_metrics { metric_control { histogram_options { buckets: [0.5, -inf, 1e3] } } } # end`;
    const alphabet = '{}<>[]:,;-."\'\\#\n xX0179eE+fFtinau_TYPE_FP32';
    let seed = 559;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      let text = base;
      for (let edits = 1 + random(4); edits > 0; edits--) {
        const at = random(text.length);
        const op = random(3);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + random(5));
        else if (op === 1) text = text.slice(0, at) + alphabet[random(alphabet.length)] + text.slice(at);
        else text = text.slice(0, at) + text.slice(at, at + random(30)) + text.slice(at);
      }
      try {
        parse(text);
        parsed++;
      } catch (err) {
        if (!(err instanceof TextFormatError)) throw new Error(`${String(err)} for ${JSON.stringify(text)}`);
      }
    }
    expect(parsed, 'some mutations still parse').to.be.greaterThan(0);
  });
});
