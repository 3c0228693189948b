/**
 * The wire fuzzer in the suite: a few thousand mutated and random ModelInfer and
 * ModelStreamInfer messages (scripts/fuzz) as raw HTTP/2 calls to the real server in a child
 * process. It must stay up, end every call with a status within the deadline, answer nothing
 * malformed with OK or a server-fault code, and not grow in memory or open files after warm-up.
 * FUZZ_SEED=S reruns another seed; `npm run fuzz -- --count 100000` is the long run.
 */
import { expect } from 'chai';
import { failures, formatReport, runCampaign, waitUntilServing, type FuzzReport } from '../scripts/fuzz/campaign';
import { whyInvalid } from '../scripts/fuzz/expect-valid';
import { echoRawRequest, echoTypedRequest, frameBytes, scorerRequest, seedRequests } from '../scripts/fuzz/seeds';
import { startFuzzServer, type FuzzServer } from '../scripts/fuzz/server-child';
import { decodeRequest, encodeRequest } from '../scripts/fuzz/wire';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = 2500;

/** A request as protobufjs reads it back, the form the oracle judges. */
const readBack = (request: object): Record<string, unknown> => decodeRequest(encodeRequest(request));

describe('e2e: fuzzing over the wire', function () {
  this.timeout(120_000);

  describe("the oracle's own reading of a valid request", () => {
    it('finds every seed valid', () => {
      for (const seed of seedRequests()) expect(whyInvalid(readBack(seed)), seed.model_name).to.equal(undefined);
    });

    it('finds wrong what the server must refuse: raw size, BOOL value, BYTES framing and content, typed range, batch, outputs', () => {
      const cases: [string, object][] = [
        ['raw size', { ...scorerRequest(1), raw_input_contents: [Buffer.alloc(31)] }],
        ['raw BOOL', (() => { const r = echoRawRequest(1, 2); r.raw_input_contents![0] = Buffer.from([1, 2]); return r; })()],
        ['BYTES framing', (() => { const r = echoRawRequest(1, 2); r.raw_input_contents![12] = frameBytes([Buffer.from('a')]); return r; })()],
        ['NUL', (() => { const r = echoRawRequest(1, 2); r.raw_input_contents![12] = frameBytes([Buffer.from('a'), Buffer.from('\0')]); return r; })()],
        ['out of range', (() => { const r = echoTypedRequest(1, 2); r.inputs[2].contents = { int_contents: [0, 128] }; return r; })()],
        ['batch', scorerRequest(65)],
        ['requested outputs', { ...scorerRequest(1), outputs: [{ name: 'score' }, { name: 'score' }] }],
      ];
      for (const [name, request] of cases) expect(whyInvalid(readBack(request)), name).to.be.a('string');
    });
  });

  describe(`${CASES} cases, seed ${SEED}`, () => {
    let server: FuzzServer;
    let report: FuzzReport;
    before(async () => {
      server = await startFuzzServer();
      await waitUntilServing(server);
      console.log(`      fuzz seed ${SEED} (rerun with FUZZ_SEED=${SEED})`);
      report = await runCampaign(server, { count: CASES, seed: SEED, concurrency: 16, deadlineMs: 15_000, warmup: 500 });
      console.log(formatReport(report).replace(/^/gm, '      '));
    });
    after(async () => server?.stop());

    it('ran every case, through both RPCs, with malformed, refused and served messages all present', () => {
      expect(report.cases).to.equal(CASES);
      expect(report.statuses.ModelInfer.INVALID_ARGUMENT ?? 0).to.be.greaterThan(CASES / 10);
      expect(report.statuses.ModelInfer.OK ?? 0).to.be.greaterThan(0);
      expect(report.statuses.ModelStreamInfer.OK ?? 0).to.be.greaterThan(CASES / 10);
      expect(report.unreadableMessages).to.be.greaterThan(CASES / 10);
      expect(report.refusedReadableMessages).to.be.greaterThan(CASES / 50);
      expect(report.streamReplies.served).to.be.greaterThan(0);
      expect(report.streamReplies.refused).to.be.greaterThan(0);
    });

    it('kept the server alive, every call ended with a right status in time, and nothing leaked', () => {
      expect(failures(report), JSON.stringify(report.violations.slice(0, 5), null, 2)).to.deep.equal([]);
    });

    it('logged no server fault', () => {
      expect(report.server.errorLog).to.deep.equal([]);
    });
  });
});
