// Compares what the real library and ours did in one session (two observations, lab/session/
// observe.ts): a pure function of the session and the two observations, like the conformance judge.
// Every call's return values, the head, the frames (masking keys normalised) and the TCP close are
// compared; the first divergence is explained by a declared difference (lab/session/known.ts) or is
// a finding.
import { compareRecords, normaliseRequestHead, normaliseResponseHead, showRecord, type NormaliseOptions } from '../compare.js';
import { explainFirstDivergence, type FirstDivergence, type KnownDifference } from './known.js';
import type { Session, SessionObservation } from './types.js';

export interface SessionComparison {
  /** The first divergence, or null when both sides did the same. */
  first: FirstDivergence | null;
  /** The declared difference that explains `first`, if any. */
  explained: KnownDifference | null;
  /** Record-level explained differences (not divergences: state unchanged), by reason. */
  recordExplained: string[];
}

/**
 * The keys the session chose. Our raw client's key is fixed by a server session; a client connect
 * draws its own key at random unless it passes a string `key` (client.lua gives each connect its own).
 */
function chosenKeys(s: Session): NormaliseOptions['chosenKeys'] {
  if (s.role === 'server') return 'all';
  return s.steps.flatMap((x) => (x.op === 'connect' && typeof x.opts?.key === 'string' ? [x.opts.key] : []));
}

export function normalisedHead(s: Session, head: string | null): string | null {
  if (head === null) return null;
  const o = { chosenKeys: chosenKeys(s) };
  return s.role === 'server' ? normaliseResponseHead(head, o) : normaliseRequestHead(head, o);
}

export function compareObservations(s: Session, lua: SessionObservation, ours: SessionObservation, libVersion: string): SessionComparison {
  const recordExplained: string[] = [];
  const diffs = compareRecords(lua.records, ours.records, libVersion, { chosenKeys: chosenKeys(s) });
  /** A difference that changes no state is counted under its record-level reason; any other one diverges. */
  const diverges = (fd: FirstDivergence): boolean => {
    const known = explainFirstDivergence(fd, s, libVersion, 'record');
    if (known) recordExplained.push(known.id);
    return known === null;
  };
  let first: FirstDivergence | null = null;
  for (const d of diffs) {
    if (d.explained) {
      recordExplained.push(d.explained);
      continue;
    }
    const fd: FirstDivergence = { channel: 'records', step: d.step, op: d.op, lua: d.lua, ours: d.ours, luaRecord: lua.records[d.step], oursRecord: ours.records[d.step] };
    if (diverges(fd)) {
      first = fd;
      break;
    }
  }
  // A reset drops what the peer's kernel had not handed over yet: the side that saw less must have
  // seen a prefix of what the other saw (lab/session/types.ts SessionObservation.reset).
  const reset = !!(lua.reset || ours.reset);
  let luaHead = normalisedHead(s, lua.head);
  let oursHead = normalisedHead(s, ours.head);
  let luaWire: unknown = lua.wire;
  let oursWire: unknown = ours.wire;
  if (reset) {
    if (luaHead === null || oursHead === null) luaHead = oursHead = null;
    const [short, long] = lua.wire.frames.length <= ours.wire.frames.length ? [lua.wire, ours.wire] : [ours.wire, lua.wire];
    if (JSON.stringify(long.frames.slice(0, short.frames.length)) === JSON.stringify(short.frames)) luaWire = oursWire = 'prefix (reset)';
  }
  const channels: Array<[FirstDivergence['channel'], unknown, unknown]> = [
    ['head', luaHead, oursHead],
    ['wire', luaWire, oursWire],
    ['tcp', lua.libraryClosed ? 'library closed TCP' : 'TCP left open', ours.libraryClosed ? 'library closed TCP' : 'TCP left open'],
    ['connections', { connections: lua.connections ?? null, later: (lua.laterHeads ?? []).map((h) => normalisedHead(s, h)) }, { connections: ours.connections ?? null, later: (ours.laterHeads ?? []).map((h) => normalisedHead(s, h)) }],
  ];
  if (!first) {
    for (const [channel, l, o] of channels) {
      if (JSON.stringify(l) === JSON.stringify(o)) continue;
      const d: FirstDivergence = { channel, lua: l, ours: o };
      if (diverges(d)) {
        first = d;
        break;
      }
    }
  }
  return { first, explained: first ? explainFirstDivergence(first, s, libVersion) : null, recordExplained };
}

/** A one-line description of a divergence. */
export function describeDivergence(d: FirstDivergence): string {
  const show = (v: unknown): string => JSON.stringify(v).slice(0, 160);
  if (d.channel === 'records') return `step ${d.step} (${d.op}): lua ${show(d.luaRecord ? showRecord(d.luaRecord) : null)} vs ours ${show(d.oursRecord ? showRecord(d.oursRecord) : null)}`;
  return `${d.channel}: lua ${show(d.lua)} vs ours ${show(d.ours)}`;
}
