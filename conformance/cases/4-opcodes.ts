// Autobahn section 4, Opcodes (RFC 6455 §5.2, §10.7): reserved opcodes 3-7 and 11-15 must fail the
// connection; a valid message before one must still be echoed and a ping after it not answered.
import type { ConformanceCase } from '../runner/types.js';
import { b, defineCase, expectFailure } from './helpers.js';

const RFC = 'RFC 6455 §5.2';

function reserved(group: 1 | 2, first: number): ConformanceCase[] {
  const kind = group === 1 ? 'non-control' : 'control';
  const op = (i: number): number => first + i;
  return [
    defineCase(`4.${group}.1`, RFC, `Send frame with reserved ${kind} <b>Opcode = ${op(0)}</b>.`, 'The connection is failed immediately.', (c) => {
      c.expected.OK = [];
      expectFailure(c);
      c.p.sendFrame({ opcode: op(0) });
      c.p.killAfter(1);
    }),
    defineCase(`4.${group}.2`, RFC, `Send frame with reserved ${kind} <b>Opcode = ${op(1)}</b> and non-empty payload.`, 'The connection is failed immediately.', (c) => {
      c.expected.OK = [];
      expectFailure(c);
      c.p.sendFrame({ opcode: op(1), payload: b('reserved opcode payload') });
      c.p.killAfter(1);
    }),
    ...[2, 3, 4].map((i) =>
      defineCase(`4.${group}.${i + 1}`, RFC,
        `Send small text message, then send frame with reserved ${kind} <b>Opcode = ${op(i)}</b>${i === 3 ? ' and non-empty payload' : ''}, then send Ping.${i === 4 ? ' Octets are sent in octet-wise chops.' : ''}`,
        'Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.',
        (c) => {
          const payload = b('Hello, world!');
          c.expected.OK = [['message', payload, false]];
          c.expected['NON-STRICT'] = [];
          expectFailure(c);
          const chop = i === 4 ? 1 : undefined;
          c.p.sendFrame({ opcode: 1, payload, chopsize: chop, sync: !!chop });
          c.p.sendFrame({ opcode: op(i), payload: i >= 3 ? b('reserved opcode payload') : undefined, chopsize: chop, sync: !!chop });
          c.p.sendFrame({ opcode: 9, chopsize: chop, sync: !!chop });
          c.p.killAfter(1);
        })),
  ];
}

export const section4: ConformanceCase[] = [...reserved(1, 3), ...reserved(2, 11)];
