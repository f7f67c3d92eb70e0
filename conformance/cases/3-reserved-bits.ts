// Autobahn section 3, Reserved Bits (RFC 6455 §5.2): with no extension negotiated, RSV1-3 must be 0
// and the receiver must fail the connection; a valid frame before the bad one must still be echoed.
import type { ConformanceCase } from '../runner/types.js';
import { b, defineCase, expectFailure } from './helpers.js';

const RFC = 'RFC 6455 §5.2';
const EXPECT = 'The connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated.';

export const section3: ConformanceCase[] = [
  defineCase('3.1', RFC, 'Send small text message with <b>RSV = 1</b>.', EXPECT, (c) => {
    c.expected.OK = [];
    expectFailure(c);
    c.p.sendFrame({ opcode: 1, payload: b('Hello, world!'), rsv: 1 });
    c.p.killAfter(1);
  }),
  ...([['3.2', 2, false, undefined], ['3.3', 3, true, undefined], ['3.4', 4, true, 1]] as const).map(([id, rsv, sync, chop]) =>
    defineCase(id, RFC,
      `Send small text message, then send again with <b>RSV = ${rsv}</b>, then send Ping.${sync ? chop ? ' Octets are sent in octet-wise chops.' : ' Octets are sent in frame-wise chops.' : ''}`,
      `Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.`,
      (c) => {
        const payload = b('Hello, world!');
        c.expected.OK = [['message', payload, false]];
        c.expected['NON-STRICT'] = [];
        expectFailure(c);
        c.p.sendFrame({ opcode: 1, payload, sync, chopsize: chop });
        c.p.sendFrame({ opcode: 1, payload, rsv, sync, chopsize: chop });
        c.p.sendFrame({ opcode: 9, sync, chopsize: chop });
        c.p.killAfter(chop ? 10 : 1);
      })),
  defineCase('3.5', RFC, 'Send small binary message with <b>RSV = 5</b>.', EXPECT, (c) => {
    c.expected.OK = [];
    expectFailure(c);
    c.p.sendFrame({ opcode: 2, payload: Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]), rsv: 5 });
    c.p.killAfter(1);
  }),
  defineCase('3.6', RFC, 'Send Ping with <b>RSV = 6</b>.', EXPECT, (c) => {
    c.expected.OK = [];
    expectFailure(c);
    c.p.sendFrame({ opcode: 9, payload: b('Hello, world!'), rsv: 6 });
    c.p.killAfter(1);
  }),
  defineCase('3.7', RFC, 'Send Close with <b>RSV = 7</b>.', EXPECT, (c) => {
    c.expected.OK = [];
    expectFailure(c);
    c.p.sendFrame({ opcode: 8, rsv: 7 });
    c.p.killAfter(1);
  }),
];
