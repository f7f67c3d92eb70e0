// The match distances of a DEFLATE stream (RFC 1951), for the inflate target's oracle.
//
// zlib checks a match's distance against what it holds: the window (2^windowBits bytes, fewer
// before that much has come out) plus what the current inflate() call has written into its output
// buffer. A one-shot inflate into one large buffer therefore accepts distances far past the window,
// and a streaming inflate accepts some of them depending on where its output buffers happen to
// end. Whether a stream reaches past the window is a property of the stream, so the oracle asks
// this reader instead: it decodes a stream zlib has already accepted (so it does not repeat zlib's
// rules for malformed ones) and reports the largest distance past the window.

class BitReader {
  private at = 0;
  private bits = 0;
  private count = 0;
  constructor(private readonly data: Buffer) {}

  /** `n` bits, least significant first; null at the end of the input. */
  read(n: number): number | null {
    while (this.count < n) {
      if (this.at >= this.data.length) return null;
      this.bits |= this.data[this.at++]! << this.count;
      this.count += 8;
    }
    const v = this.bits & ((1 << n) - 1);
    this.bits >>>= n;
    this.count -= n;
    return v;
  }

  alignToByte(): void {
    this.bits = 0;
    this.count = 0;
  }
}

/** A canonical Huffman code as counts per length and symbols in code order (as zlib's puff.c). */
interface Huffman {
  counts: number[];
  symbols: number[];
}

function buildHuffman(lengths: readonly number[]): Huffman {
  const counts = new Array<number>(16).fill(0);
  for (const l of lengths) counts[l]!++;
  counts[0] = 0;
  const offsets = new Array<number>(16).fill(0);
  for (let l = 1; l < 15; l++) offsets[l + 1] = offsets[l]! + counts[l]!;
  const symbols = new Array<number>(lengths.length).fill(0);
  lengths.forEach((l, symbol) => {
    if (l !== 0) symbols[offsets[l]!++] = symbol;
  });
  return { counts, symbols };
}

function decodeSymbol(r: BitReader, h: Huffman): number | null {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    const bit = r.read(1);
    if (bit === null) return null;
    code |= bit;
    const count = h.counts[len]!;
    if (code - count < first) return h.symbols[index + (code - first)]!;
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return null;
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

const FIXED = {
  lit: buildHuffman([...new Array<number>(144).fill(8), ...new Array<number>(112).fill(9), ...new Array<number>(24).fill(7), ...new Array<number>(8).fill(8)]),
  dist: buildHuffman(new Array<number>(30).fill(5)),
};

function readDynamicTables(r: BitReader): { lit: Huffman; dist: Huffman } | null {
  const nlen = r.read(5);
  const ndist = r.read(5);
  const ncode = r.read(4);
  if (nlen === null || ndist === null || ncode === null) return null;
  const codeLengths = new Array<number>(19).fill(0);
  for (let i = 0; i < ncode + 4; i++) {
    const l = r.read(3);
    if (l === null) return null;
    codeLengths[CODE_LENGTH_ORDER[i]!] = l;
  }
  const lencode = buildHuffman(codeLengths);
  const lengths: number[] = [];
  while (lengths.length < nlen + 257 + ndist + 1) {
    const sym = decodeSymbol(r, lencode);
    if (sym === null) return null;
    if (sym < 16) {
      lengths.push(sym);
      continue;
    }
    const [repeat, value] = sym === 16 ? [r.read(2), lengths[lengths.length - 1]!] : sym === 17 ? [r.read(3), 0] : [r.read(7), 0];
    if (repeat === null) return null;
    const times = repeat + (sym === 16 ? 3 : sym === 17 ? 3 : 11);
    for (let i = 0; i < times; i++) lengths.push(value);
  }
  return { lit: buildHuffman(lengths.slice(0, nlen + 257)), dist: buildHuffman(lengths.slice(nlen + 257)) };
}

/**
 * How far past the window the farthest match of `stream` reaches: the largest `distance -
 * min(window, output so far)` over its matches, 0 when none reaches past. `stream` is one that
 * zlib inflates (an end of input inside a block is the end of the reading, as with a sync flush).
 */
export function farthestPastWindow(stream: Buffer, windowBits: number): number {
  const window = 1 << windowBits;
  const r = new BitReader(stream);
  let out = 0;
  let past = 0;
  for (;;) {
    const final = r.read(1);
    const type = r.read(2);
    if (final === null || type === null) return past;
    if (type === 0) {
      r.alignToByte();
      const len = r.read(16);
      if (len === null || r.read(16) === null) return past;
      for (let i = 0; i < len; i++) if (r.read(8) === null) return past;
      out += len;
    } else {
      const tables = type === 1 ? FIXED : readDynamicTables(r);
      if (tables === null) return past;
      for (;;) {
        const sym = decodeSymbol(r, tables.lit);
        if (sym === null) return past;
        if (sym < 256) {
          out++;
          continue;
        }
        if (sym === 256) break;
        const lengthExtra = r.read(LENGTH_EXTRA[sym - 257]!);
        const distSym = decodeSymbol(r, tables.dist);
        if (lengthExtra === null || distSym === null) return past;
        const distExtra = r.read(DIST_EXTRA[distSym]!);
        if (distExtra === null) return past;
        const distance = DIST_BASE[distSym]! + distExtra;
        past = Math.max(past, distance - Math.min(window, out));
        out += LENGTH_BASE[sym - 257]! + lengthExtra;
      }
    }
    if (final === 1) return past;
  }
}
