import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaseResult } from '../runner/types.js';
import { casePageName, loggedBytes, renderCasePage } from './case-page.js';
import { ConformanceReport, renderMatrix, type ConformanceIndex } from './index.js';
import { countOutcomes, worseOutcome } from './outcomes.js';

const kosme = Buffer.from('κόσμε', 'utf8');

function result(over: Partial<CaseResult>): CaseResult {
  return {
    id: '6.2.1', description: 'Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>κόσμε', expectation: 'The message is echoed back to us.', rfc: 'RFC 6455 §8.1', agent: 'lua-client',
    behavior: 'OK', behaviorClose: 'OK', result: 'Received text message of length 10.', resultClose: 'Connection was properly closed', duration: 3, reportTime: false,
    remoteCloseCode: 1000, remoteCloseReason: null, localCloseCode: 1000, localCloseReason: null,
    closedByMe: true, failedByMe: false, droppedByMe: false, wasClean: true, wasNotCleanReason: null,
    expected: { OK: [['message', kosme.toString('latin1'), false]] }, expectedClose: { closedByMe: true, closeCode: [1000], requireClean: true },
    received: [['message', kosme.toString('latin1'), false]],
    httpRequest: 'GET /runCase?case=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', httpResponse: 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    wirelog: [
      ['TF', kosme.toString('latin1'), 1, true, 0, null, null, null, false],
      ['RO', `${'81'.repeat(300)} ...`],
      ['RF', Buffer.concat([Buffer.from([0x03, 0xef]), Buffer.from('bye ü', 'utf8')]).toString('latin1'), 8, true, 0, true, null],
    ],
    txFrameStats: { 1: 1, 8: 1 }, rxFrameStats: { 1: 1 }, txOctetStats: {}, rxOctetStats: {},
    ...over,
  };
}

describe('outcomes', () => {
  it('a case counts as the worse of behavior and close behavior', () => {
    expect(worseOutcome({ behavior: 'OK', behaviorClose: 'FAILED' })).toBe('FAILED');
    expect(worseOutcome({ behavior: 'NON-STRICT', behaviorClose: 'OK' })).toBe('NON-STRICT');
    expect(worseOutcome({ behavior: 'OK', behaviorClose: 'UNCLEAN' })).toBe('UNCLEAN');
    expect(worseOutcome({ behavior: 'FAILED', behaviorClose: 'WRONG CODE' })).toBe('FAILED');
    const c = countOutcomes([{ behavior: 'OK', behaviorClose: 'OK' }, { behavior: 'OK', behaviorClose: 'WRONG CODE' }, { behavior: 'INFORMATIONAL', behaviorClose: 'INFORMATIONAL' }]);
    expect(c).toMatchObject({ OK: 1, 'WRONG CODE': 1, INFORMATIONAL: 1, FAILED: 0, UNCLEAN: 0 });
    expect(Object.keys(c)).toHaveLength(8);
  });
});

describe('matrix', () => {
  const index: ConformanceIndex = {
    'lua-client': {
      '2.5': { behavior: 'OK', behaviorClose: 'FAILED', remoteCloseCode: null, duration: 4, reportfile: 'lua_client_case_2_5.json' },
      '1.1.1': { behavior: 'OK', behaviorClose: 'OK', remoteCloseCode: 1000, duration: 2, reportfile: 'lua_client_case_1_1_1.json' },
    },
    'ws-client': {
      '2.5': { behavior: 'OK', behaviorClose: 'OK', remoteCloseCode: 1002, duration: 1, reportfile: 'ws_client_case_2_5.json' },
      '1.1.1': { behavior: 'OK', behaviorClose: 'OK', remoteCloseCode: 1000, duration: 1, reportfile: 'ws_client_case_1_1_1.json' },
    },
  };
  const html = renderMatrix(index, 'Clients', true);
  it('colours a case OK but FAILED on close as failed, and links its case page', () => {
    expect(html).toMatch(/<td class="failed"[^>]*><a href="lua_client_case_2_5\.html">OK<small>close: FAILED/);
    expect(html).toMatch(/<td class="ok"[^>]*><a href="ws_client_case_2_5\.html">/);
  });
  it('groups cases by section in collapsible sections, open where an agent fails', () => {
    expect(html).toMatch(/<details class="sec" data-section="1"><summary><span>1 · Framing/);
    expect(html).toMatch(/<details class="sec" open data-section="2"><summary><span>2 · Pings\/Pongs/);
    expect(html.indexOf('data-section="1"')).toBeLessThan(html.indexOf('data-section="2"'));
  });
  it('counts all eight outcomes per agent', () => {
    for (const o of ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED', 'WRONG CODE', 'UNCLEAN', 'FAILED BY CLIENT']) expect(html).toContain(`<th>${o}</th>`);
    expect(html).toMatch(/<b>lua-client<\/b><\/td><td><span class="badge ok">1<\/span>.*<span class="badge failed">1<\/span><\/td><td><b>1<\/b>\/2/);
  });
});

describe('case page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wslab-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads the logged bytes back, cut or not', () => {
    expect(loggedBytes(kosme.toString('latin1')).bytes.equals(kosme)).toBe(true);
    expect(loggedBytes('abcd ...', true)).toMatchObject({ truncated: true });
    expect(loggedBytes('xy ...(300 bytes)')).toMatchObject({ truncated: true, total: 300 });
  });
  it("is written beside the case JSON, in Autobahn's layout, with the wire log's text decoded", () => {
    const report = new ConformanceReport(dir, 'Conformance: clients');
    report.add(result({}));
    const file = join(dir, casePageName('lua_client_case_6_2_1.json'));
    const html = readFileSync(file, 'utf8');
    for (const h of ['Case description', 'Case expectation', 'Case outcome', 'Case closing behavior', 'Opening handshake', 'Wire log']) expect(html).toContain(`<h2>${h}</h2>`);
    expect(html).toContain('MESSAGE:<br>κόσμε'); // the catalogue's <br> kept, text as UTF-8
    expect(html).not.toContain('Î'); // no latin1 garbage
    expect(html).toContain('code <b class="mono">1007</b>'); // 0x03ef
    expect(html).toContain('bye ü');
    expect(html).toContain('(+');
    expect(html).toContain('GET /runCase?case=1 HTTP/1.1');
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('href="lua_client_case_6_2_1.html"');
  });
  it('escapes anything but <b> and <br> in descriptions', () => {
    const html = renderCasePage(result({ description: '<img src=x onerror=alert(1)> <b>bold</b>' }), 'x.json', 'M');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; <b>bold</b>');
  });
});
