// Autobahn section 7, Close Handling (RFC 6455 §5.5.1, §7): the closing handshake, what may follow a
// close frame (nothing), close payload lengths, close reasons that must be UTF-8, valid and invalid
// status codes (§7.4).
import { CLOSE, type CaseRun, type ConformanceCase } from '../runner/types.js';
import { b, closeNormally, defineCase, wrongCodeFails } from './helpers.js';

const RFC = 'RFC 6455 §5.5.1, §7';

function weClose(c: CaseRun, codes: number[], requireClean: boolean): void {
  c.expectedClose = { closedByMe: true, closeCode: codes, requireClean };
}

const informational = (c: CaseRun): void => {
  if (c.behavior === 'OK') c.result = 'Text message was processed before close.';
  else if (c.behavior === 'NON-STRICT') c.result = 'Close was processed before text message could be returned.';
  c.behavior = 'INFORMATIONAL';
  c.behaviorClose = 'INFORMATIONAL';
};

export const section7: ConformanceCase[] = [
  defineCase('7.1.1', RFC, 'Send a message followed by a close frame', "Echoed message followed by clean close with normal code.", (c) => {
    const payload = b('Hello World!');
    c.expected.OK = [['message', payload, false]];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, payload });
    c.p.sendClose(CLOSE.NORMAL);
    c.p.killAfter(1);
  }),
  defineCase('7.1.2', RFC, 'Send two close frames', 'Clean close with normal code. Second close frame ignored.', (c) => {
    c.expected.OK = [];
    closeNormally(c);
    c.p.sendClose(CLOSE.NORMAL);
    c.p.sendFrame({ opcode: 8 });
    c.p.killAfter(1);
  }),
  defineCase('7.1.3', RFC, 'Send a ping after close message', 'Clean close with normal code, no pong.', (c) => {
    c.expected.OK = [];
    closeNormally(c);
    c.p.sendClose(CLOSE.NORMAL);
    c.p.sendFrame({ opcode: 9 });
    c.p.killAfter(1);
  }),
  defineCase('7.1.4', RFC, 'Send text message after sending a close frame.', 'Clean close with normal code. Text message ignored.', (c) => {
    c.expected.OK = [];
    closeNormally(c);
    c.p.sendClose(CLOSE.NORMAL);
    c.p.sendFrame({ opcode: 1, payload: b('Hello World!') });
    c.p.killAfter(1);
  }),
  defineCase('7.1.5', RFC, 'Send message fragment1 followed by close then fragment', 'Clean close with normal code.', (c) => {
    c.expected.OK = [];
    closeNormally(c);
    c.p.sendFrame({ opcode: 1, fin: false, payload: b('fragment1') });
    c.p.sendClose(CLOSE.NORMAL);
    c.p.sendFrame({ opcode: 0, fin: true, payload: b('fragment2') });
    c.p.killAfter(1);
  }),
  defineCase('7.1.6', RFC, 'Send 256K message followed by close then a ping',
    'Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.',
    (c) => {
      c.suppressClose = true;
      const payload = b('Hello World!');
      c.expected.OK = [['message', payload, false]];
      c.expected['NON-STRICT'] = [];
      closeNormally(c);
      c.p.sendFrame({ opcode: 1, payload: b('BAsd7&jh23'), payloadLen: 256 * 1024 });
      c.p.sendFrame({ opcode: 1, payload });
      c.p.sendClose(CLOSE.NORMAL);
      c.p.sendFrame({ opcode: 9 });
      c.p.killAfter(1);
    }, { onConnectionLost: informational }),
  defineCase('7.3.1', RFC, 'Send a close frame with payload length 0 (no close code, no close reason)', 'Clean close with normal code.', (c) => {
    c.expected.OK = [];
    weClose(c, [CLOSE.NORMAL], true);
    c.p.sendCloseFrame();
    c.p.killAfter(1);
  }),
  defineCase('7.3.2', 'RFC 6455 §5.5.1', 'Send a close frame with payload length 1', 'Clean close with protocol error or drop TCP.', (c) => {
    c.suppressClose = true;
    c.expected.OK = [];
    weClose(c, [CLOSE.PROTOCOL_ERROR], false);
    c.p.sendCloseFrame(null, 'a'); // a 1-byte close payload: a reason without a code
    c.p.killAfter(1);
  }, { onConnectionLost: wrongCodeFails }),
  defineCase('7.3.3', RFC, 'Send a close frame with payload length 2 (regular close with a code)', 'Clean close with normal code.', (c) => {
    c.expected.OK = [];
    weClose(c, [CLOSE.NORMAL], true);
    c.p.sendCloseFrame(CLOSE.NORMAL);
    c.p.killAfter(1);
  }, { onConnectionLost: wrongCodeFails }),
  defineCase('7.3.4', RFC, 'Send close with close code and close reason', 'Clean close with normal code.', (c) => {
    c.expected.OK = [];
    weClose(c, [CLOSE.NORMAL], true);
    c.p.sendCloseFrame(CLOSE.NORMAL, 'Hello World!');
    c.p.killAfter(1);
  }, { onConnectionLost: wrongCodeFails }),
  defineCase('7.3.5', RFC, 'Send close with close code and close reason of maximum length (123)', 'Clean close with normal code.', (c) => {
    c.expected.OK = [];
    weClose(c, [CLOSE.NORMAL], true);
    c.p.sendCloseFrame(CLOSE.NORMAL, '*'.repeat(123));
    c.p.killAfter(1);
  }, { onConnectionLost: wrongCodeFails }),
  defineCase('7.3.6', 'RFC 6455 §5.5', 'Send close with close code and close reason which is too long (124) - total frame payload 126 octets',
    'Connection is failed immediately, since control frames are only allowed to have payload up to and including 125 octets..', (c) => {
      c.suppressClose = true;
      c.expected.OK = [];
      weClose(c, [CLOSE.PROTOCOL_ERROR], false);
      c.p.sendCloseFrame(CLOSE.NORMAL, '*'.repeat(124));
      c.p.killAfter(1);
    }, { onConnectionLost: wrongCodeFails }),
  defineCase('7.5.1', 'RFC 6455 §5.5.1, §8.1', 'Send a close frame with invalid UTF8 payload', 'Clean close with protocol error or invalid utf-8 code or dropped TCP.', (c) => {
    c.suppressClose = true;
    c.expected.OK = [];
    weClose(c, [CLOSE.PROTOCOL_ERROR, CLOSE.INVALID_PAYLOAD], false);
    c.p.sendCloseFrame(CLOSE.NORMAL, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'));
    c.p.killAfter(1);
  }, { onConnectionLost: wrongCodeFails }),
  ...[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].map((code, i) =>
    defineCase(`7.7.${i + 1}`, 'RFC 6455 §7.4.1, §7.4.2', `Send close with valid close code ${code}`, 'Clean close with normal or echoed code', (c) => {
      c.expected.OK = [];
      weClose(c, [CLOSE.NORMAL, code], true);
      c.p.sendCloseFrame(code);
      c.p.killAfter(1);
    }, { onConnectionLost: wrongCodeFails })),
  ...[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].map((code, i) =>
    defineCase(`7.9.${i + 1}`, 'RFC 6455 §7.4.1, §7.4.2', `Send close with invalid close code ${code}`, 'Clean close with protocol error code or drop TCP', (c) => {
      c.expected.OK = [];
      weClose(c, [CLOSE.PROTOCOL_ERROR], false);
      c.p.sendCloseFrame(code);
      c.p.killAfter(1);
    }, { onConnectionLost: wrongCodeFails })),
  ...[5000, 65535].map((code, i) =>
    defineCase(`7.13.${i + 1}`, 'RFC 6455 §7.4.2', `Send close with close code ${code}`, 'Actual events are undefined by the spec.', (c) => {
      c.expected.OK = [];
      weClose(c, [CLOSE.PROTOCOL_ERROR], false);
      c.p.sendCloseFrame(code);
      c.p.killAfter(1);
    }, {
      onConnectionLost: (c) => {
        c.behavior = 'INFORMATIONAL';
        c.behaviorClose = 'INFORMATIONAL';
        c.result = `Actual events are undefined by the spec (close code ${code}).`;
      },
    })),
];
