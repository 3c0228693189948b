/**
 * The GPU parts of config.json (instance_group kind and gpus, the CUDA provider's accelerator
 * parameters), which providers each kind tries, and what onnxruntime-node can pass to CUDA.
 */
import { expect } from 'chai';
import { instanceDevices, MAX_INSTANCES } from '../src/repository/instance-group-config';
import { parseModelConfig } from '../src/repository/model-config';
import { providerPlan } from '../src/repository/provider-plan';
import { checkCudaOptions, cudaProvider } from '../src/runtime/cuda-provider-options';
import { modelConfigError } from './support/model-config-error';

const QUEUE = 1024;
const parse = (json: object) => parseModelConfig('m', json, QUEUE);
const parseError = (json: unknown): string => modelConfigError(json, QUEUE);
const cuda = (parameters: Record<string, unknown>) => ({ optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda', parameters }] } } });

describe('instance_group kind and gpus', () => {
  it('keeps the kind, KIND_AUTO when absent', () => {
    expect(parse({}).instanceGroup).to.deep.equal({ kind: 'KIND_AUTO', count: 1, gpus: [] });
    expect(parse({ instance_group: [{ count: 2 }] }).instanceGroup).to.deep.equal({ kind: 'KIND_AUTO', count: 2, gpus: [] });
    expect(parse({ instance_group: [{ kind: 'KIND_CPU', count: 3 }] }).instanceGroup).to.deep.equal({ kind: 'KIND_CPU', count: 3, gpus: [] });
    expect(parse({ instance_group: [{ kind: 'KIND_GPU' }] }).instanceGroup).to.deep.equal({ kind: 'KIND_GPU', count: 1, gpus: [] });
  });

  it("places count instances on each listed GPU, as Triton does, several sharing one GPU", () => {
    const c = parse({ instance_group: [{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }] });
    expect(c.instanceGroup.gpus).to.deep.equal([0, 1]);
    expect(c.instanceCount).to.equal(4);
    expect(instanceDevices(c.instanceGroup)).to.deep.equal([0, 0, 1, 1]);
    expect(instanceDevices(parse({ instance_group: [{ kind: 'KIND_GPU', count: 3, gpus: [2] }] }).instanceGroup)).to.deep.equal([2, 2, 2]);
    expect(instanceDevices(parse({ instance_group: [{ kind: 'KIND_GPU', count: 2 }] }).instanceGroup), 'no gpus: device 0').to.deep.equal([0, 0]);
    expect(instanceDevices(parse({ instance_group: [{ kind: 'KIND_CPU', count: 2 }] }).instanceGroup)).to.deep.equal([0, 0]);
  });

  it('combines several entries of one kind, as Triton configurations write one per GPU, and refuses what cannot combine', () => {
    const groups = (...list: object[]) => parse({ instance_group: list }).instanceGroup;
    expect(groups({ kind: 'KIND_GPU', gpus: [0] }, { kind: 'KIND_GPU', gpus: [1, 2] })).to.deep.equal({ kind: 'KIND_GPU', count: 1, gpus: [0, 1, 2] });
    expect(groups({ kind: 'KIND_GPU', count: 2, gpus: [1] }, { kind: 'KIND_GPU', count: 2 }), 'no gpus: device 0').to.deep.equal({ kind: 'KIND_GPU', count: 2, gpus: [1, 0] });
    expect(groups({ kind: 'KIND_CPU', count: 2 }, { kind: 'KIND_CPU', count: 3 })).to.deep.equal({ kind: 'KIND_CPU', count: 5, gpus: [] });
    expect(parse({ instance_group: [{ count: 2 }, { count: 1 }] }).instanceCount).to.equal(3);
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU' }, { kind: 'KIND_CPU' }] })).to.contain('instance_group entries of different kinds (KIND_GPU, KIND_CPU) are not supported');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', count: 1, gpus: [0] }, { kind: 'KIND_GPU', count: 2, gpus: [1] }] })).to.contain('instance_group entries on GPUs need one count, instances per GPU (they have 1, 2)');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: [0, 1] }, { kind: 'KIND_GPU', gpus: [1] }] })).to.contain('instance_group lists GPU 1 in two entries');
    expect(parseError({ instance_group: [{ count: 200 }, { count: 100 }] })).to.contain(`instance_group: 300 instances (count 300): at most ${MAX_INSTANCES}`);
    expect(parseError({ instance_group: [{ count: 1 }, { count: 0 }] })).to.contain('instance_group[1].count');
  });

  it('refuses bad gpus with a message naming the field', () => {
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: [-1] }] })).to.contain('instance_group[0].gpus entries must be an integer >= 0');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: [0.5] }] })).to.contain('instance_group[0].gpus entries must be an integer >= 0');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: [true] }] })).to.contain('instance_group[0].gpus entries must be integers >= 0');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: 0 }] })).to.contain('instance_group[0].gpus must be a list');
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', gpus: [1, 1] }] })).to.contain('lists GPU 1 twice');
    expect(parseError({ instance_group: [{ kind: 'KIND_CPU', gpus: [0] }] })).to.contain('instance_group[0].gpus applies to kind KIND_GPU only, not KIND_CPU');
    expect(parseError({ instance_group: [{ gpus: [0] }] })).to.contain('applies to kind KIND_GPU only, not KIND_AUTO');
    expect(parseError({ instance_group: [{ kind: 'KIND_MODEL' }] })).to.contain("instance_group[0].kind 'KIND_MODEL' is not supported");
  });

  it(`refuses more than ${MAX_INSTANCES} instances a version, counting each GPU's, and takes ${MAX_INSTANCES}`, () => {
    expect(parseError({ instance_group: [{ count: 100000 }] })).to.contain(`instance_group[0]: 100000 instances (count 100000): at most ${MAX_INSTANCES} a version`);
    expect(parseError({ instance_group: [{ kind: 'KIND_GPU', count: 100, gpus: [0, 1, 2] }] })).to.contain(`300 instances (count 100 on each of 3 GPUs): at most ${MAX_INSTANCES}`);
    expect(parse({ instance_group: [{ kind: 'KIND_CPU', count: MAX_INSTANCES }] }).instanceGroup.count).to.equal(MAX_INSTANCES);
    expect(instanceDevices(parse({ instance_group: [{ kind: 'KIND_GPU', count: MAX_INSTANCES / 2, gpus: [0, 1] }] }).instanceGroup)).to.have.length(MAX_INSTANCES);
  });
});

