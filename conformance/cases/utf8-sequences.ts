// The UTF-8 stress payloads of cases 6.5-6.23: Markus Kuhn's UTF-8 decoder capability and stress
// test, as Autobahn groups them (case6_x_x.py createUtf8TestSequences), with their validity.

const x = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

export interface Utf8Group {
  title: string;
  payloads: Array<{ valid: boolean; payload: Buffer }>;
}

const KOSME = x('cebae1bdb9cf83cebcceb5');

function isCompleteUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

export function utf8Groups(): Utf8Group[] {
  const g = (title: string, ...payloads: Array<[boolean, Buffer]>): Utf8Group => ({ title, payloads: payloads.map(([valid, payload]) => ({ valid, payload })) });
  const groups: Utf8Group[] = [];
  groups.push(g('Some valid UTF-8 sequences',
    [true, ascii('hello\x24world')], [true, cat(ascii('hello'), x('c2a2'), ascii('world'))], [true, cat(ascii('hello'), x('e282ac'), ascii('world'))],
    [true, cat(ascii('hello'), x('f0a4ada2'), ascii('world'))], [true, KOSME]));
  // Every prefix of a valid string: valid exactly when it ends on a code point boundary.
  groups.push({ title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points', payloads: [...Array(KOSME.length).keys()].map((i) => ({ valid: isCompleteUtf8(KOSME.subarray(0, i + 1)), payload: KOSME.subarray(0, i + 1) })) });
  groups.push(g('First possible sequence of a certain length', [true, x('00')], [true, x('c280')], [true, x('e0a080')], [true, x('f0908080')]));
  groups.push(g('First possible sequence length 5/6 (invalid codepoints)', [false, x('f888808080')], [false, x('fc8480808080')]));
  groups.push(g('Last possible sequence of a certain length', [true, x('7f')], [true, x('dfbf')], [true, x('efbfbf')], [true, x('f48fbfbf')]));
  groups.push(g('Last possible sequence length 4/5/6 (invalid codepoints)', [false, x('f7bfbfbf')], [false, x('fbbfbfbfbf')], [false, x('fdbfbfbfbfbf')]));
  groups.push(g('Other boundary conditions', [true, x('ed9fbf')], [true, x('ee8080')], [true, x('efbfbd')], [true, x('f48fbfbf')], [false, x('f4908080')]));
  const contAll = Buffer.from([...Array(0xbf - 0x80).keys()].map((i) => 0x80 + i));
  groups.push(g('Unexpected continuation bytes', [false, x('80')], [false, x('bf')], [false, x('80bf')], [false, x('80bf80')], [false, x('80bf80bf')],
    [false, x('80bf80bf80')], [false, x('80bf80bf80bf')], [false, contAll]));
  const lonely = ([lo, hi]: [number, number]): Buffer => Buffer.from([...Array(hi - lo).keys()].flatMap((i) => [lo + i, 0x20]));
  groups.push({ title: 'Lonely start characters', payloads: ([[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]] as Array<[number, number]>).map((r) => ({ valid: false, payload: lonely(r) })) });
  const missing = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'].map(x);
  groups.push({ title: 'Sequences with last continuation byte missing', payloads: missing.map((p) => ({ valid: false, payload: p })) });
  groups.push(g('Concatenation of incomplete sequences', [false, cat(...missing)]));
  groups.push(g('Impossible bytes', [false, x('fe')], [false, x('ff')], [false, x('fefeffff')]));
  groups.push(g('Examples of an overlong ASCII character', [false, x('c0af')], [false, x('e080af')], [false, x('f08080af')], [false, x('f8808080af')], [false, x('fc80808080af')]));
  groups.push(g('Maximum overlong sequences', [false, x('c1bf')], [false, x('e09fbf')], [false, x('f08fbfbf')], [false, x('f887bfbfbf')], [false, x('fc83bfbfbfbf')]));
  groups.push(g('Overlong representation of the NUL character', [false, x('c080')], [false, x('e08080')], [false, x('f0808080')], [false, x('f880808080')], [false, x('fc8080808080')]));
  groups.push(g('Single UTF-16 surrogates', ...['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map((h): [boolean, Buffer] => [false, x(h)])));
  groups.push(g('Paired UTF-16 surrogates', ...['eda080edb080', 'eda080edbfbf', 'edadbfedb080', 'edadbfedbfbf', 'edae80edb080', 'edae80edbfbf', 'edafbfedb080', 'edafbfedbfbf'].map((h): [boolean, Buffer] => [false, x(h)])));
  const nonChars: Buffer[] = [x('efbfbe'), x('efbfbf')];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // above U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
        nonChars.push(Buffer.from([z1, z2, 0xbf, z3]));
      }
    }
  }
  groups.push({ title: 'Non-character code points (valid UTF-8)', payloads: nonChars.map((p) => ({ valid: true, payload: p })) });
  groups.push(g('Unicode specials (i.e. replacement char)', ...['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map((h): [boolean, Buffer] => [true, x(h)])));
  return groups;
}
