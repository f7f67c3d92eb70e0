// The testees the conformance suite runs by default. Server agents expose an echo URL for server
// mode; client agents run the Autobahn testee protocol against our fuzzingserver.
import { WebSocket } from 'ws';
import { createServer, type WebSocketServer as OurServer } from 'resty-websocket/server';
import { newClient, type WebSocketClient } from 'resty-websocket/client';
import { startWsEcho } from '../../lab/ws-echo.js';
import { chromiumClient } from './chromium.js';
import type { Agent, ClientAgent, ServerAgent } from './types.js';

export const MAX_MESSAGE = 16 * 1024 * 1024;

export type { Agent, ClientAgent, ServerAgent } from './types.js';

/** The echo app every agent of ours runs: reassemble, echo, answer pings, echo the close. */
async function echoLoop(ws: OurServer | WebSocketClient, isClient: boolean): Promise<void> {
  let parts: Buffer[] | null = null;
  let kind: 'text' | 'binary' = 'text';
  for (;;) {
    const r = await ws.recvFrame();
    if (r.data === null) {
      if (r.err.includes(': timeout')) continue;
      if (isClient) await (ws as WebSocketClient).close();
      return;
    }
    switch (r.type) {
      case 'ping':
        await ws.sendPong(r.data);
        break;
      case 'pong':
        break;
      case 'close':
        await ws.sendClose(r.err ?? undefined, r.err === null ? undefined : r.data);
        if (isClient) await (ws as WebSocketClient).close();
        return;
      default: {
        if (r.type !== 'continuation' || parts === null) {
          parts = [];
          kind = r.type === 'binary' ? 'binary' : 'text';
        }
        parts.push(r.data);
        if (r.err !== 'again') {
          const msg = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
          parts = null;
          const sent = kind === 'binary' ? await ws.sendBinary(msg) : await ws.sendText(msg);
          if (sent.err !== null) {
            if (isClient) await (ws as WebSocketClient).close();
            return;
          }
        }
      }
    }
  }
}

/**
 * What our strict agents pass to createServer/newClient: permessage-deflate on (strict profile only),
 * so they negotiate it and must pass 12.x/13.x like every other case. The compat agents never do: the
 * Lua library has no permessage-deflate, and compat gives its verdicts.
 */
const STRICT_DEFLATE_OPTIONS: Record<string, unknown> = { permessageDeflate: true };
const strictDeflates = Object.keys(STRICT_DEFLATE_OPTIONS).length > 0;

/** How our server or client agent of one profile is named and described, and whether it deflates. */
function oursAgentInfo(role: 'server' | 'client', strict: boolean): { name: string; summary: string; permessageDeflate: boolean } {
  const profile = strict ? 'strict' : 'compat';
  return { name: `ours-${role}-${profile}`, summary: `our ${role} (impl/${role}.ts), ${profile} profile, echo app`, permessageDeflate: strict && strictDeflates };
}

function oursServer(strict: boolean): ServerAgent {
  return {
    kind: 'server',
    ...oursAgentInfo('server', strict),
    async start() {
      const srv = await createServer({ max_payload_len: MAX_MESSAGE, strict, handler: (ws) => echoLoop(ws, false), ...(strict ? STRICT_DEFLATE_OPTIONS : {}) });
      return { url: `${srv.url}/`, stop: srv.close };
    },
  };
}

