// The runner's rules: the judge is a pure function of the recorded outcome; the verdict waits are
// Autobahn's plus a padding from measured lag and RTT; a timeout that fired while the testee was
// still talking is recorded as a close call (and run again by runConformance); frames go out with
// Autobahn's write cadence: the direct writes of one event-loop turn in one write (Twisted's
// transport buffer), chopped and sync frames one queue entry per re-entry, the next only once the
// previous was handed on and the queued-write delay has passed.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptFor, type Stream } from 'resty-websocket';
import { runConformance } from '../index.js';
import { Endpoint } from './endpoint.js';
import { judge } from './judge.js';
import { RunTiming } from '../../lab/timing.js';
import type { CaseRun, ConformanceCase, EndpointOutcome } from './types.js';

const outcome = (o: Partial<EndpointOutcome> = {}): EndpointOutcome => ({
  closedByMe: true, failedByMe: false, droppedByMe: false, wasClean: true, wasNotCleanReason: null,
  localCloseCode: 1000, localCloseReason: null, remoteCloseCode: 1000, remoteCloseReason: null, timeout: null, ...o,
});

function blankRun(): Omit<CaseRun, 'p'> {
  return {
    received: [], expected: {}, expectedClose: { closedByMe: true, closeCode: [1000], requireClean: true },
    behavior: 'FAILED', behaviorClose: 'FAILED', result: '', resultClose: '', suppressClose: false, reportTime: false, state: {},
  };
}

/**
 * A stream that records every write it hands on (a writev, as a corked socket's, is one write, as
 * it is one system call) and completes each after `delayMs` (a slow socket).
 */
function recordingStream(delayMs: number): { stream: Stream; writes: Array<{ at: number; bytes: Buffer }> } {
  const writes: Array<{ at: number; bytes: Buffer }> = [];
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push({ at: performance.now(), bytes: Buffer.from(chunk) });
      setTimeout(cb, delayMs);
    },
    writev(chunks, cb) {
      writes.push({ at: performance.now(), bytes: Buffer.concat(chunks.map((c) => c.chunk as Buffer)) });
      setTimeout(cb, delayMs);
    },
  });
  return { stream: d as unknown as Stream, writes };
}

const noCase: ConformanceCase = { id: '0.0.0', description: 'test case', expectation: '-', rfc: 'RFC 6455 §5', onOpen: () => {} };

describe('the judge', () => {
  it('is a pure function of what was expected and the recorded outcome', () => {
    const c = Object.freeze({
      behavior: 'FAILED' as const,
      result: 'Actual events differ from any expected.',
      received: Object.freeze([['message', Buffer.from('a'), false]]) as CaseRun['received'],
      expected: Object.freeze({ OK: [['message', Buffer.from('a'), false]] }) as CaseRun['expected'],
      expectedClose: Object.freeze({ closedByMe: true, closeCode: [1000], requireClean: true }),
    });
    const o = Object.freeze(outcome());
    const v = judge(c, o, false);
    expect(v).toEqual({ behavior: 'OK', result: 'Actual events match at least one expected.', behaviorClose: 'OK', resultClose: 'Connection was properly closed' });
    expect(judge(c, o, false)).toEqual(v);
    expect(judge(c, outcome({ closedByMe: false }), false).behaviorClose).toBe('FAILED');
    expect(judge(c, outcome({ wasClean: false }), false).behaviorClose).toBe('UNCLEAN');
    expect(judge(c, outcome({ remoteCloseCode: 1002 }), false)).toMatchObject({ behaviorClose: 'WRONG CODE', resultClose: 'The close code should have been 1000 or empty' });
    expect(judge(c, outcome({ droppedByMe: true }), false).behaviorClose).toBe('FAILED BY CLIENT');
    expect(judge(c, outcome({ droppedByMe: true }), true).behaviorClose).toBe('OK');
  });

  it('keeps a behavior the case decided itself when it expects no events (section 9)', () => {
    const decided = { behavior: 'OK' as const, result: 'Received text message of length 65536.', received: [], expected: {}, expectedClose: { closedByMe: true, closeCode: [1000], requireClean: true } };
    expect(judge(decided, outcome(), false)).toMatchObject({ behavior: 'OK', result: 'Received text message of length 65536.', behaviorClose: 'OK' });
    const timedOut = { ...decided, behavior: 'FAILED' as const, result: 'Did not receive message within 10 seconds.' };
    expect(judge(timedOut, outcome(), false)).toMatchObject({ behavior: 'FAILED', result: 'Did not receive message within 10 seconds.' });
  });

  it('and the transport does not import it (no endpoint <-> judge cycle)', () => {
    const endpoint = readFileSync(new URL('./endpoint.ts', import.meta.url), 'utf8');
    const judgeSrc = readFileSync(new URL('./judge.ts', import.meta.url), 'utf8');
    expect(endpoint).not.toMatch(/from '\.\/judge\.js'/);
    expect(judgeSrc).not.toMatch(/from '\.\/endpoint\.js'/);
  });
});

