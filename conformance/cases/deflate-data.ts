// The payloads of sections 12 and 13. Autobahn ships five files (testdata/: data1.json,
// lena512.bmp, pg2229.txt, data1.html, 10.1.1.105.5439.pdf); we cannot ship or fetch them, so each
// is generated here: the same kind of content (what decides how well deflate does on it), the
// same size in octets, the same text/binary type, deterministic from a fixed seed and built on
// first use (about 2 MB, a few milliseconds). The text sets use characters of the Basic
// Multilingual Plane only, some of them multi-byte in UTF-8, so slicing by characters (as
// Autobahn slices a decoded text file) and the length check agree in every Python build.
import { mulberry32 } from '../../lab/prng.js';

export interface DeflateDataSet {
  /** Autobahn's key (WS_COMPRESSION_TESTDATA). */
  key: string;
  /** Autobahn's description, plus what ours is. */
  description: string;
  /** Sent as a binary message (Autobahn's `binary` flag; the prose is binary there too). */
  binary: boolean;
  /** The octets. */
  data(): Buffer;
}

const SEED = 0x12c0de13;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Text of exactly `size` UTF-8 octets: `head`, parts from `next` while they fit, spaces, `tail`. */
function exactText(size: number, head: string, next: () => string, tail: string): Buffer {
  const parts: string[] = [head];
  let len = Buffer.byteLength(head) + Buffer.byteLength(tail);
  for (;;) {
    const p = next();
    const n = Buffer.byteLength(p);
    if (len + n > size) break;
    parts.push(p);
    len += n;
  }
  const out = Buffer.from(parts.join('') + ' '.repeat(size - len) + tail, 'utf8');
  if (out.length !== size) throw new Error(`generated ${out.length} octets, wanted ${size}`);
  return out;
}

const FIRST = ['Anna', 'Jörg', 'José', 'Zoë', 'Søren', 'Björn', 'Chloé', 'Łukasz', 'Mateo', 'Priya', 'Kenji', 'Amélie', 'Oskar', 'Noémi', 'Dmitri', 'Ingrid'];
const LAST = ['Müller', 'García', 'Nguyễn', 'Øberg', 'Kowalski', 'Dubois', 'Schröder', 'Rossi', 'Hansen', 'Svensson', 'Novák', 'Fernández', 'Weiß', 'Tanaka'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor', 'incididunt', 'ut', 'labore', 'et',
  'dolore', 'magna', 'aliqua', 'enim', 'minim', 'veniam', 'quis', 'nostrud', 'exercitation', 'ullamco', 'laboris', 'nisi', 'aliquip', 'commodo', 'consequat',
  'duis', 'aute', 'irure', 'reprehenderit', 'voluptate', 'velit', 'esse', 'cillum', 'fugiat', 'nulla', 'pariatur', 'excepteur', 'sint', 'occaecat', 'café', 'naïve', 'façade'];
const sentence = (r: () => number, n: number): string => {
  const w = Array.from({ length: n }, () => pick(r, WORDS));
  w[0] = w[0]!.charAt(0).toUpperCase() + w[0]!.slice(1);
  return `${w.join(' ')}.`;
};

/** Large JSON data file: an array of generated person records (the shape of json-generator output). */
function jsonData(): Buffer {
  const r = mulberry32(SEED ^ 1);
  let id = 0;
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
  const record = (): string => {
    const first = pick(r, FIRST);
    const last = pick(r, LAST);
    const rec = {
      _id: hex(24), index: id++, guid: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`, isActive: r() < 0.5,
      balance: `$${int(r, 1, 3)},${String(int(r, 0, 999)).padStart(3, '0')}.${String(int(r, 0, 99)).padStart(2, '0')}`,
      picture: 'http://placehold.it/32x32', age: int(r, 20, 70), eyeColor: pick(r, ['blue', 'brown', 'green']),
      name: `${first} ${last}`, gender: pick(r, ['female', 'male']), company: pick(r, WORDS).toUpperCase(),
      email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`, phone: `+1 (${int(r, 800, 999)}) ${int(r, 100, 999)}-${int(r, 1000, 9999)}`,
      address: `${int(r, 100, 999)} ${pick(r, LAST)} Straße, ${pick(r, ['Berlin', 'Zürich', 'Málaga', 'Kraków', 'Lyon'])}, ${int(r, 1000, 99999)}`,
      about: Array.from({ length: int(r, 2, 5) }, () => sentence(r, int(r, 6, 14))).join(' '),
      registered: `20${int(r, 10, 24)}-${String(int(r, 1, 12)).padStart(2, '0')}-${String(int(r, 1, 28)).padStart(2, '0')}T0${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)} -01:00`,
      latitude: Number((r() * 180 - 90).toFixed(6)), longitude: Number((r() * 360 - 180).toFixed(6)),
      tags: Array.from({ length: int(r, 3, 7) }, () => pick(r, WORDS)),
      friends: Array.from({ length: int(r, 1, 3) }, (_, i) => ({ id: i, name: `${pick(r, FIRST)} ${pick(r, LAST)}` })),
      greeting: `Hello, ${first}! You have ${int(r, 1, 10)} unread messages.`, favoriteFruit: pick(r, ['apple', 'banana', 'strawberry']),
    };
    return `${id > 1 ? ',\n' : ''}  ${JSON.stringify(rec)}`;
  };
  return exactText(194_056, '[\n', record, '\n]\n');
}

