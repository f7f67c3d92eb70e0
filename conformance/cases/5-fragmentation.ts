// Autobahn section 5, Fragmentation (RFC 6455 §5.4): control frames must not be fragmented; a
// fragmented message may have control frames in between; continuation frames with nothing to
// continue, or a new data frame inside a fragmented message, must fail the connection.
import type { CaseRun, ConformanceCase, FrameSpec } from '../runner/types.js';
import { b, closeNormally, defineCase, expectFailure } from './helpers.js';

const RFC = 'RFC 6455 §5.4';
type Chop = 'one' | 'frame' | 'octet';
const CHOP_TEXT: Record<Chop, string> = { one: 'sent in one chop', frame: 'sent in per-frame chops', octet: 'sent in octet-wise chops' };

function send(c: CaseRun, frames: FrameSpec[], chop: Chop): void {
  for (const f of frames) c.p.sendFrame({ ...f, sync: chop !== 'one', chopsize: chop === 'octet' ? 1 : undefined });
}

const F1 = b('fragment1');
const F2 = b('fragment2');

function echoFragmented(id: string, chop: Chop, withPing: boolean): ConformanceCase {
  return defineCase(id, RFC,
    `Send text Message fragmented into 2 fragments${withPing ? ', one ping with payload in-between' : ''}${chop === 'one' ? '.' : `, ${CHOP_TEXT[chop]}.`}`,
    `${withPing ? 'A pong is received, then the' : 'The'} message is echo'ed back to us.`,
    (c) => {
      const ping = b('ping payload');
      c.expected.OK = withPing ? [['pong', ping], ['message', b('fragment1fragment2'), false]] : [['message', b('fragment1fragment2'), false]];
      closeNormally(c);
      const frames: FrameSpec[] = [{ opcode: 1, fin: false, payload: F1 }];
      if (withPing) frames.push({ opcode: 9, payload: ping });
      frames.push({ opcode: 0, fin: true, payload: F2 });
      send(c, frames, chop);
      c.p.killAfter(1);
    });
}

function strayContinuation(id: string, fin: boolean, chop: Chop): ConformanceCase {
  return defineCase(id, RFC,
    `Send continuation frame with FIN = ${fin ? 'true' : 'false'} (where there is nothing to continue), then unfragmented text Message, all ${CHOP_TEXT[chop]}.`,
    'The connection is failed immediately, since there is no message to continue.',
    (c) => {
      c.expected.OK = [];
      expectFailure(c);
      send(c, [{ opcode: 0, fin, payload: b('non-continuation payload') }, { opcode: 1, payload: b('Hello, world!') }], chop);
      c.p.killAfter(1);
    });
}

function pingPongFragmented(id: string, opcode: 9 | 10): ConformanceCase {
  const kind = opcode === 9 ? 'Ping' : 'Pong';
  return defineCase(id, 'RFC 6455 §5.4, §5.5', `Send ${kind} fragmented into 2 fragments.`, 'Connection is failed immediately, since control message MUST NOT be fragmented.', (c) => {
    c.expected.OK = [];
    expectFailure(c);
    c.p.sendFrame({ opcode, fin: false, payload: F1 });
    c.p.sendFrame({ opcode: 0, fin: true, payload: F2 });
    c.p.killAfter(1);
  });
}

function repeatedStray(id: string, fin: boolean): ConformanceCase {
  return defineCase(id, RFC,
    `Repeated 2x: Continuation Frame with FIN = ${fin ? 'true' : 'false'} (where there is nothing to continue), then text Message fragmented into 2 fragments.`,
    'The connection is failed immediately, since there is no message to continue.',
    (c) => {
      c.expected.OK = [];
      expectFailure(c);
      for (let i = 0; i < 2; i++) {
        c.p.sendFrame({ opcode: 0, fin, payload: F1 });
        c.p.sendFrame({ opcode: 1, fin: false, payload: F2 });
        c.p.sendFrame({ opcode: 0, fin: true, payload: b('fragment3') });
      }
      c.p.killAfter(1);
    });
}

function slowFragmented(id: string, sync: boolean): ConformanceCase {
  return defineCase(id, RFC,
    'A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.',
    "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
    (c) => {
      const frags = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'].map(b);
      const pings = [b('pongme 1!'), b('pongme 2!')];
      c.expected.OK = [['pong', pings[0]!], ['pong', pings[1]!], ['message', Buffer.concat(frags), false]];
      closeNormally(c);
      c.p.sendFrame({ opcode: 1, fin: false, payload: frags[0], sync });
      c.p.sendFrame({ opcode: 0, fin: false, payload: frags[1], sync });
      c.p.sendFrame({ opcode: 9, payload: pings[0], sync });
      c.p.continueLater(1, () => {
        c.p.sendFrame({ opcode: 0, fin: false, payload: frags[2], sync });
        c.p.sendFrame({ opcode: 0, fin: false, payload: frags[3], sync });
        c.p.sendFrame({ opcode: 9, payload: pings[1], sync });
        c.p.sendFrame({ opcode: 0, fin: true, payload: frags[4], sync });
        c.p.closeAfter(1);
      });
    });
}

export const section5: ConformanceCase[] = [
  pingPongFragmented('5.1', 9),
  pingPongFragmented('5.2', 10),
  echoFragmented('5.3', 'one', false),
  echoFragmented('5.4', 'frame', false),
  echoFragmented('5.5', 'octet', false),
  echoFragmented('5.6', 'one', true),
  echoFragmented('5.7', 'frame', true),
  echoFragmented('5.8', 'octet', true),
  strayContinuation('5.9', true, 'one'),
  strayContinuation('5.10', true, 'frame'),
  strayContinuation('5.11', true, 'octet'),
  strayContinuation('5.12', false, 'one'),
  strayContinuation('5.13', false, 'frame'),
  strayContinuation('5.14', false, 'octet'),
  defineCase('5.15', RFC,
    'Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.',
    'The connection is failed immediately, since there is no message to continue.',
    (c) => {
      c.expected.OK = [['message', b('fragment1fragment2'), false]];
      c.expected['NON-STRICT'] = [];
      expectFailure(c);
      c.p.sendFrame({ opcode: 1, fin: false, payload: F1 });
      c.p.sendFrame({ opcode: 0, fin: true, payload: F2 });
      c.p.sendFrame({ opcode: 0, fin: false, payload: b('fragment3') });
      c.p.sendFrame({ opcode: 1, fin: true, payload: b('fragment4') });
      c.p.killAfter(1);
    }),
  repeatedStray('5.16', false),
  repeatedStray('5.17', true),
  defineCase('5.18', RFC, 'Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.',
    'The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.',
    (c) => {
      c.expected.OK = [];
      expectFailure(c);
      c.p.sendFrame({ opcode: 1, fin: false, payload: F1 });
      c.p.sendFrame({ opcode: 1, fin: true, payload: F2 });
      c.p.killAfter(1);
    }),
  slowFragmented('5.19', false),
  slowFragmented('5.20', true),
];
