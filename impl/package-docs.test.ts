// (Not named readme*: npm packs every file whose name starts with "readme".)
// impl/README.md is the package's whole documentation (what npm shows): every name a user can import,
// every option, every strict switch and every error string of the exported tables must be in it.
// The names come from the TypeScript compiler, so a new export without a line in the README fails here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as pkg from './index.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const readme = readFileSync(`${dir}README.md`, 'utf8');
const manifest = JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { exports: Record<string, unknown> };

/** Every identifier inside a `code span` of the README. */
const prose = readme.replace(/```[\s\S]*?```/g, '');
const documented = new Set([...prose.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.match(/[A-Za-z_$][\w$]*/g) ?? []));

/** The entry points (impl/package.json "exports") and the source file each one is built from. */
const entries = Object.keys(manifest.exports)
  .filter((k) => k !== './package.json')
  .map((k) => ({ entry: k === '.' ? 'resty-websocket' : `resty-websocket/${k.slice(2)}`, file: `${dir}${k === '.' ? 'index' : k.slice(2)}.ts` }));

const program = ts.createProgram(entries.map((e) => e.file), { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, types: ['node'] });
const checker = program.getTypeChecker();

function exportsOf(file: string): ts.Symbol[] {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`the compiler did not load ${file}`);
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
}

/** The property names of an exported interface or type of the root entry point. */
function propertiesOf(name: string): string[] {
  const sym = exportsOf(entries[0]!.file).find((s) => s.name === name);
  if (!sym) throw new Error(`resty-websocket exports no ${name}`);
  const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  return checker.getDeclaredTypeOfSymbol(target).getProperties().map((p) => p.name);
}

describe('impl/README.md documents the package', () => {
  it('names every entry point of impl/package.json', () => {
    expect(entries.map((e) => e.entry)).toContain('resty-websocket');
    for (const { entry } of entries) expect(readme, entry).toContain(`\`${entry}\``);
  });

  it('names every export of every entry point, in backticks (the TypeScript compiler lists them)', () => {
    const missing: string[] = [];
    let count = 0;
    for (const { entry, file } of entries) {
      for (const sym of exportsOf(file)) {
        count++;
        if (!documented.has(sym.name)) missing.push(`${entry}: ${sym.name}`);
      }
    }
    expect(count).toBeGreaterThan(100);
    expect(missing, 'exports missing from impl/README.md').toEqual([]);
  });

  it('names every option of createServer, acceptWebSocket, newServer, newClient, connect and recvMessage, and every strict switch', () => {
    const missing: string[] = [];
    for (const type of ['CreateServerOptions', 'AcceptOptions', 'ServerOptions', 'HttpEdgeOptions', 'ClientOptions', 'ConnectOptions', 'RecvMessageOptions', 'PerMessageDeflateOptions', 'StrictChecks']) {
      const props = propertiesOf(type);
      expect(props.length, type).toBeGreaterThan(1);
      for (const p of props) if (!documented.has(p)) missing.push(`${type}.${p}`);
    }
    expect(missing, 'options missing from impl/README.md').toEqual([]);
  });

  it("quotes every error string of the exported error tables", () => {
    const tables = Object.entries(pkg).filter(([name]) => /_ERRORS$/.test(name) || name === 'SOCKET_BUSY' || name === 'READ_FAILURE_PREFIX');
    expect(tables.map(([name]) => name)).toEqual(expect.arrayContaining(['RECV_ERRORS', 'SEND_ERRORS', 'SERVER_ERRORS', 'CLIENT_ERRORS', 'HANDSHAKE_ERRORS', 'MESSAGE_ERRORS', 'STRICT_ERRORS', 'DEFLATE_ERRORS']));
    const missing: string[] = [];
    for (const [name, table] of tables) {
      for (const [key, text] of Object.entries(table as Record<string, string>)) {
        // A prefix ("failed to inflate: ") is quoted with what follows it.
        const quoted = text.endsWith(': ') ? `\`${text}` : `\`${text}\``;
        if (!readme.includes(quoted)) missing.push(`${name}.${key}: ${text}`);
      }
    }
    expect(missing, 'error strings missing from impl/README.md').toEqual([]);
  });
});
