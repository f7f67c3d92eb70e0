// Known, explained differences between a library version and ours (v0.12), declared once each
// with the spec item that documents them. A session whose FIRST divergence matches one of these
// is counted as explained under that id (what follows it is a consequence of it); anything else
// is a finding. Record-level explanations that do not change state (connect's third value in
// v0.08) are made by lab/compare.ts explainDifference and are not divergences at all.
import { versionAtLeast } from '../peers/types.js';
import type { StepRecord } from '../peers/lua-api.js';
import { payloadBytes } from './raw-peers.js';
import type { Session } from './types.js';

export interface FirstDivergence {
  /** Where the two sides first differ. */
  channel: 'records' | 'head' | 'wire' | 'tcp' | 'connections';
  /** records: the step index (0 = new). */
  step?: number;
  op?: string;
  lua: unknown;
  ours: unknown;
  /** records only: the raw records. */
  luaRecord?: StepRecord;
  oursRecord?: StepRecord;
}

export interface KnownDifference {
  id: string;
  /** The spec item (docs: ../../docs/behaviour.md, and our docs/behaviour.md). */
  specItem: string;
  summary: string;
  /**
   * 'session' (default): what follows is a consequence, the session counts as explained. 'record':
   * the difference changes no state (a request header), the comparison goes on past it.
   */
  level?: 'record' | 'session';
  /**
   * The library version that changed what this difference is about: it explains divergences only
   * with versions before it (a "v012-…" entry never explains anything on v0.12). Absent: a
   * difference of our API, on every version.
   */
  before?: string;
  matches(d: FirstDivergence, s: Session): boolean;
}

function err(r: StepRecord | undefined): string | null {
  if (!r) return null;
  const i = r.op === 'recv_frame' ? 2 : 1;
  const v = r.ret[i];
  return Buffer.isBuffer(v) ? v.toString('latin1') : null;
}

