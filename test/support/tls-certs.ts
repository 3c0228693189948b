/**
 * Certificates made for one test run with the openssl command (node:crypto makes keys, not
 * certificates): CAs, and server and client certificates they sign, P-256 keys, valid one day.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Issued {
  /** PEM files. */
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint, as node:tls's getPeerCertificate() gives it. */
  readonly fingerprint256: string;
}

/** Whether the openssl command runs here; tests skip with a message when it does not. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const KEY_OPTIONS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed CA. */
export function makeCa(dir: string, name: string): Issued {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...KEY_OPTIONS, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key, fingerprint256: fingerprintOf(cert) };
}

/** A leaf certificate signed by `ca`, for 127.0.0.1 and localhost, with a key of its own. */
export function issue(dir: string, name: string, ca: Issued, use: 'serverAuth' | 'clientAuth'): Issued {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${use}\n`);
  openssl(['req', ...KEY_OPTIONS, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-days', '1', '-extfile', ext, '-out', cert]);
  return { cert, key, fingerprint256: fingerprintOf(cert) };
}

function fingerprintOf(cert: string): string {
  return new X509Certificate(fs.readFileSync(cert)).fingerprint256;
}

function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
