// The endpoint core (impl/endpoint.ts) as the server and the client use it: recv_frame's state
// rules over any byte stream, chunking and timeouts, against a model made from FrameDecoder and
// the spec's rules (§4-5: a failure whose text lacks ": timeout" is fatal; strict
// fatalOnPartialTimeout also a timeout that consumed bytes; strict failWithCloseCode sends 1009
// for a frame too big and 1002 for the other protocol errors).
import { describe, expect } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import { WebSocketClient } from './client.js';
import { ENDPOINT_ERRORS } from './endpoint.js';
import { buildFrame, FrameDecoder, READ_FAILURE_PREFIX, RECV_ERRORS } from './protocol.js';
import { WebSocketServer } from './server.js';
import type { StrictChecks } from './profile.js';
import type { TcpSocket } from './tcp-socket.js';
import { TestCosocket } from './test-support/test-cosocket.js';
import type { ScriptEvent } from './test-support/test-cosocket.js';
import type { Cosocket, RecvResult } from './types.js';

type Event = ScriptEvent;

/** A client over a given cosocket (newClient makes its own TCP socket). */
class ScriptedClient extends WebSocketClient {
  constructor(sock: Cosocket, strict: Partial<StrictChecks>) {
    super({ max_payload_len: 200, strict });
    this.sock = sock as TcpSocket;
  }
}

const plain = (r: RecvResult): { data: string | null; type: string | null; err: unknown } =>
  ({ data: r.data === null ? null : r.data.toString('hex'), type: r.type, err: r.err });

interface Expected {
  results: ReturnType<typeof plain>[];
  /** The close codes a failWithCloseCode endpoint sends. */
  closeCodes: number[];
}

/**
 * The model: FrameDecoder's results over the script (a timeout ends the current read and takes
 * what it had, as ngx_lua's partial read does), cut at the first fatal failure, which the next
 * call answers with "fatal error already happened".
 */
function model(events: Event[], forceMasking: boolean, partialFatal: boolean): Expected {
  const dec = new FrameDecoder({ maxPayloadLen: 200, forceMasking });
  const results: ReturnType<typeof plain>[] = [];
  const closeCodes: number[] = [];
  const fatal = (r: RecvResult): boolean => {
    results.push(plain(r));
    if (r.data !== null) return false;
    const err = r.err as string;
    if (err.includes(': timeout')) return false;
    if (err === RECV_ERRORS.exceeding || err === RECV_ERRORS.lenTooLarge) closeCodes.push(1009);
    else if (!Object.values(READ_FAILURE_PREFIX).some((p) => err.startsWith(p))) closeCodes.push(1002);
    return true;
  };
  const end = (): Expected => {
    results.push(plain({ data: null, type: null, err: ENDPOINT_ERRORS.fatal }));
    return { results, closeCodes };
  };
  for (const e of events) {
    if (e === 'timeout') {
      const consumed = dec.stage !== 'head' || dec.buffered > 0;
      const r = dec.end('timeout');
      results.push(plain(r));
      if (partialFatal && consumed) return end();
      continue;
    }
    dec.push(Buffer.from(e));
    for (let r = dec.next(); r !== null; r = dec.next()) if (fatal(r)) return end();
  }
  fatal(dec.end('closed'));
  return end();
}

const KEY = Buffer.from([1, 2, 3, 4]);
const frameArb = fc.record({
  fin: fc.boolean(), opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 11), masked: fc.boolean(), rsv: fc.constantFrom(0, 0, 0, 0x40),
  len: fc.constantFrom(0, 1, 2, 5, 125, 126, 199, 200, 201), long64: fc.boolean(),
}).map(({ fin, opcode, masked, rsv, len, long64 }) => {
  const payload = Buffer.alloc(len, 0x61);
  let f = buildFrame(fin, opcode, len, payload, masked, KEY).frame!;
  if (long64) {
    // The same frame with a (non-minimal or too large) 64-bit length.
    const head = Buffer.from([f[0]!, (masked ? 0x80 : 0) | 127, 0, 0, 0, len === 201 ? 0x80 : 0, 0, 0, len >> 8, len & 0xff]);
    f = Buffer.concat([head, f.subarray(f.length - len - (masked ? 4 : 0))]);
  }
  f[0] = f[0]! | rsv;
  return f;
});

/** The script: the frames' bytes in chunks, with timeouts between some of them. */
const scriptArb = fc.tuple(fc.array(frameArb, { maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }))
  .map(([frames, sizes, timeouts]) => {
    const stream = Buffer.concat(frames);
    const events: Event[] = [];
    for (let off = 0, i = 0; off < stream.length; i++) {
      if (timeouts[i % timeouts.length] && i % 3 === 0) events.push('timeout');
      const size = sizes[i % sizes.length]!;
      events.push(stream.subarray(off, off + size));
      off += size;
    }
    return events;
  });

async function drive(ep: WebSocketServer | WebSocketClient, calls: number): Promise<ReturnType<typeof plain>[]> {
  const got: ReturnType<typeof plain>[] = [];
  for (let i = 0; i < calls; i++) got.push(plain(await ep.recvFrame()));
  return got;
}

/** The close codes of the close frames an endpoint sent. */
function sentCloseCodes(sock: TestCosocket, masked: boolean): number[] {
  const dec = new FrameDecoder({ maxPayloadLen: 125, forceMasking: masked });
  for (const b of sock.sent) dec.push(Buffer.from(b));
  const codes: number[] = [];
  for (let r = dec.next(); r !== null; r = dec.next()) if (r.type === 'close' && typeof r.err === 'number') codes.push(r.err);
  return codes;
}

describe('the endpoint core: recv_frame state rules', () => {
  const profiles: Array<{ name: string; strict: Partial<StrictChecks>; partialFatal: boolean; failWithClose: boolean }> = [
    { name: 'compat', strict: {}, partialFatal: false, failWithClose: false },
    { name: 'strict fatalOnPartialTimeout + failWithCloseCode', strict: { fatalOnPartialTimeout: true, failWithCloseCode: true }, partialFatal: true, failWithClose: true },
  ];
  for (const p of profiles) {
    fcTest.prop([scriptArb])(`server and client (${p.name}) give FrameDecoder's results until the first fatal failure`, async (events) => {
      for (const side of ['server', 'client'] as const) {
        const script = events.map((e) => (e === 'timeout' ? e : Buffer.from(e)));
        const want = model(events.map((e) => (e === 'timeout' ? e : Buffer.from(e))), side === 'server', p.partialFatal);
        const sock = new TestCosocket({ script });
        const ep = side === 'server' ? new WebSocketServer(sock, { max_payload_len: 200, strict: p.strict }) : new ScriptedClient(sock, p.strict);
        expect(await drive(ep, want.results.length), side).toEqual(want.results);
        expect(ep.fatal, side).toBe(true);
        // A server sends unmasked frames, a client masked ones.
        expect(sentCloseCodes(sock, side === 'client'), side).toEqual(p.failWithClose ? want.closeCodes : []);
        expect(sock.closed, side).toBe(p.failWithClose && want.closeCodes.length > 0);
      }
    });
  }
});
