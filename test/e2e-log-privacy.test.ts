/**
 * What the server logs, at trace level, during admin calls with right and wrong bearer tokens and
 * failing inference calls whose tensors hold marker values: never the token, never a tensor value.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../src/observability/logger';
import { frameBytes, makeTempDir, removeDir } from './support/e2e-helpers';
import { createClient, fp32Bytes, startTestServer, type InferenceClient, type TestServer } from './support/server';

const TOKEN = 'tok-3b9d51e0-admin';
const WRONG_TOKEN = 'tok-wrong-77c2e4';
/** Exact in FP32; its decimal digits, raw bytes (hex, base64) and the other markers must appear nowhere. */
const FLOAT_MARKER = 31337.25;
const INT_MARKER = 4242421;
const TEXT_MARKER = 'MARKER-b7e1-tensor-text';

interface LogLine {
  msg: string;
  rpc?: string;
  code?: string;
}

describe('e2e: logs hold no token and no tensor contents', function () {
  this.timeout(60_000);
  let dir: string;
  let t: TestServer;
  const lines: string[] = [];
  const withToken: InferenceClient[] = [];

  const client = (token: string): InferenceClient => {
    const c = createClient(t.port, { headers: { authorization: `Bearer ${token}` } });
    withToken.push(c);
    return c;
  };
  const attempt = (call: Promise<unknown>): Promise<unknown> => call.catch((err: unknown) => err);

  before(async () => {
    dir = makeTempDir('e2e-log-privacy');
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, TOKEN);
    const log = createLogger('trace', { write: (line: string) => void lines.push(line) });
    t = await startTestServer({ ADMIN_TOKEN_FILE: tokenFile, LOG_LEVEL: 'trace' }, log);

    const marked = (count: number): Buffer => fp32Bytes(new Array<number>(count).fill(FLOAT_MARKER));
    const calls: Promise<unknown>[] = [
      // Admin calls: no token, a wrong one, the right one (a failing load, as the mode is not explicit).
      t.client.unary('RepositoryIndex', {}),
      client(WRONG_TOKEN).unary('RepositoryIndex', {}),
      client(TOKEN).unary('RepositoryIndex', {}),
      client(TOKEN).unary('RepositoryModelLoad', { model_name: 'stock_scorer' }),
      // Inference that fails with marker values in raw and in typed contents.
      t.client.unary('ModelInfer', { model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 7] }], raw_input_contents: [marked(7)] }),
      t.client.unary('ModelInfer', { model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8], contents: { fp32_contents: new Array(7).fill(FLOAT_MARKER) } }] }),
      t.client.unary('ModelInfer', { model_name: 'type_echo', inputs: [{ name: 'in_int16', datatype: 'INT16', shape: [1, 2], contents: { int_contents: [1, INT_MARKER] } }] }),
      t.client.unary('ModelInfer', { model_name: 'type_echo', inputs: [{ name: 'in_bytes', datatype: 'BYTES', shape: [1, 2] }], raw_input_contents: [frameBytes([Buffer.from(TEXT_MARKER)])] }),
      t.client.unary('ModelInfer', { model_name: 'no_such_model', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8] }], raw_input_contents: [marked(8)] }),
      // A name of 100 000 characters: the log keeps its start only.
      t.client.unary('ModelMetadata', { name: 'n'.repeat(100_000) }),
      // And one that succeeds.
      t.client.unary('ModelInfer', { model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8] }], raw_input_contents: [marked(8)] }),
    ];
    await Promise.all(calls.map(attempt));
    await streamOnce(t.client, { model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 7] }], raw_input_contents: [marked(7)] });
    // What a careless future line would write: the metadata of a call.
    log.info({ metadata: { authorization: `Bearer ${TOKEN}` } }, 'call metadata');
  });

  after(async () => {
    for (const c of withToken) c.close();
    await t?.stop();
    removeDir(dir);
  });

  it('logged the failures it is about (so the next check is not vacuous)', () => {
    const failed = lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === 'request failed');
    const seen = failed.map((l) => `${l.rpc} ${l.code}`);
    expect(seen).to.include.members([
      'RepositoryIndex UNAUTHENTICATED',
      'RepositoryModelLoad UNAVAILABLE',
      'ModelInfer INVALID_ARGUMENT',
      'ModelInfer NOT_FOUND',
      'ModelStreamInfer INVALID_ARGUMENT',
    ]);
    expect(seen.filter((s) => s === 'RepositoryIndex UNAUTHENTICATED')).to.have.length(2);
    expect(seen.filter((s) => s === 'ModelInfer INVALID_ARGUMENT')).to.have.length(4);
  });

  it('holds neither bearer token, nor any marker value in any form', () => {
    const text = lines.join('');
    const bytes = fp32Bytes([FLOAT_MARKER]);
    for (const secret of [TOKEN, WRONG_TOKEN, '31337', bytes.toString('hex'), bytes.toString('base64'), String(INT_MARKER), TEXT_MARKER, Buffer.from(TEXT_MARKER).toString('base64')]) {
      expect(text, `the logs contain '${secret}'`).to.not.contain(secret);
    }
  });

  it('keeps each failed request to a short line, whatever length of model name a client sends', () => {
    const failed = lines.filter((l) => l.includes('"msg":"request failed"'));
    expect(Math.max(...failed.map((l) => l.length))).to.be.below(2_000);
    expect(lines.some((l) => l.includes('"rpc":"ModelMetadata"') && l.includes('n'.repeat(256)))).to.equal(true);
  });

  it('redacts an authorization field wherever a log line would carry one', () => {
    const line = JSON.parse(lines.find((l) => l.includes('call metadata'))!) as { metadata: { authorization: string } };
    expect(line.metadata.authorization).to.equal('[redacted]');
  });
});

/** One request on a ModelStreamInfer stream, then the stream's end. */
function streamOnce(client: InferenceClient, request: object): Promise<void> {
  const stream = client.stream();
  return new Promise((resolve, reject) => {
    stream.on('data', () => undefined);
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.write(request);
    stream.end();
  });
}