const opts = (s: Session): Record<string, unknown> => (s.role === 'server' ? s.opts : s.newOpts);

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: 'api-response-before-new',
    specItem: '§4 new() step 1 ("response header already sent"): our server has no HTTP response of its own before new() (acceptWebSocket writes the first byte), so only the original can be asked after one',
    summary: 'the program sent a response head before new(): the original refuses ("response header already sent"), ours cannot be in that state',
    matches: (d, s) =>
      s.role === 'server' && s.prelude === 'send_headers' && d.channel === 'records' && d.step === 0 &&
      // whatever ours answered: new()'s first check, before any check of the request, ours cannot reach
      err(d.luaRecord) === 'response header already sent',
  },
  {
    id: 'v012-max-recv-len',
    before: '0.12',
    specItem: '§1 801c70e (v0.12) / §9: max_recv_len is new in v0.12; v0.08 ignores it',
    summary: 'v0.08 ignores max_recv_len: a frame over max_recv_len but within max_payload_len is received (or the other way round)',
    matches: (d, s) =>
      d.channel === 'records' && d.op === 'recv_frame' && opts(s).max_recv_len !== undefined &&
      (err(d.luaRecord) === 'exceeding max payload len') !== (err(d.oursRecord) === 'exceeding max payload len'),
  },
  {
    id: 'v012-max-send-len',
    before: '0.12',
    specItem: '§1 801c70e (v0.12) / §9: max_send_len is new in v0.12; v0.08 ignores it',
    summary: 'v0.08 ignores max_send_len: a send over max_send_len but within max_payload_len goes out (or the other way round)',
    matches: (d, s) =>
      d.channel === 'records' && /^send_/.test(d.op ?? '') && opts(s).max_send_len !== undefined &&
      (err(d.luaRecord) === 'payload too big') !== (err(d.oursRecord) === 'payload too big'),
  },
  {
    id: 'v012-send-continue',
    before: '0.12',
    specItem: '§1 9641665 (v0.12) / §9: the server has no send_continue before v0.12',
    summary: 'v0.08 servers have no send_continue',
    matches: (d) => d.channel === 'records' && d.op === 'send_continue' && err(d.luaRecord) === 'method send_continue does not exist',
  },
  {
    id: 'v009-server-send-close-code',
    before: '0.09',
    specItem: '§1 b341b7d (v0.09) / §9: v0.08 server send_close does not reject bad codes (a string that is no number raises a Lua error)',
    summary: "v0.08's server sends close frames with codes v0.12 refuses with \"bad status code\"",
    // v0.08 answers as send_frame does (bytes, or its fatal/closed errors); a Lua error raised by a
    // numeric-string code is not this difference (v0.08 sends "1000" as 1000: bit.rshift takes it).
    matches: (d, s) =>
      s.role === 'server' && d.channel === 'records' && d.op === 'send_close' && err(d.oursRecord) === 'bad status code' &&
      d.luaRecord !== undefined && d.luaRecord.luaError === undefined,
  },
  {
    id: 'v012-connect-option-checks',
    before: '0.12',
    specItem: '§1 0f304cc, 314e725, 9e907f9 / §5 connect step 5 / §9: v0.08 does not type-check host, key, server_name',
    summary: 'v0.08 connects where v0.12 refuses a non-string host, key or server_name',
    matches: (d, s) =>
      s.role === 'client' && d.channel === 'records' && d.op === 'connect' &&
      /^(custom host header must be a string|custom Sec-WebSocket-Key must be a string|SSL server_name must be a string)$/.test(err(d.oursRecord) ?? ''),
  },
  {
    id: 'v011-pool-size-backlog',
    before: '0.11',
    specItem: '§1 4d20e30 (v0.11) / §9: v0.08 ignores the pool_size and backlog connect options',
    summary: 'v0.08 opens a connection where a pool_size/backlog limit makes v0.11+ refuse it',
    matches: (d, s) =>
      s.role === 'client' && d.channel === 'records' && d.op === 'connect' &&
      // over the limit: refused at once without a backlog, or queued until the connect timeout with one
      /^failed to connect: (too many waiting connect operations|timeout)$/.test(err(d.oursRecord) ?? '') &&
      // v0.08 got its TCP connection (what happened after it, e.g. a 1 ms header read, is its own business)
      !/^failed to connect: /.test(err(d.luaRecord) ?? '') &&
      s.steps.some((x) => x.op === 'connect' && (x.opts?.pool_size !== undefined || x.opts?.backlog !== undefined)),
  },
  {
    id: 'v012-tls-name-from-options',
    before: '0.12',
    specItem: '§1 0f304cc, 9e907f9 (v0.12) / §5 connect step 8 / §9: v0.08 gives sslhandshake the URI host, whatever server_name or host say',
    summary: 'v0.08 checks the certificate against the URI host (127.0.0.1: "certificate host mismatch") where server_name or host names one the certificate has',
    matches: (d, s) =>
      s.role === 'client' && s.target === 'wss' && d.channel === 'records' && d.op === 'connect' &&
      err(d.luaRecord) === 'ssl handshake failed: certificate host mismatch' && err(d.oursRecord) !== err(d.luaRecord) &&
      s.steps.some((x) => x.op === 'connect' && x.opts?.ssl_verify === true && (x.opts?.server_name !== undefined || x.opts?.host !== undefined)),
  },
  {
    id: 'v012-connect-host-key',
    before: '0.12',
    specItem: '§1 0f304cc (host), 314e725 (key) / §9: v0.08 ignores the host and key connect options',
    summary: 'v0.08 sends Host 127.0.0.1:<port> and a random key where the program set host or key',
    level: 'record',
    matches: (d, s) => {
      if (s.role !== 'client') return false;
      const uses = s.steps.some((x) => x.op === 'connect' && (x.opts?.host !== undefined || x.opts?.key !== undefined));
      if (d.channel === 'records' && d.op === 'connect') {
        // A refused response quotes its Accept, which follows the key v0.08 chose itself.
        const noAccept = (r: StepRecord | undefined): string => (err(r) ?? '').replace(/(sec-websocket-accept:)[^\r]*/gi, '$1');
        return uses && (err(d.luaRecord) ?? '').startsWith('bad HTTP response status line: ') && noAccept(d.luaRecord) === noAccept(d.oursRecord);
      }
      if (d.channel !== 'head' && d.channel !== 'connections') return false;
      const strip = (h: unknown): string => JSON.stringify(h).replace(/(host|sec-websocket-key):[^\\]*/gi, '$1');
      return uses && strip(d.lua) === strip(d.ours);
    },
  },
  {
    id: 'peer-fin-behind-full-kernel-queue',
    specItem: '§5 "After the peer closed": an nginx cosocket takes bytes from the kernel only when the program reads, so a FIN behind more unread bytes than the kernel queues (about 128 KiB on Linux loopback) does not arrive, and setkeepalive, seeing no eof, answers for the unread bytes; our socket reads ahead of the program (up to 1 MiB) and sees the FIN',
    summary: 'set_keepalive after the server sent over 96 KiB the program did not read and then closed: the original answers for the unread bytes, ours "closed"',
    matches: (d, s) =>
      s.role === 'client' && d.channel === 'records' && d.op === 'set_keepalive' && err(d.oursRecord) === 'closed' &&
      (err(d.luaRecord) === 'unread data in buffer' || err(d.luaRecord) === 'connection in dubious state') &&
      trafficBytes(s) > 96 * 1024,
  },
];

/** Payload bytes the raw peer sends in a session. */
function trafficBytes(s: Session): number {
  return s.traffic.reduce((n, g) => n + g.frames.reduce((m, f) => m + payloadBytes(f.payload).length, 0), 0);
}

/** Whether a declared difference can explain anything on this library version. */
export function appliesTo(k: KnownDifference, libVersion: string): boolean {
  return k.before === undefined || !versionAtLeast(libVersion, k.before);
}

export function explainFirstDivergence(d: FirstDivergence, s: Session, libVersion: string, level: 'record' | 'session' = 'session'): KnownDifference | null {
  return KNOWN_DIFFERENCES.find((k) => (k.level ?? 'session') === level && appliesTo(k, libVersion) && k.matches(d, s)) ?? null;
}
