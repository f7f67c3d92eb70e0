import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { trackedTempDirs } from './children.js';
import { ROOT_DIR } from './paths.js';
import { makeTestPki } from './pki.js';

describe('makeTestPki', () => {
  it('issues a server certificate that verifies against its CA for test.com, and a client cert the server can require', async () => {
    const pki = makeTestPki();
    const server = tls.createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true, rejectUnauthorized: true },
      (s) => s.end(`hello ${s.getPeerCertificate().subject?.CN}`),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'test.com', ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    await once(sock, 'end');
    server.close();
    expect(sock.authorized).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe('hello wslab-client');
  });

  it('makes a self-signed server certificate for the same names that a client trusting the CA rejects as self-signed', async () => {
    const pki = makeTestPki();
    const cert = new X509Certificate(pki.selfSignedCert);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(pki.caCert))).toBe(false);
    const server = tls.createServer({ cert: pki.selfSignedCert, key: pki.selfSignedKey }, (s) => s.end('hello'));
    server.on('tlsClientError', () => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const connect = async (ca: string): Promise<tls.TLSSocket> => {
      const sock = tls.connect({ host: '127.0.0.1', port, servername: 'test.com', ca, rejectUnauthorized: false });
      await once(sock, 'secureConnect');
      sock.destroy();
      return sock;
    };
    const byCa = await connect(pki.caCert);
    const bySelf = await connect(pki.selfSignedCert);
    server.close();
    expect([byCa.authorized, byCa.authorizationError]).toEqual([false, 'DEPTH_ZERO_SELF_SIGNED_CERT']);
    expect(bySelf.authorized).toBe(true);
  });

  it('returns the cached PKI for the same options', () => {
    expect(makeTestPki()).toBe(makeTestPki());
  });
});

describe('the PKI folder', () => {
  // A node process of its own (TMPDIR pointing at a fresh folder, so runs beside this one do not
  // count) makes the PKI and ends: normally, or by an uncaught error.
  const runScript = (end: string): { status: number | null; stderr: string; made: string; tmp: string; left: string[] } => {
    const tmp = mkdtempSync(join(tmpdir(), 'pki-test-'));
    try {
      const pki = pathToFileURL(join(ROOT_DIR, 'lab', 'pki.ts')).href;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
        `const { makeTestPki } = await import(${JSON.stringify(pki)}); const { existsSync } = await import('node:fs'); const p = makeTestPki(); if (!existsSync(p.paths.serverKey)) process.exit(3); console.log(p.dir); ${end}`], {
        cwd: ROOT_DIR, env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8',
      });
      return { status: r.status, stderr: r.stderr, made: r.stdout.trim(), tmp, left: readdirSync(tmp).filter((f) => f.startsWith('wslab-')) };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };

  it('is removed when the process exits normally', () => {
    const r = runScript('');
    expect(r.status, r.stderr).toBe(0);
    expect(r.made.startsWith(join(r.tmp, 'wslab-pki-'))).toBe(true);
    expect(r.left).toEqual([]);
  });

  it('is removed when the process dies of an uncaught error', () => {
    const r = runScript("throw new Error('boom');");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom');
    expect(r.made.startsWith(join(r.tmp, 'wslab-pki-'))).toBe(true);
    expect(r.left).toEqual([]);
  });

  it('is left alone when the caller chose it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pki-own-'));
    try {
      const pki = makeTestPki({ dir, serverNames: ['own.test'] });
      expect(pki.dir).toBe(dir);
      expect(trackedTempDirs()).not.toContain(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
