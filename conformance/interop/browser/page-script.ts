// What the page runs: one WebSocket driven by a plan (what to do on open and after each message)
// and every event the browser exposes recorded in order. Plain JavaScript in a string: a transpiled
// TypeScript function would carry its transpiler's helpers into the page.

/** What the browser does: the actions a page can take on a WebSocket. */
export type BrowserAction =
  | { send: 'text'; data: string }
  | { send: 'binary'; fill: string; len: number }
  | { close: [] | [number] | [number, string] };

export interface BrowserPlan {
  url: string;
  protocols?: string[];
  onOpen: BrowserAction[];
  /** Actions after the Nth message (1-based). */
  afterMessage?: Record<number, BrowserAction[]>;
  /** Stop waiting for the close event after this long (recorded as a 'gave-up' event). */
  timeoutMs: number;
}

/** One observed event; message payloads reduced to type, length, a text preview and an FNV-1a hash. */
export type BrowserEvent =
  | { event: 'open'; protocol: string; extensions: string }
  | { event: 'message'; type: 'text' | 'binary'; length: number; text?: string; fnv: string }
  | { event: 'error' }
  | { event: 'close'; code: number; reason: string; wasClean: boolean }
  | { event: 'gave-up'; afterMs: number; readyState: number }
  | { event: 'throw'; action: string; name: string; message: string };

export const PAGE_RUNNER = `async (plan) => {
  const events = [];
  const fnv = (bytes) => { let h = 0x811c9dc5; for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193) >>> 0; } return h.toString(16).padStart(8, '0'); };
  const fill = (pattern, len) => { const p = new TextEncoder().encode(pattern); const out = new Uint8Array(len); for (let i = 0; i < len; i++) out[i] = p[i % p.length]; return out; };
  let ws;
  try {
    ws = plan.protocols ? new WebSocket(plan.url, plan.protocols) : new WebSocket(plan.url);
  } catch (e) {
    events.push({ event: 'throw', action: 'new WebSocket', name: e.name, message: e.message });
    return events;
  }
  ws.binaryType = 'arraybuffer';
  const act = (actions) => {
    for (const a of actions || []) {
      try {
        if (a.send === 'text') ws.send(a.data);
        else if (a.send === 'binary') ws.send(fill(a.fill, a.len));
        else if (a.close) ws.close(...a.close);
      } catch (e) {
        events.push({ event: 'throw', action: JSON.stringify(a).slice(0, 80), name: e.name, message: e.message });
      }
    }
  };
  let messages = 0;
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { events.push({ event: 'gave-up', afterMs: plan.timeoutMs, readyState: ws.readyState }); try { ws.close(); } catch {} resolve(events); }, plan.timeoutMs);
    ws.onopen = () => { events.push({ event: 'open', protocol: ws.protocol, extensions: ws.extensions }); act(plan.onOpen); };
    ws.onmessage = (e) => {
      messages++;
      if (typeof e.data === 'string') {
        const bytes = new TextEncoder().encode(e.data);
        events.push({ event: 'message', type: 'text', length: bytes.length, text: e.data.length > 64 ? e.data.slice(0, 64) + '…' : e.data, fnv: fnv(bytes) });
      } else {
        const bytes = new Uint8Array(e.data);
        events.push({ event: 'message', type: 'binary', length: bytes.length, fnv: fnv(bytes) });
      }
      act((plan.afterMessage || {})[messages]);
    };
    ws.onerror = () => events.push({ event: 'error' });
    ws.onclose = (e) => { events.push({ event: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean }); clearTimeout(timer); resolve(events); };
  });
}`;
