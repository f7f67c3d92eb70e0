// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time, so
// `wslab bench --cpu-prof DIR` can print where a child spent its CPU without opening DevTools.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  /** Share of the busy samples (0..1): idle time is left out, the server waits between runs. */
  share: number;
}

/** The main thread's profile in `dir` (tsx's loader thread writes a second, smaller one). */
export function mainProfileIn(dir: string): string | null {
  let best: string | null = null;
  let bestSize = -1;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    const size = statSync(join(dir, f)).size;
    if (size > bestSize) [best, bestSize] = [join(dir, f), size];
  }
  return best;
}

export function hotFunctions(file: string, top = 12): HotFunction[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; t: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const t = p.timeDeltas[i] ?? 0;
    const cf = byId.get(p.samples[i]!)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    total += t;
    const where = `${cf.url.replace(/^.*\/(node_modules|bench|impl|conformance|fuzz)\//, '$1/')}:${cf.lineNumber + 1}`;
    const key = `${cf.functionName}@${where}`;
    const e = self.get(key) ?? { name: cf.functionName || '(anonymous)', where, t: 0 };
    e.t += t;
    self.set(key, e);
  }
  return [...self.values()]
    .sort((a, b) => b.t - a.t)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, share: total > 0 ? e.t / total : 0 }));
}
