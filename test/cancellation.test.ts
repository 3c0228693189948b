import { expect } from 'chai';
import { Cancellation } from '../src/batching/cancellation';

describe('Cancellation', () => {
  it('calls every subscribed listener once, then forgets them', () => {
    const c = new Cancellation();
    const calls: string[] = [];
    for (const name of ['a', 'b', 'c']) c.subscribe(() => calls.push(name));
    expect(c.listenerCount).to.equal(3);
    c.cancel();
    c.cancel();
    expect(calls.sort()).to.deep.equal(['a', 'b', 'c']);
    expect(c.cancelled).to.equal(true);
    expect(c.listenerCount).to.equal(0);
  });

  it('does not call a listener that unsubscribed, whichever slot it held', () => {
    const c = new Cancellation();
    const calls: string[] = [];
    const a = (): number => calls.push('a');
    const b = (): number => calls.push('b');
    const d = (): number => calls.push('d');
    c.subscribe(a);
    c.subscribe(b);
    c.unsubscribe(a);
    c.subscribe(d);
    c.unsubscribe(b);
    expect(c.listenerCount).to.equal(1);
    c.cancel();
    expect(calls).to.deep.equal(['d']);
  });
});
