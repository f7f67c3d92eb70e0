// `wslab interop --scenario-file F`: one scenario from a JSON file. Two kinds:
// - an interop scenario as data ({id, title, server: {opts, steps}, client: {newOpts, connectOpts,
//   steps}, tls?: true or "self-signed"}): run in the four directions like the catalogue's;
// - a session (fuzz/findings/session/*.json, written by `wslab diff --session`, or a bare
//   {kind: "wslab-session", ...}): the raw peer it describes against the real library in nginx and
//   against ours (lua-raw / ts-raw for a server session, raw-lua / raw-ts for a client one: a raw
//   peer plays the other end, so those are the directions there are), compared as the session diff does.
import { readFileSync } from 'node:fs';
import type { RunningPeer } from '../../lab/peers/types.js';
import { describeDivergence, type SessionComparison } from '../../lab/session/compare.js';
import { diffSession } from '../../lab/session/run.js';
import type { Session, SessionObservation } from '../../lab/session/types.js';
import type { Scenario } from './types.js';

export type ScenarioFile = { kind: 'scenario'; scenario: Scenario } | { kind: 'session'; session: Session };

export function loadScenarioFile(path: string): ScenarioFile {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not a JSON scenario file (${(e as Error).message.split('\n')[0]})`);
  }
  const session = (j.kind === 'wslab-session-finding' ? j.session : j) as Session | undefined;
  if (session && session.kind === 'wslab-session') {
    const role: unknown = session.role;
    if (role !== 'server' && role !== 'client') throw new Error(`${path}: a session's role is "server" or "client", not ${JSON.stringify(role)}`);
    if (!Array.isArray(session.steps) || !Array.isArray(session.traffic)) throw new Error(`${path}: a session needs "steps" and "traffic" lists`);
    return { kind: 'session', session };
  }
  const s = j as unknown as Scenario;
  if (typeof s.id !== 'string' || !s.server || !Array.isArray(s.server.steps) || !s.client || !Array.isArray(s.client.steps)) {
    throw new Error(`${path}: neither a session (kind "wslab-session") nor an interop scenario ({id, title, server: {steps}, client: {steps}})`);
  }
  const tls: unknown = s.tls;
  if (tls !== undefined && typeof tls !== 'boolean' && tls !== 'self-signed') {
    throw new Error(`${path}: "tls" is true (the lab CA's certificate), "self-signed" (a certificate no one trusts) or false, not ${JSON.stringify(tls)}`);
  }
  return { kind: 'scenario', scenario: { ...s, title: s.title ?? s.id } };
}

export interface SessionReplay {
  directions: [string, string];
  comparison: SessionComparison;
  lua: SessionObservation;
  ours: SessionObservation;
  /** One line: agree, explained (id + spec item) or the divergence. */
  verdict: 'pass' | 'explained' | 'fail';
  line: string;
}

export async function replaySession(peer: RunningPeer, s: Session): Promise<SessionReplay> {
  const { cmp: comparison, lua, ours, timeScale } = await diffSession(peer, s);
  const directions: [string, string] = s.role === 'server' ? ['lua-raw', 'ts-raw'] : ['raw-lua', 'raw-ts'];
  const verdict = !comparison.first ? 'pass' : comparison.explained ? 'explained' : 'fail';
  const line =
    verdict === 'pass'
      ? `${directions.join(' = ')}: the same calls, head, frames and TCP close (${lua.records.length} records${timeScale > 1 ? `; times x${timeScale} for the machine's lag` : ''})`
      : verdict === 'explained'
        ? `${directions.join(' vs ')}: known difference ${comparison.explained!.id} [${comparison.explained!.specItem}]: ${describeDivergence(comparison.first!)}`
        : `${directions.join(' vs ')}: ${describeDivergence(comparison.first!)}`;
  return { directions, comparison, lua, ours, verdict, line };
}
