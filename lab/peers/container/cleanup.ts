// Containers must never outlive the process that started them, even without Ryuk (which is off
// under podman): at exit, and on Ctrl-C / SIGTERM, every still-registered container is force-removed
// through the Docker API. 'exit' handlers cannot await, so the removal runs in a short synchronous
// child node process.
import { spawnSync } from 'node:child_process';

const live = new Set<string>();
let hooked = false;

/** The Docker API endpoint from DOCKER_HOST (unix socket by default). */
export function apiEndpoint(dockerHost = process.env.DOCKER_HOST): { socketPath: string } | { host: string; port: number } {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port) || 2375 };
}

const REMOVE_SCRIPT = `
const http = require('node:http');
const [endpoint, ...ids] = process.argv.slice(1);
const ep = JSON.parse(endpoint);
let left = ids.length;
const timer = setTimeout(() => process.exit(1), 8000);
for (const id of ids) {
  const req = http.request({ ...ep, method: 'DELETE', path: '/containers/' + id + '?force=true&v=true' }, (res) => {
    res.resume();
    res.on('end', () => { if (--left === 0) { clearTimeout(timer); process.exit(0); } });
  });
  req.on('error', () => { if (--left === 0) { clearTimeout(timer); process.exit(0); } });
  req.end();
}`;

/** Force-removes containers synchronously (used from exit/signal handlers). */
export function removeContainersSync(ids: string[]): void {
  if (ids.length === 0) return;
  spawnSync(process.execPath, ['-e', REMOVE_SCRIPT, JSON.stringify(apiEndpoint()), ...ids], { stdio: 'ignore', timeout: 10_000 });
}

function onSignal(signal: NodeJS.Signals): void {
  removeContainersSync([...live]);
  live.clear();
  unhook();
  // Our listener stopped Node's default "exit on signal"; restore it unless someone else handles it
  // (they run right after us: Node calls a copy of the listener list).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
const onExit = (): void => removeContainersSync([...live]);

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
}

export function removeOnExit(id: string): void {
  live.add(id);
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit);
  // First in line, so handlers that re-raise only when they are alone (signal-exit, tsx's relay)
  // see us gone and do their usual thing.
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  process.prependListener('SIGHUP', onSignal);
}

export function forgetOnExit(id: string): void {
  live.delete(id);
  if (live.size === 0) unhook();
}
