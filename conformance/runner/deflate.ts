// permessage-deflate (RFC 7692) on our side of a conformance connection, as Autobahn|Testsuite's
// fuzzer does it (autobahn/websocket/compress_deflate.py): the client's offers and the server's
// accept per case (13.x vary them), the parameters both sides then use, and a message codec on
// Node's zlib raw deflate.
//
// The codec is synchronous, so the endpoint's record stays an ordered, event-driven log: one
// message in, one message out, no zlib stream whose callbacks could reorder a close behind a
// message. Context takeover is kept by giving zlib the last 2^window_bits bytes of the direction's
// plain-text history as a preset dictionary: exactly the window a context-keeping peer holds, so a
// back-reference into earlier messages decodes (and one beyond the negotiated window fails, as
// Autobahn's decompressobj(-window_bits) fails it).
import zlib from 'node:zlib';

const EXTENSION = 'permessage-deflate';
/** Autobahn's WINDOW_SIZE_PERMISSIBLE_VALUES. */
const WINDOW_BITS = [9, 10, 11, 12, 13, 14, 15];
const DEFAULT_WINDOW_BITS = 15;
const MAX_HISTORY = 1 << DEFAULT_WINDOW_BITS;
/** RFC 7692 §7.2.1: the sender strips these four octets, the receiver appends them. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A client's offer, Autobahn's PerMessageDeflateOffer (the fields have its meaning and defaults). */
export interface DeflateOffer {
  /** Offer carries client_no_context_takeover (the client will honour it when asked). */
  acceptNoContextTakeover: boolean;
  /** Offer carries client_max_window_bits (the server may set the client's window). */
  acceptMaxWindowBits: boolean;
  /** server_no_context_takeover: the client asks the server not to keep its context. */
  requestNoContextTakeover: boolean;
  /** server_max_window_bits=N (0: not asked). */
  requestMaxWindowBits: number;
}

/** PerMessageDeflateOffer(): the default offer of 12.x and 13.1. */
export function deflateOffer(o: Partial<DeflateOffer> = {}): DeflateOffer {
  return { acceptNoContextTakeover: true, acceptMaxWindowBits: true, requestNoContextTakeover: false, requestMaxWindowBits: 0, ...o };
}

/** How a server answers an offer it accepts (PerMessageDeflateOfferAccept). */
export interface DeflateAccept {
  offer: DeflateOffer;
  /** client_no_context_takeover in the response. */
  requestNoContextTakeover: boolean;
  /** client_max_window_bits=N in the response (0: not set). */
  requestMaxWindowBits: number;
}

/** The parameters in force once negotiated (PerMessageDeflate): 0 window bits is already 15 here. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** What a case asks of the negotiation, for either role of ours. */
export interface DeflateNegotiation {
  /** What we offer when we are the client (server mode), in order. */
  offers: readonly DeflateOffer[];
  /** What we accept when we are the server (client mode): the testee's offers, in order -> accept or null. */
  accept(offers: readonly DeflateOffer[]): DeflateAccept | null;
  /** Autobahn's docstring of the accept, for the report: e.g. "[(True, 9), (True, 0), (False, 0)]". */
  acceptDescription: string;
}

/** Sec-WebSocket-Extensions text of one offer (get_extension_string). */
export function offerString(o: DeflateOffer): string {
  let s = EXTENSION;
  if (o.acceptNoContextTakeover) s += '; client_no_context_takeover';
  if (o.acceptMaxWindowBits) s += '; client_max_window_bits';
  if (o.requestNoContextTakeover) s += '; server_no_context_takeover';
  if (o.requestMaxWindowBits !== 0) s += `; server_max_window_bits=${o.requestMaxWindowBits}`;
  return s;
}

/** Sec-WebSocket-Extensions text of the server's response to an accepted offer. */
export function acceptString(a: DeflateAccept): string {
  let s = EXTENSION;
  if (a.offer.requestNoContextTakeover) s += '; server_no_context_takeover';
  if (a.offer.requestMaxWindowBits !== 0) s += `; server_max_window_bits=${a.offer.requestMaxWindowBits}`;
  if (a.requestNoContextTakeover) s += '; client_no_context_takeover';
  if (a.requestMaxWindowBits !== 0) s += `; client_max_window_bits=${a.requestMaxWindowBits}`;
  return s;
}

