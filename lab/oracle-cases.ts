// The differential oracle's case format, shared by the differential fuzzer (fuzz/diff) and the
// deviation probes (conformance/deviations): what a case is, the request line the Lua driver
// (fixtures/lua/diff/driver.lua) reads for it, and how its answer lines read.

/** recv_frame over a stream; `chunks` are the sizes our decoder is fed (the original reads exact sizes). */
export interface RecvCase {
  kind: 'recv';
  maxPayloadLen: number;
  forceMasking: boolean;
  stream: Buffer;
  chunks: number[];
  /**
   * Stream offsets where a read times out (ngx_lua: the bytes before the offset are consumed as
   * the partial result, and the next call reads on from there: docs/behaviour.md §5, desynchronisation).
   */
  timeouts?: number[];
}

/** Sorted, distinct, within the stream. */
export function timeoutPoints(c: RecvCase): number[] {
  return [...new Set((c.timeouts ?? []).filter((t) => t >= 0 && t <= c.stream.length))].sort((a, b) => a - b);
}

export interface BuildCase {
  kind: 'build';
  fin: boolean;
  opcode: number;
  payloadLen: number;
  masking: boolean;
  /** 1..2^32-1: what math.random(0xffffffff) returns in the original. */
  key: number;
  payload: Buffer;
}

export type LuaValue = { t: 'nil' } | { t: 'bool'; v: boolean } | { t: 'number'; v: number } | { t: 'string'; v: Buffer };

export interface SendCase {
  kind: 'send';
  fin: boolean;
  opcode: number;
  maxPayloadLen: number;
  masking: boolean;
  key: number;
  payload: LuaValue;
}

export type DiffCase = RecvCase | BuildCase | SendCase;

/** The driver request for a case. */
export function luaRequest(c: DiffCase): string {
  switch (c.kind) {
    case 'recv':
    {
      const t = timeoutPoints(c);
      return `R ${c.maxPayloadLen} ${c.forceMasking ? 1 : 0} ${t.length ? t.join(',') : '-'} ${c.stream.toString('hex')}`;
    }
    case 'build':
      return `B ${c.fin ? 1 : 0} ${c.opcode} ${c.payloadLen} ${c.masking ? 1 : 0} ${c.key} ${c.payload.toString('hex')}`;
    case 'send': {
      const p = c.payload;
      const value = p.t === 'nil' ? 'n' : p.t === 'bool' ? `b ${p.v ? 1 : 0}` : p.t === 'number' ? `d ${luaNumberLiteral(p.v)}` : `s ${p.v.toString('hex')}`;
      return `S ${c.fin ? 1 : 0} ${c.opcode} ${c.maxPayloadLen} ${c.masking ? 1 : 0} ${c.key} ${value}`;
    }
  }
}

/** A decimal text Lua's tonumber reads back as exactly `x` (JS prints the shortest round-trip form). */
export function luaNumberLiteral(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** JSON form of a case for findings (buffers as hex). */
export function caseToJson(c: DiffCase): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (Buffer.isBuffer(v)) out[k] = { hex: v.toString('hex') };
    else if (k === 'payload' && v && typeof v === 'object' && 'v' in v && Buffer.isBuffer((v as { v: unknown }).v)) {
      out[k] = { t: 'string', v: { hex: ((v as { v: Buffer }).v).toString('hex') } };
    } else out[k] = v;
  }
  return out;
}

export function caseFromJson(j: Record<string, unknown>): DiffCase {
  const revive = (v: unknown): unknown => {
    if (v && typeof v === 'object' && 'hex' in v && Object.keys(v).length === 1) return Buffer.from((v as { hex: string }).hex, 'hex');
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    return v;
  };
  return revive(j) as DiffCase;
}

/** A readable rendering of a driver answer line (for reports and findings). */
export function describeAnswer(line: string): unknown {
  if (line.startsWith('recvFrame:')) return { via: 'recvFrame', answer: describeAnswer(line.slice('recvFrame:'.length)) };
  if (line.startsWith('R')) {
    return line
      .slice(1)
      .trim()
      .split(' ')
      .filter(Boolean)
      .map((r) => {
        const [d, t, e] = r.split(',') as [string, string, string];
        const err = e === '~' ? null : e[0] === 'n' ? Number(e.slice(1)) : Buffer.from(e.slice(1), 'hex').toString('latin1');
        const data = d === '~' ? null : d.length > 64 ? `<${d.length / 2} bytes ${d.slice(0, 32)}...>` : Buffer.from(d, 'hex').toString('latin1');
        return { data, type: t === '~' ? null : t, err };
      });
  }
  if (line.startsWith('E ') || line.startsWith('X ')) return { [line[0] === 'E' ? 'err' : 'luaError']: Buffer.from(line.slice(2), 'hex').toString('latin1') };
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
