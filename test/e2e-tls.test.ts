/**
 * TLS and mTLS on the gRPC listeners, with certificates openssl makes for this run: a TLS client
 * is served and a plaintext one is not; with GRPC_TLS_CLIENT_AUTH=require only a certificate from
 * GRPC_TLS_CA gets in; a certificate replaced on disk is what new connections see, without a
 * restart. grpcurl and grpc_health_probe (Go's TLS) are tried where /work/shared/clients has them;
 * refusals are checked with grpc-js, whose UNAVAILABLE comes at once (Go clients retry until their timeout).
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import pino from 'pino';
import { expectRpcError, makeTempDir, removeDir } from './support/e2e-helpers';
import { createClient, startTestServer, type InferenceClient, type TestServer } from './support/server';
import { issue, makeCa, opensslAvailable, type Issued } from './support/tls-certs';
import { waitFor } from './support/wait-for';

const CLIENTS = '/work/shared/clients/bin';
const run = promisify(execFile);

function tlsClient(port: number, ca: Issued, client?: Issued): InferenceClient {
  const read = (file: string): Buffer => fs.readFileSync(file);
  const credentials = grpc.credentials.createSsl(read(ca.cert), client && read(client.key), client && read(client.cert));
  // The name TLS checks and sends as SNI: a name of the certificate, not the IP address dialled (SNI takes no addresses).
  // A subchannel pool of its own: each client makes its own handshake, never reuses another's connection.
  return createClient(port, { credentials, options: { 'grpc.ssl_target_name_override': 'localhost', 'grpc.use_local_subchannel_pool': 1 } });
}

/** The certificate a new TLS connection (ALPN h2, as gRPC's) is shown, by its fingerprint. */
function servedFingerprint(port: number, ca: Issued): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(ca.cert), ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

/** Replaces a file the way a secret mount does: a complete new file renamed over the old one. */
function replaceFile(target: string, from: string): void {
  fs.copyFileSync(from, `${target}.new`);
  fs.renameSync(`${target}.new`, target);
}

const live = (client: InferenceClient): Promise<unknown> => client.unary('ServerLive', {}, { deadline: Date.now() + 10_000 });

