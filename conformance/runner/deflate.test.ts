// permessage-deflate on our side of the conformance runner: Autobahn's offer/accept strings for the
// 13.x parameter sets, the codec against Node's streaming zlib (the way ws and browsers compress),
// the window and context rules, RSV1 framing, the generated data sets, and the 12.x verdicts on
// testees that echo wrongly or do not negotiate the extension.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { DATA_SET_SIZES, DEFLATE_DATA_SETS } from '../cases/deflate-data.js';
import { selectCases } from '../cases/index.js';
import { MUST_PASS, runConformance, runProblems } from '../index.js';
import { MessageCodec, Rsv1Splitter, acceptString, offerString, paramsFromAccept, paramsFromResponse, parseOffers, type DeflateParams } from './deflate.js';

const DEFAULTS: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

describe('negotiation, as Autobahn words and reads it', () => {
  it('offers of 12.x and 13.1-13.7 as Autobahn sends them', () => {
    const offers = (id: string): string[] => selectCases(id)[0]!.deflate!.offers.map(offerString);
    expect(offers('12.1.1')).toEqual(['permessage-deflate; client_no_context_takeover; client_max_window_bits']);
    expect(offers('13.2.1')).toEqual(['permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover']);
    expect(offers('13.3.1')).toEqual(['permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=9']);
    expect(offers('13.7.1')).toEqual([
      'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9',
      'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover',
      'permessage-deflate; client_no_context_takeover; client_max_window_bits',
    ]);
  });

  it('accepts per 13.x: Chromium\'s and ws\'s offer (client_max_window_bits) gets each case\'s client-side request', () => {
    const chromium = parseOffers('permessage-deflate; client_max_window_bits');
    const answer = (id: string): string | null => {
      const a = selectCases(id)[0]!.deflate!.accept(chromium);
      return a ? acceptString(a) : null;
    };
    expect(answer('12.3.1')).toBe('permessage-deflate');
    expect(answer('13.2.1')).toBe('permessage-deflate; client_no_context_takeover');
    expect(answer('13.3.1')).toBe('permessage-deflate; client_max_window_bits=9');
    expect(answer('13.6.1')).toBe('permessage-deflate; client_no_context_takeover; client_max_window_bits=15');
    expect(answer('13.7.1')).toBe('permessage-deflate; client_no_context_takeover; client_max_window_bits=9');
    // Without client_max_window_bits in the offer, 13.3 (False, 9) cannot be accepted; 13.7 falls back to (True, 0).
    const bare = parseOffers('permessage-deflate');
    expect(selectCases('13.3.1')[0]!.deflate!.accept(bare)).toBeNull();
    expect(acceptString(selectCases('13.7.1')[0]!.deflate!.accept(bare)!)).toBe('permessage-deflate; client_no_context_takeover');
    // The server's own parameters follow the offer: server_max_window_bits=10 is honoured.
    const p = paramsFromAccept(selectCases('12.1.1')[0]!.deflate!.accept(parseOffers('permessage-deflate; server_max_window_bits=10; server_no_context_takeover'))!);
    expect(p).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 15 });
  });

  it('reads a server response, and refuses what Autobahn refuses', () => {
    expect(paramsFromResponse(null)).toBeNull();
    expect(paramsFromResponse('permessage-deflate; server_no_context_takeover; client_max_window_bits=9')).toEqual({ ...DEFAULTS, serverNoContextTakeover: true, clientMaxWindowBits: 9 });
    expect(() => paramsFromResponse('permessage-deflate; client_max_window_bits=8')).toThrow(/illegal value 8/);
    expect(() => paramsFromResponse('permessage-deflate; mystery')).toThrow(/illegal extension parameter/);
    expect(() => paramsFromResponse('x-webkit-deflate-frame')).toThrow(/not offered/);
    expect(() => parseOffers('permessage-deflate; server_max_window_bits')).toThrow(/illegal value/);
  });
});

/** Compresses messages the way a streaming peer does (ws, browsers): one zlib stream, sync-flushed per message. */
async function streamCompress(messages: Buffer[], windowBits: number, resetEach: boolean): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let z = zlib.createDeflateRaw({ windowBits });
  for (const m of messages) {
    if (resetEach) z = zlib.createDeflateRaw({ windowBits });
    const chunks: Buffer[] = [];
    const onData = (d: Buffer): number => chunks.push(d);
    z.on('data', onData);
    z.write(m);
    await new Promise<void>((r) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    z.off('data', onData);
    const all = Buffer.concat(chunks);
    out.push(all.subarray(0, all.length - 4));
  }
  return out;
}

