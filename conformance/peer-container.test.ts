// The container peer against the real runtime (podman via scripts/setup-podman.sh, or Docker):
// it starts, serves the Lua endpoints, reports the library it loaded, cleans up after itself, and
// gives the same interop and conformance results as the native peer.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nativeUnavailable, startNativePeer } from '../lab/peers/native/index.js';
import { ROOT_DIR } from '../lab/paths.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { containerUnavailable, renderContainerConf, startContainerPeer } from '../lab/peers/container/index.js';
import { apiEndpoint } from '../lab/peers/container/cleanup.js';
import { parseEnvFile, resolveImage } from '../lab/peers/container/env.js';

const containerWhy = await containerUnavailable();
const nativeWhy = nativeUnavailable();
if (containerWhy) console.warn(`container peer tests skipped: ${containerWhy}`);

/** Container ids (full) currently known to the runtime with our label. */
async function wslabContainerIds(): Promise<string[]> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const list = await client.container.list();
  return list.filter((c) => c.Labels?.['wslab.peer'] === 'container').map((c) => c.Id);
}

function echoOnce(url: string, payload: string | Buffer): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error('echo timed out')), 10_000);
    ws.on('open', () => ws.send(payload));
    ws.on('message', (data, binary) => {
      clearTimeout(timer);
      ws.close();
      resolve({ data: data as Buffer, binary });
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('container config rendering', () => {
  it('OpenResty: no load_module lines, our fixtures first, the bundled library from the default path', () => {
    const { conf } = renderContainerConf({ flavour: 'openresty', port: 18080, tlsPort: 18443, tlsSelfSignedPort: 18444, customLib: false });
    expect(conf).not.toMatch(/^\s*load_module/m);
    expect(conf).toContain('lua_package_path "/wslab/lua/?.lua;;";');
    expect(conf).toContain('listen 127.0.0.1:18080;');
    expect(conf).toContain('listen 127.0.0.1:18443 ssl;');
    // the second TLS server: the self-signed pair copied in, the scripted endpoint only
    expect(conf).toMatch(/listen 127\.0\.0\.1:18444 ssl;\n\s+server_name localhost;\n\s+ssl_certificate \/wslab\/tls\/self-signed\.crt;\n\s+ssl_certificate_key \/wslab\/tls\/self-signed\.key;\n\s+location = \/scripted \{ content_by_lua_file \/wslab\/lua\/wslab\/scripted_server\.lua; \}\n\s+\}/);
  });
  it('Debian: the ngx_lua modules are loaded and the Debian library goes through the shim', () => {
    const { conf } = renderContainerConf({ flavour: 'debian', port: 1, tlsPort: 2, tlsSelfSignedPort: 3, customLib: false });
    expect(conf).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_http_lua_module\.so;$/m);
    expect(conf).toContain('/opt/wslab/lua-nginx-websocket/usr/share/lua/5.1/?.lua;/wslab/lua/shim/?.lua;/wslab/lua/?.lua;;');
  });
  it('a custom library replaces the flavour default', () => {
    const { conf } = renderContainerConf({ flavour: 'debian', port: 1, tlsPort: 2, tlsSelfSignedPort: 3, customLib: true });
    // The shim after the copied folder, so a Debian-layout copy (nginx/websocket/*.lua) loads too.
    expect(conf).toContain('lua_package_path "/wslab/lualib/?.lua;/wslab/lua/shim/?.lua;/wslab/lua/?.lua;;";');
  });
  it('env file and endpoint parsing', () => {
    expect(parseEnvFile('# c\nDOCKER_HOST=unix:///run/podman/podman.sock\n\nA="b c"\n')).toEqual({ DOCKER_HOST: 'unix:///run/podman/podman.sock', A: 'b c' });
    expect(apiEndpoint('unix:///run/x.sock')).toEqual({ socketPath: '/run/x.sock' });
    expect(apiEndpoint('tcp://127.0.0.1:2376')).toEqual({ host: '127.0.0.1', port: 2376 });
    expect(resolveImage('example/image:1')).toBe('example/image:1');
  });
});