describe('verdict waits', () => {
  it('are Autobahn\'s plus the padding measured for the run', async () => {
    const timing = new RunTiming();
    timing.noteRtt(50); // 4 x RTT = 200 ms of padding (no lag sampled: the sampler is not running)
    const { stream } = recordingStream(0);
    const ep = new Endpoint(stream, false, noCase, blankRun(), undefined, 1, timing);
    const t0 = performance.now();
    ep.killAfter(0.1);
    await new Promise<void>((r) => (stream as unknown as Duplex).on('close', () => r()).destroy());
    await ep.closed;
    expect(ep.outcome.timeout).toBeNull(); // closed before the wait ended: nothing decided by a timeout
    const ep2 = new Endpoint(recordingStream(0).stream, false, noCase, blankRun(), undefined, 1, timing);
    const fired = new Promise<number>((r) => {
      const orig = ep2.failConnection.bind(ep2);
      ep2.failConnection = (...a) => {
        r(performance.now());
        orig(...a);
      };
    });
    const t1 = performance.now();
    ep2.killAfter(0.1);
    expect((await fired) - t1).toBeGreaterThanOrEqual(295);
    expect(ep2.outcome.timeout).toMatchObject({ timer: 'killAfter', autobahnMs: 100, waitedMs: 300 });
    expect(t0).toBeLessThan(t1);
    ep2.abort();
  });

  it('a timeout that fired while the testee was still sending is a close call; one after silence is not', async () => {
    const timing = new RunTiming();
    const talk = recordingStream(0);
    const ep = new Endpoint(talk.stream, true, noCase, blankRun(), undefined, 1, timing);
    const feed = setInterval(() => (talk.stream as unknown as Duplex).push(Buffer.from([0x8a, 0x80, 1, 2, 3, 4])), 10); // masked pongs
    ep.killAfter(0.2);
    await new Promise((r) => setTimeout(r, 320));
    clearInterval(feed);
    expect(ep.outcome.timeout).toMatchObject({ timer: 'killAfter', closeCall: true });
    ep.abort();

    const quiet = recordingStream(0);
    const ep2 = new Endpoint(quiet.stream, true, noCase, blankRun(), undefined, 1, timing);
    (quiet.stream as unknown as Duplex).push(Buffer.from([0x8a, 0x80, 1, 2, 3, 4]));
    ep2.killAfter(0.2);
    await new Promise((r) => setTimeout(r, 320));
    expect(ep2.outcome.timeout).toMatchObject({ timer: 'killAfter', closeCall: false });
    ep2.abort();
  });
});

