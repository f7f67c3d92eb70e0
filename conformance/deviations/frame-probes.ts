// Where the original's frame codec departs from RFC 6455 (docs/behaviour.md §7), shown by running the
// real protocol.lua (under luajit, through the differential fuzzer's driver) on a minimal input:
// bytes in, `data, typ, err` out, next to what the RFC requires and what our two profiles do.
import { FrameDecoder, toRecvResult } from 'resty-websocket/protocol';
import { MessageValidator, STRICT, type RecvResult } from 'resty-websocket';
import { describeAnswer, luaRequest, type RecvCase } from '../../lab/oracle-cases.js';
import { LuaOracle, oracleUnavailable } from '../../lab/lua-oracle.js';

export interface FrameProbe {
  id: string;
  /** The item of the behaviour spec's §7 list this probe demonstrates. */
  specItem: number;
  title: string;
  rfc: string;
  /** What RFC 6455 requires of a receiver given this input. */
  rfcRequires: string;
  /** The bytes a peer sends, as hex. */
  hex: string;
  /** recv_frame's force_masking: true on the server side, false on the client side. */
  forceMasking: boolean;
  maxPayloadLen?: number;
}

export interface Answer {
  data: string | null;
  type: string | null;
  err: string | number | null;
}

export interface FrameProbeResult {
  probe: FrameProbe;
  /** The original's recv_frame results up to the end of the input. */
  lua: Answer[] | null;
  /** Ours with the compat profile (must equal lua). */
  compat: Answer[];
  /** Ours with the strict profile: the frames up to the first strict failure. */
  strict: Answer[];
  /** Whether compat reproduces the original exactly. */
  compatMatches: boolean | null;
  skipped?: string;
}

export const FRAME_PROBES: readonly FrameProbe[] = [
  {
    id: 'stray-continuation', specItem: 5, title: 'a continuation frame with no message to continue is accepted',
    rfc: 'RFC 6455 §5.4', rfcRequires: 'fail the WebSocket connection (close 1002)', hex: '80 83 00 00 00 00 66 6f 6f', forceMasking: true,
  },
  {
    id: 'interleaved-text', specItem: 5, title: 'a new text frame inside a fragmented message is accepted',
    rfc: 'RFC 6455 §5.4', rfcRequires: 'fail the connection (1002): a fragmented message must be completed by continuation frames',
    hex: '01 81 00 00 00 00 61 81 81 00 00 00 00 62', forceMasking: true,
  },
  {
    id: 'invalid-utf8-text', specItem: 6, title: 'a text frame that is not UTF-8 is returned as text',
    rfc: 'RFC 6455 §8.1', rfcRequires: 'fail the connection (close 1007)', hex: '81 82 00 00 00 00 c3 28', forceMasking: true,
  },
  {
    id: 'invalid-utf8-close-reason', specItem: 6, title: 'a close reason that is not UTF-8 is returned as is',
    rfc: 'RFC 6455 §5.5.1, §8.1', rfcRequires: 'fail the connection (close 1007)', hex: '88 84 00 00 00 00 03 e8 ff fe', forceMasking: true,
  },
  {
    id: 'close-code-0', specItem: 7, title: 'close code 0 is accepted', rfc: 'RFC 6455 §7.4.1, §7.4.2',
    rfcRequires: 'codes below 1000 are not used: fail the connection (1002)', hex: '88 82 00 00 00 00 00 00', forceMasking: true,
  },
  {
    id: 'close-code-1005', specItem: 7, title: 'close code 1005 (reserved, never on the wire) is accepted', rfc: 'RFC 6455 §7.4.1',
    rfcRequires: '1005 MUST NOT be sent: fail the connection (1002)', hex: '88 82 00 00 00 00 03 ed', forceMasking: true,
  },
  {
    id: 'close-code-5000', specItem: 7, title: 'close code 5000 (outside every range) is accepted', rfc: 'RFC 6455 §7.4.2',
    rfcRequires: 'fail the connection (1002)', hex: '88 82 00 00 00 00 13 88', forceMasking: true,
  },
  {
    id: 'length-2-31', specItem: 8, title: 'a 2^31-byte length is an error', rfc: 'RFC 6455 §5.2',
    rfcRequires: 'lengths up to 2^63-1 are valid (an implementation may still refuse it as too big, with 1009)',
    hex: '82 ff 00 00 00 00 80 00 00 00', forceMasking: true, maxPayloadLen: 0x7fffffff,
  },
  {
    id: 'masked-server-frame', specItem: 2, title: 'the client accepts and unmasks a masked frame from the server', rfc: 'RFC 6455 §5.1',
    rfcRequires: 'a client MUST close the connection if it detects a masked frame', hex: '81 83 01 02 03 04 67 6d 6c', forceMasking: false,
  },
];

function plain(r: RecvResult): Answer {
  return { data: r.data === null ? null : r.data.toString('latin1'), type: r.type, err: r.err };
}

type StrictCheck = (r: RecvResult, masked: boolean) => string | null;

function runOurs(probe: FrameProbe, validator: StrictCheck | null): Answer[] {
  const dec = new FrameDecoder({ maxPayloadLen: probe.maxPayloadLen ?? 65535, forceMasking: probe.forceMasking });
  dec.push(Buffer.from(probe.hex.replace(/\s+/g, ''), 'hex'));
  const out: Answer[] = [];
  for (let f = dec.nextFrame(); f !== null; f = dec.nextFrame()) {
    const r = toRecvResult(f.outcome);
    const failure = validator ? validator(r, f.head.masked) : null;
    if (failure !== null) {
      out.push({ data: null, type: null, err: failure });
      return out;
    }
    out.push(plain(r));
  }
  out.push(plain(dec.end('closed')));
  return out;
}

/** The strict profile's receive-side checks (MessageValidator). */
function strictValidator(forceMasking: boolean): StrictCheck {
  const v = new MessageValidator(STRICT);
  return (r, masked) => {
    // The client side also rejects masked frames from a server in strict mode.
    if (!forceMasking && r.data !== null && masked) return 'strict: masked frame from the server';
    const res = v.check(r);
    return res.ok ? null : res.err;
  };
}

/** `onOracle` is told which protocol.lua the probes ran on (its _VERSION and path), when luajit could run it. */
export async function runFrameProbes(probes: readonly FrameProbe[] = FRAME_PROBES, onOracle?: (lib: { version: string; path: string }) => void): Promise<FrameProbeResult[]> {
  const why = oracleUnavailable();
  const oracle = why ? null : new LuaOracle();
  const results: FrameProbeResult[] = [];
  try {
    if (oracle) onOracle?.({ version: await oracle.version(), path: oracle.protocolPath });
    for (const probe of probes) {
      const c: RecvCase = {
        kind: 'recv', maxPayloadLen: probe.maxPayloadLen ?? 65535, forceMasking: probe.forceMasking,
        stream: Buffer.from(probe.hex.replace(/\s+/g, ''), 'hex'), chunks: [],
      };
      const lua = oracle ? (describeAnswer(await oracle.ask(luaRequest(c))) as Answer[]) : null;
      const compat = runOurs(probe, null);
      const strict = runOurs(probe, strictValidator(probe.forceMasking));
      results.push({
        probe, lua, compat, strict,
        compatMatches: lua ? JSON.stringify(lua) === JSON.stringify(compat) : null,
        ...(why ? { skipped: why } : {}),
      });
    }
  } finally {
    await oracle?.close();
  }
  return results;
}
