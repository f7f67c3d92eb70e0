// permessage-deflate (RFC 7692), an opt-in of the strict side: lua-resty-websocket v0.12 has no
// extensions, so the compat profile never negotiates one. Modelled on ws (lib/permessage-deflate.js,
// lib/extension.js): the Sec-WebSocket-Extensions grammar, the offer and the answer with every
// parameter of RFC 7692 §7, and one raw deflate and one raw inflate context per connection, kept
// across messages (context takeover) or reset after each one (no_context_takeover). Node's zlib
// runs on the libuv thread pool: each direction's work is serialised per connection (order is
// the protocol's) and all connections share a limit on concurrent zlib jobs, as ws does, because
// many concurrent zlib jobs fragment memory badly. Failures are values.
import zlib from 'node:zlib';
import type { StrictChecks } from './profile.js';

export const EXTENSION_NAME = 'permessage-deflate';

export const DEFLATE_ERRORS = {
  /** The option was given in a profile that cannot carry it (compat, or strict without checkFragmentation). */
  needsStrict: 'permessage-deflate needs the strict profile (checkFragmentation)',
  /** A bad option value: the prefix of the message that names it. */
  badOption: 'bad permessage-deflate option: ',
  /** The client fails a response whose extensions it cannot accept: the prefix of the reason. */
  badResponse: 'bad "sec-websocket-extensions" response header: ',
  /** The server answers 400 to a header that does not parse. */
  badRequest: 'bad "sec-websocket-extensions" request header',
  rsv1Control: 'RSV1 set on a control frame',
  rsv1Continuation: 'RSV1 set on a continuation frame',
  /** The prefix of zlib's own message for compressed data it cannot inflate. */
  inflate: 'failed to inflate: ',
  /** The prefix of zlib's own message for a deflate failure. */
  deflate: 'failed to deflate: ',
  tooLong: 'inflated message too long',
  released: 'compression context released',
} as const;

/** The user's side of the option: `true` for the defaults, or the settings below. */
export interface PerMessageDeflateOptions {
  /**
   * Server: true always answers server_no_context_takeover; false declines offers that ask for
   * it; absent accepts what the offer asks. Client: true asks for it.
   */
  serverNoContextTakeover?: boolean;
  /** Server: true answers client_no_context_takeover. Client: true offers it. */
  clientNoContextTakeover?: boolean;
  /**
   * The server's LZ77 window, 8-15 bits. Server: a number caps the window it compresses with (the
   * smaller of it and the offer's); false declines offers that ask for a limit. Client: a number
   * asks the server for it.
   */
  serverMaxWindowBits?: number | boolean;
  /**
   * The client's window, 8-15 bits. Server: a number makes the client use at most it (offers that
   * do not allow a limit are declined); false never sends one. Client: a number offers it as a
   * limit, true or absent offers the bare parameter (the server may pick), false leaves it out.
   */
  clientMaxWindowBits?: number | boolean;
  /** Messages shorter than this many bytes are sent uncompressed. Default 1024 (ws's). */
  threshold?: number;
  /** zlib compression level 0-9. Default zlib's (6). */
  level?: number;
  /** zlib memLevel 1-9. Default 8 (zlib's). */
  memLevel?: number;
  /**
   * The most bytes one received message may inflate to (all its fragments together); above it
   * the connection fails with 1009. Default the endpoint's max_recv_len. Inflating stops there:
   * memory stays bounded whatever the compression ratio.
   */
  maxMessageLen?: number;
}

export type PerMessageDeflateOption = boolean | PerMessageDeflateOptions | undefined;

/** The option resolved: defaults filled in, values checked. */
export interface DeflateSettings {
  serverNoContextTakeover: boolean | undefined;
  clientNoContextTakeover: boolean | undefined;
  serverMaxWindowBits: number | boolean | undefined;
  clientMaxWindowBits: number | boolean | undefined;
  threshold: number;
  level: number;
  memLevel: number;
  maxMessageLen: number;
}

/** What was agreed for one connection (RFC 7692 §7.1): windows in bits, 15 when not limited. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

export type SettingsResult = { settings: DeflateSettings | null; err: null } | { settings: null; err: string };

const isWindowBits = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 8 && v <= 15;

/**
 * Checks the option against the profile. Absent or false: no extension (settings null). The
 * option needs strict checkFragmentation: inflating follows the message a continuation frame
 * belongs to, so it rests on RFC 6455 §5.4's message order, which compat does not check.
 */
