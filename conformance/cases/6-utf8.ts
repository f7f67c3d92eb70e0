// Autobahn section 6, UTF-8 Handling (RFC 6455 §5.6, §8.1): text messages must be valid UTF-8 and
// an endpoint must fail the connection (1007) on invalid data, ideally as soon as it sees it
// ("fail fast"), even in the middle of a fragmented message.
import { CLOSE, type CaseRun, type ConformanceCase } from '../runner/types.js';
import { b, closeNormally, defineCase, expectFailure } from './helpers.js';
import { utf8Groups } from './utf8-sequences.js';

const RFC = 'RFC 6455 §8.1';
const KOSME = Buffer.from('cebae1bdb9cf83cebcceb5', 'hex');
const UTF8_TEXT = b('Hello-µ@ßöäüàá-UTF-8!!');

function expectInvalid(c: CaseRun): void {
  expectFailure(c, CLOSE.INVALID_PAYLOAD, { closedByWrongEndpointIsFatal: true });
}

function failFast(id: string, parts: [Buffer, Buffer, Buffer], inOneFrame: boolean): ConformanceCase {
  const hex = parts.map((p) => p.toString('hex'));
  return defineCase(id, RFC,
    `Send invalid UTF-8 text message in 3 ${inOneFrame ? 'chops of one frame' : 'fragments (frames)'}. First part is valid, then wait, then the part that makes the sequence invalid, then wait, then the rest. PART1 = ${hex[0]}, PART2 = ${hex[1]}, PART3 = ${hex[2]}.`,
    'The first part is accepted, we expect to timeout on the first wait. The 2nd part should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.',
    (c) => {
      c.expected.OK = [['timeout', 'A']];
      c.expected['NON-STRICT'] = [['timeout', 'A'], ['timeout', 'B']];
      expectInvalid(c);
      // One frame sent in three hand-made pieces, or three frames.
      const whole = inOneFrame ? c.p.encodeFrame({ opcode: 1, payload: Buffer.concat(parts) }) : null;
      const headLen = whole ? whole.length - Buffer.concat(parts).length : 0;
      const cut1 = headLen + parts[0].length;
      const cut2 = cut1 + parts[1].length;
      if (whole) c.p.sendRaw(whole.subarray(0, cut1));
      else c.p.sendFrame({ opcode: 1, fin: false, payload: parts[0] });
      c.p.continueLater(1, () => {
        c.received.push(['timeout', 'A']);
        if (whole) c.p.sendRaw(whole.subarray(cut1, cut2));
        else c.p.sendFrame({ opcode: 0, fin: false, payload: parts[1] });
        c.p.continueLater(1, () => {
          c.received.push(['timeout', 'B']);
          if (whole) c.p.sendRaw(whole.subarray(cut2));
          else c.p.sendFrame({ opcode: 0, fin: true, payload: parts[2] });
          c.p.killAfter(1);
        }, 'B');
      }, 'A');
    });
}

const stress: ConformanceCase[] = [];
utf8Groups().forEach((group, gi) => {
  group.payloads.forEach(({ valid, payload }, pi) => {
    stress.push(defineCase(`6.${gi + 5}.${pi + 1}`, RFC,
      `${valid ? 'Send a text message with payload which is valid UTF-8 in one fragment.' : 'Send a text message with payload which is not valid UTF-8 in one fragment.'} Payload: 0x${payload.toString('hex')} (${group.title})`,
      valid ? "The message is echo'ed back to us." : 'The connection is failed immediately, since the payload is not valid UTF-8.',
      (c) => {
        if (valid) {
          c.expected.OK = [['message', payload, false]];
          closeNormally(c);
        } else {
          c.expected.OK = [];
          expectInvalid(c);
        }
        c.p.sendMessage(payload, false);
        c.p.killAfter(0.5);
      }));
  });
});

