// A throwaway PKI made at run time with the openssl CLI: a CA, a server certificate for the names
// tests and peers use, and a client certificate for mutual TLS. Nothing secret is ever committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  paths: { caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
}

export interface TestPkiOptions {
  /** Where to write the files; default a new temp folder. */
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
  if (hit && existsSync(hit.paths.serverKey)) return hit;

  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wslab-pki-'));
  mkdirSync(dir, { recursive: true });
  const p = {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
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

  const pki: TestPki = {
    dir,
    caCert: readFileSync(p.caCert, 'utf8'),
    serverCert: readFileSync(p.serverCert, 'utf8'),
    serverKey: readFileSync(p.serverKey, 'utf8'),
    clientCert: readFileSync(p.clientCert, 'utf8'),
    clientKey: readFileSync(p.clientKey, 'utf8'),
    paths: { caCert: p.caCert, serverCert: p.serverCert, serverKey: p.serverKey, clientCert: p.clientCert, clientKey: p.clientKey },
  };
  cache.set(cacheKey, pki);
  return pki;
}
