// Runs interop steps on our implementation's objects and records the results in the same shape as
// the Lua endpoints do (fixtures/lua/wslab/steps.lua): strings as bytes, nil as null.
import type { LuaRet, PayloadSpec, Step, StepRecord } from './peers/lua-api.js';

/** The methods a server or client object of ours offers (the client adds connect/close/keepalive). */
export interface StepTarget {
  fatal?: boolean;
  closed?: boolean;
  recvFrame(): Promise<{ data: Buffer | null; type: string | null; err: string | number | null }>;
  sendText(p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendBinary(p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendPing(p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendPong(p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendClose(code?: unknown, msg?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendFrame(fin: boolean, opcode: number, p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  sendContinue?(p?: unknown): Promise<{ bytes: number | null; err: string | null }>;
  setTimeout(ms: number): unknown;
  close?(): Promise<{ ok: number | null; err: string | null }>;
  setKeepalive?(t?: number | null, s?: number | null): { ok: number | null; err: string | null } | Promise<{ ok: number | null; err: string | null }>;
  connect?(uri: unknown, opts?: Record<string, unknown>): Promise<{ ok: number | null; err: string | null; res: string | null }>;
}

export function payloadValue(p: PayloadSpec | undefined): unknown {
  if (p === undefined || p === null) return null;
  if (typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean') return p;
  if ('hex' in p) return Buffer.from(p.hex, 'hex');
  return Buffer.alloc(p.len, p.fill);
}

function str(v: string | null): LuaRet {
  return v === null ? null : Buffer.from(v, 'latin1');
}

function lua(v: unknown): LuaRet {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  if (Buffer.isBuffer(v) || typeof v === 'number' || typeof v === 'boolean') return v;
  return { other: String(v) };
}

/** Runs one step on `obj`; `connect` needs the URI/options the runner resolved. */
export async function runTsStep(
  obj: StepTarget,
  step: Step,
  connect?: (obj: StepTarget, step: Extract<Step, { op: 'connect' }>) => Promise<LuaRet[]>,
): Promise<StepRecord> {
  const rec = (ret: LuaRet[]): StepRecord => ({ op: step.op, ret, state: { fatal: !!obj.fatal, closed: !!obj.closed } });
  const sent = (r: { bytes: number | null; err: string | null }): StepRecord => rec([r.bytes, str(r.err)]);
  switch (step.op) {
    case 'recv_frame': {
      const r = await obj.recvFrame();
      return rec([lua(r.data), str(r.type), lua(r.err)]);
    }
    case 'send_text': return sent(await obj.sendText(payloadValue(step.payload)));
    case 'send_binary': return sent(await obj.sendBinary(payloadValue(step.payload)));
    case 'send_ping': return sent(await obj.sendPing(payloadValue(step.payload)));
    case 'send_pong': return sent(await obj.sendPong(payloadValue(step.payload)));
    case 'send_continue':
      if (!obj.sendContinue) return rec([null, str('method send_continue does not exist')]);
      return sent(await obj.sendContinue(payloadValue(step.payload)));
    case 'send_close': return sent(await obj.sendClose(step.code ?? undefined, payloadValue(step.msg) ?? undefined));
    case 'send_frame': return sent(await obj.sendFrame(step.fin, step.opcode, payloadValue(step.payload)));
    case 'set_timeout': {
      const r = obj.setTimeout(step.ms) as { err?: string } | undefined;
      return rec([null, null, r?.err ? str(r.err) : null]);
    }
    case 'sleep':
      await new Promise((r) => setTimeout(r, step.ms));
      return rec([]);
    case 'close': {
      const r = await obj.close!();
      return rec([r.ok, str(r.err)]);
    }
    case 'set_keepalive': {
      const r = await obj.setKeepalive!(step.timeout ?? null, step.size ?? null);
      return rec([r.ok, str(r.err)]);
    }
    case 'connect':
      if (!connect) throw new Error('connect step without a connector');
      return rec(await connect(obj, step));
    default:
      return { op: step.op, ret: [], luaError: `unsupported step ${step.op}` };
  }
}
