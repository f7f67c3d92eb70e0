// XOR masking (RFC 6455 §5.3). Masking is an involution: applying the same key twice restores
// the payload. Large buffers are XORed a 32-bit word at a time once aligned; small ones byte-wise,
// where creating a typed-array view would cost more than it saves.
import { randomFillSync } from 'node:crypto';
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';
// Below this the byte loop beats making an Int32Array view (87 vs 109 ns at 64 B, 123 vs 133 ns at
// 128 B; the view wins from ~192 B).
const WORD_THRESHOLD = 160;
const NATIVE_THRESHOLD = 256;

type NativeMask = (buf: Buffer, key: Buffer) => void;
let nativeMask: NativeMask | null = null;

// Like ws: when the optional `bufferutil` addon is installed, large buffers are XORed natively
// (about 4x the JS word loop here, see bench/). WSLAB_NO_BUFFER_UTIL=1 keeps the pure-JS path.
// Loaded with a dynamic import so this module also compiles to CommonJS (the fuzz targets).
if (!process.env.WSLAB_NO_BUFFER_UTIL) {
  const addon = 'bufferutil';
  import(addon).then(
    (m: { unmask?: NativeMask; default?: { unmask?: NativeMask } }) => {
      nativeMask = m.unmask ?? m.default?.unmask ?? null;
    },
    () => {},
  );
}

/** Whether large buffers are masked by the bufferutil addon (false until it has loaded, or without it). */
export function usingNativeMask(): boolean {
  return nativeMask !== null;
}

/** XORs `buf` in place with the 4-byte `key` (only key[0..3] are read), key phase 0 at buf[0]. */
export function maskInPlace(buf: Buffer, key: Buffer): void {
  const len = buf.length;
  if (len >= NATIVE_THRESHOLD && nativeMask !== null) {
    nativeMask(buf, key);
    return;
  }
  maskInPlaceJs(buf, key);
}

/** The pure-JS masking loop: 32-bit words once aligned, bytes at the edges. */
export function maskInPlaceJs(buf: Buffer, key: Buffer): void {
  const len = buf.length;
  const k0 = key[0]!;
  const k1 = key[1]!;
  const k2 = key[2]!;
  const k3 = key[3]!;
  let i = 0;
  if (len >= WORD_THRESHOLD && LITTLE_ENDIAN) {
    const misalign = (4 - (buf.byteOffset & 3)) & 3;
    for (; i < misalign; i++) buf[i]! ^= key[i & 3]!;
    // The key rotated to phase i, as a little-endian word.
    const word =
      key[i & 3]! | (key[(i + 1) & 3]! << 8) | (key[(i + 2) & 3]! << 16) | (key[(i + 3) & 3]! << 24);
    const words = (len - i) >>> 2;
    const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    let w = 0;
    const unrolled = words - (words & 3);
    for (; w < unrolled; w += 4) {
      view[w]! ^= word;
      view[w + 1]! ^= word;
      view[w + 2]! ^= word;
      view[w + 3]! ^= word;
    }
    for (; w < words; w++) view[w]! ^= word;
    i += words << 2;
  }
  for (; i + 3 < len; i += 4) {
    buf[i]! ^= k0;
    buf[i + 1]! ^= k1;
    buf[i + 2]! ^= k2;
    buf[i + 3]! ^= k3;
  }
  for (; i < len; i++) buf[i]! ^= key[i & 3]!;
}

/**
 * Writes `src` masked into `dst` at `at`, with the 4-byte key at dst[keyAt..keyAt+3]: one pass and
 * no Buffer views, for small payloads where a copy followed by maskInPlace costs more.
 */
export function copyMasked(src: Buffer, dst: Buffer, at: number, keyAt: number): void {
  const n = src.length;
  const k0 = dst[keyAt]!;
  const k1 = dst[keyAt + 1]!;
  const k2 = dst[keyAt + 2]!;
  const k3 = dst[keyAt + 3]!;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    dst[at + i] = src[i]! ^ k0;
    dst[at + i + 1] = src[i + 1]! ^ k1;
    dst[at + i + 2] = src[i + 2]! ^ k2;
    dst[at + i + 3] = src[i + 3]! ^ k3;
  }
  for (; i < n; i++) dst[at + i] = src[i]! ^ dst[keyAt + (i & 3)]!;
}

// Masking keys come from a CSPRNG (RFC 6455 §10.3). The original uses math.random, which is
// unseeded and so predictable across restarts: a documented deviation we do not reproduce.
// Random bytes are drawn in blocks so a small frame does not pay for a crypto call.
const KEY_POOL_SIZE = 4096;
const keyPool = Buffer.allocUnsafe(KEY_POOL_SIZE);
let keyPoolOffset = KEY_POOL_SIZE;

/** Four fresh random bytes. The returned buffer is only valid until the next call. */
export function randomMaskKey(): Buffer {
  if (keyPoolOffset === KEY_POOL_SIZE) refillKeyPool();
  const key = keyPool.subarray(keyPoolOffset, keyPoolOffset + 4);
  keyPoolOffset += 4;
  return key;
}

/** Writes four fresh random bytes at out[at..at+3] (randomMaskKey without the Buffer view). */
export function writeMaskKey(out: Buffer, at: number): void {
  if (keyPoolOffset === KEY_POOL_SIZE) refillKeyPool();
  const o = keyPoolOffset;
  out[at] = keyPool[o]!;
  out[at + 1] = keyPool[o + 1]!;
  out[at + 2] = keyPool[o + 2]!;
  out[at + 3] = keyPool[o + 3]!;
  keyPoolOffset = o + 4;
}

function refillKeyPool(): void {
  randomFillSync(keyPool);
  keyPoolOffset = 0;
}
