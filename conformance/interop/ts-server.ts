// Our server playing the scripted-server role: one createServer per run, which performs the
// handshake with the scenario's options and runs its steps on the first connection.
import { makeTestPki } from '../pki.js';
import type { Step, StepRecord } from '../peers/lua-api.js';
import { runTsStep, type StepTarget } from './ts-steps.js';

export interface TsScriptedServer {
  /** ws://127.0.0.1:port or wss://... */
  url: string;
  /** Resolves with the step records once the steps have run. */
  records: Promise<StepRecord[]>;
  close(): Promise<void>;
}

export async function startTsScriptedServer(opts: {
  opts: Record<string, unknown>;
  steps: Step[];
  tls: boolean;
  requireClientCert: boolean;
}): Promise<TsScriptedServer> {
  let resolve!: (r: StepRecord[]) => void;
  let reject!: (e: Error) => void;
  const records = new Promise<StepRecord[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  records.catch(() => {});
  let handled = false;
  const pki = opts.tls ? makeTestPki() : null;
  const { createServer } = (await import('../../impl/server.js')) as { createServer: (o: Record<string, unknown>) => Promise<{ url: string; close(): Promise<void> }> };
  const server = await createServer({
    ...(opts.opts as object),
    port: 0,
    host: '127.0.0.1',
    ...(pki ? { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: opts.requireClientCert } } : {}),
    handler: async (ws: unknown) => {
      if (handled) return; // only the scenario's connection runs the steps
      handled = true;
      const out: StepRecord[] = [{ op: 'new', ret: [true, null] }];
      try {
        for (const step of opts.steps) out.push(await runTsStep(ws as StepTarget, step));
        resolve(out);
      } catch (e) {
        reject(e as Error);
      }
    },
  });
  return {
    url: server.url,
    records,
    close: async () => {
      await server.close();
    },
  };
}
