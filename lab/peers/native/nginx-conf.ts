// Renders fixtures/nginx/nginx.conf.template (and every fixtures/nginx/locations/*.conf) for one
// peer run. All paths are parameters, so the container backend renders the same files with the
// paths inside its image.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_NGINX } from '../../paths.js';

export interface NginxConfParams {
  /** nginx's -p prefix: pid file, temp paths and the rendered locations/ live there. */
  prefix: string;
  ndkModule: string;
  luaModule: string;
  /** lua_package_path entries (without the final ";;"). */
  luaPath: string[];
  luaCpath: string[];
  /** Our fixtures/lua folder as nginx sees it. */
  fixturesLua: string;
  port: number;
  tlsPort: number;
  /** The TLS listener with the self-signed certificate (cs.t 25). */
  tlsSelfSignedPort: number;
  serverCert: string;
  serverKey: string;
  caCert: string;
  /** A certificate that is its own issuer, and its key: what the self-signed listener serves. */
  selfSignedCert: string;
  selfSignedKey: string;
  errorLog: string;
  logLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  /** nginx refuses to run workers as root unless told to. */
  runAsRoot: boolean;
}

function vars(p: NginxConfParams): Record<string, string> {
  return {
    prefix: p.prefix,
    ndk_module: p.ndkModule,
    lua_module: p.luaModule,
    lua_path: p.luaPath.join(';'),
    lua_cpath: p.luaCpath.join(';'),
    fixtures_lua: p.fixturesLua,
    port: String(p.port),
    tls_port: String(p.tlsPort),
    tls_self_signed_port: String(p.tlsSelfSignedPort),
    server_cert: p.serverCert,
    server_key: p.serverKey,
    ca_cert: p.caCert,
    self_signed_cert: p.selfSignedCert,
    self_signed_key: p.selfSignedKey,
    error_log: p.errorLog,
    log_level: p.logLevel ?? 'warn',
    user_directive: p.runAsRoot ? 'user root;' : '',
  };
}

export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return v;
  });
}

/** The main config and the rendered extra locations (file name -> text), ready to write under the prefix. */
export function renderNginxConf(p: NginxConfParams, fixturesNginx = FIXTURES_NGINX): { conf: string; locations: Record<string, string> } {
  const values = vars(p);
  const conf = renderTemplate(readFileSync(join(fixturesNginx, 'nginx.conf.template'), 'utf8'), values);
  const locations: Record<string, string> = {};
  const dir = join(fixturesNginx, 'locations');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
  } catch {
    names = [];
  }
  for (const name of names) locations[name] = renderTemplate(readFileSync(join(dir, name), 'utf8'), values);
  return { conf, locations };
}