/** The server's parameters after accepting (create_from_offer_accept). */
export function paramsFromAccept(a: DeflateAccept): DeflateParams {
  return {
    serverNoContextTakeover: a.offer.requestNoContextTakeover,
    clientNoContextTakeover: a.requestNoContextTakeover,
    serverMaxWindowBits: a.offer.requestMaxWindowBits || DEFAULT_WINDOW_BITS,
    clientMaxWindowBits: a.requestMaxWindowBits || DEFAULT_WINDOW_BITS,
  };
}

type ExtensionParams = Record<string, string | true>;

/**
 * A Sec-WebSocket-Extensions value as [name, params] (RFC 6455 §9.1 grammar; quoted values
 * unquoted). Throws on a parameter given twice, as Autobahn's parsers do.
 */
export function parseExtensions(header: string): Array<[string, ExtensionParams]> {
  const out: Array<[string, ExtensionParams]> = [];
  for (const ext of header.split(',')) {
    const [name, ...rest] = ext.split(';').map((s) => s.trim());
    if (!name) continue;
    const params: ExtensionParams = {};
    for (const p of rest) {
      if (!p) continue;
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? true : p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key in params) throw new Error(`extension parameter ${key} given twice`);
      params[key] = value;
    }
    out.push([name.toLowerCase(), params]);
  }
  return out;
}

function windowBits(p: string, v: string | true): number {
  const n = v === true ? NaN : Number(v);
  if (!WINDOW_BITS.includes(n) || !/^\d+$/.test(String(v))) throw new Error(`illegal value ${String(v)} for ${p}`);
  return n;
}

/** The testee's permessage-deflate offers (PerMessageDeflateOffer.parse); an illegal offer throws. */
export function parseOffers(header: string): DeflateOffer[] {
  return parseExtensions(header).filter(([n]) => n === EXTENSION).map(([, params]) => {
    // Autobahn's parse defaults: acceptNoContextTakeover is true even when the offer does not say so.
    const o = deflateOffer({ acceptMaxWindowBits: false });
    for (const [p, v] of Object.entries(params)) {
      if (p === 'client_max_window_bits') {
        if (v !== true) windowBits(p, v);
        o.acceptMaxWindowBits = true;
      } else if (p === 'client_no_context_takeover' && v === true) o.acceptNoContextTakeover = true;
      else if (p === 'server_max_window_bits') o.requestMaxWindowBits = windowBits(p, v);
      else if (p === 'server_no_context_takeover' && v === true) o.requestNoContextTakeover = true;
      else throw new Error(`illegal extension parameter ${p}${v === true ? '' : `=${v}`}`);
    }
    return o;
  });
}

/**
 * The client's parameters from the server's response (PerMessageDeflateResponse.parse, accepted as
 * is): null when the response has no permessage-deflate. An illegal response, or an extension we
 * did not offer, throws (the handshake fails, as Autobahn's does).
 */
export function paramsFromResponse(header: string | null): DeflateParams | null {
  if (header === null || header.trim() === '') return null;
  const exts = parseExtensions(header);
  const other = exts.find(([n]) => n !== EXTENSION);
  if (other) throw new Error(`server answered with extension ${other[0]}, which was not offered`);
  if (exts.length === 0) return null;
  if (exts.length > 1) throw new Error('server answered with permessage-deflate twice');
  const r: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: DEFAULT_WINDOW_BITS, clientMaxWindowBits: DEFAULT_WINDOW_BITS };
  for (const [p, v] of Object.entries(exts[0]![1])) {
    if (p === 'client_max_window_bits') r.clientMaxWindowBits = windowBits(p, v);
    else if (p === 'client_no_context_takeover' && v === true) r.clientNoContextTakeover = true;
    else if (p === 'server_max_window_bits') r.serverMaxWindowBits = windowBits(p, v);
    else if (p === 'server_no_context_takeover' && v === true) r.serverNoContextTakeover = true;
    else throw new Error(`illegal extension parameter ${p}${v === true ? '' : `=${v}`}`);
  }
  return r;
}