describe('Autobahn\'s send cadence', () => {
  it('each chop is its own write, the next only after the previous was handed on', async () => {
    const { stream, writes } = recordingStream(5);
    // Our calls of write(): each must come after the previous one's callback (the bytes were handed on).
    let pending = 0;
    let overlapping = 0;
    const write = stream.write.bind(stream);
    stream.write = ((chunk: Buffer, cb?: () => void) => {
      if (pending > 0) overlapping++;
      pending++;
      return write(chunk, () => {
        pending--;
        cb?.();
      });
    }) as typeof stream.write;
    const ep = new Endpoint(stream, true, noCase, blankRun(), undefined, 1, new RunTiming());
    ep.sendFrame({ opcode: 1, payload: 'hello', chopsize: 1 });
    // Sent while the queue is busy: queued behind the chops (Autobahn), one write of its own.
    ep.sendFrame({ opcode: 9, payload: 'p' });
    await new Promise((r) => setTimeout(r, 200));
    expect(writes.map((w) => w.bytes.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 3]);
    expect(Buffer.concat(writes.map((w) => w.bytes)).toString('latin1')).toBe('\x81\x05hello\x89\x01p');
    expect(overlapping).toBe(0);
    ep.abort();
  });

  it('frames sent with an empty queue go straight out, and those of one event-loop turn leave in one write', async () => {
    const { stream, writes } = recordingStream(5);
    const calls: string[] = [];
    const write = stream.write.bind(stream);
    stream.write = ((chunk: Buffer, cb?: () => void) => {
      calls.push(chunk.toString('latin1'));
      return write(chunk, cb);
    }) as typeof stream.write;
    const ep = new Endpoint(stream, true, noCase, blankRun(), undefined, 1, new RunTiming());
    // Case 3.2's frames: a message, a frame with RSV = 2, a ping, no sync, no chops.
    ep.sendFrame({ opcode: 1, payload: 'a' });
    ep.sendFrame({ opcode: 1, payload: 'b', rsv: 2 });
    ep.sendFrame({ opcode: 9 });
    // Each handed to the transport at once, not through the queue ...
    expect(calls).toEqual(['\x81\x01a', '\xa1\x01b', '\x89\x00']);
    // ... and, like Twisted's transport buffer flushed in the reactor's write phase, one write on the wire.
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(writes.map((w) => w.bytes.toString('latin1'))).toEqual(['\x81\x01a\xa1\x01b\x89\x00']);
    // A later turn's frame is a write of its own.
    ep.sendFrame({ opcode: 1, payload: 'c' });
    await new Promise((r) => setTimeout(r, 50));
    expect(writes.map((w) => w.bytes.toString('latin1'))).toEqual(['\x81\x01a\xa1\x01b\x89\x00', '\x81\x01c']);
    ep.abort();
  });

  it('a queued entry written while direct data is still buffered joins it; the next entry waits for the write', async () => {
    const { stream, writes } = recordingStream(5);
    const ep = new Endpoint(stream, true, noCase, blankRun(), undefined, 1, new RunTiming());
    // Direct, then chopped: the first chop is written at once (Autobahn's _trigger calls _send) and
    // joins the buffered frame; each later chop is written on a later re-entry, alone.
    ep.sendFrame({ opcode: 1, payload: 'a' });
    ep.sendFrame({ opcode: 1, payload: 'hi', chopsize: 2 });
    await new Promise((r) => setTimeout(r, 200));
    expect(writes.map((w) => w.bytes.toString('latin1'))).toEqual(['\x81\x01a\x81\x02', 'hi']);
    // A sync frame, then a direct one: the queue is empty again once its only entry is written, so
    // the direct frame goes straight to the transport and leaves in the same write (as in Autobahn).
    ep.sendFrame({ opcode: 9, payload: 'p', sync: true });
    ep.sendFrame({ opcode: 1, payload: 'b' });
    await new Promise((r) => setTimeout(r, 200));
    expect(writes.slice(2).map((w) => w.bytes.toString('latin1'))).toEqual(['\x89\x01p\x81\x01b']);
    ep.abort();
  });
});

describe('close calls are run again', () => {
  it('a case decided by timeouts that fired while the testee was still talking runs twice, and both runs are reported', async () => {
    // A server that answers the handshake, then pings every 20 ms and never echoes or closes.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      let buf = Buffer.alloc(0);
      let timer: NodeJS.Timeout | null = null;
      sock.on('data', (d) => {
        if (timer) return;
        buf = Buffer.concat([buf, d]);
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, at).toString('latin1'))![1]!;
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
        timer = setInterval(() => sock.write(Buffer.from([0x89, 0x00])), 20);
      });
      sock.on('close', () => timer && clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runConformance({ agents: [], servers: { chatty: `ws://127.0.0.1:${port}/` }, cases: '1.1.1', outDir: mkdtempSync(join(tmpdir(), 'wslab-cc-')) });
      expect(r.reruns).toEqual([expect.objectContaining({ agent: 'chatty', id: '1.1.1', reason: expect.stringMatching(/^decided by the (killAfter|closeHandshake) timeout/) })]);
      const result = r.results.find((x) => x.agent === 'chatty')!;
      expect(result.rerun?.first).toBe(r.reruns[0]!.first);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 30_000);
});
