// A throwaway PKI made at run time with the openssl CLI: a CA, a server certificate for the names
// tests and peers use, a client certificate for mutual TLS, and a self-signed server certificate
// (its own issuer, trusted by nobody: cs.t 25). Nothing secret is ever committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackTempDir } from './children.js';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A server certificate for the same names that is its own issuer: no CA here signed it, so no one trusts it. */
  selfSignedCert: string;
  selfSignedKey: string;
  paths: { caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; selfSignedCert: string; selfSignedKey: string };
}

export interface TestPkiOptions {
  /** Where to write the files (the caller's to remove); default a new temp folder, removed when the process exits. */
  dir?: string;
  /** Server certificate subject alternative names; entries that look like IPs become IP SANs. */
  serverNames?: string[];
}

const DEFAULT_SERVER_NAMES = ['localhost', 'test.com', 'client.test', '*.test', '127.0.0.1'];
const cache = new Map<string, TestPki>();

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() || err.message} (install it with: apt-get install openssl)`);
  }
}

function sanLine(names: string[]): string {
  return names.map((n) => (/^\d+\.\d+\.\d+\.\d+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** Makes (or returns the cached) CA, server and client certificates. Synchronous: cheap enough for test setup. */
export function makeTestPki(opts: TestPkiOptions = {}): TestPki {
  const names = opts.serverNames ?? DEFAULT_SERVER_NAMES;
  const cacheKey = JSON.stringify([opts.dir ?? null, names]);
  const hit = cache.get(cacheKey);
  if (hit && existsSync(hit.paths.serverKey) && existsSync(hit.paths.selfSignedKey)) return hit;

  // A folder of our own (it holds private keys) lives as long as the process and the cache entry:
  // removed when the process exits, however it exits.
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wslab-pki-'));
  if (!opts.dir) trackTempDir(dir);
  mkdirSync(dir, { recursive: true });
  const p = {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    selfSignedCert: join(dir, 'self-signed.pem'),
    selfSignedKey: join(dir, 'self-signed.key'),
  };
  const days = '30';
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.caKey, '-out', p.caCert, '-days', days,
    '-subj', '/CN=wslab test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const issue = (name: string, cn: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial',
      '-out', join(dir, `${name}.pem`), '-days', days, '-extfile', join(dir, `${name}.ext`)], dir);
  };
  issue('server', names[0] ?? 'localhost', `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${sanLine(names)}\n`);
  issue('client', 'wslab-client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  // Subject = issuer, signed with its own key, for the server's names: OpenSSL's chain check fails
  // on it with X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ("18: self-signed certificate") before any
  // name is checked (a leaf, CA:FALSE: OpenSSL counts a certificate as self-signed by its names,
  // key identifiers and signature, not by the CA flag).
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.selfSignedKey, '-out', p.selfSignedCert, '-days', days,
    '-subj', `/CN=${names[0] ?? 'localhost'}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
    '-addext', `subjectAltName=${sanLine(names)}`], dir);

  const pki: TestPki = {
    dir,
    caCert: readFileSync(p.caCert, 'utf8'),
    serverCert: readFileSync(p.serverCert, 'utf8'),
    serverKey: readFileSync(p.serverKey, 'utf8'),
    clientCert: readFileSync(p.clientCert, 'utf8'),
    clientKey: readFileSync(p.clientKey, 'utf8'),
    selfSignedCert: readFileSync(p.selfSignedCert, 'utf8'),
    selfSignedKey: readFileSync(p.selfSignedKey, 'utf8'),
    paths: {
      caCert: p.caCert, serverCert: p.serverCert, serverKey: p.serverKey, clientCert: p.clientCert, clientKey: p.clientKey,
      selfSignedCert: p.selfSignedCert, selfSignedKey: p.selfSignedKey,
    },
  };
  cache.set(cacheKey, pki);
  return pki;
}
