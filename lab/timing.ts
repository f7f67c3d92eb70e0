// The run's own measure of how late it is: event-loop scheduling lag (how late a 20 ms timer fires,
// sampled all run long) and the round-trip time of the opening handshakes. The waits that decide a
// verdict (Autobahn's killAfter, closeAfter, close-handshake and server-drop timeouts) get a padding
// derived from these, instead of a constant, so a loaded machine gets longer waits and an idle one
// Autobahn's own; and a timeout that fired within the margin of this padding is known to be a
// close call, so its case is run once more (run-case.ts, conformance/index.ts).

const SAMPLE_MS = 20;
/** Samples kept: the last 2 s (a start-up stall, say a spawnSync, must not pad the whole run). */
const WINDOW = 100;
/** Lags at least this long (ms) are also logged with their time, for peakLagSince. */
const STALL_LOG_MIN_MS = 5;
/** Logged stalls kept (at one per sample, 40 s of a machine that stalls all the time). */
const STALL_LOG_SIZE = 2000;

export class RunTiming {
  private readonly lags: number[] = [];
  private readonly rtts: number[] = [];
  /** Stalls of at least STALL_LOG_MIN_MS: when each sample that measured one was taken, and the lag. */
  private readonly stalls: Array<{ at: number; lag: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private users = 0;
  private last = 0;

  /** Starts sampling (reference-counted: every runner that judges cases holds it while it runs). */
  acquire(): () => void {
    if (this.users++ === 0) {
      this.last = performance.now();
      this.timer = setInterval(() => {
        const now = performance.now();
        const lag = Math.max(0, now - this.last - SAMPLE_MS);
        this.push(this.lags, lag);
        if (lag >= STALL_LOG_MIN_MS) {
          this.stalls.push({ at: now, lag });
          if (this.stalls.length > STALL_LOG_SIZE) this.stalls.shift();
        }
        this.last = now;
      }, SAMPLE_MS);
      this.timer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private push(ring: number[], v: number): void {
    ring.push(v);
    if (ring.length > WINDOW) ring.shift();
  }

  /** How many lag samples the window holds (a fresh acquire has none). */
  get lagSamples(): number {
    return this.lags.length;
  }

  /** A handshake's (or any request/answer's) round trip, in ms. */
  noteRtt(ms: number): void {
    this.push(this.rtts, ms);
  }

  /** The 95th percentile of recent scheduling lag (ms), counting the lag of a tick still pending. */
  lagMs(): number {
    const pending = this.timer ? Math.max(0, performance.now() - this.last - SAMPLE_MS) : 0;
    return Math.max(pending, percentile(this.lags, 0.95));
  }

  /**
   * The longest stall that overlapped the time since `since` (a performance.now() value), a tick
   * still pending included: how late anything scheduled in that time may have run. Smaller than
   * STALL_LOG_MIN_MS reads as 0.
   */
  peakLagSince(since: number): number {
    let peak = this.timer ? Math.max(0, performance.now() - this.last - SAMPLE_MS) : 0;
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const s = this.stalls[i]!;
      // A sample taken at `at` measured the lag of the tick that ended then.
      if (s.at < since) break;
      peak = Math.max(peak, s.lag);
    }
    return peak < STALL_LOG_MIN_MS ? 0 : peak;
  }

  /** The 90th percentile of recent round trips (ms); 1 ms before any was measured. */
  rttMs(): number {
    return this.rtts.length ? percentile(this.rtts, 0.9) : 1;
  }

  /** What every verdict-deciding wait gets on top of Autobahn's value: 4 x lag + 4 x RTT. */
  paddingMs(): number {
    return 4 * this.lagMs() + 4 * this.rttMs();
  }

  /** How close to a timeout's deadline counts as "decided by a close call" (at least 50 ms). */
  marginMs(): number {
    return Math.max(50, this.paddingMs());
  }

  snapshot(): { lagP95Ms: number; rttP90Ms: number; paddingMs: number; marginMs: number } {
    const r = (x: number): number => Math.round(x * 10) / 10;
    return { lagP95Ms: r(this.lagMs()), rttP90Ms: r(this.rttMs()), paddingMs: r(this.paddingMs()), marginMs: r(this.marginMs()) };
  }
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One per process: every agent of a run shares the event loop it measures. */
export const runTiming = new RunTiming();
