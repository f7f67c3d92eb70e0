import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
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