describe.skipIf(containerWhy !== null)('container peer', () => {
  let peer: RunningPeer & { containerId?: string };
  beforeAll(async () => {
    peer = await startContainerPeer();
  }, 120_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it('serves /health on 127.0.0.1 and echoes text and binary through the real library', async () => {
    expect(peer.backend).toBe('container');
    expect(peer.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await peer.alive()).toBe(true);
    const text = await echoOnce(`${peer.wsUrl}/echo`, 'héllo');
    expect(text).toEqual({ data: Buffer.from('héllo'), binary: false });
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const bin = await echoOnce(`${peer.wsUrl}/echo`, bytes);
    expect(bin.binary).toBe(true);
    expect(bin.data.equals(bytes)).toBe(true);
  });

  it('echoes over wss with the peer CA', async () => {
    const ws = new WebSocket(`${peer.wssUrl}/echo`, { ca: peer.caPem });
    const got = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('tls'));
      ws.on('message', (d) => resolve(d.toString()));
      ws.on('error', reject);
    });
    ws.close();
    expect(got).toBe('tls');
  });

  it('reports the loaded library like the native peer', async () => {
    expect(peer.lib.protocolVersion).toMatch(/^0\.\d+$/);
    expect(peer.lib.clientVersion).toBe(peer.lib.protocolVersion);
    expect(peer.lib.ngxLuaVersion).toBeGreaterThan(10000);
    expect(peer.lib.source).toContain('in container');
    if (!nativeWhy && peer.lib.source.startsWith('Debian')) {
      const native = await startNativePeer();
      try {
        expect({ ...peer.lib, source: '' }).toEqual({ ...native.lib, source: '' });
      } finally {
        await native.stop();
      }
    }
  }, 60_000);

  it('reads nginx error log from inside the container', async () => {
    const log = await peer.errorLog(4096);
    expect(typeof log).toBe('string');
    expect(log.length).toBeLessThanOrEqual(4096);
  });

  it('stop() removes the container', async () => {
    const other = (await startContainerPeer()) as RunningPeer & { containerId: string };
    const id = other.containerId;
    expect(await wslabContainerIds()).toContain(id);
    await other.stop();
    expect(await wslabContainerIds()).not.toContain(id);
    expect(await other.alive()).toBe(false);
  }, 120_000);

  it('Ctrl-C in the process that started it removes the container', async () => {
    const script = join(ROOT_DIR, 'lab', 'peers', 'container', 'start-and-wait.fixture.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^started (\w+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${out}`)));
    });
    expect(await wslabContainerIds()).toContain(id);
    child.kill('SIGINT');
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
    expect(exit).toBe('SIGINT');
    expect(await wslabContainerIds()).not.toContain(id);
  }, 120_000);
});

describe.skipIf(containerWhy !== null || nativeWhy !== null)('container vs native: same results', () => {
  let container: RunningPeer;
  let native: RunningPeer;
  beforeAll(async () => {
    // allSettled: when one fails to start, the other is still kept, so afterAll stops it
    const [c, n] = await Promise.allSettled([startContainerPeer(), startNativePeer()]);
    if (c.status === 'fulfilled') container = c.value;
    if (n.status === 'fulfilled') native = n.value;
    for (const r of [c, n]) if (r.status === 'rejected') throw r.reason;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([container?.stop(), native?.stop()]);
  });

  it('interop: every scenario and direction gets the same verdict and differences', async (ctx) => {
    // Another library version (OpenResty's) legitimately differs from the native Debian one.
    if (container.lib.clientVersion !== native.lib.clientVersion) ctx.skip(`container runs ${container.lib.clientVersion}, native ${native.lib.clientVersion}`);
    const { runInterop } = await import('./interop/index.js');
    // runInterop runs a failed run once more (DirectionResult.flaky), so a transient loopback
    // hiccup on one backend does not show up as a backend difference; which runs needed it may differ.
    const run = (peer: RunningPeer) => runInterop({ peer, browser: false, outDir: mkdtempSync(join(tmpdir(), 'wslab-interop-')) });
    const c = await run(container);
    const n = await run(native);
    const key = (r: { scenario: string; direction: string; verdict: string; differences: unknown[] }) =>
      `${r.scenario} ${r.direction} ${r.verdict} ${r.differences.length}`;
    expect(c.results.length).toBeGreaterThan(100);
    expect(c.results.map(key).sort()).toEqual(n.results.map(key).sort());
    expect({ ...c.summary, flaky: 0 }).toEqual({ ...n.summary, flaky: 0 });
  }, 300_000);

  it('conformance against the Lua echo server: same verdict for every case', async (ctx) => {
    if (container.lib.clientVersion !== native.lib.clientVersion) ctx.skip(`container runs ${container.lib.clientVersion}, native ${native.lib.clientVersion}`);
    const { runConformance } = await import('./index.js');
    const cases = '1.*,2.*,3.*,4.*,5.*,6.1.*,7.1.*';
    const run = (peer: RunningPeer) =>
      runConformance({ peer, agents: ['lua-server'], cases, outDir: mkdtempSync(join(tmpdir(), 'wslab-conf-')) });
    const c = await run(container);
    const n = await run(native);
    expect(c.errors).toEqual({});
    const verdicts = (r: typeof c) => Object.fromEntries(r.results.map((x) => [x.id, `${x.behavior}/${x.behaviorClose}`]));
    expect(c.results.length).toBeGreaterThan(50);
    expect(verdicts(c)).toEqual(verdicts(n));
  }, 300_000);
});
