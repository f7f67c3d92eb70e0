// The protocol oracle of `wslab fuzz --url`: what the service sent, judged by a strict RFC 6455
// decoder, and how it reacted to the protocol errors our raw client committed. Each violation is a
// check with a name (its signature) and the bytes that show it. The `resty` profile knows the
// original library's documented deviations (docs/behaviour.md §7) and marks the violations they
// explain as expected: counted once in the report, never findings.
import { acceptFor } from 'resty-websocket';
import { payloadBytes } from '../../lab/session/raw-peers.js';
import type { FrameSpec, TrafficGroup } from '../../lab/session/types.js';
import { encodeFrame, readFrameAt } from '../../lab/wire.js';
import { FIXED_MASK_KEY } from '../../lab/session/types.js';
import type { ServiceSession } from './model.js';

export type Profile = 'strict' | 'resty';

/** What a client error or a server violation is about: the resty profile's deviations are per class. */
export type ErrorClass = 'framing' | 'control' | 'close-code' | 'utf8' | 'fragmentation' | 'after-close' | 'handshake';

export interface ProtocolViolation {
  /** The check's name, stable across sessions (the finding's signature). */
  check: string;
  /** One line: what was wrong, with the values. */
  summary: string;
  /** The bytes and facts that show it (hex, codes, times). */
  evidence: Record<string, unknown>;
  /** Under --profile resty: the deviation that explains it (then it is expected, not a finding). */
  expectedBy?: string;
}

/** The original's deviations the resty profile expects, each declared once with its spec item. */
export const RESTY_DEVIATIONS: Record<string, { specItem: string; text: string }> = {
  'subprotocol-list': { specItem: 'docs/behaviour.md §7.3 (RFC 6455 §4.2.2)', text: 'the server echoes the whole first Sec-WebSocket-Protocol value instead of selecting one' },
  'loose-handshake': { specItem: 'docs/behaviour.md §7.4 (RFC 6455 §4.2.1)', text: 'neither the method nor the key is checked; Connection is a substring test' },
  'no-fragment-state': { specItem: 'docs/behaviour.md §7.5 (RFC 6455 §5.4)', text: 'stray continuations and interleaved data frames pass (and an echo sends them back)' },
  'no-utf8-check': { specItem: 'docs/behaviour.md §7.6 (RFC 6455 §8.1)', text: 'text and close reasons are not checked for UTF-8 (and an echo sends them back)' },
  'no-close-code-check': { specItem: 'docs/behaviour.md §7.7 (RFC 6455 §7.4)', text: 'close codes are not validated on receive or on send (and an echo sends them back)' },
  'fail-without-close': { specItem: 'impl/README.md failWithCloseCode (RFC 6455 §7.1.7)', text: 'a protocol error fails the connection without a close frame' },
};

/** Which deviation leaves an error of this class undetected by the original. */
const UNDETECTED: Partial<Record<ErrorClass, string>> = { 'close-code': 'no-close-code-check', utf8: 'no-utf8-check', fragmentation: 'no-fragment-state' };

