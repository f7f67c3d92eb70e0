// The case shared by sections 12 and 13 (autobahntestsuite/case/case12_x_x.py): with
// permessage-deflate negotiated, send COUNT messages of LEN units cut from a data set one after
// the other (each after the previous echo), auto-fragmented at AUTOFRAGSIZE, and check each echo's
// type, length and SHA-1. Without permessage-deflate the case is UNIMPLEMENTED (and closes at once).
import { createHash } from 'node:crypto';
import type { DeflateNegotiation } from '../runner/deflate.js';
import { CLOSE, type CaseRun, type ConformanceCase } from '../runner/types.js';
import type { DeflateDataSet } from './deflate-data.js';
import { defineCase } from './helpers.js';

export const RFC_7692 = 'RFC 6455 §9, RFC 7692 §7';

/** MSG_SIZES: (payload length, message count, case timeout s, auto-fragment size). */
export const MSG_SIZES: ReadonlyArray<readonly [number, number, number, number]> = [
  [16, 1000, 60, 0], [64, 1000, 60, 0], [256, 1000, 120, 0], [1024, 1000, 240, 0], [4096, 1000, 480, 0],
  [8192, 1000, 480, 0], [16384, 1000, 480, 0], [32768, 1000, 480, 0], [65536, 1000, 480, 0], [131072, 1000, 480, 0],
  [8192, 1000, 480, 256], [16384, 1000, 480, 256], [32768, 1000, 480, 256], [65536, 1000, 480, 256], [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024], [131072, 1000, 480, 4096], [131072, 1000, 480, 32768],
];

/** Beyond the case's own timeout, so its closeAfter decides and the hard limit only catches a hung run. */
const HARD_LIMIT_EXTRA_SECS = 30;

/**
 * The data set as Autobahn cuts it: a text set is decoded and cut by characters (LEN characters per
 * message, encoded again), a binary one by octets; the cut wraps around the end.
 */
interface Source {
  units: number;
  slice(from: number, to: number): Buffer;
}

const sources = new Map<DeflateDataSet, Source>();
function sourceOf(set: DeflateDataSet): Source {
  let s = sources.get(set);
  if (!s) {
    const data = set.data();
    if (set.binary) s = { units: data.length, slice: (a, b) => data.subarray(a, b) };
    else {
      // Octet offset of every character, so a cut by characters is a subarray of the octets.
      const offsets: number[] = [];
      for (let i = 0; i < data.length; i++) if ((data[i]! & 0xc0) !== 0x80) offsets.push(i);
      offsets.push(data.length);
      s = { units: offsets.length - 1, slice: (a, b) => data.subarray(offsets[a], offsets[b]) };
    }
    sources.set(set, s);
  }
  return s;
}

/** Characters (text) or octets (binary) in a message, as Autobahn's `len(msg)` after decoding text. */
function unitsOf(msg: Buffer, binary: boolean): number {
  if (binary) return msg.length;
  let n = 0;
  for (let i = 0; i < msg.length; i++) if ((msg[i]! & 0xc0) !== 0x80) n++;
  return n;
}

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

interface EchoState {
  set: DeflateDataSet;
  len: number;
  count: number;
  fragmentSize: number;
  ptr: number;
  sent: number;
  expectedHash: string;
}

function sendOne(c: CaseRun): void {
  const st = c.state as unknown as EchoState;
  const src = sourceOf(st.set);
  const from = st.ptr;
  const to = (st.ptr + st.len) % src.units;
  const msg = to > from ? src.slice(from, to) : Buffer.concat([src.slice(from, src.units), src.slice(0, to)]);
  st.ptr = to;
  st.expectedHash = sha1(msg);
  c.p.sendMessage(msg, st.set.binary, st.fragmentSize || undefined);
  st.sent++;
}

function onMessage(c: CaseRun, msg: Buffer, binary: boolean): void {
  const st = c.state as unknown as EchoState;
  const hash = sha1(msg);
  const units = unitsOf(msg, binary);
  if (binary !== st.set.binary || units !== st.len || hash !== st.expectedHash) {
    c.behavior = 'FAILED';
    c.p.createWirelog = true;
    c.p.sendClose(CLOSE.NORMAL);
    if (binary !== st.set.binary) c.result = `Echo'ed message type differs from what I sent (got binary ${binary}, expected binary ${st.set.binary}).`;
    else if (units !== st.len) c.result = `Echo'ed message length differs from what I sent (got length ${units}, expected length ${st.len}).`;
    else c.result = `Echo'ed message contents differs from what I sent (got SHA1 ${hash}, expected SHA1 ${st.expectedHash}).`;
  } else if (st.sent < st.count) {
    sendOne(c);
  } else {
    c.behavior = 'OK';
    c.result = "Ok, received all echo'ed messages in time.";
    c.p.createWirelog = true;
    c.p.sendClose(CLOSE.NORMAL);
  }
}

/** One 12.x/13.x case: `negotiation` decides the offers and the accept, `set` the payloads. */
export function deflateEchoCase(id: string, set: DeflateDataSet, setting: readonly [number, number, number, number], negotiation: DeflateNegotiation, offerText: string): ConformanceCase {
  const [len, count, waitSecs, fragmentSize] = setting;
  return defineCase(id, RFC_7692,
    `Send ${count} compressed messages each of payload size ${len}, auto-fragment to ${fragmentSize} octets. Use ${offerText}`,
    `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
    (c) => {
      c.reportTime = true;
      c.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
      c.p.createWirelog = false;
      if (c.p.deflate === null) {
        c.behavior = 'UNIMPLEMENTED';
        c.result = 'The testee did not negotiate permessage-deflate.';
        c.p.createWirelog = true;
        c.p.sendClose(CLOSE.NORMAL);
        return;
      }
      c.behavior = 'FAILED';
      c.result = `Case did not finish within ${waitSecs} seconds.`;
      c.p.closeAfter(waitSecs);
      Object.assign(c.state, { set, len, count, fragmentSize, ptr: 0, sent: 0, expectedHash: '' } satisfies EchoState);
      sendOne(c);
    },
    { onMessage, deflate: negotiation, hardLimitSecs: waitSecs + HARD_LIMIT_EXTRA_SECS });
}