export function resolveDeflateOption(
  opt: PerMessageDeflateOption, checks: Pick<StrictChecks, 'checkFragmentation'>, maxRecvLen: number,
): SettingsResult {
  if (opt === undefined || opt === false) return { settings: null, err: null };
  if (!checks.checkFragmentation) return { settings: null, err: DEFLATE_ERRORS.needsStrict };
  const o: PerMessageDeflateOptions = opt === true ? {} : opt;
  if (typeof o !== 'object' || o === null) return { settings: null, err: DEFLATE_ERRORS.badOption + 'not true or an object' };
  const known = new Set(['serverNoContextTakeover', 'clientNoContextTakeover', 'serverMaxWindowBits', 'clientMaxWindowBits', 'threshold', 'level', 'memLevel', 'maxMessageLen']);
  for (const k of Object.keys(o)) if (!known.has(k)) return { settings: null, err: `${DEFLATE_ERRORS.badOption}unknown option ${k}` };
  for (const k of ['serverNoContextTakeover', 'clientNoContextTakeover'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') return { settings: null, err: `${DEFLATE_ERRORS.badOption}${k} must be a boolean` };
  }
  for (const k of ['serverMaxWindowBits', 'clientMaxWindowBits'] as const) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'boolean' && !isWindowBits(v)) return { settings: null, err: `${DEFLATE_ERRORS.badOption}${k} must be a boolean or an integer 8-15` };
  }
  const int = (k: 'threshold' | 'level' | 'memLevel' | 'maxMessageLen', lo: number, hi: number, dflt: number): number | string => {
    const v = o[k];
    if (v === undefined) return dflt;
    return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : `${DEFLATE_ERRORS.badOption}${k} must be an integer ${lo}-${hi}`;
  };
  const threshold = int('threshold', 0, Number.MAX_SAFE_INTEGER, 1024);
  const level = int('level', 0, 9, zlib.constants.Z_DEFAULT_COMPRESSION === -1 ? 6 : zlib.constants.Z_DEFAULT_COMPRESSION);
  const memLevel = int('memLevel', 1, 9, 8);
  const maxMessageLen = int('maxMessageLen', 1, Number.MAX_SAFE_INTEGER, Math.max(1, maxRecvLen));
  for (const v of [threshold, level, memLevel, maxMessageLen]) if (typeof v === 'string') return { settings: null, err: v };
  return {
    settings: {
      serverNoContextTakeover: o.serverNoContextTakeover, clientNoContextTakeover: o.clientNoContextTakeover,
      serverMaxWindowBits: o.serverMaxWindowBits, clientMaxWindowBits: o.clientMaxWindowBits,
      threshold: threshold as number, level: level as number, memLevel: memLevel as number, maxMessageLen: maxMessageLen as number,
    },
    err: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Sec-WebSocket-Extensions (RFC 6455 §9.1): extension *( ";" param ), comma-separated, a param
// `token [ "=" ( token | quoted-string ) ]`, with optional whitespace around the separators.

/** One element of the header: a name and its parameters in order (repeats kept: they are errors). */
export interface ExtensionElement {
  name: string;
  params: Array<[string, string | true]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses the values of every Sec-WebSocket-Extensions line (joined with ","); null when one does not parse. */
export function parseExtensions(values: readonly string[]): ExtensionElement[] | null {
  const out: ExtensionElement[] = [];
  const s = values.join(',');
  let i = 0;
  const ows = (): void => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  const token = (): string | null => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(s.slice(i));
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    ows();
    // Empty list elements (",,") are allowed by RFC 9110 §5.6.1's list rule.
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (i >= s.length) break;
    const name = token();
    if (name === null) return null;
    const el: ExtensionElement = { name, params: [] };
    ows();
    while (s[i] === ';') {
      i++;
      ows();
      const key = token();
      if (key === null) return null;
      ows();
      let value: string | true = true;
      if (s[i] === '=') {
        i++;
        ows();
        if (s[i] === '"') {
          const m = /^"((?:[^"\\]|\\.)*)"/.exec(s.slice(i));
          if (!m) return null;
          i += m[0].length;
          value = m[1]!.replace(/\\(.)/g, '$1');
          // RFC 6455 §9.1: a quoted value must still be a token once unquoted.
          if (!TOKEN.test(value)) return null;
        } else {
          const v = token();
          if (v === null) return null;
          value = v;
        }
        ows();
      }
      el.params.push([key, value]);
    }
    out.push(el);
    if (i >= s.length) break;
    if (s[i] !== ',') return null;
    i++;
  }
  return out;
}