const utf8 = new TextDecoder('utf-8', { fatal: true });
function validUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Whether `b` can still begin valid UTF-8 (an incomplete sequence at the end is not an error yet). */
function validUtf8Prefix(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Close codes an endpoint may send (RFC 6455 §7.4.1 and the IANA registry: 1012-1014; 3000-4999). */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const hexOf = (b: Uint8Array, max = 96): string => (b.length > max ? `${Buffer.from(b.subarray(0, max)).toString('hex')}… (${b.length} bytes)` : Buffer.from(b).toString('hex'));

// ---- the client's side: which protocol error did we commit first? ---------------------------

export interface ClientError {
  group: number;
  /** The frame's index in the whole traffic (sent frames only). */
  frame: number;
  what: string;
  cls: ErrorClass;
  /** Close codes a strict server answers it with. */
  expect: number[];
}

/** The frames of `traffic` that went out whole: groups written (sentAt not null), up to a group's cut. */
export function sentFrames(traffic: TrafficGroup[], groupSentAt: Array<number | null>): Array<{ group: number; f: FrameSpec }> {
  const out: Array<{ group: number; f: FrameSpec }> = [];
  traffic.forEach((g, gi) => {
    if (groupSentAt[gi] === null || groupSentAt[gi] === undefined) return;
    let at = 0;
    for (const f of g.frames) {
      at += encodeFrame({ ...f, maskKey: f.mask ? FIXED_MASK_KEY : null, payload: payloadBytes(f.payload) }).length;
      if (g.cut !== undefined && at > g.cut) return;
      out.push({ group: gi, f });
    }
  });
  return out;
}

/**
 * Every protocol error in the frames we sent, in order, up to our own close frame (after it a
 * server owes us nothing). Frames over 65535 bytes are a server's policy (its max payload), and a
 * length in a longer form than needed is one servers judge differently: the errors from such a
 * frame on are not judged (the server may have failed the connection on it).
 */
export function clientErrors(frames: Array<{ group: number; f: FrameSpec }>): { errors: ClientError[]; oversizeBefore: number | null; committed: Set<ErrorClass> } {
  const errors: ClientError[] = [];
  let open: { opcode: number; parts: Buffer[] } | null = null;
  let oversizeBefore: number | null = null;
  // Every class of error we committed anywhere (an echo may send any of them back), beyond the first per frame.
  const committed = new Set<ErrorClass>();
  let textOpen = false;
  for (const { f } of frames) {
    const p = payloadBytes(f.payload);
    if (f.opcode === 8 && p.length >= 2) {
      if (!validCloseCode(p.readUInt16BE(0))) committed.add('close-code');
      if (!validUtf8(p.subarray(2))) committed.add('utf8');
    }
    if (f.opcode === 1) textOpen = true;
    else if (f.opcode === 2) textOpen = false;
    if ((f.opcode === 1 || (f.opcode === 0 && textOpen)) && !validUtf8(p)) committed.add('utf8');
  }
  for (let i = 0; i < frames.length; i++) {
    const { group, f } = frames[i]!;
    const p = payloadBytes(f.payload);
    // A server may fail fast on a text message whose first fragments are already invalid UTF-8
    // (RFC 6455 §8.1) or wait for its end (ws does): before the end, 1007 is right too.
    const prefixBad = open !== null && open.opcode === 1 && !validUtf8Prefix(Buffer.concat(open.parts));
    const err = (what: string, cls: ErrorClass, expect: number[] = [1002]): void => void errors.push({ group, frame: i, what, cls, expect: prefixBad && !expect.includes(1007) ? [...expect, 1007] : expect });
    // A non-minimal length is against RFC 6455 §5.2, but servers differ on whether they fail the
    // connection for it (ws does for control frames, the original never does): like an oversize
    // frame, it ends what is judged.
    const nonMinimal = (f.lenForm === '16' && p.length <= 125) || (f.lenForm === '64' && p.length <= 0xffff);
    if ((p.length > 65535 || nonMinimal) && oversizeBefore === null) oversizeBefore = i;
    if (!f.mask) err('an unmasked frame', 'framing');
    else if (f.rsv !== 0) err(`RSV bits ${f.rsv} without an extension`, 'framing');
    else if ((f.opcode >= 3 && f.opcode <= 7) || f.opcode >= 0xb) err(`reserved opcode 0x${f.opcode.toString(16)}`, 'framing');
    else if (f.opcode & 8) {
      if (p.length > 125) err(`a control frame of ${p.length} bytes`, 'control');
      else if (!f.fin) err('a fragmented control frame', 'control');
      else if (f.opcode === 8) {
        if (p.length === 1) err('a close body of 1 byte', 'framing');
        else if (p.length >= 2 && !validCloseCode(p.readUInt16BE(0))) err(`close code ${p.readUInt16BE(0)}`, 'close-code');
        else if (p.length > 2 && !validUtf8(p.subarray(2))) err('a close reason that is not UTF-8', 'utf8', [1007]);
        break; // our close: what follows is not judged
      }
    } else if (f.opcode === 0 && open === null) err('a continuation with no message to continue', 'fragmentation');
    else if (f.opcode !== 0 && open !== null) err('a new data frame inside a fragmented message', 'fragmentation');
    else {
      open ??= { opcode: f.opcode, parts: [] };
      open.parts.push(p);
      if (f.fin) {
        if (open.opcode === 1 && !validUtf8(Buffer.concat(open.parts))) err('a text message that is not UTF-8', 'utf8', [1007]);
        open = null;
      }
    }
    // After a framing error the rest of the stream is noise: only the first such error is judged.
    if (errors.length && errors[errors.length - 1]!.frame === i && (errors[errors.length - 1]!.cls === 'framing' || errors[errors.length - 1]!.cls === 'control')) break;
  }
  for (const e of errors) committed.add(e.cls);
  return { errors, oversizeBefore, committed };
}

// ---- the server's side: a strict decoder ----------------------------------------------------

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The length field was longer than needed. */
  nonMinimal: boolean;
  payload: Buffer;
  /** Offset of the frame's first byte in the bytes after the head. */
  offset: number;
  /** The frame's raw bytes (hex, cut when long). */
  hex: string;
}

