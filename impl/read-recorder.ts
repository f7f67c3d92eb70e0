// Wraps a cosocket to remember what recv_frame's reads saw: the first bytes of the frame (for the
// mask bit) and how much a failed read consumed. Neither is part of recv_frame's result, and the
// strict profile needs both.
import type { Cosocket, OkResult, SendResult, SockRecv } from './types.js';

export class ReadRecorder implements Cosocket {
  /** The first successful read (the frame's first two bytes). */
  first: Buffer | null = null;
  /** Bytes a failed read consumed before it failed (ngx_lua's partial result). */
  lastPartial = 0;

  constructor(private readonly sock: Cosocket) {}

  async receive(n: number): Promise<SockRecv> {
    const r = await this.sock.receive(n);
    if (r.data !== null) {
      if (this.first === null) this.first = r.data;
    } else {
      this.lastPartial = r.partial.length;
    }
    return r;
  }

  tryReceive(n: number): Buffer | null {
    const data = this.sock.tryReceive?.(n) ?? null;
    if (data !== null && this.first === null) this.first = data;
    return data;
  }

  receiveUntil(pattern: Buffer | string): Promise<SockRecv> {
    return this.sock.receiveUntil(pattern);
  }

  send(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    return this.sock.send(data);
  }

  setTimeout(ms: number): void {
    this.sock.setTimeout(ms);
  }

  close(): Promise<OkResult> {
    return this.sock.close();
  }
}
