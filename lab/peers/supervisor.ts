// A peer that is health-checked and, when it died mid-run, restarted once on the same ports (so
// every URL a runner holds stays valid). Every death and restart is recorded, so runners can name
// it, mark the cases that ran while the peer was down, and run those again.
import { startPeer, type StartPeerOptions } from './index.js';
import type { RunningPeer } from './types.js';

export interface PeerRestart {
  /** ISO time the death was noticed. */
  at: string;
  /** What noticed it ("after lua-server 5.3", "before interop cs-ping ts-lua"). */
  noticedBy: string;
  /** Whether the restart worked; when not, `error` says why and the peer stays dead. */
  restarted: boolean;
  error?: string;
}

export type PeerHealth = 'alive' | 'restarted' | 'dead';

/** The ports a peer listens on: a restart takes the same ones. */
export interface PeerPorts {
  port: number;
  tlsPort: number;
  tlsSelfSignedPort: number;
}

export class PeerSupervisor {
  readonly restarts: PeerRestart[] = [];
  private checking: Promise<PeerHealth> | null = null;
  private deadWhy: string | null = null;

  /**
   * `start` restarts the peer (null: we did not start it, so we cannot restart it: a death is final).
   * At most `maxRestarts` restarts (default 1): a peer that dies twice stays dead.
   */
  constructor(
    private peer: RunningPeer,
    private readonly start: ((ports: PeerPorts) => Promise<RunningPeer>) | null,
    private readonly maxRestarts = 1,
  ) {}

  /** A supervisor that restarts with startPeer(opts) on the old ports. */
  static forOwnPeer(peer: RunningPeer, opts: StartPeerOptions = {}): PeerSupervisor {
    return new PeerSupervisor(peer, (ports) => startPeer({ ...opts, ...ports }));
  }

  get current(): RunningPeer {
    return this.peer;
  }

  /** Why the peer is dead for good, or null. */
  get dead(): string | null {
    return this.deadWhy;
  }

  /**
   * Checks the peer's health endpoint; when it does not answer, restarts it (once). Concurrent
   * callers share one check, so two runners noticing one death cause one restart.
   */
  check(noticedBy: string): Promise<PeerHealth> {
    if (this.deadWhy !== null) return Promise.resolve('dead');
    this.checking ??= this.doCheck(noticedBy).finally(() => (this.checking = null));
    return this.checking;
  }

  private async doCheck(noticedBy: string): Promise<PeerHealth> {
    // A slow answer on a loaded machine is not a death: a second try waits 10 s.
    if ((await this.peer.alive()) || (await this.peer.alive(10_000))) return 'alive';
    const at = new Date().toISOString();
    if (!this.start || this.restarts.length >= this.maxRestarts) {
      const why = !this.start ? 'the peer stopped answering (it was not started by this run, so it is not restarted)' : `the peer stopped answering again after ${this.restarts.length} restart(s)`;
      this.restarts.push({ at, noticedBy, restarted: false, error: why });
      this.deadWhy = why;
      return 'dead';
    }
    const ports: PeerPorts = {
      port: Number(new URL(this.peer.httpUrl).port),
      tlsPort: Number(new URL(this.peer.wssUrl).port),
      tlsSelfSignedPort: Number(new URL(this.peer.wssSelfSignedUrl).port),
    };
    await this.peer.stop().catch(() => {});
    try {
      this.peer = await this.start(ports);
      this.restarts.push({ at, noticedBy, restarted: true });
      return 'restarted';
    } catch (e) {
      const why = `the peer died and could not be restarted: ${(e as Error).message.split('\n')[0]}`;
      this.restarts.push({ at, noticedBy, restarted: false, error: why });
      this.deadWhy = why;
      return 'dead';
    }
  }

  /** One line for summaries: "", or "peer died after lua-server 5.3, restarted". */
  describe(): string {
    return this.restarts.map((r) => `peer died (noticed ${r.noticedBy} at ${r.at}), ${r.restarted ? 'restarted' : `not restarted: ${r.error}`}`).join('; ');
  }
}
