// Differential fuzzing of the server handshake: the same raw upgrade requests to the original
// server:new() (hosted by the native nginx peer at /diff-handshake) and to our parseRequestHead +
// checkHandshake (compat). Compared: nginx-level refusals (our parser's status vs nginx's), the
// library's error text, and for a 101 the Sec-WebSocket-Accept and Sec-WebSocket-Protocol headers.
import fc from 'fast-check';
import { relative } from 'node:path';
import {
  ChunkedBodyCounter, CONTINUE_RESPONSE, checkHandshake, expectsContinue, HTTP_EDGE_DEFAULTS, headLimits, nginxErrorResponse, RequestHeadParser,
} from 'resty-websocket';
import { nativeUnavailable, startNativePeer } from '../../lab/peers/native/index.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { FINDINGS_DIR, saveFinding } from '../findings.js';
import { minimiseAsync } from '../minimise.js';
import { classify, encodeRequest, mutatedRequestArb, probeHandshake, requestArb, type LuaHandshakeAnswer } from './handshake-nginx.js';

export interface HandshakeDiffOptions {
  timeMs?: number;
  maxCases?: number;
  seed?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  findingsDir?: string;
  maxDivergences?: number;
  /** Use a running peer on this port instead of starting one. */
  port?: number;
  /**
   * Also edit bytes inside the header lines. That mostly probes how closely parseRequestHead
   * mimics nginx's own refusals (the environment), not the library's checks.
   */
  mutate?: boolean;
}

export interface HandshakeDivergence {
  id: string;
  signature: string;
  file: string;
  request: string;
  lua: LuaHandshakeAnswer;
  ours: LuaHandshakeAnswer;
}

export interface HandshakeDiffReport {
  cases: number;
  casesPerSec: number;
  durationMs: number;
  seed: number;
  outcomes: Record<string, number>;
  divergenceCount: number;
  divergences: HandshakeDivergence[];
  ok: boolean;
  /** The server.lua the nginx peer loaded (_VERSION, folder); absent when the caller gave a port. */
  luaLib?: { version: string; path: string };
}

export function handshakeDiffUnavailable(): string | null {
  return nativeUnavailable();
}

/**
 * The bytes our server would answer `request` with at /diff-handshake, computed with the same
 * pure pieces the server runs (impl/request-head.ts, impl/http-edge.ts's defaults, checkHandshake):
 * nginx's refusal page, the interim 100 for "Expect: 100-continue", nothing while the body is
 * incomplete, then the library's error text (as the location answers it) or the 101 and the frame.
 */
export function oursAnswer(request: Buffer): Buffer {
  const v = new RequestHeadParser(headLimits({})).push(request);
  if (v.kind === 'more') return Buffer.alloc(0);
  if (v.kind === 'error') return nginxErrorResponse(v.status);
  const head = v.head;
  if (head.contentLength !== null && head.contentLength > HTTP_EDGE_DEFAULTS.client_max_body_size) return nginxErrorResponse(413, head.httpVersion === '0.9');
  const body = request.subarray(v.used);
  const pieces: Buffer[] = [];
  if (expectsContinue(head) && (head.chunked || (head.contentLength ?? 0) > 0)) pieces.push(CONTINUE_RESPONSE);
  if (head.chunked) {
    const c = new ChunkedBodyCounter().push(body, HTTP_EDGE_DEFAULTS.client_max_body_size);
    if (c.kind === 'error') return Buffer.concat([...pieces, nginxErrorResponse(c.status)]);
    if (c.kind === 'more') return Buffer.concat(pieces);
  } else if ((head.contentLength ?? 0) > body.length) return Buffer.concat(pieces);
  const out = checkHandshake(head, { checks: { validateHandshakeRequest: false, selectOneSubprotocol: false } });
  if (!out.ok) {
    const text = `WSLAB-ERR ${out.err}\n`;
    pieces.push(Buffer.from(`HTTP/1.1 400 Bad Request\r\nContent-Length: ${text.length}\r\n\r\n${text}`, 'latin1'));
  } else pieces.push(out.response, Buffer.from('WSLAB-OK'));
  return Buffer.concat(pieces);
}

/** Our answer in the same shape as the probe's. */
export function oursHandshake(request: Buffer): LuaHandshakeAnswer {
  return classify(oursAnswer(request));
}

