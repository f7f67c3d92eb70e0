// jsfuzz target for the planted-bug test only (see planted-decoder.ts); never part of a normal run.
import { fuzzFrames } from './frame-common.js';
import { PlantedBugDecoder } from './planted-decoder.js';

export function fuzz(buf: Buffer): void {
  fuzzFrames(buf, (opts) => new PlantedBugDecoder(opts));
}
