import { describe, expect, it } from 'vitest';
import { barChart, decodeUtf8, esc, lineChart, page, payloadHtml, ratioChart, section, ticks } from '../html.js';

describe('payloads', () => {
  it('shows UTF-8 text as text, not as latin1', () => {
    const bytes = Buffer.from('κόσμε ✓', 'utf8');
    const html = payloadHtml(bytes);
    expect(html).toContain('κόσμε ✓');
    expect(html).toContain(bytes.subarray(0, 4).toString('hex'));
    expect(html).not.toContain('invalid UTF-8');
  });
  it('marks invalid UTF-8 and keeps the valid part', () => {
    const bytes = Buffer.concat([Buffer.from('κόσμε', 'utf8'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('edited')]);
    expect(decodeUtf8(bytes).valid).toBe(false);
    const html = payloadHtml(bytes);
    expect(html).toContain('invalid UTF-8');
    expect(html).toContain('κόσμε');
  });
  it('does not call a sequence cut by the limit invalid', () => {
    const bytes = Buffer.from('ü'.repeat(200), 'utf8'); // 400 bytes, cut at 256 falls inside none, at 255 inside one
    const cut = Buffer.concat([Buffer.from('a'), bytes]); // now the 256-byte cut splits a 'ü'
    expect(payloadHtml(cut)).not.toContain('invalid UTF-8');
    expect(payloadHtml(Buffer.from([0xce]), { truncated: true })).toContain('invalid UTF-8'); // nothing valid to keep
  });
  it('escapes what it shows', () => {
    expect(payloadHtml(Buffer.from('<script>'))).toContain('&lt;script&gt;');
    expect(esc('"&<>')).toBe('&quot;&amp;&lt;&gt;');
  });
});

describe('charts', () => {
  it('draws one step line per series with a legend entry each', () => {
    const svg = lineChart({ title: 'cov', xLabel: 's', yLabel: 'c', series: [{ name: 'a', points: [[0, 10], [2, 20]] }, { name: 'b', points: [[1, 5]] }, { name: 'empty', points: [] }] });
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('>a<');
    expect(svg).not.toContain('>empty<');
  });
  it('says so when there is nothing to draw', () => {
    expect(lineChart({ title: 't', xLabel: '', yLabel: '', series: [] })).toContain('no data recorded');
    expect(barChart({ title: 't', bars: [] })).toContain('no data recorded');
  });
  it('colours ratio bars by their goal and marks each goal', () => {
    const svg = ratioChart({ title: 'r', rows: [{ label: 'met', got: 2, want: 1.5 }, { label: 'missed', got: 0.5, want: 1 }, { label: 'none', got: null, want: 1 }] });
    expect(svg).toContain('#2da44e');
    expect(svg).toContain('#cf222e');
    expect(svg).toContain('not measured');
    expect(svg).toContain('2.00× / 1.5× ✓');
  });
  it('picks round ticks', () => {
    expect(ticks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(ticks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });
});

describe('page shell', () => {
  it('is one self-contained document with the shared stylesheet and nav', () => {
    const html = page({ title: 'T <x>', body: section('<b>s</b>', 'inner', true), nav: { home: 'index.html' } });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>T &lt;x&gt;</title>');
    expect(html).toContain('<details class="sec" open>');
    expect(html).toContain('href="index.html"');
    expect(html).not.toMatch(/<(link|script) [^>]*src=|href="http/);
  });
});
