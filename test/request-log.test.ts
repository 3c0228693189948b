/** One log line per failed request, except refusals under overload: one a second per model, with the count it stands for. */
import { expect } from 'chai';
import pino from 'pino';
import { InferenceError } from '../src/errors';
import { logFailedRequest } from '../src/transport/request-log';

function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

const full = new InferenceError('RESOURCE_EXHAUSTED', 'queue of priority level 1 is full (64 requests waiting)');

describe('logFailedRequest', () => {
  it('writes one line for each failure other than a refusal', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 5; i++) logFailedRequest(log, 'ModelInfer', 'm', new InferenceError('INVALID_ARGUMENT', 'bad'));
    expect(lines).to.have.length(5);
  });

  it('writes the first refusal of a model, then none for the rest of that second, and a model of its own regardless', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 1000; i++) logFailedRequest(log, 'ModelInfer', 'a', full);
    logFailedRequest(log, 'ModelInfer', 'b', full);
    expect(lines.map((l) => l.model)).to.deep.equal(['a', 'b']);
    expect(lines[0]).to.include({ code: 'RESOURCE_EXHAUSTED', refused_since_last_line: 0, msg: 'request failed' });
  });

  it('keeps the start of a model name past 256 characters and of a reason past 4,096', () => {
    const { log, lines } = capture();
    logFailedRequest(log, 'RepositoryIndex', 'm'.repeat(300), new InferenceError('INVALID_ARGUMENT', `repository_name '${'r'.repeat(10_000)}' is not served here`));
    expect(lines[0].model).to.equal(`${'m'.repeat(256)}…`);
    expect(lines[0].reason).to.equal(`repository_name '${'r'.repeat(4096 - 17)}…`);
  });

  it('counts in the next line the refusals it left out', async () => {
    const { log, lines } = capture();
    for (let i = 0; i < 10; i++) logFailedRequest(log, 'ModelInfer', 'a', full);
    await new Promise((resolve) => setTimeout(resolve, 1001));
    logFailedRequest(log, 'ModelInfer', 'a', full);
    expect(lines.map((l) => l.refused_since_last_line)).to.deep.equal([0, 9]);
  });
});
