import { expect } from 'chai';
import type { ExecutionProvider } from '../src/config/schema';
import { createWithFallback, NoProviderError } from '../src/runtime/provider-fallback';

describe('execution provider fallback', () => {
  it('uses the first provider list that creates a session and records why earlier ones failed', async () => {
    const attempts: (readonly ExecutionProvider[])[] = [];
    const result = await createWithFallback(['cuda', 'cpu'], async (providers) => {
      attempts.push(providers);
      if (providers[0] === 'cuda') throw new Error('libcudart.so.13: cannot open shared object file');
      return 'session';
    });
    expect(attempts).to.deep.equal([['cuda', 'cpu'], ['cpu']]);
    expect(result.provider).to.equal('cpu');
    expect(result.session).to.equal('session');
    expect(result.failures).to.deep.equal([{ provider: 'cuda', reason: 'libcudart.so.13: cannot open shared object file' }]);
  });

  it('keeps the whole preference list when the first provider works, so ORT can place nodes on the rest', async () => {
    const result = await createWithFallback(['cuda', 'cpu'], async (providers) => providers.join('+'));
    expect(result.session).to.equal('cuda+cpu');
    expect(result.provider).to.equal('cuda');
    expect(result.failures).to.be.empty;
  });

  it('throws NoProviderError listing every provider and reason when none works', async () => {
    const err = await createWithFallback(['cuda', 'cpu'], async (providers) => {
      throw new Error(`${providers[0]} broken`);
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NoProviderError);
    expect((err as NoProviderError).failures.map((f) => f.provider)).to.deep.equal(['cuda', 'cpu']);
    expect((err as Error).message).to.contain('cuda: cuda broken').and.contain('cpu: cpu broken');
  });
});

describe('a required execution provider', () => {
  it('tries only the whole list once, and names who requires the first provider when it fails', async () => {
    const attempts: (readonly ExecutionProvider[])[] = [];
    const err = await createWithFallback(
      ['cuda', 'cpu'],
      async (providers) => {
        attempts.push(providers);
        throw new Error('Failed to load shared library');
      },
      { requiredBy: 'REQUIRE_GPU' },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(attempts).to.deep.equal([['cuda', 'cpu']]);
    expect(err).to.be.instanceOf(NoProviderError);
    expect((err as Error).message).to.equal('execution provider cuda is required (REQUIRE_GPU) and could not be had: cuda: Failed to load shared library');
  });

  it('keeps the session it gets, with the whole list for ORT to place nodes on', async () => {
    const result = await createWithFallback(['cuda', 'cpu'], async (providers) => providers.join('+'), { requiredBy: 'instance_group kind KIND_GPU' });
    expect(result).to.deep.equal({ session: 'cuda+cpu', provider: 'cuda', failures: [] });
  });

  it("adds the explanation to a failed provider's reason", async () => {
    const result = await createWithFallback(
      ['cuda', 'cpu'],
      async (providers) => {
        if (providers[0] === 'cuda') throw new Error('Failed to load shared library');
        return 'cpu session';
      },
      { explain: (provider, reason) => `${reason}: ${provider} needs libcublasLt.so.13` },
    );
    expect(result.failures).to.deep.equal([{ provider: 'cuda', reason: 'Failed to load shared library: cuda needs libcublasLt.so.13' }]);
  });
});
