// sslhandshake's host check is OpenSSL's X509_check_host (crypto.X509Certificate#checkHost), as
// nginx's ngx_ssl_check_host calls it, on certificates made here with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { KeepalivePool } from './pool.js';
import { TcpSocket } from './tcp-socket.js';
import { x509CheckHost } from './tls-verify.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-tls-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate with subject CN `cn` and, when given, these subjectAltName entries. */
function selfSigned(name: string, cn: string, san?: string): { cert: string; key: string; x509: X509Certificate } {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', keyPath, '-out', certPath, '-subj', `/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san}`] : []),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const cert = readFileSync(certPath, 'utf8');
  return { cert, key: readFileSync(keyPath, 'utf8'), x509: new X509Certificate(cert) };
}

describe('x509CheckHost (OpenSSL X509_check_host as nginx uses it)', () => {
  it('DNS SANs, case-insensitive, with wildcards in the leftmost label only', () => {
    const c = selfSigned('wild', 'ignored.example', 'DNS:test.com,DNS:*.test,DNS:*.example.org,DNS:f*.wild.net,IP:127.0.0.1').x509;
    expect(x509CheckHost('TEST.com', c)).toBe(true);
    expect(x509CheckHost('a.example.org', c)).toBe(true);
    expect(x509CheckHost('a.b.example.org', c)).toBe(false);
    expect(x509CheckHost('example.org', c)).toBe(false);
    expect(x509CheckHost('foo.wild.net', c)).toBe(true);
    expect(x509CheckHost('bar.wild.net', c)).toBe(false);
    expect(x509CheckHost('client.test', c)).toBe(false); // "*.test" needs two labels after the wildcard
    expect(x509CheckHost('ignored.example', c)).toBe(false); // the CN does not count beside DNS SANs
  });

  it('never matches an IP literal against an IP SAN, nor "host:port", nor a trailing dot', () => {
    const c = selfSigned('localhost', 'localhost', 'DNS:localhost,IP:127.0.0.1').x509;
    expect(x509CheckHost('localhost', c)).toBe(true);
    expect(x509CheckHost('localhost.', c)).toBe(false);
    expect(x509CheckHost('127.0.0.1', c)).toBe(false);
    expect(x509CheckHost('localhost:8443', c)).toBe(false);
    expect(x509CheckHost('127.0.0.1', selfSigned('dns-ip', 'x', 'DNS:127.0.0.1').x509)).toBe(true);
  });

  it('falls back to the subject CN only without DNS SANs', () => {
    expect(x509CheckHost('cn.example', selfSigned('cn-only', 'cn.example').x509)).toBe(true);
    expect(x509CheckHost('cn.example', selfSigned('cn-and-san', 'cn.example', 'DNS:other.example').x509)).toBe(false);
  });
});

describe('sslhandshake with ssl_verify', () => {
  it('accepts "localhost" and refuses "localhost." with "certificate host mismatch"', async () => {
    const { cert, key } = selfSigned('server', 'localhost', 'DNS:localhost');
    const server = tls.createServer({ cert, key }, (s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const pool = new KeepalivePool();
    try {
      const results: Record<string, string | null> = {};
      for (const name of ['localhost', 'localhost.']) {
        const sock = new TcpSocket({ pool, trustedCa: cert });
        expect((await sock.connect('127.0.0.1', port)).ok).toBe(1);
        results[name] = (await sock.sslHandshake({ serverName: name, verify: true })).err;
        await sock.close();
      }
      expect(results).toEqual({ localhost: null, 'localhost.': 'certificate host mismatch' });
    } finally {
      pool.drain();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('checks the chain before the name: an untrusted self-signed certificate is "18: self-signed certificate" whatever the name (cs.t 25)', async () => {
    // The real client in nginx returns exactly this against the lab peer's self-signed listener with
    // the SNI "127.0.0.1", which the name check alone would refuse (interop cs-25-self-signed).
    const { cert, key } = selfSigned('untrusted', 'localhost', 'DNS:localhost,IP:127.0.0.1');
    const otherCa = selfSigned('other-ca', 'some CA').cert;
    const server = tls.createServer({ cert, key }, (s) => s.on('error', () => {}));
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const pool = new KeepalivePool();
    try {
      const results: string[] = [];
      for (const [trustedCa, name] of [[otherCa, '127.0.0.1'], [otherCa, 'localhost'], [undefined, '127.0.0.1'], [cert, '127.0.0.1'], [cert, 'localhost']] as const) {
        const sock = new TcpSocket({ pool, trustedCa });
        expect((await sock.connect('127.0.0.1', port)).ok).toBe(1);
        results.push(`${trustedCa === cert ? 'trusted' : 'untrusted'} ${name}: ${(await sock.sslHandshake({ serverName: name, verify: true })).err}`);
        await sock.close();
      }
      expect(results).toEqual([
        'untrusted 127.0.0.1: 18: self-signed certificate',
        'untrusted localhost: 18: self-signed certificate',
        'untrusted 127.0.0.1: 18: self-signed certificate',
        'trusted 127.0.0.1: certificate host mismatch',
        'trusted localhost: null',
      ]);
    } finally {
      pool.drain();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('a certificate that fails the check', () => {
  it('is refused after a completed handshake, then the connection is shut down (the server sees both, as with ngx_lua)', async () => {
    const { cert, key } = selfSigned('after', 'localhost', 'DNS:localhost');
    const seen: string[] = [];
    let ended!: () => void;
    const closed = new Promise<void>((r) => (ended = r));
    const server = tls.createServer({ cert, key }, (s) => {
      seen.push('handshake completed');
      s.on('error', () => {});
      s.on('end', () => seen.push('end'));
      s.on('close', () => ended());
    });
    server.on('tlsClientError', () => {
      seen.push('handshake failed');
      ended();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const pool = new KeepalivePool();
    try {
      const sock = new TcpSocket({ pool, trustedCa: cert });
      expect((await sock.connect('127.0.0.1', port)).ok).toBe(1);
      expect((await sock.sslHandshake({ serverName: 'other.example', verify: true })).err).toBe('certificate host mismatch');
      // Closing our object at once (the end of a Lua request) must not cut the handshake short.
      await sock.close();
      await closed;
      expect(seen).toEqual(['handshake completed', 'end']);
    } finally {
      pool.drain();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('a TLS connection after the peer closed, error for error like ngx_lua', () => {
  it('the first send after the peer went away is taken, the next says "broken pipe" (SSL_write meets the RST)', async () => {
    const { cert, key } = selfSigned('fin', 'localhost', 'DNS:localhost');
    const server = tls.createServer({ cert, key }, (s) => {
      s.on('error', () => {});
      s.destroy(); // gone: our sends provoke an RST
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const sock = new TcpSocket({ pool: new KeepalivePool(), trustedCa: cert });
    try {
      expect(await sock.connect('127.0.0.1', port)).toEqual({ ok: 1, err: null });
      expect((await sock.sslHandshake({ serverName: 'localhost', verify: true })).err).toBeNull();
      expect((await sock.receive(1)).err).toBe('closed'); // the FIN (after its close_notify)
      expect(await sock.send('first')).toEqual({ bytes: 5, err: null });
      expect(await sock.send('second')).toEqual({ bytes: null, err: 'broken pipe' });
      expect(await sock.send('third')).toEqual({ bytes: null, err: 'closed' });
    } finally {
      await sock.close();
      server.close();
    }
  });
});
