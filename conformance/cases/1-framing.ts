// Autobahn section 1, Framing (RFC 6455 §5.2): text and binary frames at the boundaries of the 7-bit,
// 16-bit and 64-bit length forms, echoed back unchanged, then a clean 1000 close.
import type { ConformanceCase } from '../runner/types.js';
import { closeNormally, defineCase } from './helpers.js';

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

function framing(sub: 1 | 2): ConformanceCase[] {
  const binary = sub === 2;
  const opcode = binary ? 2 : 1;
  const kind = binary ? 'binary' : 'text';
  const fillByte = binary ? 0xfe : 0x2a; // Autobahn: "*" for text, 0xfe for binary
  const cases = LENGTHS.map((len, i) =>
    defineCase(`1.${sub}.${i + 1}`, 'RFC 6455 §5.2, §5.6',
      `Send ${kind} message with payload ${len}.`,
      `Receive echo'ed ${kind} message (with empty payload or the payload as sent). Clean close with normal code.`,
      (c) => {
        const payload = Buffer.alloc(len, fillByte);
        c.expected.OK = [['message', payload, binary]];
        closeNormally(c);
        c.p.sendFrame({ opcode, payload });
        c.p.killAfter(1);
      }));
  cases.push(defineCase(`1.${sub}.8`, 'RFC 6455 §5.2, §5.6',
    `Send ${kind} message with payload of length 65536. Sent out data in chops of 997 octets.`,
    `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
    (c) => {
      const payload = Buffer.alloc(65536, fillByte);
      c.expected.OK = [['message', payload, binary]];
      closeNormally(c);
      c.p.sendFrame({ opcode, payload, chopsize: 997 });
      c.p.killAfter(10);
    }));
  return cases;
}

export const section1: ConformanceCase[] = [...framing(1), ...framing(2)];
