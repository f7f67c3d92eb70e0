// Autobahn section 10, Misc (RFC 6455 §5.4): a message that the sender auto-fragments must arrive whole.
import type { ConformanceCase } from '../runner/types.js';
import { closeNormally, defineCase } from './helpers.js';

export const section10: ConformanceCase[] = [
  defineCase('10.1.1', 'RFC 6455 §5.4', 'Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.',
    "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.", (c) => {
      const payload = Buffer.alloc(65536, 0x2a);
      c.expected.OK = [['message', payload, false]];
      closeNormally(c);
      c.p.sendMessage(payload, false, 1300);
      c.p.killAfter(10);
    }),
];
