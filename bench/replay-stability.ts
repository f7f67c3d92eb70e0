// Saved session findings replay to one verdict (a bench-style script, not a timed test): every
// fuzz/findings/session/*.json (or the files given) replayed N times in a row against one peer,
// with B CPU-burning processes beside it. A finding whose verdict moves is a flaky harness, not a
// property of the library. The library is the run's (--lua-lib / RESTY_WEBSOCKET_LIB, else Debian's).
//
//   npx tsx bench/replay-stability.ts                        # 20 replays each, 2 busy loops
//   npx tsx bench/replay-stability.ts --times 5 --busy 0 fuzz/findings/session/client-0123.json
//
// Prints one line per finding (verdicts and counts) and the load average; exit 1 when any moved.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { replaySession } from '../conformance/interop/scenario-file.js';
import { parseCommandLine } from '../lab/args.js';
import { installInterruptHandler, trackChild } from '../lab/children.js';
import { chooseLuaLib } from '../lab/lua-lib.js';
import { startNativePeer } from '../lab/peers/native/index.js';
import type { Session } from '../lab/session/types.js';
import { FINDINGS_DIR } from '../fuzz/findings.js';

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('replay-stability', process.argv.slice(2), {
    times: { type: 'number', integer: true, min: 1, default: 20 },
    busy: { type: 'number', integer: true, min: 0, default: 2 },
    'lua-lib': { type: 'string' },
  }, { positionals: 100 });
  const bad = chooseLuaLib(values['lua-lib'] as string | undefined);
  if (bad) {
    console.error(bad);
    return 1;
  }
  installInterruptHandler('replay-stability');
  const dir = join(FINDINGS_DIR, 'session');
  const files = positionals.length ? positionals : readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  const burners = Array.from({ length: values.busy as number }, () => {
    // bounded: each stops by itself after an hour, and with us
    const child = spawn(process.execPath, ['-e', 'for (const end = Date.now() + 3_600_000; Date.now() < end;);'], { stdio: 'ignore' });
    trackChild(child, 'busy loop');
    return child;
  });
  const peer = await startNativePeer({});
  let moved = 0;
  try {
    console.log(`library ${peer.lib.clientVersion} (${peer.lib.source}); ${values.times} replays each; ${burners.length} busy loops`);
    for (const file of files) {
      const s = (JSON.parse(readFileSync(file, 'utf8')) as { session: Session }).session;
      const verdicts = new Map<string, number>();
      for (let i = 0; i < (values.times as number); i++) {
        const r = await replaySession(peer, s);
        const key = r.verdict === 'fail' ? `fail: ${r.line.slice(0, 160)}` : r.verdict;
        verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
      }
      if (verdicts.size > 1) moved++;
      console.log(`${verdicts.size > 1 ? 'MOVED' : 'same '} ${file.split('/').pop()}: ${[...verdicts].map(([v, n]) => `${v} x${n}`).join('; ')}`);
    }
  } finally {
    for (const b of burners) b.kill('SIGKILL');
    await peer.stop();
  }
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${moved} of ${files.length} findings moved`);
  return moved === 0 ? 0 : 1;
}

process.exitCode = await main();
