/** SerialByKey: one task at a time per model, in order; other models side by side; a failure does not block the next. */
import { expect } from 'chai';
import { SerialByKey } from '../src/repository/serial-by-key';

/** A task that records its start and end, and ends when the test says. */
function held(log: string[], name: string): { task: () => Promise<string>; finish: () => void; fail: () => void } {
  let finish!: () => void;
  let fail!: () => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = () => reject(new Error(`${name} failed`));
  });
  return {
    task: async () => {
      log.push(`${name} start`);
      try {
        await done;
        return name;
      } finally {
        log.push(`${name} end`);
      }
    },
    finish,
    fail,
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SerialByKey', () => {
  it('runs tasks of one key one after the other, in the order asked', async () => {
    const serial = new SerialByKey();
    const log: string[] = [];
    const a = held(log, 'a1');
    const b = held(log, 'a2');
    const first = serial.run('a', a.task);
    const second = serial.run('a', b.task);
    await turn();
    expect(log).to.deep.equal(['a1 start']);
    a.finish();
    expect(await first).to.equal('a1');
    await turn();
    expect(log).to.deep.equal(['a1 start', 'a1 end', 'a2 start']);
    b.finish();
    expect(await second).to.equal('a2');
  });

  it('runs tasks of different keys side by side', async () => {
    const serial = new SerialByKey();
    const log: string[] = [];
    const a = held(log, 'a');
    const b = held(log, 'b');
    const both = Promise.all([serial.run('a', a.task), serial.run('b', b.task)]);
    await turn();
    expect(log).to.deep.equal(['a start', 'b start']);
    b.finish();
    a.finish();
    expect(await both).to.deep.equal(['a', 'b']);
  });

  it('gives a failure to its own caller only, and runs the next task of the key', async () => {
    const serial = new SerialByKey();
    const log: string[] = [];
    const a = held(log, 'a1');
    const b = held(log, 'a2');
    const first = serial.run('a', a.task);
    const second = serial.run('a', b.task);
    a.fail();
    let error: unknown;
    await first.catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal('a1 failed');
    b.finish();
    expect(await second).to.equal('a2');
  });
});