describe('e2e: TLS and mTLS', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: Issued;
  let otherCa: Issued;
  let server1: Issued;
  let server2: Issued;
  let client: Issued;
  let strangerClient: Issued;

  before(function () {
    if (!opensslAvailable()) {
      console.log('    (skipped: the openssl command is not on this machine; it makes the test certificates)');
      this.skip();
    }
    dir = makeTempDir('e2e-tls');
    ca = makeCa(dir, 'test-ca');
    otherCa = makeCa(dir, 'other-ca');
    server1 = issue(dir, 'server-1', ca, 'serverAuth');
    server2 = issue(dir, 'server-2', ca, 'serverAuth');
    client = issue(dir, 'client', ca, 'clientAuth');
    strangerClient = issue(dir, 'stranger', otherCa, 'clientAuth');
  });
  after(() => removeDir(dir));

  describe('TLS (GRPC_TLS_CLIENT_AUTH=none), certificates reread every second', () => {
    let t: TestServer;
    let served: { cert: string; key: string };
    const logs: { msg: string; fingerprint256?: string }[] = [];

    before(async () => {
      served = { cert: path.join(dir, 'served.pem'), key: path.join(dir, 'served.key') };
      fs.copyFileSync(server1.cert, served.cert);
      fs.copyFileSync(server1.key, served.key);
      const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
      t = await startTestServer({ GRPC_TLS_CERT: served.cert, GRPC_TLS_KEY: served.key, GRPC_TLS_REFRESH_SECONDS: '1' }, log);
    });
    after(async () => t?.stop());

    it('serves a TLS client that trusts the CA', async () => {
      const c = tlsClient(t.port, ca);
      try {
        expect(await live(c)).to.deep.include({ live: true });
        expect(await c.unary('ModelMetadata', { name: 'stock_scorer' })).to.have.property('name', 'stock_scorer');
      } finally {
        c.close();
      }
    });

    it('does not serve a plaintext client', async () => {
      // t.client is the plaintext client startTestServer made.
      await expectRpcError(live(t.client), grpc.status.UNAVAILABLE);
    });

    it('does not serve a TLS client that trusts another CA', async () => {
      const c = tlsClient(t.port, otherCa);
      try {
        await expectRpcError(live(c), grpc.status.UNAVAILABLE);
      } finally {
        c.close();
      }
    });

    it('shows new connections a certificate replaced on disk, without a restart; an open connection goes on', async () => {
      expect(await servedFingerprint(t.port, ca)).to.equal(server1.fingerprint256);
      const open = tlsClient(t.port, ca);
      try {
        await live(open);
        replaceFile(served.key, server2.key);
        replaceFile(served.cert, server2.cert);
        await waitFor('a new connection to see the new certificate', () => servedFingerprint(t.port, ca), (f) => f === server2.fingerprint256);
        await live(open);
        const fresh = tlsClient(t.port, ca);
        try {
          await live(fresh);
        } finally {
          fresh.close();
        }
      } finally {
        open.close();
      }
      const loaded = logs.filter((l) => l.msg.startsWith('TLS certificate')).map((l) => [l.msg, l.fingerprint256]);
      expect(loaded[0]).to.deep.equal(['TLS certificate loaded', server1.fingerprint256]);
      expect(loaded).to.deep.include(['TLS certificate reloaded: new connections get it', server2.fingerprint256]);
    });

    it('keeps serving the last good certificate when a reread finds files it cannot use', async () => {
      // The test before left server-2's pair in place.
      expect(await servedFingerprint(t.port, ca)).to.equal(server2.fingerprint256);
      const errors = (): number => logs.filter((l) => l.msg.startsWith('TLS files reread: not usable')).length;
      const seen = errors();
      // server-1's certificate beside server-2's key: what a half-done rotation leaves.
      replaceFile(served.cert, server1.cert);
      await waitFor('a reread to report the mismatched pair', errors, (n) => n > seen);
      expect(await servedFingerprint(t.port, ca)).to.equal(server2.fingerprint256);
      const c = tlsClient(t.port, ca);
      try {
        await live(c);
      } finally {
        c.close();
      }
    });
  });

  describe('mTLS (GRPC_TLS_CLIENT_AUTH=require)', () => {
    let t: TestServer;
    let target: string;
    let clientCa: string;
    before(async () => {
      clientCa = path.join(dir, 'client-ca.pem');
      fs.copyFileSync(ca.cert, clientCa);
      t = await startTestServer({
        GRPC_TLS_CERT: server1.cert, GRPC_TLS_KEY: server1.key, GRPC_TLS_CA: clientCa, GRPC_TLS_CLIENT_AUTH: 'require', GRPC_TLS_REFRESH_SECONDS: '1', ADMIN_GRPC_PORT: '0',
      });
      target = `127.0.0.1:${t.port}`;
    });
    after(async () => t?.stop());

    it('serves a client certificate signed by GRPC_TLS_CA', async () => {
      const c = tlsClient(t.port, ca, client);
      try {
        expect(await live(c)).to.deep.include({ live: true });
      } finally {
        c.close();
      }
    });

    it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
      for (const c of [tlsClient(t.port, ca), tlsClient(t.port, ca, strangerClient)]) {
        try {
          await expectRpcError(live(c), grpc.status.UNAVAILABLE);
        } finally {
          c.close();
        }
      }
    });

    it('the admin listener takes the same TLS and client certificate check', async () => {
      const withCert = tlsClient(t.server.adminPort!, ca, client);
      const withoutCert = tlsClient(t.server.adminPort!, ca);
      try {
        expect(await withCert.unary('RepositoryIndex', {})).to.have.property('models');
        await expectRpcError(withoutCert.unary('RepositoryIndex', {}), grpc.status.UNAVAILABLE);
      } finally {
        withCert.close();
        withoutCert.close();
      }
    });

    it('grpcurl (Go TLS) is served with the client certificate', async function () {
      if (!fs.existsSync(path.join(CLIENTS, 'grpcurl'))) this.skip();
      const grpcurl = path.join(CLIENTS, 'grpcurl');
      const served = await run(grpcurl, ['-cacert', ca.cert, '-cert', client.cert, '-key', client.key, target, 'inference.GRPCInferenceService/ServerLive']);
      expect(served.stdout).to.contain('"live": true');
    });

    it('grpc_health_probe -tls with the client certificate reports SERVING', async function () {
      if (!fs.existsSync(path.join(CLIENTS, 'grpc_health_probe'))) this.skip();
      const probe = await run(path.join(CLIENTS, 'grpc_health_probe'), [
        `-addr=${target}`, '-tls', `-tls-ca-cert=${ca.cert}`, `-tls-client-cert=${client.cert}`, `-tls-client-key=${client.key}`,
      ]);
      expect(probe.stdout + probe.stderr).to.contain('SERVING');
    });

    it('checks new connections against a CA file replaced on disk, without a restart', async () => {
      replaceFile(clientCa, otherCa.cert);
      const admitted = async (cert: Issued): Promise<boolean> => {
        const c = tlsClient(t.port, ca, cert);
        try {
          await live(c);
          return true;
        } catch {
          return false;
        } finally {
          c.close();
        }
      };
      await waitFor('the other CA\'s client to get in', () => admitted(strangerClient), (ok) => ok);
      expect(await admitted(client), 'a client of the CA replaced').to.equal(false);
    });
  });

  it('with GRPC_MAX_CONNECTIONS=1, closes a second TLS connection (UNAVAILABLE) and serves the first, which keeps its place past GRPC_PREFACE_TIMEOUT_MS', async () => {
    const prefaceTimeoutMs = 300;
    const t = await startTestServer({ GRPC_TLS_CERT: server1.cert, GRPC_TLS_KEY: server1.key, GRPC_MAX_CONNECTIONS: '1', GRPC_PREFACE_TIMEOUT_MS: String(prefaceTimeoutMs) });
    const first = tlsClient(t.port, ca);
    const second = tlsClient(t.port, ca);
    const refused = () => expectRpcError(second.unary('ServerLive', {}, { deadline: Date.now() + 5000 }), grpc.status.UNAVAILABLE);
    try {
      expect(await live(first)).to.deep.include({ live: true });
      await refused();
      // The preface is counted on the raw socket, so a TLS connection that has spoken is kept:
      // had the first been closed, the second would have its place.
      await new Promise((resolve) => setTimeout(resolve, 3 * prefaceTimeoutMs));
      await refused();
      expect(await live(first)).to.deep.include({ live: true });
    } finally {
      first.close();
      second.close();
      await t.stop();
    }
  });

  it('a key that does not belong to the certificate stops the server at start, naming the settings', async () => {
    let caught: unknown;
    try {
      const t = await startTestServer({ GRPC_TLS_CERT: server1.cert, GRPC_TLS_KEY: server2.key });
      await t.stop();
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).to.contain('GRPC_TLS_CERT / GRPC_TLS_KEY');
  });
});
