/**
 * onnxruntime 1.30 on Linux starts Microsoft's telemetry unless ORT_DISABLE_TELEMETRY is set; its
 * first trace is /tmp/mat-debug-<pid>.log. The server turns it off by default, and an explicit
 * value wins (the second case also shows that the check would see the file if it were written).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import { startChildServer } from './support/child-server';

const traceOf = (pid: number): string => `/tmp/mat-debug-${pid}.log`;

describe('e2e: ONNX Runtime telemetry (child process)', function () {
  this.timeout(60_000);

  for (const [setting, written] of [[undefined, false], ['0', true]] as const) {
    it(`with ORT_DISABLE_TELEMETRY ${setting === undefined ? 'unset, writes no telemetry trace' : `=${setting}, ONNX Runtime's own telemetry is on`}`, async () => {
      const server = await startChildServer({ ORT_DISABLE_TELEMETRY: setting });
      const trace = traceOf(server.process.pid!);
      try {
        expect(fs.existsSync(trace)).to.equal(written);
      } finally {
        server.kill('SIGTERM');
        await server.exited;
        fs.rmSync(trace, { force: true });
      }
    });
  }
});
