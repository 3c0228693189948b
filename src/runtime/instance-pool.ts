import { ModelInstance, type LoadedSession } from './model-instance';
import type { SessionWorkerData } from './worker-protocol';

/** instance_group.count sessions of one model version; a batch goes to whichever is idle. */
export class InstancePool {
  private readonly idle: ModelInstance[];

  private constructor(readonly instances: readonly ModelInstance[], readonly session: LoadedSession) {
    this.idle = [...instances];
  }

  /** Starts `count` workers and waits for all to load; the first one's provider speaks for the pool. */
  static async start(count: number, data: SessionWorkerData): Promise<InstancePool> {
    const instances = Array.from({ length: count }, () => new ModelInstance(data));
    try {
      const sessions = await Promise.all(instances.map((i) => i.loaded));
      return new InstancePool(instances, sessions[0]);
    } catch (err) {
      await Promise.allSettled(instances.map((i) => i.close()));
      throw err;
    }
  }

  get size(): number {
    return this.instances.length;
  }

  acquire(): ModelInstance | undefined {
    return this.idle.pop();
  }

  release(instance: ModelInstance): void {
    this.idle.push(instance);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.instances.map((i) => i.close()));
  }
}
