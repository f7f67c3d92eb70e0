// What `wslab fuzz --url` sends to a service: one session is a generated upgrade request (valid or
// near-valid: every check of server:new() and RFC 6455 §4.2.1) and the traffic of a hostile raw
// client (every opcode, RSV bits, unmasked frames, control frames with long or fragmented payloads,
// close bodies of every length and code, fragments with control frames between them, cuts, split
// writes, pauses) and its end (FIN, RST or waiting). The parts are the session diff's server-role
// generators (fuzz/session/model.ts), so both fuzzers exercise the same space.
//
// Session i of a campaign is fast-check's first value for the seed sessionSeed(seed, i): it does
// not depend on which sessions ran before it, so shards (i mod N) split one campaign exactly, and a
// finding is shrunk from the very session that found it.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { PeerEnd, ServerSession, TrafficGroup } from '../../lab/session/types.js';
import { endArb, requestArb, trafficArb } from '../session/model.js';

export interface ServiceSession {
  kind: 'wslab-service-session';
  /** The upgrade request; the Host header and the path are the target's (filled in when sent). */
  request: ServerSession['request'];
  traffic: TrafficGroup[];
  end: PeerEnd;
}

/** The pause unit between traffic groups (ms): a service's timeouts are unknown, pauses stay short. */
export const PAUSE_UNIT_MS = 40;
/** Payload lengths cluster around the control-frame limit (125) and the 16-bit length form. */
const LIMITS = [125];

export const serviceSessionArb: fc.Arbitrary<ServiceSession> = fc
  .record({ request: requestArb, traffic: trafficArb(true, PAUSE_UNIT_MS, LIMITS), end: endArb })
  .map((r): ServiceSession => ({ kind: 'wslab-service-session', ...r }));

/** The fast-check seed of session `index` of the campaign with `seed` (a hash: neighbours share nothing). */
export function sessionSeed(seed: number, index: number): number {
  return createHash('sha256').update(`${seed >>> 0}:${index}`).digest().readUInt32BE(0) & 0x7fffffff;
}

/** The session `index` of the campaign `seed`, as the campaign generates it. */
export function sessionAt(seed: number, index: number): ServiceSession {
  return fc.sample(serviceSessionArb, { seed: sessionSeed(seed, index), numRuns: 1 })[0]!;
}

/** A short content hash of a session (the report's session list, shard checks). */
export function sessionId(s: ServiceSession): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 12);
}

/** The indices a shard runs: i with i mod count == shard-1. */
export function inShard(index: number, shard: { index: number; count: number }): boolean {
  return index % shard.count === shard.index - 1;
}

/** The request with the target's Host (the model's request says 127.0.0.1). */
export function withHost(req: ServiceSession['request'], host: string): ServiceSession['request'] {
  return { ...req, headers: req.headers.map(([n, v]): [string, string] => (n.toLowerCase() === 'host' ? [n, host] : [n, v])) };
}
