import { expect } from 'chai';
import { startTestServer, fp32Bytes, readFp32, type TestServer } from './support/server';

describe('server smoke', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.stop());

  it('answers ServerReady with ready true once the bundled models are loaded', async () => {
    expect(await t.client.unary('ServerReady', {})).to.deep.include({ ready: true });
  });

  it('runs stock_scorer on two rows sent as raw FP32', async () => {
    const res = await t.client.unary<{ outputs: { name: string; shape: string[] }[]; raw_output_contents: Buffer[]; model_version: string }>('ModelInfer', {
      model_name: 'stock_scorer',
      id: 'x1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8] }],
      raw_input_contents: [fp32Bytes(new Array(16).fill(0.5))],
    });
    expect(res.model_version).to.equal('1');
    expect(res.outputs.map((o) => o.name).sort()).to.deep.equal(['score', 'standardized']);
    const score = res.outputs.findIndex((o) => o.name === 'score');
    expect(res.outputs[score].shape).to.deep.equal(['2', '1']);
    expect(readFp32(res.raw_output_contents[score])).to.have.length(2);
  });
});
