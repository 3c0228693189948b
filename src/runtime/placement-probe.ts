/**
 * The profiled run that proves where a session's nodes run. Chosen over a probe session with
 * `session.disable_cpu_ep_fallback`: that says only whether every node can run on CUDA, and
 * costs a second session; the profile of one run counts the nodes on each provider, in the very
 * session that serves. The binding can turn profiling on only at creation, so the session is
 * made with it and endProfiling() turns it off right after the one run: no served run is profiled.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocate, fromOrtType, isNumeric } from '../tensor/datatype';
import { countNodesByProvider, type NodePlacement } from './node-placement';
import * as ort from './onnxruntime';

export class PlacementProbe {
  private constructor(private readonly dir: string) {}

  /** A temporary folder for the profile. */
  static async prepare(): Promise<PlacementProbe> {
    return new PlacementProbe(await fs.mkdtemp(path.join(os.tmpdir(), 'ort-placement-')));
  }

  /** What the session must be created with for run() to work. */
  get sessionOptions(): { enableProfiling: true; profileFilePrefix: string } {
    return { enableProfiling: true, profileFilePrefix: path.join(this.dir, 'probe') };
  }

  /**
   * One run on zeros (symbolic dims as 1), then profiling off. A model that cannot run on zeros
   * gives a placement with its error: the probe reports, it never fails the load.
   */
  async run(session: ort.InferenceSession): Promise<NodePlacement> {
    let error: string | undefined;
    try {
      await session.run(zeroFeeds(session.inputMetadata));
    } catch (err) {
      error = `the probe run on zeros failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    try {
      session.endProfiling();
      if (error !== undefined) return { nodesByProvider: {}, error };
      const [file] = (await fs.readdir(this.dir)).filter((f) => f.endsWith('.json'));
      if (file === undefined) return { nodesByProvider: {}, error: 'ONNX Runtime wrote no profile' };
      return { nodesByProvider: countNodesByProvider(JSON.parse(await fs.readFile(path.join(this.dir, file), 'utf8'))) };
    } catch (err) {
      return { nodesByProvider: {}, error: `the profile could not be read: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async dispose(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

function zeroFeeds(metadata: readonly ort.InferenceSession.ValueMetadata[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of metadata) {
    if (!m.isTensor) throw new Error(`input '${m.name}' is not a tensor`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const length = dims.reduce((a, b) => a * b, 1);
    if (m.type === 'string') {
      feeds[m.name] = new ort.Tensor('string', new Array<string>(length).fill(''), dims);
      continue;
    }
    const datatype = fromOrtType(m.type);
    if (datatype === undefined || !isNumeric(datatype)) throw new Error(`input '${m.name}' has type ${m.type}, which the probe cannot fill`);
    feeds[m.name] = new ort.Tensor(m.type as ort.Tensor.Type, allocate(datatype, length) as ort.Tensor.DataType, dims);
  }
  return feeds;
}