describe('which providers a version tries', () => {
  it('KIND_CPU: the CPU provider only, whatever the server prefers or requires', () => {
    expect(providerPlan('KIND_CPU', ['cuda', 'cpu'], true)).to.deep.equal({ providers: ['cpu'] });
  });

  it('KIND_GPU: CUDA required, even on a server set to the CPU', () => {
    expect(providerPlan('KIND_GPU', ['cpu'], false)).to.deep.equal({ providers: ['cuda', 'cpu'], requiredBy: 'instance_group kind KIND_GPU' });
  });

  it("KIND_AUTO: the server's list with its fallback; REQUIRE_GPU makes a CUDA-first list required", () => {
    expect(providerPlan('KIND_AUTO', ['cuda', 'cpu'], false)).to.deep.equal({ providers: ['cuda', 'cpu'] });
    expect(providerPlan('KIND_AUTO', ['cuda', 'cpu'], true)).to.deep.equal({ providers: ['cuda', 'cpu'], requiredBy: 'REQUIRE_GPU' });
    expect(providerPlan('KIND_AUTO', ['cpu'], true), 'CUDA not wanted: nothing to require').to.deep.equal({ providers: ['cpu'] });
  });
});

describe("the CUDA provider's parameters (Triton's gpu_execution_accelerator)", () => {
  it('reads each Triton key into ORT spelling', () => {
    const c = parse(
      cuda({
        cudnn_conv_algo_search: '1',
        gpu_mem_limit: '4294967296',
        arena_extend_strategy: 'kSameAsRequested',
        do_copy_in_default_stream: 'true',
        cudnn_conv_use_max_workspace: '0',
        use_tf32: '0',
        enable_cuda_graph: '1',
        use_ep_level_unified_stream: 'false',
      }),
    );
    expect(c.cudaOptions).to.deep.equal({
      cudnn_conv_algo_search: 'HEURISTIC',
      gpu_mem_limit: '4294967296',
      arena_extend_strategy: 'kSameAsRequested',
      do_copy_in_default_stream: '1',
      cudnn_conv_use_max_workspace: '0',
      use_tf32: '0',
      enable_cuda_graph: '1',
      use_ep_level_unified_stream: '0',
    });
    expect(parse(cuda({ cudnn_conv_algo_search: 'exhaustive' })).cudaOptions).to.deep.equal({ cudnn_conv_algo_search: 'EXHAUSTIVE' });
  });

  it('reads optimization.cuda.graphs as enable_cuda_graph, false being no request', () => {
    expect(parse({ optimization: { cuda: { graphs: true } } }).cudaOptions).to.deep.equal({ enable_cuda_graph: '1' });
    expect(parse({ optimization: { cuda: { graphs: false } } }).cudaOptions).to.deep.equal({});
  });

  it("reads the four CUDA options Triton's backend still takes from parameters, in its deprecated spelling", () => {
    const deprecated = { parameters: { cudnn_conv_algo_search: { string_value: '1' }, gpu_mem_limit: { string_value: '4294967200' }, intra_op_thread_count: { string_value: '1' } } };
    expect(parse(deprecated).cudaOptions).to.deep.equal({ cudnn_conv_algo_search: 'HEURISTIC', gpu_mem_limit: '4294967200' });
    expect(parseError({ parameters: { arena_extend_strategy: { string_value: '7' } } })).to.contain("parameters.arena_extend_strategy must be 0/kNextPowerOfTwo or 1/kSameAsRequested, not '7'");
    expect(parseError({ parameters: { do_copy_in_default_stream: 1 } })).to.contain('parameters.do_copy_in_default_stream must be an object with a string_value');
  });

  it('asks nothing of CUDA without them, or for a bare cuda accelerator; leaves other optimization keys alone', () => {
    expect(parse({}).cudaOptions).to.deep.equal({});
    expect(parse({ optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda' }] } } }).cudaOptions).to.deep.equal({});
    expect(parse({ optimization: { graph: { level: 1 }, input_pinned_memory: { enable: true } } }).cudaOptions).to.deep.equal({});
  });

  it('refuses unknown keys, bad values and other accelerators with a message naming the field', () => {
    const where = 'optimization.execution_accelerators.gpu_execution_accelerator[0]';
    expect(parseError(cuda({ cudnn_conv_algo_search: '3' }))).to.contain(`${where}.parameters.cudnn_conv_algo_search must be 0/EXHAUSTIVE, 1/HEURISTIC or 2/DEFAULT, not '3'`);
    expect(parseError(cuda({ gpu_mem_limit: '4GB' }))).to.contain('gpu_mem_limit must be a number of bytes');
    expect(parseError(cuda({ use_tf32: 'yes' }))).to.contain('use_tf32 must be 0 or 1');
    expect(parseError(cuda({ use_tf32: 1 }))).to.contain('use_tf32 must be a string');
    expect(parseError(cuda({ tf32: '1' }))).to.contain(`${where}.parameters.tf32 is not a CUDA provider parameter`);
    expect(parseError({ optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'tensorrt' }] } } })).to.contain(`${where}.name 'tensorrt' is not supported (only 'cuda')`);
    expect(parseError({ optimization: { execution_accelerators: { cpu_execution_accelerator: [{ name: 'openvino' }] } } })).to.contain('cpu_execution_accelerator is not supported');
    expect(parseError({ optimization: { cuda: { graphs: 'yes' } } })).to.contain('optimization.cuda.graphs must be true or false');
    expect(parseError({ optimization: { cuda: { busy_wait_events: true } } })).to.contain('optimization.cuda.busy_wait_events is not supported (only graphs)');
  });
});

describe('what the binding passes to CUDA', () => {
  it('the device id, and nothing else', () => {
    expect(cudaProvider(3)).to.deep.equal({ name: 'cuda', deviceId: 3 });
    expect(() => checkCudaOptions({})).not.to.throw();
  });

  it('refuses every other option, saying precisely why', () => {
    expect(() => checkCudaOptions({ cudnn_conv_algo_search: 'HEURISTIC', use_tf32: '0' })).to.throw(
      "config.json sets the CUDA provider options cudnn_conv_algo_search, use_tf32, which cannot be applied: onnxruntime-node's binding passes only device_id to the CUDA provider",
    );
    expect(() => checkCudaOptions({ enable_cuda_graph: '1' })).to.throw('sets the CUDA provider option enable_cuda_graph, which cannot be applied');
  });
});