/** One direction's deflate state: its window and whether it keeps context between messages. */
class Direction {
  private history = Buffer.alloc(0);
  constructor(readonly windowBits: number, readonly noContextTakeover: boolean) {}

  /** zlib options for the next message: the window, and the history as preset dictionary when context is kept. */
  options(): zlib.ZlibOptions {
    const opts: zlib.ZlibOptions = { windowBits: this.windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (!this.noContextTakeover && this.history.length > 0) opts.dictionary = this.history.subarray(-(1 << this.windowBits));
    return opts;
  }

  /** Remembers a message's plain text as the window the next message may refer back into. */
  remember(plain: Buffer): void {
    if (this.noContextTakeover) return;
    this.history = plain.length >= MAX_HISTORY
      ? Buffer.from(plain.subarray(-MAX_HISTORY))
      : Buffer.concat([this.history, plain]).subarray(-MAX_HISTORY);
  }
}

/** The negotiated codec of one connection: what we send and what we receive, each with its own context. */
export class MessageCodec {
  readonly params: DeflateParams;
  private readonly out: Direction;
  private readonly in: Direction;

  constructor(params: DeflateParams, isServer: boolean) {
    this.params = params;
    const server = new Direction(params.serverMaxWindowBits, params.serverNoContextTakeover);
    const client = new Direction(params.clientMaxWindowBits, params.clientNoContextTakeover);
    this.out = isServer ? server : client;
    this.in = isServer ? client : server;
  }

  /** A message's payload as sent: raw deflate, sync-flushed, the trailing 00 00 ff ff stripped. */
  compress(plain: Buffer): Buffer {
    const z = zlib.deflateRawSync(plain, this.out.options());
    this.out.remember(plain);
    return z.subarray(0, z.length - TRAILER.length);
  }

  /** A compressed message's payload (all its frames), inflated within the negotiated window. Throws on bad data. */
  decompress(data: Buffer): Buffer {
    const plain = zlib.inflateRawSync(Buffer.concat([data, TRAILER]), this.in.options());
    this.in.remember(plain);
    return plain;
  }
}

/**
 * Frame boundaries in a byte stream, to take RSV1 off each frame head before the frame decoder
 * (impl's, which refuses every RSV bit, as RFC 6455 requires without an extension) sees it, and to
 * hand the bit to the endpoint in frame order. Only RSV1 is taken: RSV2/RSV3 still fail the
 * connection. Used only on a connection that negotiated permessage-deflate.
 */
export class Rsv1Splitter {
  /** RSV1 of each frame head passed on, in order; the endpoint shifts one per decoded frame. */
  readonly rsv1: boolean[] = [];
  private head = Buffer.alloc(0);
  /** Payload (and mask) octets of the current frame still to pass. */
  private skip = 0;

  /** Clears RSV1 in the frame heads within `d` (owned), recording each. */
  push(d: Buffer): void {
    let at = 0;
    while (at < d.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, d.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      if (this.head.length === 0) {
        const b0 = d[at]!;
        this.rsv1.push((b0 & 0x40) !== 0);
        d[at] = b0 & ~0x40;
      }
      // Gather the head (2 octets, the extended length, the mask) to learn the payload length.
      this.head = Buffer.concat([this.head, d.subarray(at, at + 1)]);
      at++;
      const len = this.headLength();
      if (len !== null) {
        this.skip = len;
        this.head = Buffer.alloc(0);
      }
    }
  }

  /** The payload + mask octets that follow a complete head, or null while the head is incomplete. */
  private headLength(): number | null {
    const h = this.head;
    if (h.length < 2) return null;
    const masked = (h[1]! & 0x80) !== 0;
    const l7 = h[1]! & 0x7f;
    const ext = l7 === 126 ? 2 : l7 === 127 ? 8 : 0;
    const need = 2 + ext + (masked ? 4 : 0);
    if (h.length < need) return null;
    const len = ext === 0 ? l7 : ext === 2 ? h.readUInt16BE(2) : h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6);
    return len;
  }
}
