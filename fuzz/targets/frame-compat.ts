// jsfuzz target: FrameDecoder with the original's rules (compat), fed in input-chosen chunk sizes.
import { FrameDecoder } from '../../impl/protocol.js';
import { fuzzFrames } from './frame-common.js';

export function fuzz(buf: Buffer): void {
  fuzzFrames(buf, (opts) => new FrameDecoder(opts));
}