function signatureOf(lua: LuaHandshakeAnswer, ours: LuaHandshakeAnswer): string {
  const shape = (a: LuaHandshakeAnswer): string =>
    a.kind === 'err' ? `err ${a.err.replace(/: .*$/, ': ...')}` : a.kind === 'nginx' ? `nginx ${a.status}` : a.kind === 'ok' ? `ok protocol=${a.protocol === null ? 'none' : 'set'}` : 'none';
  return `handshake: lua ${shape(lua)} / ours ${shape(ours)}`;
}

export async function runHandshakeDiff(opts: HandshakeDiffOptions = {}): Promise<HandshakeDiffReport> {
  const started = Date.now();
  const deadline = started + (opts.timeMs ?? 30_000);
  const seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const concurrency = opts.concurrency ?? 8;
  const peer = opts.port === undefined ? await startNativePeer({}) : null;
  const port = opts.port ?? Number(new URL(peer!.httpUrl).port);
  const outcomes: Record<string, number> = {};
  const divergences: HandshakeDivergence[] = [];
  let divergenceCount = 0;
  let cases = 0;
  const done = (): boolean => Date.now() >= deadline || (opts.maxCases !== undefined && cases >= opts.maxCases);
  try {
    for (let round = 0; !done(); round++) {
      const runSeed = (seed + round * 104729) | 0;
      const batch = opts.mutate
        ? fc.sample(mutatedRequestArb, { numRuns: 64, seed: runSeed })
        : fc.sample(requestArb, { numRuns: 64, seed: runSeed }).map(encodeRequest);
      for (let i = 0; i < batch.length && !done(); i += concurrency) {
        const slice = batch.slice(i, i + concurrency);
        const answers = await Promise.all(slice.map((r) => probeHandshake(port, r)));
        for (let k = 0; k < slice.length; k++) {
          cases++;
          const request = slice[k]!;
          const lua = answers[k]!;
          const ours = oursHandshake(request);
          const key = lua.kind === 'err' ? lua.err : lua.kind;
          if (JSON.stringify(lua) === JSON.stringify(ours)) {
            outcomes[key] = (outcomes[key] ?? 0) + 1;
            continue;
          }
          divergenceCount++;
          const signature = signatureOf(lua, ours);
          if (divergences.length >= (opts.maxDivergences ?? 10) || divergences.some((d) => d.signature === signature)) continue;
          divergences.push(await recordHandshakeDivergence(port, request, signature, opts.findingsDir ?? FINDINGS_DIR));
        }
      }
    }
  } finally {
    await peer?.stop();
  }
  const durationMs = Date.now() - started;
  return {
    cases,
    casesPerSec: Math.round(cases / Math.max(0.001, durationMs / 1000)),
    durationMs,
    seed,
    outcomes,
    divergenceCount,
    divergences,
    ok: divergenceCount === 0,
    ...(peer ? { luaLib: { version: peer.lib.serverVersion, path: peer.lib.path } } : {}),
  };
}

async function recordHandshakeDivergence(port: number, request: Buffer, signature: string, findingsDir: string): Promise<HandshakeDivergence> {
  // The request line stays as it is (it routes to /diff-handshake); the rest is minimised.
  const lineEnd = request.indexOf('\r\n') + 2;
  const requestLine = request.subarray(0, lineEnd);
  const still = async (rest: Buffer): Promise<boolean> => {
    const r = Buffer.concat([requestLine, rest]);
    // Without the blank line nginx just waits for more: not a candidate.
    if (!r.includes('\r\n\r\n')) return false;
    const lua = await probeHandshake(port, r, 1000);
    const ours = oursHandshake(r);
    return JSON.stringify(lua) !== JSON.stringify(ours) && signatureOf(lua, ours) === signature;
  };
  const min = Buffer.concat([requestLine, await minimiseAsync(request.subarray(lineEnd), still, 300)]);
  const lua = await probeHandshake(port, min);
  const ours = oursHandshake(min);
  const saved = saveFinding(
    findingsDir,
    {
      target: 'diff-handshake',
      kind: 'divergence',
      signature,
      message: `${signature}\nrequest: ${JSON.stringify(min.toString('latin1'))}`,
      inputHex: min.toString('hex'),
      originalHex: request.toString('hex'),
      foundAt: new Date().toISOString(),
      source: 'diff',
      detail: { lua, ours },
    },
    min,
  );
  return { id: saved.id, signature, file: relative(ROOT_DIR, saved.jsonPath), request: min.toString('latin1'), lua, ours };
}
