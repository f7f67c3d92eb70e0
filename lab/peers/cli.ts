// `wslab peer`: install, start, stop or inspect the nginx + Lua peer. `start` leaves nginx running
// in the background and records it in .cache/peer/state.json so `stop` and `status` work later.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine, renderOptions, UsageError, type OptionsSpec } from '../args.js';
import { printJson, humanStdio } from '../output.js';
import { ROOT_DIR } from '../paths.js';
import { startNativePeer, stopPid } from './native/index.js';
import { httpGet } from './nginx-peer.js';
import { chooseBackend, BACKEND_CHOICES } from './index.js';
import { clearPeerState, readPeerState as readState, writePeerState, type PeerState } from './recorded.js';

/** `wslab peer`'s options: the parser's spec and the Options block of its help. */
export const options = {
  'lua-lib': { type: 'string', value: 'DIR', help: 'a lua-resty-websocket lib/ folder (holding resty/websocket/*.lua)' },
  backend: { type: 'string', choices: BACKEND_CHOICES, value: 'B', help: 'native | container | auto (default auto: native when nginx is installed)' },
  port: { type: 'number', integer: true, min: 0, max: 65535, help: 'plain port (default: a free one)' },
  'tls-port': { type: 'number', integer: true, min: 0, max: 65535, help: 'TLS port (default: a free one)' },
  'tls-self-signed-port': {
    type: 'number', integer: true, min: 0, max: 65535,
    help: 'port of the second TLS listener, whose certificate is self-signed and\ntrusted by no one (cs.t 25; /scripted only; default: a free one)',
  },
  json: { type: 'flag', help: 'print the result as one JSON document on stdout (the peer record for\nstart and status); human lines go to stderr' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab peer <install|start|stop|status> [options]

Runs nginx + libnginx-mod-http-lua with the real lua-resty-websocket on 127.0.0.1.
By default the library is Debian's lua-nginx-websocket 0.08, loaded through our
resty.websocket.* shim; --lua-lib (or RESTY_WEBSOCKET_LIB) selects any other copy.

Commands:
  install   apt-get install nginx, the Lua module, lua-cjson, luajit2; extract the library (idempotent)
  start     start a peer in the background and print its URLs and library version; wslab interop
            and wslab conformance use it (same library and backend) instead of starting their own
  stop      stop the peer started by 'start'
  status    say whether that peer is running

${renderOptions(options)}

Endpoints: /echo, /scripted (+ /script, /results), /client, /version, /health, /tls-info on the
plain and the TLS port (a certificate from the lab CA); /scripted on the self-signed TLS port

Examples:
  wslab peer install
  wslab peer start --port 8080
  RESTY_WEBSOCKET_LIB=/usr/local/openresty/lualib wslab peer start
  wslab peer status && wslab peer stop`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('peer', argv, options, { positionals: { max: 1, first: ['install', 'start', 'stop', 'status'] } });
  const cmd = positionals[0];
  const out = (human: string, data: unknown): void => (values.json ? printJson(data) : console.log(human));

  switch (cmd) {
    case 'install': {
      // apt-get's and the script's lines are human text: on stderr with --json.
      const r = spawnSync('bash', [join(ROOT_DIR, 'scripts', 'setup-peers.sh')], { stdio: ['inherit', humanStdio(), 'inherit'] });
      const code = r.status ?? 1;
      if (values.json) printJson({ ok: code === 0, exitCode: code });
      return code;
    }
    case 'start': {
      const old = readState();
      if (old?.pid && (await httpGet(`${old.httpUrl}/health`, 500))) {
        out(`a peer is already running at ${old.httpUrl} (pid ${old.pid}); stop it first`, { ok: false, running: old });
        return 1;
      }
      const choice = values.backend ?? 'auto';
      try {
        const backend = await chooseBackend(choice);
        const opts = {
          luaLib: values['lua-lib'],
          port: values.port || undefined,
          tlsPort: values['tls-port'] || undefined,
          tlsSelfSignedPort: values['tls-self-signed-port'] || undefined,
        };
        // Only the native backend can outlive this process; a container peer lives as long as the command.
        const peer = backend.name === 'native' ? await startNativePeer({ ...opts, detached: true }) : await backend.start(opts);
        const state: PeerState = {
          pid: peer.pid ?? null,
          backend: peer.backend, httpUrl: peer.httpUrl, wsUrl: peer.wsUrl, wssUrl: peer.wssUrl, wssSelfSignedUrl: peer.wssSelfSignedUrl, lib: peer.lib,
          prefix: 'prefix' in peer ? (peer as { prefix: string }).prefix : undefined,
          caPem: peer.caPem,
          luaLib: values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB,
        };
        writePeerState(state);
        out(
          [
            `peer started (${peer.backend}, pid ${state.pid ?? 'n/a'})`,
            `  echo     ${peer.wsUrl}/echo      (${peer.wssUrl}/echo)`,
            `  scripted ${peer.wsUrl}/scripted  client ${peer.httpUrl}/client`,
            `  self-signed TLS ${peer.wssSelfSignedUrl}/scripted (a certificate no one trusts)`,
            `  library  protocol ${peer.lib.protocolVersion}, client ${peer.lib.clientVersion}, server ${peer.lib.serverVersion}; ngx_lua ${peer.lib.ngxLuaVersion}`,
            `  source   ${peer.lib.source}`,
            ...(state.pid ? ['  wslab interop and wslab conformance use this peer until `wslab peer stop`'] : []),
          ].join('\n'),
          { ok: true, ...state },
        );
        return 0;
      } catch (e) {
        console.error(`wslab peer start: ${(e as Error).message}`);
        if (values.json) printJson({ ok: false, error: (e as Error).message });
        return 1;
      }
    }
    case 'stop': {
      const s = readState();
      if (!s?.pid) {
        out('no peer started by `wslab peer start` is recorded', { ok: true, running: false });
        return 0;
      }
      await stopPid(s.pid);
      if (s.prefix) rmSync(s.prefix, { recursive: true, force: true });
      clearPeerState();
      out(`peer stopped (pid ${s.pid})`, { ok: true, stopped: s.pid });
      return 0;
    }
    case 'status': {
      const s = readState();
      const up = s ? (await httpGet(`${s.httpUrl}/health`, 1000))?.status === 200 : false;
      out(up ? `running at ${s!.httpUrl} (pid ${s!.pid})` : 'not running', { running: up, ...(s ?? {}) });
      return up ? 0 : 3;
    }
    default:
      throw new UsageError('peer', 'needs a command: install, start, stop or status (see wslab peer --help)');
  }
}
