// ngx_lua's certificate checks in sslhandshake(..., ssl_verify): the chain, with OpenSSL's
// "<n>: <text>" errors, and the host name, with OpenSSL's own X509_check_host (what nginx's
// ngx_ssl_check_host calls) through crypto.X509Certificate#checkHost, or RFC 6125 as Node's
// checkServerIdentity has it for strictSni.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/** OpenSSL's X509_verify_cert_error_string texts for the codes Node reports, as "<n>: <text>". */
export const VERIFY_ERRORS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: '2: unable to get issuer certificate',
  CERT_NOT_YET_VALID: '9: certificate is not yet valid',
  CERT_HAS_EXPIRED: '10: certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: '18: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: '19: self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: '20: unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: '21: unable to verify the first certificate',
  CERT_REVOKED: '23: certificate revoked',
  INVALID_CA: '24: invalid CA certificate',
  CERT_UNTRUSTED: '27: certificate not trusted',
  CERT_REJECTED: '28: certificate rejected',
};

/** How a name is matched against the certificate. */
export type HostCheck = 'x509-check-host' | 'rfc6125';

/**
 * OpenSSL's X509_check_host(cert, name, 0), as nginx calls it: DNS subject alternative names, or
 * the subject CN when there are none; case-insensitive; wildcards only in the leftmost label
 * (partial ones like "f*.example.com" included), never across dots, and not on a public suffix
 * like "*.test". IP SANs are not consulted, so an IP literal only matches a DNS name spelled the
 * same; "host:port" and a name with a trailing dot never match.
 */
export function x509CheckHost(name: string, cert: X509Certificate): boolean {
  try {
    return cert.checkHost(name) !== undefined;
  } catch {
    return false; // a name OpenSSL cannot take (an embedded NUL) matches nothing
  }
}

/**
 * ngx_lua's verification of a finished TLS handshake: null when the peer passes, else the error
 * sslhandshake returns. `name` is the name to check (none: the chain only).
 */
export function verifyPeer(t: tls.TLSSocket, name: string | null | undefined, hostCheck: HostCheck): string | null {
  if (!t.authorized) {
    const code = String(t.authorizationError ?? '');
    return VERIFY_ERRORS[code] ?? code;
  }
  if (!name) return null;
  const peer = t.getPeerCertificate();
  const ok = hostCheck === 'rfc6125' ? tls.checkServerIdentity(name, peer) === undefined : x509CheckHost(name, new X509Certificate(peer.raw));
  return ok ? null : 'certificate host mismatch';
}
