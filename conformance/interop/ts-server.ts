// Our server playing the scripted-server role: one createServer per run, which performs the
// handshake with the scenario's options and runs its steps on the first connection.
import { makeTestPki } from '../../lab/pki.js';
import type { Step, StepRecord } from '../../lab/peers/lua-api.js';
import { createServer } from 'resty-websocket/server';
import { runTsStep, type StepTarget } from './ts-steps.js';

export interface TsScriptedServer {
  /** ws://127.0.0.1:port or wss://... */
  url: string;
  /** Resolves with the step records once the steps have run. */
  records: Promise<StepRecord[]>;
  /** Whether a client completed the handshake (the steps run on that connection). */
  readonly connected: boolean;
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
  const server = await createServer({
    ...(opts.opts as object),
    port: 0,
    host: '127.0.0.1',
    ...(pki ? { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: opts.requireClientCert } } : {}),
    handler: async (ws) => {
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
    get connected() {
      return handled;
    },
    close: async () => {
      await server.close();
    },
  };
}
