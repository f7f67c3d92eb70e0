// Browser scenarios: what a page can do with a WebSocket (text, binary up to 1 MiB, close codes and
// reasons both ways, subprotocol lists) against a scripted server — the real Lua server in nginx or
// ours — whose steps are the same for both. The browser cannot send pings; the server does, and the
// browser's automatic pong shows in the server's records.
import type { Step } from '../../../lab/peers/lua-api.js';
import type { BrowserPlan } from './page-script.js';

export type ServerProfile = 'compat' | 'strict';

export interface BrowserScenario {
  id: string;
  title: string;
  server: { opts?: Record<string, unknown>; steps: Step[] };
  browser: Omit<BrowserPlan, 'url' | 'timeoutMs'>;
  /**
   * A documented deviation of the original that makes one of our profiles differ from it here:
   * differences for that profile are explained by it (and one is required: a deviation that no
   * longer shows is itself a finding).
   */
  deviation?: { profile: ServerProfile; why: string; specItem: string };
}

const recv: Step = { op: 'recv_frame' };
const MiB = 1024 * 1024;
const UNICODE = 'héllo, wörld ✓ 🎉';

export const BROWSER_SCENARIOS: readonly BrowserScenario[] = [
  {
    id: 'browser-text-echo', title: 'text with multi-byte UTF-8 out and back, then the browser closes 1000',
    server: { steps: [recv, { op: 'send_text', payload: UNICODE }, recv, { op: 'send_close', code: 1000, msg: 'done' }] },
    browser: { onOpen: [{ send: 'text', data: UNICODE }], afterMessage: { 1: [{ close: [1000, 'done'] }] } },
  },
  {
    // Chromium sends a message of more than 131000 bytes as several frames, split where its data
    // pipe happens to be read: a scripted server cannot know how many recv_frame calls that takes.
    // So the browser sends 64 KiB (one frame) and the server answers with 1 MiB (one frame).
    id: 'browser-binary-1mib', title: 'binary: 64 KiB from the browser, 1 MiB back (max_payload_len 1 MiB)',
    server: { opts: { max_payload_len: MiB }, steps: [recv, { op: 'send_binary', payload: { fill: 'w', len: MiB } }, recv, { op: 'send_close', code: 1000 }] },
    browser: { onOpen: [{ send: 'binary', fill: 'w', len: 64 * 1024 }], afterMessage: { 1: [{ close: [1000] }] } },
  },
  {
    id: 'browser-ping-pong', title: 'the server pings, the browser pongs by itself; an unsolicited pong is ignored',
    server: { steps: [{ op: 'send_ping', payload: 'are you there' }, recv, { op: 'send_pong', payload: 'unsolicited' }, { op: 'send_text', payload: 'after the pings' }, recv, { op: 'send_close', code: 1000 }] },
    browser: { onOpen: [], afterMessage: { 1: [{ close: [1000] }] } },
  },
  {
    id: 'browser-close-4000-reason', title: 'the browser closes with 4000 and a UTF-8 reason; the server echoes it',
    server: { steps: [recv, { op: 'send_close', code: 4000, msg: 'bye — ü' }] },
    browser: { onOpen: [{ close: [4000, 'bye — ü'] }] },
  },
  {
    id: 'browser-close-no-code', title: 'the browser closes without a code (1005 seen by the server)',
    server: { steps: [recv, { op: 'send_close' }] },
    browser: { onOpen: [{ close: [] }] },
  },
  {
    id: 'browser-server-close-1001', title: 'the server closes first with 1001 and a reason',
    server: { steps: [{ op: 'send_close', code: 1001, msg: 'going away' }, recv] },
    browser: { onOpen: [] },
  },
  {
    id: 'browser-server-close-empty', title: 'the server closes first with an empty close frame',
    server: { steps: [{ op: 'send_close' }, recv] },
    browser: { onOpen: [] },
  },
  {
    id: 'browser-fragmented', title: 'the server sends a text message in two fragments',
    server: { steps: [{ op: 'send_frame', fin: false, opcode: 1, payload: 'frag' }, { op: 'send_frame', fin: true, opcode: 0, payload: 'mented' }, recv, { op: 'send_close', code: 1000 }] },
    browser: { onOpen: [], afterMessage: { 1: [{ close: [1000] }] } },
  },
  {
    id: 'browser-over-max-payload', title: 'a 2000-byte message to a server with max_payload_len 1000; the server closes 1009',
    server: { opts: { max_payload_len: 1000 }, steps: [recv, { op: 'send_close', code: 1009, msg: 'too big' }] },
    browser: { onOpen: [{ send: 'text', data: 'x'.repeat(2000) }] },
    deviation: {
      profile: 'strict',
      why: "the original's recv_frame error makes the object fatal, so the application's send_close fails and the connection just drops (the browser sees 1006, not clean); strict fails the connection with a close frame 1009 as RFC 6455 §7.1.7 says (the browser sees 1009, clean)",
      specItem: '§4 Server methods (any recv_frame error other than a timeout sets fatal); RFC 6455 §7.1.7, §7.4.1',
    },
  },
  {
    id: 'browser-subprotocol-one', title: "one subprotocol offered (['chat']): echoed, the browser's protocol is chat",
    server: { steps: [recv, { op: 'send_close', code: 1000 }] },
    browser: { protocols: ['chat'], onOpen: [{ close: [1000] }] },
  },
  {
    id: 'browser-subprotocol-list', title: "two subprotocols offered (['a', 'b'])",
    server: { steps: [recv, { op: 'send_close', code: 1000 }] },
    browser: { protocols: ['a', 'b'], onOpen: [{ close: [1000] }] },
    deviation: {
      profile: 'strict',
      why: "the original echoes the whole offer 'a, b' (so does compat), which Chromium rejects ('Sec-WebSocket-Protocol' header must not appear more than once in a response): the handshake fails; strict picks 'a' and the session works",
      specItem: '§7.3 (server echoes the entire first Sec-WebSocket-Protocol value; RFC 6455 §4.2.2)',
    },
  },
];