/** Lena picture, bitmap 512x512, 8-bit grey: a smooth synthetic image with grain, in a real BMP layout. */
function bmpData(): Buffer {
  const r = mulberry32(SEED ^ 2);
  const w = 512;
  const h = 512;
  const pixels = 54 + 256 * 4;
  const out = Buffer.alloc(pixels + w * h);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixels, 10);
  out.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  out.writeInt32LE(w, 18);
  out.writeInt32LE(h, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(w * h, 34);
  out.writeUInt32LE(2835, 38);
  out.writeUInt32LE(2835, 42);
  out.writeUInt32LE(256, 46);
  for (let i = 0; i < 256; i++) out.writeUInt32LE(i * 0x010101, 54 + i * 4); // grey palette
  // Overlapping soft blobs and waves, plus grain: photo-like, so deflate finds little repetition.
  const blobs = Array.from({ length: 24 }, () => ({ x: r() * w, y: r() * h, s: 40 + r() * 140, a: r() * 160 - 60 }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 110 + 30 * Math.sin(x / 37) * Math.cos(y / 53);
      for (const b of blobs) v += b.a * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
      v += (r() - 0.5) * 14;
      out[pixels + y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

const SPEAKERS = ['FAUST', 'MEPHISTOPHELES', 'WAGNER', 'MARGARETE', 'MARTHE', 'CHOR DER ENGEL', 'DER HERR', 'SCHÜLER', 'VALENTIN', 'HEXE'];
const VERSE = ['Habe', 'nun', 'ach', 'Philosophie', 'Juristerei', 'und', 'Medizin', 'leider', 'auch', 'Theologie', 'durchaus', 'studiert', 'mit', 'heißem',
  'Bemühn', 'da', 'steh', 'ich', 'armer', 'Tor', 'bin', 'so', 'klug', 'als', 'wie', 'zuvor', 'Geist', 'der', 'stets', 'verneint', 'Welt', 'Nacht', 'Herz',
  'Blut', 'Seele', 'Gretchen', 'Himmel', 'Erde', 'süß', 'schön', 'Glück', 'Tränen', 'müssen', 'wär', 'daß', 'über', 'fühlen', 'Größe', 'Flamme', 'Traum'];

/** Human readable text, Goethe's Faust I (German): generated verse drama in UTF-8 (a binary message, as in Autobahn). */
function proseData(): Buffer {
  const r = mulberry32(SEED ^ 3);
  let scene = 0;
  const passage = (): string => {
    if (r() < 0.04) return `\n\n${pick(r, ['Nacht', 'Studierzimmer', 'Straße', 'Garten', 'Kerker', 'Wald und Höhle'])}. Szene ${++scene}.\n\n`;
    const lines = Array.from({ length: int(r, 2, 8) }, () => {
      const ws = Array.from({ length: int(r, 4, 9) }, () => pick(r, VERSE));
      ws[0] = ws[0]!.charAt(0).toUpperCase() + ws[0]!.slice(1);
      return `${ws.join(' ')}${pick(r, [',', ';', '!', '.', '?', ''])}`;
    });
    const direction = r() < 0.15 ? `(${sentence(r, int(r, 3, 7))})\n` : '';
    return `${pick(r, SPEAKERS)}:\n${direction}${lines.join('\n')}\n\n`;
  };
  return exactText(222_218, 'Faust. Der Tragödie erster Teil.\n\n', passage, '\nEnde.\n');
}

/** Large HTML file: a generated document with styles, navigation, articles, tables and lists. */
function htmlData(): Buffer {
  const r = mulberry32(SEED ^ 4);
  let n = 0;
  const head = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Generated document — data1</title>\n<style>\nbody { font-family: sans-serif; margin: 0 auto; max-width: 60em; }\n.card { border: 1px solid #ccc; padding: 1em; }\ntable.data td { padding: 2px 6px; }\n</style>\n</head>\n<body>\n`;
  const block = (): string => {
    n++;
    const kind = r();
    if (kind < 0.5) {
      return `<div class="card" id="c${n}">\n  <h2><a href="/articles/${n}.html" title="${pick(r, WORDS)}">${sentence(r, int(r, 2, 6))}</a></h2>\n  <p class="lead">${sentence(r, int(r, 8, 20))} <em>${pick(r, WORDS)}</em> ${sentence(r, int(r, 6, 16))}</p>\n  <p>${Array.from({ length: int(r, 2, 6) }, () => sentence(r, int(r, 6, 18))).join(' ')} &mdash; “${pick(r, FIRST)} ${pick(r, LAST)}”</p>\n</div>\n`;
    }
    if (kind < 0.8) {
      const rows = Array.from({ length: int(r, 3, 9) }, (_, i) => `    <tr class="${i % 2 ? 'odd' : 'even'}"><td>${i + 1}</td><td>${pick(r, FIRST)} ${pick(r, LAST)}</td><td>${int(r, 0, 99999)}</td><td>${pick(r, WORDS)}</td></tr>`).join('\n');
      return `<table class="data">\n  <thead><tr><th>#</th><th>Name</th><th>Value</th><th>Tag</th></tr></thead>\n  <tbody>\n${rows}\n  </tbody>\n</table>\n`;
    }
    const items = Array.from({ length: int(r, 3, 8) }, () => `  <li><a href="#${pick(r, WORDS)}">${sentence(r, int(r, 2, 5))}</a></li>`).join('\n');
    return `<ul class="nav">\n${items}\n</ul>\n`;
  };
  return exactText(263_647, head, block, '\n</body>\n</html>\n');
}

/** A larger PDF: PDF syntax around mostly high-entropy streams (as compressed page, font and image streams are). */
function pdfData(): Buffer {
  const r = mulberry32(SEED ^ 5);
  const size = 1_042_328;
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let len = parts[0]!.length;
  const offsets: number[] = [];
  const add = (b: Buffer): void => {
    parts.push(b);
    len += b.length;
  };
  const trailerRoom = 64 * 1024;
  for (let obj = 1; len < size - trailerRoom; obj++) {
    offsets.push(len);
    if (r() < 0.3) {
      // A page's content stream in the clear: text operators and coordinates.
      const ops = Array.from({ length: int(r, 20, 80) }, () => `BT /F${int(r, 1, 4)} ${int(r, 8, 14)} Tf ${int(r, 50, 550)} ${int(r, 50, 750)} Td (${sentence(r, int(r, 3, 10)).normalize('NFD').replace(/[^\x20-\x7e]/g, '')}) Tj ET`).join('\n');
      add(Buffer.from(`${obj} 0 obj\n<< /Length ${ops.length} >>\nstream\n${ops}\nendstream\nendobj\n`, 'latin1'));
    } else {
      // A FlateDecode stream: its octets look random.
      const body = Buffer.alloc(int(r, 2000, 24000));
      for (let i = 0; i < body.length; i++) body[i] = Math.floor(r() * 256);
      add(Buffer.from(`${obj} 0 obj\n<< /Length ${body.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'));
      add(body);
      add(Buffer.from('\nendstream\nendobj\n', 'latin1'));
    }
  }
  const xref = `xref\n0 ${offsets.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  const tail = `trailer\n<< /Size ${offsets.length + 1} /Root 1 0 R >>\nstartxref\n${len}\n%%EOF\n`;
  const pad = size - len - xref.length - tail.length;
  if (pad < 0) throw new Error('PDF data set: no room for the xref table');
  // Padding as a comment before the xref, so the layout stays a PDF's.
  add(Buffer.from(`%${'-'.repeat(Math.max(0, pad - 2))}\n`.slice(0, pad), 'latin1'));
  add(Buffer.from(xref + tail, 'latin1'));
  const out = Buffer.concat(parts);
  if (out.length !== size) throw new Error(`PDF data set: ${out.length} octets, wanted ${size}`);
  return out;
}

function lazy(make: () => Buffer): () => Buffer {
  let data: Buffer | null = null;
  return () => (data ??= make());
}

/** In Autobahn's order (WS_COMPRESSION_TESTDATA_KEYS): 12.1 ... 12.5. */
export const DEFLATE_DATA_SETS: readonly DeflateDataSet[] = [
  { key: 'json_data1', description: 'Large JSON data file (generated: person records)', binary: false, data: lazy(jsonData) },
  { key: 'lena512', description: 'Lena Picture, Bitmap 512x512 bw (generated: a synthetic 8-bit grey image)', binary: true, data: lazy(bmpData) },
  { key: 'gutenberg_faust', description: "Human readable text, Goethe's Faust I (German) (generated: German verse drama)", binary: true, data: lazy(proseData) },
  { key: 'html_data1', description: 'Large HTML file (generated: articles, tables, lists)', binary: false, data: lazy(htmlData) },
  { key: 'ooms', description: 'A larger PDF (generated: PDF syntax around high-entropy streams)', binary: true, data: lazy(pdfData) },
];

/** Each data set's size in octets, as Autobahn's files (the generators are checked against them). */
export const DATA_SET_SIZES: Record<string, number> = { json_data1: 194_056, lena512: 263_222, gutenberg_faust: 222_218, html_data1: 263_647, ooms: 1_042_328 };