describe('the message codec', () => {
  const messages = Array.from({ length: 6 }, (_, i) => DEFLATE_DATA_SETS[0]!.data().subarray(i * 700, i * 700 + 4000));

  it('decodes a context-keeping stream compressor, and its own output decodes in one (both directions, window 9 and 15)', async () => {
    for (const bits of [9, 15]) {
      const params = { ...DEFAULTS, serverMaxWindowBits: bits, clientMaxWindowBits: bits };
      const fromPeer = await streamCompress(messages, bits, false);
      const asClient = new MessageCodec(params, false);
      expect(fromPeer.map((m) => asClient.decompress(m))).toEqual(messages);
      // Our compressor refers back into earlier messages (as far as the window reaches): with 32 KiB the
      // overlap with the previous message comes out much smaller than the message alone.
      const ours = new MessageCodec(params, true);
      const sent = messages.map((m) => ours.compress(m));
      if (bits === 15) expect(sent[5]!.length).toBeLessThan(zlib.deflateRawSync(messages[5]!).length / 2);
      const inflate = zlib.createInflateRaw({ windowBits: bits });
      const got: Buffer[] = [];
      for (const s of sent) {
        const chunks: Buffer[] = [];
        const onData = (d: Buffer): number => chunks.push(d);
        inflate.on('data', onData);
        inflate.write(Buffer.concat([s, Buffer.from([0, 0, 0xff, 0xff])]));
        await new Promise<void>((r) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
        inflate.off('data', onData);
        got.push(Buffer.concat(chunks));
      }
      expect(got).toEqual(messages);
    }
  });

  it('keeps no context where no_context_takeover was agreed, and refuses references beyond the agreed window', async () => {
    // The peer compresses with context: a receiver that agreed no context takeover cannot follow.
    const withContext = await streamCompress(messages, 15, false);
    const noContext = new MessageCodec({ ...DEFAULTS, serverNoContextTakeover: true }, false);
    expect(noContext.decompress(withContext[0]!)).toEqual(messages[0]);
    expect(() => noContext.decompress(withContext[1]!)).toThrow(/distance too far back/);
    const fresh = await streamCompress(messages, 15, true);
    const noContext2 = new MessageCodec({ ...DEFAULTS, serverNoContextTakeover: true }, false);
    expect(fresh.map((m) => noContext2.decompress(m))).toEqual(messages);
    // A peer that refers 32 KiB back into earlier messages where 9 bits (512 octets) were agreed.
    // (Within one message zlib resolves any distance from its output, as Autobahn's zlib does.)
    const narrow = new MessageCodec({ ...DEFAULTS, serverMaxWindowBits: 9 }, false);
    expect(narrow.decompress(withContext[0]!)).toEqual(messages[0]);
    expect(() => narrow.decompress(withContext[1]!)).toThrow(/distance too far back/);
  });
});

describe('RSV1 framing', () => {
  it('takes RSV1 off every frame head in any chunking, and leaves RSV2/RSV3', () => {
    const frame = (b0: number, payload: number, masked: boolean): Buffer => {
      const len = payload <= 125 ? [payload] : payload <= 0xffff ? [126, payload >> 8, payload & 0xff] : [127, 0, 0, 0, 0, (payload >>> 24) & 0xff, (payload >> 16) & 0xff, (payload >> 8) & 0xff, payload & 0xff];
      return Buffer.concat([Buffer.from([b0, (masked ? 0x80 : 0) | len[0]!, ...len.slice(1)]), Buffer.alloc(masked ? 4 : 0, 7), Buffer.alloc(payload, 0xc1)]);
    };
    const stream = Buffer.concat([frame(0xc1, 5, true), frame(0x00, 300, true), frame(0x80 | 0x40, 70000, false), frame(0x89, 0, true), frame(0xa2, 1, false)]);
    for (const cut of [1, 2, 3, 7, 1000, stream.length]) {
      const s = new Rsv1Splitter();
      const copy = Buffer.from(stream);
      for (let at = 0; at < copy.length; at += cut) s.push(copy.subarray(at, at + cut));
      expect(s.rsv1, `chunks of ${cut}`).toEqual([true, false, true, false, false]);
      // The heads lost RSV1 only; everything else is untouched.
      const expected = Buffer.from(stream);
      expected[0] = 0x81;
      expected[(2 + 4 + 5) + (2 + 2 + 4 + 300)] = 0x80; // the third head, after a masked 5- and 300-octet frame
      expect(copy.equals(expected), `chunks of ${cut}`).toBe(true);
    }
  });
});

describe('the generated data sets', () => {
  it('have Autobahn\'s sizes and kinds', () => {
    for (const set of DEFLATE_DATA_SETS) {
      const data = set.data();
      expect(data.length, set.key).toBe(DATA_SET_SIZES[set.key]);
      if (!set.binary) expect(() => new TextDecoder('utf-8', { fatal: true }).decode(data), set.key).not.toThrow();
    }
    const [json, bmp, prose, html, pdf] = DEFLATE_DATA_SETS.map((s) => s.data());
    expect(Array.isArray(JSON.parse(json!.toString('utf8')))).toBe(true);
    expect(bmp!.toString('latin1', 0, 2)).toBe('BM');
    expect(bmp!.readUInt32LE(2)).toBe(bmp!.length);
    expect(prose!.toString('utf8')).toMatch(/MEPHISTOPHELES:/);
    expect(html!.toString('utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
    expect(pdf!.toString('latin1', 0, 8)).toBe('%PDF-1.4');
    expect(pdf!.toString('latin1').endsWith('%%EOF\n')).toBe(true);
    // The kinds deflate sees: text compresses well, the picture and the PDF's streams hardly.
    const ratio = (b: Buffer): number => zlib.deflateRawSync(b).length / b.length;
    for (const text of [json!, prose!, html!]) expect(ratio(text)).toBeLessThan(0.35);
    for (const dense of [bmp!, pdf!]) expect(ratio(dense)).toBeGreaterThan(0.7);
    // Multi-byte characters in the text sets, so 12.1/12.4 cut by characters, not octets.
    expect(json!.toString('utf8').length).toBeLessThan(json!.length);
  });
});

describe('12.x verdicts on testees that do it wrong', () => {
  /** A ws echo server (deflate on or off) whose app corrupts echoes when `corrupt` says so. */
  async function server(perMessageDeflate: boolean, corrupt: (n: number) => boolean): Promise<{ url: string; close(): Promise<void> }> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => {
      let n = 0;
      ws.on('message', (data: Buffer, isBinary) => {
        const echo = Buffer.from(data);
        if (corrupt(++n)) echo[0] = echo[0]! ^ 1;
        ws.send(echo, { binary: isBinary });
      });
    });
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, close: () => new Promise<void>((r) => wss.close(() => r())) };
  }
  const tmp = (): string => mkdtempSync(join(tmpdir(), 'wslab-deflate-'));

  it('a wrong echo (the 500th of 1000) is FAILED with the SHA-1s in the result; a testee without deflate is UNIMPLEMENTED', async () => {
    const bad = await server(true, (n) => n === 500);
    const plain = await server(false, () => false);
    try {
      const r = await runConformance({ agents: [], servers: { corrupting: bad.url, plain: plain.url }, cases: '12.2.1', outDir: tmp(), timeScale: 3 });
      const corrupting = r.results.find((x) => x.agent === 'corrupting')!;
      expect([corrupting.behavior, corrupting.behaviorClose]).toEqual(['FAILED', 'OK']);
      const sent = DEFLATE_DATA_SETS[1]!.data().subarray(499 * 16, 500 * 16);
      expect(corrupting.result).toContain(`expected SHA1 ${createHash('sha1').update(sent).digest('hex')}`);
      const none = r.results.find((x) => x.agent === 'plain')!;
      expect([none.behavior, none.behaviorClose]).toEqual(['UNIMPLEMENTED', 'OK']);
      // A --url server may leave the extension out; one that negotiates it and echoes wrong fails the run.
      expect(runProblems(r, [...MUST_PASS, 'corrupting', 'plain'])).toEqual([expect.stringMatching(/^corrupting 0\/1 pass: 12\.2\.1 FAILED \/ OK/)]);
    } finally {
      await bad.close();
      await plain.close();
    }
  }, 120_000);
});