/** Every whole frame in `bytes`; a 64-bit length with its top bit set stops the decoding (an error of its own). */
export function decodeServerFrames(bytes: Buffer): { frames: ServerFrame[]; rest: number; hugeLength: boolean } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    const f = readFrameAt(bytes, at);
    if (f === 'huge') return { frames, rest: bytes.length - at, hugeLength: true };
    if (f === 'partial') break;
    frames.push({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, masked: f.masked, nonMinimal: f.lenForm !== 'min', payload: f.payload, offset: at, hex: hexOf(bytes.subarray(at, f.end)) });
    at = f.end;
  }
  return { frames, rest: bytes.length - at, hugeLength: false };
}

// ---- the handshake ---------------------------------------------------------------------------

function headerValues(headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}
const tokens = (v: string | undefined): string[] => (v ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);

/** Why a request is not a valid opening handshake (RFC 6455 §4.2.1), one reason per field; [] when valid. */
export function requestDefects(req: ServiceSession['request']): Array<{ field: string; text: string }> {
  const one = (n: string): string | undefined => headerValues(req.headers, n)[0];
  const out: Array<{ field: string; text: string }> = [];
  if (req.method !== 'GET') out.push({ field: 'method', text: `method ${req.method}` });
  if (req.version !== '1.1') out.push({ field: 'version', text: `HTTP/${req.version}` });
  if (!tokens(one('upgrade')).includes('websocket')) out.push({ field: 'upgrade', text: `Upgrade: ${one('upgrade') ?? '(none)'}` });
  if (!tokens(one('connection')).includes('upgrade')) out.push({ field: 'connection', text: `Connection: ${one('connection') ?? '(none)'}` });
  const key = one('sec-websocket-key');
  if (key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key.trim())) out.push({ field: 'key', text: `Sec-WebSocket-Key: ${key ?? '(none)'}` });
  if (one('sec-websocket-version')?.trim() !== '13') out.push({ field: 'ws-version', text: `Sec-WebSocket-Version: ${one('sec-websocket-version') ?? '(none)'}` });
  return out;
}

function parseHead(head: string): { status: number | null; statusLine: string; headers: Array<[string, string]> } {
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers = lines.slice(1).flatMap((l): Array<[string, string]> => {
    const i = l.indexOf(':');
    return i > 0 ? [[l.slice(0, i).trim(), l.slice(i + 1).trim()]] : [];
  });
  return { status: m ? Number(m[1]) : null, statusLine, headers };
}

// ---- one session's verdict -------------------------------------------------------------------

export interface SessionBytes {
  head: string | null;
  after: Buffer;
  reset: boolean;
  groupSentAt: Array<number | null>;
  arrivals: Array<{ at: number; offset: number }>;
  ourEndAt: number;
  closedAt: number | null;
}

/** Records a violation of `check` (only the first of each); `expectedBy` names the resty deviation that explains it. */
type AddViolation = (check: string, summary: string, evidence: Record<string, unknown>, expectedBy?: string) => void;

/** The server's close frame and when it arrived. */
interface ServerClose {
  frame: ServerFrame;
  at: number;
}

/**
 * The opening handshake (RFC 6455 §4.2.1-4.2.2). A request with a repeated header is not judged
 * (which copy counts is the server's business).
 */