/** The parameters of one permessage-deflate element, checked (RFC 7692 §7): duplicates, unknown names, values. */
interface OfferedParams {
  server_no_context_takeover?: true;
  client_no_context_takeover?: true;
  server_max_window_bits?: number;
  /** true: the bare parameter (allowed only in an offer). */
  client_max_window_bits?: number | true;
}

function checkParams(el: ExtensionElement, inOffer: boolean): { params: OfferedParams; err: null } | { params: null; err: string } {
  const params: OfferedParams = {};
  const seen = new Set<string>();
  for (const [key, value] of el.params) {
    if (seen.has(key)) return { params: null, err: `duplicate parameter "${key}"` };
    seen.add(key);
    switch (key) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return { params: null, err: `invalid value for parameter "${key}": ${value}` };
        params[key] = true;
        break;
      case 'server_max_window_bits':
      case 'client_max_window_bits': {
        if (value === true) {
          if (key === 'client_max_window_bits' && inOffer) {
            params.client_max_window_bits = true;
            break;
          }
          return { params: null, err: `invalid value for parameter "${key}": no value` };
        }
        // RFC 7692 §7.1.2: 1*DIGIT without leading zeros, 8 to 15.
        if (!/^(8|9|1[0-5])$/.test(value)) return { params: null, err: `invalid value for parameter "${key}": ${value}` };
        params[key] = Number(value);
        break;
      }
      default:
        return { params: null, err: `unknown parameter "${key}"` };
    }
  }
  return { params, err: null };
}

function formatParams(p: DeflateParams, withServerBits: boolean, withClientBits: boolean): string {
  let v = EXTENSION_NAME;
  if (p.serverNoContextTakeover) v += '; server_no_context_takeover';
  if (p.clientNoContextTakeover) v += '; client_no_context_takeover';
  if (withServerBits) v += `; server_max_window_bits=${p.serverMaxWindowBits}`;
  if (withClientBits) v += `; client_max_window_bits=${p.clientMaxWindowBits}`;
  return v;
}

export type ServerNegotiation =
  | { ok: true; params: DeflateParams | null; /** The response header value, when an offer was accepted. */ response: string | null }
  | { ok: false; err: string };

/**
 * The server's answer to the request's Sec-WebSocket-Extensions lines (RFC 7692 §5, §7): the
 * first permessage-deflate offer it can accept, in the client's order of preference. Offers with
 * an unknown or repeated parameter, or a bad value, are declined (§5 "MUST decline"), as are
 * offers the settings cannot meet; declining every offer means no extension. A header that does
 * not parse fails the handshake (ws answers it with 400 too).
 */
export function negotiateAsServer(values: readonly string[], s: DeflateSettings): ServerNegotiation {
  if (values.length === 0) return { ok: true, params: null, response: null };
  const elements = parseExtensions(values);
  if (elements === null) return { ok: false, err: DEFLATE_ERRORS.badRequest };
  for (const el of elements) {
    if (el.name !== EXTENSION_NAME) continue;
    const checked = checkParams(el, true);
    if (checked.err !== null) continue;
    const offer = checked.params;
    if (s.serverNoContextTakeover === false && offer.server_no_context_takeover) continue;
    if (offer.server_max_window_bits !== undefined && s.serverMaxWindowBits === false) continue;
    if (typeof s.clientMaxWindowBits === 'number' && offer.client_max_window_bits === undefined) continue;
    const ownServerBits = typeof s.serverMaxWindowBits === 'number' ? s.serverMaxWindowBits : 15;
    const serverBits = Math.min(ownServerBits, offer.server_max_window_bits ?? 15);
    // The answer carries server_max_window_bits when the offer asked for a limit or the settings set one.
    const withServerBits = offer.server_max_window_bits !== undefined || typeof s.serverMaxWindowBits === 'number';
    const offeredClientBits = offer.client_max_window_bits;
    let clientBits = typeof offeredClientBits === 'number' ? offeredClientBits : 15;
    let withClientBits = typeof offeredClientBits === 'number';
    if (typeof s.clientMaxWindowBits === 'number') {
      clientBits = Math.min(clientBits, s.clientMaxWindowBits);
      withClientBits = true;
    } else if (s.clientMaxWindowBits === false && offeredClientBits === true) {
      withClientBits = false;
    }
    const params: DeflateParams = {
      serverNoContextTakeover: s.serverNoContextTakeover === true || offer.server_no_context_takeover === true,
      clientNoContextTakeover: s.clientNoContextTakeover === true || offer.client_no_context_takeover === true,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    };
    return { ok: true, params, response: formatParams(params, withServerBits, withClientBits) };
  }
  return { ok: true, params: null, response: null };
}

