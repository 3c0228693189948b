/**
 * The gRPC listeners' credentials: plaintext, or TLS (and mTLS) from files that grpc-js's
 * FileWatcherCertificateProvider rereads every refreshSeconds, so a replaced certificate, key
 * or CA serves new connections without a restart; connections already open keep theirs.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import { experimental, ServerCredentials } from '@grpc/grpc-js';
import type { TlsConfig } from '../config/load';
import type { Logger } from '../observability/logger';

type Identity = experimental.IdentityCertificateUpdate;
type Ca = experimental.CaCertificateUpdate;
type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

export interface ListenerCredentials {
  readonly credentials: ServerCredentials;
  /** Stops watching the files. */
  close(): void;
}

/** Throws, naming the settings, when the files cannot serve: at start, the server does not start. */
export function listenerCredentials(tls: TlsConfig | undefined, log: Logger): ListenerCredentials {
  if (!tls) return { credentials: ServerCredentials.createInsecure(), close: () => undefined };
  const certificates = new CheckedCertificates(tls, log);
  // grpc-js 1.14's createCertificateProviderServerCredentials hands its first argument to the
  // credentials as the identity provider and its second as the CA provider, whatever its
  // parameter names say; one provider gives both here, and null asks no client certificate.
  const credentials = experimental.createCertificateProviderServerCredentials(certificates, tls.caFile ? certificates : null, tls.clientAuth === 'require');
  return { credentials, close: () => certificates.close() };
}

/**
 * The files as the file watcher rereads them, passed on only when they changed and can serve.
 * grpc-js refuses every new connection while its provider reports files it cannot use; a reread
 * that finds a half-written pair or an unreadable file keeps the last good certificates instead.
 */
class CheckedCertificates implements experimental.CertificateProvider {
  private identity: Identity;
  private ca: Ca | undefined;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly watcher: experimental.FileWatcherCertificateProvider;
  private readonly onIdentity = (update: Identity | null): void => this.reread(update, 'identity');
  private readonly onCa = (update: Ca | null): void => this.reread(update, 'ca');
  /** The last reread's problem, so that one broken file is reported once, not at every reread. */
  private problem: string | undefined;

  constructor(
    private readonly tls: TlsConfig,
    private readonly log: Logger,
  ) {
    const read = (file: string, setting: string): Buffer => {
      try {
        return fs.readFileSync(file);
      } catch (err) {
        throw new Error(`${setting}: ${(err as Error).message}`);
      }
    };
    this.identity = { certificate: read(tls.certFile, 'GRPC_TLS_CERT'), privateKey: read(tls.keyFile, 'GRPC_TLS_KEY') };
    this.ca = tls.caFile === undefined ? undefined : { caCertificate: read(tls.caFile, 'GRPC_TLS_CA') };
    const problem = unusable(this.identity, this.ca);
    if (problem !== undefined) throw new Error(`GRPC_TLS_CERT / GRPC_TLS_KEY / GRPC_TLS_CA cannot serve TLS: ${problem}`);
    this.logServed('TLS certificate loaded');
    this.watcher = new experimental.FileWatcherCertificateProvider({
      certificateFile: tls.certFile,
      privateKeyFile: tls.keyFile,
      caCertificateFile: tls.caFile,
      refreshIntervalMs: tls.refreshSeconds * 1000,
    });
    this.watcher.addIdentityCertificateListener(this.onIdentity);
    if (this.ca) this.watcher.addCaCertificateListener(this.onCa);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(listener, this.identity);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    if (this.ca) process.nextTick(listener, this.ca);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  close(): void {
    this.watcher.removeIdentityCertificateListener(this.onIdentity);
    this.watcher.removeCaCertificateListener(this.onCa);
  }

  private reread(update: Identity | Ca | null, part: 'identity' | 'ca'): void {
    const identity = part === 'identity' ? (update as Identity | null) : this.identity;
    const ca = part === 'ca' ? (update as Ca | null) : this.ca;
    const problem = identity === null || ca === null ? 'a file cannot be read' : unusable(identity, ca);
    if (problem !== undefined || identity === null || ca === null) {
      if (problem !== this.problem) {
        this.log.error({ cert: this.tls.certFile, key: this.tls.keyFile, ca: this.tls.caFile, reason: problem }, 'TLS files reread: not usable; new connections keep getting the last good certificates');
      }
      this.problem = problem;
      return;
    }
    this.problem = undefined;
    if (part === 'identity' && !sameIdentity(identity, this.identity)) {
      this.identity = identity;
      this.logServed('TLS certificate reloaded: new connections get it');
      for (const listener of this.identityListeners) listener(identity);
    }
    if (part === 'ca' && ca !== undefined && !(this.ca && ca.caCertificate.equals(this.ca.caCertificate))) {
      this.ca = ca;
      this.log.info({ ca: this.tls.caFile }, 'TLS client CA reloaded: new connections are checked against it');
      for (const listener of this.caListeners) listener(ca);
    }
  }

  private logServed(message: string): void {
    const cert = new X509Certificate(this.identity.certificate);
    this.log.info({ subject: cert.subject, serial: cert.serialNumber, fingerprint256: cert.fingerprint256, valid_to: cert.validTo, client_auth: this.tls.clientAuth }, message);
  }
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.certificate.equals(b.certificate) && a.privateKey.equals(b.privateKey);
}

/** Why these files cannot serve TLS, or undefined when they can. */
function unusable(identity: Identity, ca: Ca | undefined): string | undefined {
  try {
    createSecureContext({ cert: identity.certificate, key: identity.privateKey });
    // createSecureContext takes any bytes as CA; each certificate is parsed so that a broken CA file is caught.
    if (ca !== undefined) {
      const blocks = ca.caCertificate.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) return 'the CA file holds no PEM certificate';
      for (const block of blocks) new X509Certificate(block);
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