function judgeHandshake(req: ServiceSession['request'], head: ReturnType<typeof parseHead>, responseHead: string, add: AddViolation): void {
  const dup = ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol'].some((n) => headerValues(req.headers, n).length > 1);
  if (dup) return;
  const defects = requestDefects(req);
  if (defects.length) {
    const loose = defects.every((d) => d.field === 'method' || d.field === 'key' || (d.field === 'connection' && (headerValues(req.headers, 'connection')[0] ?? '').toLowerCase().includes('upgrade')));
    add('accepted-invalid-handshake', `101 to an invalid request (${defects.map((d) => d.text).join('; ')})`, { request: requestText(req), response: responseHead }, loose ? 'loose-handshake' : undefined);
  }
  const key = headerValues(req.headers, 'sec-websocket-key')[0];
  const accept = headerValues(head.headers, 'sec-websocket-accept');
  if (key !== undefined && (accept.length !== 1 || accept[0] !== acceptFor(key.trim()))) {
    add('bad-accept', `Sec-WebSocket-Accept ${accept.length ? accept.join(', ') : '(none)'} for key ${key} (want ${acceptFor(key.trim())})`, { response: responseHead });
  }
  const offered = headerValues(req.headers, 'sec-websocket-protocol')[0];
  const chosen = headerValues(head.headers, 'sec-websocket-protocol');
  if (chosen.length && (chosen.length > 1 || !tokens(offered).includes(chosen[0]!.toLowerCase()))) {
    add('subprotocol', `Sec-WebSocket-Protocol: ${chosen.join(', ')} when the client offered ${offered ?? 'none'}`, { response: responseHead }, offered !== undefined && chosen.length === 1 && chosen[0] === offered.trim() ? 'subprotocol-list' : undefined);
  }
}

/** The server's close frame: its length, code and reason (§5.5, §5.5.1, §7.4). */
function judgeCloseFrame(f: ServerFrame, ev: Record<string, unknown>, echoed: (cls: ErrorClass) => string | undefined, add: AddViolation): void {
  if (f.payload.length === 1) add('close-body-1-byte', 'a close frame with a 1-byte body (§5.5.1)', ev);
  if (f.payload.length >= 2) {
    const code = f.payload.readUInt16BE(0);
    if (!validCloseCode(code)) add('invalid-close-code', `close code ${code} (§7.4)`, ev, echoed('close-code'));
    if (f.payload.length > 2 && !validUtf8(f.payload.subarray(2))) add('close-reason-not-utf8', 'a close reason that is not UTF-8 (§5.5.1)', ev, echoed('utf8'));
  }
}

/**
 * Every frame the server sent, in order, up to the first after its close frame: framing, control
 * frames, fragmentation and UTF-8. Returns the server's close frame, if it sent one.
 */
function judgeServerFrames(
  frames: ServerFrame[],
  extensionNegotiated: boolean,
  arrivalOf: (offset: number) => number,
  echoed: (cls: ErrorClass) => string | undefined,
  add: AddViolation,
): ServerClose | null {
  let open: { opcode: number; parts: Buffer[] } | null = null;
  let close: ServerClose | null = null;
  for (const f of frames) {
    const ev = { frame: f.hex, offset: f.offset };
    if (close) {
      add('frame-after-close', `a frame (opcode 0x${f.opcode.toString(16)}) after the server's close frame`, { close: close.frame.hex, ...ev });
      break;
    }
    if (f.masked) add('masked-frame', 'a masked frame from the server (RFC 6455 §5.1)', ev);
    if (f.rsv !== 0 && !extensionNegotiated) add('rsv-without-extension', `RSV bits ${f.rsv} with no extension negotiated (§5.2)`, ev);
    if (f.nonMinimal) add('non-minimal-length', 'a length field longer than needed (§5.2)', ev);
    if ((f.opcode >= 3 && f.opcode <= 7) || f.opcode >= 0xb) {
      add('reserved-opcode', `reserved opcode 0x${f.opcode.toString(16)} (§5.2)`, ev);
      continue;
    }
    if (f.opcode & 8) {
      if (f.payload.length > 125) add('oversize-control-frame', `a control frame of ${f.payload.length} bytes (§5.5)`, ev);
      if (!f.fin) add('fragmented-control-frame', 'a control frame with FIN clear (§5.5)', ev);
      if (f.opcode === 8) {
        close = { frame: f, at: arrivalOf(f.offset) };
        judgeCloseFrame(f, ev, echoed, add);
      }
      continue;
    }
    if (f.opcode === 0 && open === null) {
      add('stray-continuation', 'a continuation frame with no message to continue (§5.4)', ev, echoed('fragmentation'));
      continue;
    }
    if (f.opcode !== 0 && open !== null) add('interleaved-data-frame', 'a new data frame inside a fragmented message (§5.4)', ev, echoed('fragmentation'));
    if (f.opcode !== 0) open = { opcode: f.opcode, parts: [] };
    open!.parts.push(f.payload);
    if (f.fin) {
      const msg = Buffer.concat(open!.parts);
      if (open!.opcode === 1 && !validUtf8(msg)) add('text-not-utf8', 'a text message that is not UTF-8 (§8.1)', { ...ev, message: hexOf(msg) }, echoed('utf8'));
      open = null;
    }
  }
  return close;
}