/** The client's offer (ws's): the settings that ask for something, and a bare client_max_window_bits unless told not to. */
export function offerAsClient(s: DeflateSettings): string {
  let v = EXTENSION_NAME;
  if (s.serverNoContextTakeover === true) v += '; server_no_context_takeover';
  if (s.clientNoContextTakeover === true) v += '; client_no_context_takeover';
  if (typeof s.serverMaxWindowBits === 'number') v += `; server_max_window_bits=${s.serverMaxWindowBits}`;
  if (typeof s.clientMaxWindowBits === 'number') v += `; client_max_window_bits=${s.clientMaxWindowBits}`;
  else if (s.clientMaxWindowBits !== false) v += '; client_max_window_bits';
  return v;
}

export type ClientNegotiation = { params: DeflateParams | null; err: null } | { params: null; err: string };

/**
 * The client's check of the response (RFC 7692 §5, §7.1): no extension is fine (the server
 * declined); otherwise exactly one permessage-deflate element, no other extension (none was
 * offered), known parameters once each with valid values, and nothing the offer did not allow:
 * client_max_window_bits only when offered and never above an offered limit, server_max_window_bits
 * never above the limit asked for. Anything else fails the connection.
 */
export function negotiateAsClient(values: readonly string[], s: DeflateSettings): ClientNegotiation {
  if (values.length === 0) return { params: null, err: null };
  const bad = (why: string): ClientNegotiation => ({ params: null, err: DEFLATE_ERRORS.badResponse + why });
  const elements = parseExtensions(values);
  if (elements === null) return bad(`does not parse: ${values.join(', ')}`);
  if (elements.length === 0) return { params: null, err: null };
  const other = elements.find((e) => e.name !== EXTENSION_NAME);
  if (other) return bad(`extension not offered: ${other.name}`);
  if (elements.length > 1) return bad('more than one permessage-deflate');
  const checked = checkParams(elements[0]!, false);
  if (checked.err !== null) return bad(checked.err);
  const p = checked.params;
  const offeredClientBits = typeof s.clientMaxWindowBits === 'number' ? s.clientMaxWindowBits : s.clientMaxWindowBits === false ? null : true;
  if (p.client_max_window_bits !== undefined) {
    if (offeredClientBits === null) return bad('client_max_window_bits was not offered');
    if (typeof offeredClientBits === 'number' && (p.client_max_window_bits as number) > offeredClientBits) {
      return bad(`client_max_window_bits=${p.client_max_window_bits} is above the offered ${offeredClientBits}`);
    }
  }
  if (typeof s.serverMaxWindowBits === 'number' && p.server_max_window_bits !== undefined && p.server_max_window_bits > s.serverMaxWindowBits) {
    return bad(`server_max_window_bits=${p.server_max_window_bits} is above the requested ${s.serverMaxWindowBits}`);
  }
  if (s.serverNoContextTakeover === true && !p.server_no_context_takeover) {
    // §7.1.1.1: a server that accepts the offer must include it; a response without it is not an answer to this offer.
    return bad('server_no_context_takeover was requested but not answered');
  }
  const clientBits = typeof p.client_max_window_bits === 'number' ? p.client_max_window_bits : typeof offeredClientBits === 'number' ? offeredClientBits : 15;
  return {
    params: {
      serverNoContextTakeover: p.server_no_context_takeover === true,
      clientNoContextTakeover: p.client_no_context_takeover === true || s.clientNoContextTakeover === true,
      serverMaxWindowBits: p.server_max_window_bits ?? 15,
      clientMaxWindowBits: clientBits,
    },
    err: null,
  };
}

// ---------------------------------------------------------------------------------------------
// The compression contexts.

/** What the sender of a message appends to its compressed data and strips again (RFC 7692 §7.2.1). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * zlib refuses an 8-bit window for raw deflate (zlib 1.2.9 on); Node turns it into 9. A 9-bit
 * deflate never reaches back further than 2^9 - 262 = 250 bytes (zlib keeps MIN_LOOKAHEAD of the
 * window free), so its output fits a peer's 256-byte window: 8 is accepted and offered, and means 9
 * in our deflate. Inflate windows are at least 9 bits too: a larger inflate window reads all that a
 * smaller one reads, and 9 is the size a zlib peer deflates with when told 8.
 */
