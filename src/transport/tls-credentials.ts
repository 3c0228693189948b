/**
 * The gRPC listeners' credentials: plaintext, or TLS (and mTLS) from files that grpc-js's
 * FileWatcherCertificateProvider rereads every refreshSeconds, so a replaced certificate, key
 * or CA serves new connections without a restart; connections already open keep theirs.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import * as fs from 'node:fs';
import { experimental, ServerCredentials } from '@grpc/grpc-js';
import type { TlsConfig } from '../config/load';
import type { Logger } from '../observability/logger';

export interface ListenerCredentials {
  readonly credentials: ServerCredentials;
  /** Stops watching the files. */
  close(): void;
}

export async function listenerCredentials(tls: TlsConfig | undefined, log: Logger): Promise<ListenerCredentials> {
  if (!tls) return { credentials: ServerCredentials.createInsecure(), close: () => undefined };
  checkFiles(tls);
  const provider = new experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    caCertificateFile: tls.caFile,
    refreshIntervalMs: tls.refreshSeconds * 1000,
  });
  // grpc-js 1.14's createCertificateProviderServerCredentials hands its first argument to the
  // credentials as the identity provider and its second as the CA provider, whatever its
  // parameter names say; one provider holds both here, and null asks no client certificate.
  const credentials = experimental.createCertificateProviderServerCredentials(provider, tls.caFile ? provider : null, tls.clientAuth === 'require');
  const watch = new CertificateLog(tls, log);
  const listener = watch.onUpdate.bind(watch);
  provider.addIdentityCertificateListener(listener);
  // The first read resolves before the listeners bind, so no early connection finds no certificate.
  await watch.firstRead;
  return { credentials, close: () => provider.removeIdentityCertificateListener(listener) };
}

/** At start, a missing file or a key that does not fit its certificate stops the server with the reason. */
function checkFiles(tls: TlsConfig): void {
  const read = (file: string, setting: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${setting}: ${(err as Error).message}`);
    }
  };
  const cert = read(tls.certFile, 'GRPC_TLS_CERT');
  const key = read(tls.keyFile, 'GRPC_TLS_KEY');
  const ca = tls.caFile === undefined ? undefined : read(tls.caFile, 'GRPC_TLS_CA');
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new Error(`GRPC_TLS_CERT / GRPC_TLS_KEY / GRPC_TLS_CA do not form a TLS configuration: ${(err as Error).message}`);
  }
}

type IdentityUpdate = Parameters<Parameters<experimental.CertificateProvider['addIdentityCertificateListener']>[0]>[0];

/** Logs the served certificate when it changes, and a reread that grpc-js cannot use (it then refuses new connections). */
class CertificateLog {
  readonly firstRead: Promise<void>;
  private resolveFirst!: () => void;
  private fingerprint: string | undefined;
  private failing = false;

  constructor(
    private readonly tls: TlsConfig,
    private readonly log: Logger,
  ) {
    this.firstRead = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  onUpdate(update: IdentityUpdate): void {
    this.resolveFirst();
    const problem = update === null ? 'the certificate or key file cannot be read' : unusable(update.certificate, update.privateKey);
    if (update === null || problem !== undefined) {
      if (!this.failing) this.log.error({ cert: this.tls.certFile, key: this.tls.keyFile, reason: problem }, 'TLS certificate reload failed: new connections are refused until the files are fixed');
      this.failing = true;
      return;
    }
    this.failing = false;
    const cert = new X509Certificate(update.certificate);
    if (cert.fingerprint256 === this.fingerprint) return;
    const first = this.fingerprint === undefined;
    this.fingerprint = cert.fingerprint256;
    this.log.info(
      { subject: cert.subject, serial: cert.serialNumber, fingerprint256: cert.fingerprint256, valid_to: cert.validTo, client_auth: this.tls.clientAuth },
      first ? 'TLS certificate loaded' : 'TLS certificate reloaded: new connections get it',
    );
  }
}

/** Why a certificate and key cannot serve, or undefined when they can. */
function unusable(certificate: Buffer, privateKey: Buffer): string | undefined {
  try {
    createSecureContext({ cert: certificate, key: privateKey });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