const INVALID = Buffer.concat([KOSME, Buffer.from('eda080', 'hex'), b('edited')]);

export const section6: ConformanceCase[] = [
  defineCase('6.1.1', RFC, 'Send text message of length 0.', "A message is echo'ed back to us (with empty payload).", (c) => {
    c.expected.OK = [['message', Buffer.alloc(0), false]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, payload: Buffer.alloc(0) });
    c.p.killAfter(1);
  }),
  defineCase('6.1.2', RFC, 'Send fragmented text message, 3 fragments each of length 0.', "A message is echo'ed back to us (with empty payload).", (c) => {
    c.expected.OK = [['message', Buffer.alloc(0), false]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, fin: false });
    c.p.sendFrame({ opcode: 0, fin: false });
    c.p.sendFrame({ opcode: 0, fin: true });
    c.p.killAfter(1);
  }),
  defineCase('6.1.3', RFC, 'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.', "A message is echo'ed back to us (with payload = payload of middle fragment).", (c) => {
    const payload = b('middle frame payload');
    c.expected.OK = [['message', payload, false]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, fin: false });
    c.p.sendFrame({ opcode: 0, fin: false, payload });
    c.p.sendFrame({ opcode: 0, fin: true });
    c.p.killAfter(1);
  }),
  defineCase('6.2.1', RFC, 'Send a valid UTF-8 text message in one fragment.', "The message is echo'ed back to us.", (c) => {
    c.expected.OK = [['message', UTF8_TEXT, false]];
    closeNormally(c);
    c.p.sendMessage(UTF8_TEXT, false);
    c.p.killAfter(1);
  }),
  defineCase('6.2.2', RFC, 'Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.', "The message is echo'ed back to us.", (c) => {
    const p1 = b('Hello-µ@ßöä');
    const p2 = b('üàá-UTF-8!!');
    c.expected.OK = [['message', Buffer.concat([p1, p2]), false]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, fin: false, payload: p1 });
    c.p.sendFrame({ opcode: 0, fin: true, payload: p2 });
    c.p.killAfter(1);
  }),
  ...([['6.2.3', UTF8_TEXT], ['6.2.4', KOSME]] as const).map(([id, payload]) =>
    defineCase(id, RFC, 'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.', "The message is echo'ed back to us.", (c) => {
      c.expected.OK = [['message', payload, false]];
      closeNormally(c);
      c.p.sendMessage(payload, false, 1);
      c.p.killAfter(1);
    })),
  defineCase('6.3.1', RFC, `Send invalid UTF-8 text message unfragmented. Payload: 0x${INVALID.toString('hex')}`, 'The connection is failed immediately, since the payload is not valid UTF-8.', (c) => {
    c.expected.OK = [];
    expectInvalid(c);
    c.p.sendMessage(INVALID, false);
    c.p.killAfter(1);
  }),
  defineCase('6.3.2', RFC, `Send invalid UTF-8 text message in fragments of 1 octet. Payload: 0x${INVALID.toString('hex')}`, 'The connection is failed immediately, since the payload is not valid UTF-8.', (c) => {
    c.expected.OK = [];
    expectInvalid(c);
    c.p.sendMessage(INVALID, false, 1);
    c.p.killAfter(1);
  }),
  failFast('6.4.1', [KOSME, Buffer.from('f4908080', 'hex'), b('edited')], false),
  failFast('6.4.2', [Buffer.concat([KOSME, Buffer.from('f4', 'hex')]), Buffer.from('90', 'hex'), Buffer.concat([Buffer.from('8080', 'hex'), b('edited')])], false),
  failFast('6.4.3', [KOSME, Buffer.from('f4908080', 'hex'), b('edited')], true),
  failFast('6.4.4', [Buffer.concat([KOSME, Buffer.from('f4', 'hex')]), Buffer.from('90', 'hex'), Buffer.concat([Buffer.from('8080', 'hex'), b('edited')])], true),
  ...stress,
];
