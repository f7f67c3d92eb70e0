// Autobahn section 2, Pings/Pongs (RFC 6455 §5.5.2, §5.5.3): a ping must be answered with a pong
// carrying the same payload; control frames are limited to 125 bytes; unsolicited pongs need no answer.
import type { ConformanceCase } from '../runner/types.js';
import { b, closeNormally, defineCase, expectFailure } from './helpers.js';

const RFC = 'RFC 6455 §5.5.2, §5.5.3';

function pingCase(id: string, description: string, payload: Buffer, chopsize?: number): ConformanceCase {
  return defineCase(id, RFC, description, 'Pong (with payload echo\'ed) is sent in reply to Ping. Clean close with normal code.', (c) => {
    c.expected.OK = [['pong', payload]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 9, payload, chopsize });
    c.p.killAfter(chopsize ? 2 : 1);
  });
}

export const section2: ConformanceCase[] = [
  pingCase('2.1', 'Send ping without payload.', Buffer.alloc(0)),
  pingCase('2.2', 'Send ping with small text payload.', b('Hello, world!')),
  pingCase('2.3', 'Send ping with small binary (non UTF-8) payload.', Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])),
  pingCase('2.4', 'Send ping with binary payload of 125 octets.', Buffer.alloc(125, 0xfe)),
  defineCase('2.5', 'RFC 6455 §5.5', 'Send ping with binary payload of 126 octets.',
    'Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.',
    (c) => {
      c.expected.OK = [];
      expectFailure(c);
      c.p.sendFrame({ opcode: 9, payload: Buffer.alloc(126, 0xfe) });
      c.p.killAfter(1);
    }),
  pingCase('2.6', 'Send ping with binary payload of 125 octets, send in octet-wise chops.', Buffer.alloc(125, 0xfe), 1),
  defineCase('2.7', RFC, 'Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.',
    'Nothing.', (c) => {
      c.expected.OK = [];
      closeNormally(c);
      c.p.sendFrame({ opcode: 10 });
      c.p.sendClose(1000);
      c.p.closeAfter(1);
    }),
  defineCase('2.8', RFC, 'Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.',
    'Nothing.', (c) => {
      c.expected.OK = [];
      closeNormally(c);
      c.p.sendFrame({ opcode: 10, payload: b('unsolicited pong payload') });
      c.p.sendClose(1000);
      c.p.closeAfter(1);
    }),
  defineCase('2.9', RFC, 'Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.',
    'Nothing in reply to own Pong, but Pong with payload echo\'ed in reply to Ping. Clean close with normal code.', (c) => {
      c.expected.OK = [['pong', b('ping payload')]];
      closeNormally(c);
      c.p.sendFrame({ opcode: 10, payload: b('unsolicited pong payload') });
      c.p.sendFrame({ opcode: 9, payload: b('ping payload') });
      c.p.killAfter(1);
    }),
  ...([['2.10', undefined], ['2.11', 1]] as const).map(([id, chop]) =>
    defineCase(id, RFC, `Send 10 Pings with payload.${chop ? ' Send out octets in octet-wise chops.' : ''}`,
      'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
      (c) => {
        c.expected.OK = [];
        for (let i = 0; i < 10; i++) {
          const payload = b(`payload-${i}`);
          c.expected.OK.push(['pong', payload]);
          c.p.sendFrame({ opcode: 9, payload, chopsize: chop, sync: !!chop });
        }
        closeNormally(c);
        c.p.killAfter(chop ? 3 : 1);
      })),
];