/**
 * Our first protocol error: a strict server fails the connection with a close frame of the
 * error's code (RFC 6455 §7.1.7, §7.4.1). Not judged when the server had closed (frame or TCP)
 * before the error went out, after a frame over 65535 bytes (a server's limit may have failed the
 * connection first), or when the server reset the connection (the kernel may drop what it sent).
 */
function judgeAnswerToFirstError(
  sent: Array<{ group: number; f: FrameSpec }>,
  errors: ClientError[],
  oversizeBefore: number | null,
  close: ServerClose | null,
  r: SessionBytes,
  add: AddViolation,
): void {
  const first = errors[0];
  const errAt = first ? r.groupSentAt[first.group] : null;
  if (first && errAt !== null && errAt !== undefined && (oversizeBefore === null || oversizeBefore > first.frame) && !(close && close.at < errAt) && !(r.closedAt !== null && r.closedAt < errAt)) {
    const ev = { clientError: first.what, clientFrame: frameHex(sent[first.frame]!.f), wantCodes: first.expect };
    if (close) {
      const code = close.frame.payload.length >= 2 ? close.frame.payload.readUInt16BE(0) : null;
      if (code === null || !first.expect.includes(code)) {
        add(`wrong-close-code-after-${first.cls}`, `closed with ${code ?? 'no code'} after ${first.what} (want ${first.expect.join(' or ')})`, { ...ev, close: close.frame.hex }, UNDETECTED[first.cls]);
      }
    } else if (!r.reset) {
      if (r.closedAt !== null) add(`failed-without-close-after-${first.cls}`, `closed TCP without a close frame after ${first.what}`, ev, 'fail-without-close');
      else add(`no-close-after-${first.cls}`, `neither a close frame nor a TCP close after ${first.what}`, ev, UNDETECTED[first.cls]);
    }
  }
}

/** Judges what the service sent in one session. Violations come back in the order found, one per check. */
export function judgeSession(s: ServiceSession, r: SessionBytes, profile: Profile): ProtocolViolation[] {
  const out: ProtocolViolation[] = [];
  const seen = new Set<string>();
  const add: AddViolation = (check, summary, evidence, expectedBy) => {
    if (seen.has(check)) return;
    seen.add(check);
    out.push({ check, summary, evidence, ...(profile === 'resty' && expectedBy ? { expectedBy } : {}) });
  };
  if (r.head === null) return out;
  const head = parseHead(r.head);
  if (head.status !== 101) return out; // refused: nothing else to judge (a refusal is the server's right)
  judgeHandshake(s.request, head, r.head, add);
  const extensions = headerValues(head.headers, 'sec-websocket-extensions');
  if (extensions.length) add('extension-not-offered', `Sec-WebSocket-Extensions: ${extensions.join(', ')} though none was offered`, { response: r.head });

  const sent = sentFrames(s.traffic, r.groupSentAt);
  const { errors, oversizeBefore, committed } = clientErrors(sent);
  // A violation the original sends only as an echo of the same error of ours is its deviation.
  const echoed = (cls: ErrorClass): string | undefined => (committed.has(cls) ? UNDETECTED[cls] : undefined);
  const { frames, hugeLength } = decodeServerFrames(r.after);
  const arrivalOf = (offset: number): number => {
    let at = r.arrivals[0]?.at ?? 0;
    for (const a of r.arrivals) if (a.offset <= offset) at = a.at;
    return at;
  };
  if (hugeLength) add('length-over-2^63', 'a 64-bit length with its most significant bit set', { after: hexOf(r.after) });
  const close = judgeServerFrames(frames, extensions.length > 0, arrivalOf, echoed, add);
  judgeAnswerToFirstError(sent, errors, oversizeBefore, close, r, add);
  return out;
}

function frameHex(f: FrameSpec): string {
  return hexOf(encodeFrame({ ...f, maskKey: f.mask ? FIXED_MASK_KEY : null, payload: payloadBytes(f.payload) }));
}

export function requestText(req: ServiceSession['request'], path = '/'): string {
  return `${req.method} ${path} HTTP/${req.version}\r\n${req.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}
