import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { onCpus, parseCpuSplit } from '../scripts/bench/cpu-pinning';

describe('bench CPU pinning (--pin)', () => {
  const yes = (): boolean => true;
  const no = (): boolean => false;

  it('auto gives the generators the first half of the CPUs and the servers the rest', () => {
    expect(parseCpuSplit('auto', 2, yes)).to.deep.equal({ server: '1', generator: '0' });
    expect(parseCpuSplit('auto', 3, yes)).to.deep.equal({ server: '1-2', generator: '0' });
    expect(parseCpuSplit('auto', 16, yes)).to.deep.equal({ server: '8-15', generator: '0-7' });
  });

  it('auto pins nothing on one CPU or without taskset; off never pins', () => {
    expect(parseCpuSplit('auto', 1, yes)).to.equal(undefined);
    expect(parseCpuSplit('auto', 8, no)).to.equal(undefined);
    expect(parseCpuSplit('off', 8, yes)).to.equal(undefined);
  });

  it('takes explicit taskset lists and refuses anything else by name', () => {
    expect(parseCpuSplit('2-3,5/0,1', 8, yes)).to.deep.equal({ server: '2-3,5', generator: '0,1' });
    for (const bad of ['1', '1/', '/0', 'a/0', '1/0/2', '1-/0']) expect(() => parseCpuSplit(bad, 8, yes), bad).to.throw(/--pin must be auto, off or SERVER_CPUS\/GENERATOR_CPUS/);
    expect(() => parseCpuSplit('1/0', 8, no)).to.throw(/taskset/);
  });

  it('wraps a command in taskset only when a list is given, and taskset runs it there', function () {
    expect(onCpus(undefined, 'ghz', ['-c', '4'])).to.deep.equal(['ghz', ['-c', '4']]);
    const [bin, args] = onCpus('0', process.execPath, ['-e', "process.stdout.write(require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\\s*(\\S+)/m)[1])"]);
    expect([bin, args.slice(0, 2)]).to.deep.equal(['taskset', ['-c', '0']]);
    try {
      execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    expect(execFileSync(bin, args, { encoding: 'utf8' })).to.equal('0');
  });
});
