// Codec benchmark (parent): one child with bufferutil, one with pure-JS masking for both sides.
import type { CodecChildParams, CodecChildResult } from './codec-child.js';
import { cpuProfArgs, spawnBenchChild } from './common.js';
import { benchBuildDir } from './build.js';

export const CODEC_SIZES = [2, 20, 125, 64 * 1024, 1024 * 1024];

export interface CodecOptions {
  sizes?: number[];
  rounds: number;
  roundMs: number;
  passBytes?: number;
  variants?: Array<'bufferutil' | 'js'>;
  /** Write a CPU profile of each child here. */
  cpuProfDir?: string;
}

export type CodecReport = CodecChildResult[];

export async function runCodecBench(o: CodecOptions): Promise<CodecReport> {
  const params: CodecChildParams = {
    sizes: o.sizes ?? CODEC_SIZES,
    rounds: o.rounds,
    roundMs: o.roundMs,
    passBytes: o.passBytes ?? 512 * 1024,
    chunkBytes: 64 * 1024,
  };
  // generous bound: cells * sides * (rounds + warm-up) * roundMs, plus start-up
  const bound = 30_000 + params.sizes.length * 4 * 2 * (params.rounds + 1) * params.roundMs * 3;
  const out: CodecReport = [];
  for (const variant of o.variants ?? ['bufferutil', 'js']) {
    const env = variant === 'js' ? { WS_NO_BUFFER_UTIL: '1', WSLAB_NO_BUFFER_UTIL: '1' } : { WS_NO_BUFFER_UTIL: undefined, WSLAB_NO_BUFFER_UTIL: undefined };
    const child = spawnBenchChild(benchBuildDir(), 'codec-child.ts', [JSON.stringify(params)], env, bound, cpuProfArgs(o.cpuProfDir));
    out.push((await child.firstJson) as CodecChildResult);
    await child.exited;
  }
  return out;
}
