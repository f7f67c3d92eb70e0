// jsfuzz target: FrameDecoder with the original's rules (compat), fed in input-chosen chunk sizes.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { FrameDecoder } from '../../impl/protocol.js';
import { fuzzFrames } from './frame-common.js';

export function fuzz(buf: Buffer): void {
  fuzzFrames(buf, (opts) => new FrameDecoder(opts));
}
