// A deliberately broken decoder for the planted-bug test: FrameDecoder with ONE rule changed, the
// close status code read as a signed 16-bit number (a classic readInt16BE-for-readUInt16BE slip).
// Codes 0x8000-0xFFFF come out negative. Both fuzzers must find it: jsfuzz through the oracle's
// range check, the differential fuzzer through the original's answer.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { FrameDecoder } from '../../impl/protocol.js';
import type { RecvResult } from '../../impl/types.js';
import type { DecoderLike } from './frame-common.js';

export class PlantedBugDecoder implements DecoderLike {
  private readonly inner: FrameDecoder;
  constructor(opts: { maxPayloadLen: number; forceMasking: boolean }) {
    this.inner = new FrameDecoder(opts);
  }
  push(chunk: Buffer): void {
    this.inner.push(chunk);
  }
  next(): RecvResult | null {
    return plant(this.inner.next());
  }
  end(sockErr?: string): RecvResult | null {
    return plant(this.inner.end(sockErr));
  }
}

function plant(r: RecvResult | null): RecvResult | null {
  if (r !== null && r.type === 'close' && typeof r.err === 'number' && r.err >= 0x8000) {
    return { data: r.data, type: 'close', err: r.err - 0x10000 };
  }
  return r;
}