export function zlibWindowBits(bits: number): number {
  return Math.max(9, bits);
}

/** A deflate or inflate failure, with the close code it fails the connection with. */
export interface DeflateFailure {
  readonly err: string;
  readonly closeCode: 1007 | 1009 | 1011;
}

export function isDeflateFailure(v: Buffer | DeflateFailure): v is DeflateFailure {
  return !Buffer.isBuffer(v);
}

/** Runs at most `concurrency` jobs at a time, in the order they came (ws's Limiter). */
export class Limiter {
  private running = 0;
  private readonly jobs: Array<() => void> = [];
  constructor(readonly concurrency: number) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        job().then(resolve, reject).finally(() => {
          this.running--;
          this.jobs.shift()?.();
        });
      };
      if (this.running < this.concurrency) start();
      else this.jobs.push(start);
    });
  }
}

/** Process-wide, like ws's: it is the shared thread pool that many concurrent zlib jobs strain. */
export const zlibLimiter = new Limiter(10);

const RELEASED: DeflateFailure = Object.freeze({ err: DEFLATE_ERRORS.released, closeCode: 1011 });
const TOO_LONG: DeflateFailure = Object.freeze({ err: DEFLATE_ERRORS.tooLong, closeCode: 1009 });

type Collecting = { chunks: Buffer[]; total: number; limit: number; failure: DeflateFailure | null };

/**
 * One connection's permessage-deflate state: the agreed parameters and the two zlib contexts,
 * each made at its first use. `isServer` says which parameters apply to which direction.
 */
export class PerMessageDeflate {
  readonly params: DeflateParams;
  readonly threshold: number;
  readonly maxMessageLen: number;
  private readonly isServer: boolean;
  private readonly level: number;
  private readonly memLevel: number;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  /** The output of the inflate in progress, if any (its 'data' listener fills it). */
  private collecting: Collecting | null = null;
  private deflated: Buffer[] = [];
  private deflatedLen = 0;
  // Each direction's jobs in order: a context is a stream, and messages must not overtake.
  private inflateTail: Promise<unknown> = Promise.resolve();
  private deflateTail: Promise<unknown> = Promise.resolve();
  private released = false;

  constructor(params: DeflateParams, settings: Pick<DeflateSettings, 'threshold' | 'level' | 'memLevel' | 'maxMessageLen'>, isServer: boolean) {
    this.params = params;
    this.threshold = settings.threshold;
    this.maxMessageLen = settings.maxMessageLen;
    this.level = settings.level;
    this.memLevel = settings.memLevel;
    this.isServer = isServer;
  }

  /** The window and context rule of what this endpoint receives (the peer's side of the parameters). */
  private get peer(): { bits: number; noContextTakeover: boolean } {
    const p = this.params;
    return this.isServer ? { bits: p.clientMaxWindowBits, noContextTakeover: p.clientNoContextTakeover } : { bits: p.serverMaxWindowBits, noContextTakeover: p.serverNoContextTakeover };
  }

  private get own(): { bits: number; noContextTakeover: boolean } {
    const p = this.params;
    return this.isServer ? { bits: p.serverMaxWindowBits, noContextTakeover: p.serverNoContextTakeover } : { bits: p.clientMaxWindowBits, noContextTakeover: p.clientNoContextTakeover };
  }

  /**
   * Inflates one frame's payload of a compressed message; `fin` ends the message (the trailer is
   * appended and, without context takeover, the context resets). At most `limit` bytes come out:
   * past it inflating stops and the result is "inflated message too long" (1009).
   */
  inflate(data: Buffer, fin: boolean, limit: number): Promise<Buffer | DeflateFailure> {
    const job = this.inflateTail.then(() => zlibLimiter.run(() => this.inflateNow(data, fin, limit)));
    this.inflateTail = job;
    return job;
  }

