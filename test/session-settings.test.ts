/** A model's own onnxruntime-backend session settings (Triton's names), and the ONNX Runtime options they become. */
import { expect } from 'chai';
import { parseModelConfig } from '../src/repository/model-config';
import { sessionOptions } from '../src/runtime/session-core';
import type { SessionWorkerData } from '../src/runtime/worker-protocol';
import { modelConfigError } from './support/model-config-error';

const QUEUE = 1024;
const parameters = (entries: Record<string, string>) => ({ parameters: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { string_value: v }])) });
const settings = (json: object) => parseModelConfig('m', json, QUEUE).session;

describe("a model's session settings", () => {
  it("maps Triton's optimization.graph.level as its onnxruntime backend does", () => {
    const level = (value: unknown) => settings({ optimization: { graph: { level: value } } })?.graphOptimizationLevel;
    expect([level(-1), level(1), level(2), level(0), level(3), level('1')]).to.deep.equal(['basic', 'extended', 'disabled', 'all', 'all', 'extended']);
    expect(settings({ optimization: { graph: {} } })?.graphOptimizationLevel, 'level absent: 0').to.equal('all');
    expect(settings({}), 'nothing set: the server defaults').to.deep.equal({});
  });

  it('reads the thread counts, execution mode and memory flags from parameters, and leaves the others alone', () => {
    expect(settings(parameters({ intra_op_thread_count: '4', inter_op_thread_count: '0', execution_mode: '1', enable_mem_arena: '0', enable_mem_pattern: '1', memory_thing: 'x' }))).to.deep.equal({
      intraOpThreads: 4, interOpThreads: 0, executionMode: 'parallel', enableCpuMemArena: false, enableMemPattern: true,
    });
    expect(settings(parameters({ execution_mode: '0' }))).to.deep.equal({ executionMode: 'sequential' });
  });

  it('refuses values the backend would not take, naming the key', () => {
    const error = (json: object) => modelConfigError(json, QUEUE);
    expect(error(parameters({ intra_op_thread_count: 'many' }))).to.contain("parameters.intra_op_thread_count must be a number of threads from 0 (ONNX Runtime picks) to 1024, not 'many'");
    expect(error(parameters({ inter_op_thread_count: '5000' }))).to.contain('parameters.inter_op_thread_count must be a number of threads');
    expect(error(parameters({ execution_mode: '2' }))).to.contain("parameters.execution_mode must be 0 (sequential) or 1 (parallel), not '2'");
    expect(error(parameters({ enable_mem_arena: 'yes' }))).to.contain("parameters.enable_mem_arena must be 0 or 1, not 'yes'");
    expect(error({ parameters: { enable_mem_pattern: '1' } })).to.contain('parameters.enable_mem_pattern must be an object with a string_value');
    expect(error({ optimization: { graph: { level: 'high' } } })).to.contain("optimization.graph.level must be an integer, not 'high'");
    expect(error({ optimization: { graph: 1 } })).to.contain('optimization.graph must be an object');
  });

  it("gives ONNX Runtime the model's settings and only those, over the server's defaults", () => {
    const data: SessionWorkerData = { modelPath: 'm.onnx', providers: ['cpu'], intraOpThreads: 1, graphOptimizationLevel: 'all' };
    expect(sessionOptions(data, ['cpu'], 0)).to.deep.equal({ executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 4 });
    const tuned = { ...data, ...settings({ optimization: { graph: { level: -1 } }, ...parameters({ intra_op_thread_count: '0', inter_op_thread_count: '2', execution_mode: '1', enable_mem_arena: '0', enable_mem_pattern: '0' }) }) };
    expect(sessionOptions(tuned, ['cpu'], 0)).to.deep.equal({
      executionProviders: ['cpu'], interOpNumThreads: 2, graphOptimizationLevel: 'basic', executionMode: 'parallel', enableCpuMemArena: false, enableMemPattern: false, logSeverityLevel: 4,
    });
  });
});
