// Autobahn section 9, Limits/Performance (RFC 6455 §5.2, §5.4, §10.4): large messages in one frame,
// in many fragments, in small TCP chops, and many sequential round trips; the duration is reported.
import { CLOSE, type CaseRun, type ConformanceCase } from '../runner/types.js';
import { b, defineCase, lengthCheck } from './helpers.js';

const RFC = 'RFC 6455 §5.2, §5.4';
const K = 1024;
const M = 1024 * 1024;
const sizeName = (n: number): string => (n >= M ? `${n / M}M` : `${n / K}k`);
const REPEAT = b('BAsd7&jh23');

function start(c: CaseRun, waitSecs: number): void {
  c.p.createWirelog = false;
  c.reportTime = true;
  c.behavior = 'FAILED';
  c.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
  c.result = `Did not receive message within ${waitSecs} seconds.`;
  c.p.closeAfter(waitSecs);
}

function singleFrame(section: 1 | 2): ConformanceCase[] {
  const binary = section === 2;
  return [64 * K, 256 * K, M, 4 * M, 8 * M, 16 * M].map((len, i) =>
    defineCase(`9.${section}.${i + 1}`, RFC, `Send ${binary ? 'binary' : 'text'} message message with payload of length ${len} (${sizeName(len)}).`,
      `Receive echo'ed ${binary ? 'binary' : 'text'} message (with payload as sent).`, (c) => {
        start(c, len <= M ? 10 : 100);
        c.p.sendFrame({ opcode: binary ? 2 : 1, payload: binary ? Buffer.from([0xfe]) : REPEAT, payloadLen: len });
      }, { onMessage: lengthCheck(len, binary) }));
}

function fragmented(section: 3 | 4): ConformanceCase[] {
  const binary = section === 4;
  const len = 4 * M;
  return [64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M].map((frag, i) =>
    defineCase(`9.${section}.${i + 1}`, RFC, `Send fragmented ${binary ? 'binary' : 'text'} message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of ${frag}.`,
      `Receive echo'ed ${binary ? 'binary' : 'text'} message (with payload as sent).`, (c) => {
        start(c, 100);
        c.p.sendMessage(Buffer.alloc(len, binary ? 0xfe : 0x2a), binary, frag);
      }, { onMessage: lengthCheck(len, binary) }));
}

function chopped(section: 5 | 6): ConformanceCase[] {
  const binary = section === 6;
  return [64, 128, 256, 512, 1024, 2048].map((chop, i) =>
    defineCase(`9.${section}.${i + 1}`, RFC, `Send ${binary ? 'binary' : 'text'} message message with payload of length 1 * 2**20 (1M). Sent out data in chops of ${chop} octets.`,
      `Receive echo'ed ${binary ? 'binary' : 'text'} message (with payload as sent).`, (c) => {
        start(c, 100);
        c.p.sendFrame({ opcode: binary ? 2 : 1, payload: binary ? Buffer.from([0xfe]) : REPEAT, payloadLen: M, chopsize: chop });
      }, { onMessage: lengthCheck(M, binary) }));
}

const ROUND_TRIPS = 1000;

function roundTrips(section: 7 | 8): ConformanceCase[] {
  const binary = section === 8;
  return [0, 16, 64, 256, 1024, 4096].map((size, i) =>
    defineCase(`9.${section}.${i + 1}`, RFC, `Send ${ROUND_TRIPS} ${binary ? 'binary' : 'text'} messages of payload size ${size} to measure implementation/network RTT (round trip time) / latency.`,
      `Receive echo'ed ${binary ? 'binary' : 'text'} messages (with payload as sent). Timeout case after 60 secs.`, (c) => {
        start(c, 60);
        const payload = Buffer.alloc(size, binary ? 0xfe : 0x2a);
        c.state.payload = payload;
        c.state.left = ROUND_TRIPS;
        c.result = `Case did not finish within 60 seconds.`;
        c.p.sendMessage(payload, binary);
      }, {
        onMessage: (c, got, isBinary) => {
          const payload = c.state.payload as Buffer;
          if (isBinary !== binary || !got.equals(payload)) {
            c.result = 'Echo\'ed message did not match the one sent.';
            c.p.sendClose(CLOSE.NORMAL);
            return;
          }
          const left = (c.state.left as number) - 1;
          c.state.left = left;
          if (left > 0) c.p.sendMessage(payload, binary);
          else {
            c.behavior = 'OK';
            c.result = `Ok, received all echo'ed messages in time.`;
            c.p.sendClose(CLOSE.NORMAL);
          }
        },
      }));
}

export const section9: ConformanceCase[] = [
  ...singleFrame(1), ...singleFrame(2), ...fragmented(3), ...fragmented(4), ...chopped(5), ...chopped(6), ...roundTrips(7), ...roundTrips(8),
];