  private makeInflater(): zlib.InflateRaw {
    const s = zlib.createInflateRaw({ windowBits: zlibWindowBits(this.peer.bits) });
    s.on('data', (chunk: Buffer) => {
      const c = this.collecting;
      if (c === null || c.failure !== null) return;
      c.total += chunk.length;
      if (c.total <= c.limit) {
        c.chunks.push(chunk);
        return;
      }
      // Stop inflating now: the rest of a bomb is never produced. reset() (not close()) so the
      // pending flush callback still runs, as ws does.
      c.failure = TOO_LONG;
      c.chunks = [];
      s.reset();
    });
    s.on('error', (e: Error) => {
      // zlib closes the handle itself after an error; the next message would need a new context,
      // but the connection fails anyway.
      if (this.collecting && this.collecting.failure === null) this.collecting.failure = { err: DEFLATE_ERRORS.inflate + e.message, closeCode: 1007 };
      if (this.inflater === s) this.inflater = null;
      this.finishInflate?.();
    });
    return s;
  }

  /** Settles the inflate or deflate job in progress, if any (release() calls them). */
  private finishInflate: (() => void) | null = null;
  private finishDeflate: (() => void) | null = null;

  private inflateNow(data: Buffer, fin: boolean, limit: number): Promise<Buffer | DeflateFailure> {
    if (this.released) return Promise.resolve(RELEASED);
    const s = (this.inflater ??= this.makeInflater());
    const c: Collecting = { chunks: [], total: 0, limit, failure: null };
    this.collecting = c;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.collecting = null;
        this.finishInflate = null;
        if (this.released) return resolve(RELEASED);
        if (c.failure !== null) {
          if (this.inflater === s) this.inflater = null;
          s.close();
          return resolve(c.failure);
        }
        if (s.readableEnded) {
          // The message ended its DEFLATE stream with a BFINAL block (RFC 7692 §7.2.3.4): zlib
          // takes nothing more on this context, so the next message starts a new one (as ws does).
          if (this.inflater === s) this.inflater = null;
          s.close();
        } else if (fin && this.peer.noContextTakeover) s.reset();
        resolve(c.chunks.length === 1 ? c.chunks[0]! : Buffer.concat(c.chunks, c.total));
      };
      this.finishInflate = finish;
      s.write(data);
      if (fin) s.write(TRAILER);
      s.flush(finish);
    });
  }

  /**
   * Compresses one whole message: its deflate output up to a sync flush, without the trailing
   * 00 00 ff ff (RFC 7692 §7.2.1); without context takeover the context then resets.
   */
  deflate(data: Buffer): Promise<Buffer | DeflateFailure> {
    const job = this.deflateTail.then(() => zlibLimiter.run(() => this.deflateNow(data)));
    this.deflateTail = job;
    return job;
  }

  private deflateNow(data: Buffer): Promise<Buffer | DeflateFailure> {
    if (this.released) return Promise.resolve(RELEASED);
    let s = this.deflater;
    if (s === null) {
      s = zlib.createDeflateRaw({ windowBits: zlibWindowBits(this.own.bits), level: this.level, memLevel: this.memLevel });
      s.on('data', (chunk: Buffer) => {
        this.deflated.push(chunk);
        this.deflatedLen += chunk.length;
      });
      this.deflater = s;
    }
    const stream = s;
    return new Promise((resolve) => {
      let failed: DeflateFailure | null = null;
      const onError = (e: Error): void => {
        failed = { err: DEFLATE_ERRORS.deflate + e.message, closeCode: 1011 };
        if (this.deflater === stream) this.deflater = null;
        this.finishDeflate = null;
        resolve(failed);
      };
      // release() settles the job: a flush whose handle was closed under it may never call back.
      this.finishDeflate = () => resolve(RELEASED);
      stream.once('error', onError);
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.removeListener('error', onError);
        this.finishDeflate = null;
        if (failed !== null) return;
        if (this.released) return resolve(RELEASED);
        const out = Buffer.concat(this.deflated, this.deflatedLen);
        this.deflated = [];
        this.deflatedLen = 0;
        if (this.own.noContextTakeover) stream.reset();
        // A sync flush always ends with the empty stored block 00 00 ff ff.
        resolve(out.length >= 4 && out.subarray(out.length - 4).equals(TRAILER) ? out.subarray(0, out.length - 4) : out);
      });
    });
  }

  /** Frees both zlib contexts; work still queued resolves as "compression context released". */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.inflater?.close();
    this.inflater = null;
    this.deflater?.close();
    this.deflater = null;
    this.deflated = [];
    this.collecting = null;
    // A flush whose handle was closed under it may never call back: settle it here.
    this.finishInflate?.();
    this.finishDeflate?.();
    this.finishDeflate = null;
  }

  /** Whether release() has run. */
  get isReleased(): boolean {
    return this.released;
  }
}