function oursClient(strict: boolean): ClientAgent {
  return {
    kind: 'client',
    ...oursAgentInfo('client', strict),
    async run(base, agent, _peer, only) {
      for (const i of await caseNumbers(base, only)) {
        const c = newClient({ max_payload_len: MAX_MESSAGE, strict, timeout: 15_000, ...(strict ? STRICT_DEFLATE_OPTIONS : {}) });
        const r = await c.connect(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
        if (r.err !== null) continue;
        // Like the Lua client app: close() is the only way out, so a fatal compat client leaves the
        // socket open (docs/behaviour.md §7.15) until the fuzzingserver gives up on it.
        await echoLoop(c, true);
      }
      await firstText(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
    },
  };
}

/** The case numbers a client testee runs: `only`, or 1..getCaseCount. */
async function caseNumbers(base: string, only?: readonly number[]): Promise<number[]> {
  if (only) return [...only];
  const count = Number(await firstText(base + '/getCaseCount'));
  if (!Number.isInteger(count) || count <= 0) throw new Error(`getCaseCount at ${base} gave no case count`);
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** Connects with ws and returns the first text message (getCaseCount), or "" when there is none. */
function firstText(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let got = '';
    ws.on('message', (d) => {
      got ||= d.toString();
    });
    ws.on('close', () => resolve(got));
    ws.on('error', () => resolve(got));
  });
}

/** How long the Lua client script waits, after its cases, for the fuzzingserver's closes (every killAfter is seconds). */
export const LUA_CLIENT_LINGER_MS = 300_000;

export const AGENTS: readonly Agent[] = [
  {
    kind: 'server',
    name: 'ws-server',
    // ws 8.23 refuses messages of more than 16384 fragments (1008) by default; 9.3.1/9.4.1 send 65536.
    summary: 'the ws package (calibration: known to pass every case; fragment limit off, permessage-deflate on)',
    permessageDeflate: true,
    async start() {
      // perMessageDeflate with ws's defaults: it accepts the offers of 12.x/13.x as RFC 7692 allows.
      const echo = await startWsEcho({ maxPayload: 64 * 1024 * 1024, maxFragments: 0, perMessageDeflate: true });
      return { url: echo.url, stop: echo.close };
    },
  },
  oursServer(false),
  oursServer(true),
  {
    kind: 'server',
    name: 'lua-server',
    summary: 'nginx + the real lua-resty-websocket server with a naive echo app (fixtures/lua/conformance/echo.lua)',
    needsPeer: true,
    async start(peer) {
      if (!peer) throw new Error('lua-server needs the nginx + Lua peer');
      return { url: `${peer.wsUrl}/conformance-echo`, stop: async () => {} };
    },
  },
  {
    kind: 'client',
    name: 'ws-client',
    summary: 'the ws package client (calibration; offers permessage-deflate)',
    permessageDeflate: true,
    async run(base, agent, _peer, only) {
      for (const i of await caseNumbers(base, only)) {
        await new Promise<void>((resolve) => {
          // ws's default offer: "permessage-deflate; client_max_window_bits".
          const ws = new WebSocket(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, { maxPayload: 64 * 1024 * 1024, maxFragments: 0, perMessageDeflate: true });
          ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
          ws.on('close', () => resolve());
          ws.on('error', () => {});
        });
      }
      await firstText(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
    },
  },
  oursClient(false),
  oursClient(true),
  {
    kind: 'client',
    name: 'lua-client',
    summary: 'the real lua-resty-websocket client in nginx with a naive echo app (fixtures/lua/conformance/client.lua)',
    needsPeer: true,
    async run(base, agent, peer, only) {
      if (!peer) throw new Error('lua-client needs the nginx + Lua peer');
      const cases = only ? `&cases=${only.join(',')}` : '';
      // After its cases the script waits for the fuzzingserver to close every socket a fatal client left
      // open (their verdict is who closed first), up to LUA_CLIENT_LINGER_MS; one still open is an error.
      const url = `${peer.httpUrl}/conformance-client?base=${encodeURIComponent(base)}&agent=${encodeURIComponent(agent)}${cases}&linger_ms=${LUA_CLIENT_LINGER_MS}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(900_000) });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`lua-client: HTTP ${res.status}: ${body.slice(0, 200)}`);
      const summary = JSON.parse(body) as { still_open?: number[] };
      if (summary.still_open?.length) {
        throw new Error(`lua-client: the fuzzingserver had not closed case number(s) ${summary.still_open.join(', ')} ${LUA_CLIENT_LINGER_MS / 1000} s after the run`);
      }
    },
  },
  chromiumClient,
];

export function findAgent(name: string): Agent | undefined {
  return AGENTS.find((a) => a.name === name);
}
