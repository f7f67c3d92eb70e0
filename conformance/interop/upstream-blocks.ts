// Every `=== TEST N` block of lua-resty-websocket v0.12's test suite (t/sanity.t, t/cs.t,
// t/limits.t, t/count.t), with the interop scenarios that run it or the reason a WebSocket peer
// cannot observe it. upstream-table.test.ts checks this list against the .t files and the
// scenario catalogue; upstream-table.ts writes docs/upstream-tests.md from it.

export const UPSTREAM_FILES = ['sanity.t', 'cs.t', 'limits.t', 'count.t'] as const;
export type UpstreamFile = (typeof UPSTREAM_FILES)[number];

export interface UpstreamBlock {
  file: UpstreamFile;
  n: number;
  /** The block's title, as in `=== TEST N: title`. */
  title: string;
  /** The scenarios (ids) that cite this block in their `upstream` field. */
  scenarios?: readonly string[];
  /** Why no WebSocket peer can observe the block (instead of scenarios). */
  notObservable?: string;
  /** What of the block's expectation the scenarios do not reproduce, and why. */
  gap?: string;
}

const COUNT = 'counts the keys of the module table with pairs() inside nginx: nothing of it reaches the connection';
/** sanity.t 7-9 and 17 match "^a{N}b$"; the scenarios send runs of one letter and check the length. */
const RUN = "the payload is a run of 'a' (the block's ends in 'b'): the length is checked, as the block's regex does, not the last byte";

export const UPSTREAM_BLOCKS: readonly UpstreamBlock[] = [
  { file: 'sanity.t', n: 1, title: 'simple handshake', scenarios: ['sanity-01-handshake', 'sanity-01-response-headers'] },
  { file: 'sanity.t', n: 2, title: 'simple text data frame (3 bytes)', scenarios: ['sanity-02-text'] },
  { file: 'sanity.t', n: 3, title: 'simple text data frame (0 bytes)', scenarios: ['sanity-03-text'] },
  { file: 'sanity.t', n: 4, title: 'simple text data frame (125 bytes)', scenarios: ['sanity-04-text'] },
  { file: 'sanity.t', n: 5, title: 'simple text data frame (126 bytes)', scenarios: ['sanity-05-text'] },
  { file: 'sanity.t', n: 6, title: 'simple text data frame (127 bytes)', scenarios: ['sanity-06-text'] },
  { file: 'sanity.t', n: 7, title: 'simple text data frame (65535 bytes)', scenarios: ['sanity-07-text-65535'], gap: RUN },
  { file: 'sanity.t', n: 8, title: 'simple text data frame (65536 bytes)', scenarios: ['sanity-08-text-65536'], gap: RUN },
  { file: 'sanity.t', n: 9, title: 'simple text data frame (1 Mbytes)', scenarios: ['sanity-09-text-1mib'], gap: RUN },
  { file: 'sanity.t', n: 10, title: 'simple binary data frame (3 bytes)', scenarios: ['sanity-10-binary'] },
  { file: 'sanity.t', n: 11, title: 'close frame (status code + non-empty msg)', scenarios: ['sanity-11-close-body'] },
  { file: 'sanity.t', n: 12, title: 'close frame (just status code)', scenarios: ['sanity-12-close-code'] },
  { file: 'sanity.t', n: 13, title: 'close frame (no payload at all)', scenarios: ['sanity-13-close-empty'] },
  { file: 'sanity.t', n: 14, title: 'ping frame (no payload at all)', scenarios: ['sanity-14-ping-empty'] },
  { file: 'sanity.t', n: 15, title: 'ping frame (with payload)', scenarios: ['sanity-15-ping-utf8'] },
  { file: 'sanity.t', n: 16, title: 'pong frame (with payload)', scenarios: ['sanity-16-pong-utf8'] },
  { file: 'sanity.t', n: 17, title: 'exceeding the default 65535 max frame len limit (65536 bytes)', scenarios: ['sanity-17-exceeding'] },
  { file: 'sanity.t', n: 18, title: 'simple text data frame (3 bytes, fragmented, first frame)', scenarios: ['sanity-18-text-fin0'] },
  { file: 'sanity.t', n: 19, title: 'simple text data frame (3 bytes, fragmented, last frame)', scenarios: ['sanity-19-continuation-fin1'] },
  { file: 'sanity.t', n: 20, title: 'simple text data frame (3 bytes, fragmented, middle frame)', scenarios: ['sanity-20-continuation-fin0'] },
  {
    file: 'sanity.t', n: 21, title: 'Firefox 22.0 handshake', scenarios: ['sanity-21-firefox-handshake'],
    gap: 'the request\'s "Connection: keep-alive, Upgrade": a client sends its own "Connection: Upgrade"',
  },

  { file: 'cs.t', n: 1, title: 'text frame', scenarios: ['cs-01-text'], gap: 'the debug-log lines "recv_frame: mask bit: 0/1" are nginx\'s log' },
  { file: 'cs.t', n: 2, title: 'binary frame', scenarios: ['cs-02-binary'] },
  { file: 'cs.t', n: 3, title: 'close frame (without msg body)', scenarios: ['cs-03-close-empty'] },
  { file: 'cs.t', n: 4, title: 'close frame (with msg body)', scenarios: ['cs-04-close-body'] },
  { file: 'cs.t', n: 5, title: 'ping frame (without msg body)', scenarios: ['cs-05-ping'] },
  { file: 'cs.t', n: 6, title: 'ping frame (with msg body)', scenarios: ['cs-06-ping'] },
  { file: 'cs.t', n: 7, title: 'pong frame (without msg body)', scenarios: ['cs-07-pong'] },
  { file: 'cs.t', n: 8, title: 'pong frame (with msg body)', scenarios: ['cs-08-pong'] },
  { file: 'cs.t', n: 9, title: 'client recv timeout (set_timeout)', scenarios: ['cs-09-client-timeout'] },
  { file: 'cs.t', n: 10, title: 'client recv timeout (timeout option)', scenarios: ['cs-10-client-new-timeout'] },
  { file: 'cs.t', n: 11, title: 'server recv timeout (set_timeout)', scenarios: ['cs-11-server-timeout'] },
  { file: 'cs.t', n: 12, title: 'server recv timeout (in constructor)', scenarios: ['cs-12-server-new-timeout'] },
  { file: 'cs.t', n: 13, title: 'reused upstream websocket connections (set_keepalive)', scenarios: ['cs-13-keepalive-reuse'] },
  {
    file: 'cs.t', n: 14, title: 'pool option', scenarios: ['cs-14-pool-option'],
    gap: 'the log line naming the pool "my_conn_pool" is nginx\'s log; the runner also makes every pool name private to its run',
  },
  { file: 'cs.t', n: 15, title: 'text frame (send masked frames on the server side)', scenarios: ['cs-15-server-send-masked'] },
  { file: 'cs.t', n: 16, title: 'text frame (send unmasked frames on the client side)', scenarios: ['cs-16-client-send-unmasked'] },
  { file: 'cs.t', n: 17, title: 'close frame (without msg body) + close()', scenarios: ['cs-17-send-close-then-close'] },
  { file: 'cs.t', n: 18, title: 'directly calling close() without sending the close frame ourselves', scenarios: ['cs-18-close-sends-close-frame'] },
  {
    file: 'cs.t', n: 19, title: 'client handshake (scalar protocols)', scenarios: ['cs-19-request-bytes'],
    gap: 'the block\'s raw server answers "blah" (connect fails with "failed to receive response header: closed"); the scripted server completes the handshake. The block seeds math.random with 0 for the key y7KXwBSpVrxtkR0O+bQt+Q==; here the key is random (cs.t 37 sends that key with the key option)',
  },
  { file: 'cs.t', n: 20, title: 'client handshake (table protocols)', scenarios: ['cs-20-protocols-table'] },
  { file: 'cs.t', n: 21, title: 'client handshake (origin)', scenarios: ['cs-21-origin'] },
  { file: 'cs.t', n: 22, title: 'SSL with keepalive', scenarios: ['cs-22-wss-keepalive'] },
  { file: 'cs.t', n: 23, title: 'SSL without keepalive', scenarios: ['cs-23-wss-close'] },
  {
    file: 'cs.t', n: 24, title: 'SSL with ssl_verify', scenarios: ['cs-24-wss-verify'],
    gap: 'the block resolves test.com with a mock DNS server; the scenario names test.com with server_name instead',
  },
  { file: 'cs.t', n: 25, title: 'SSL with ssl_verify (handshake failed)', scenarios: ['cs-25-self-signed'] },
  { file: 'cs.t', n: 26, title: 'SSL without ssl_verify', scenarios: ['cs-26-self-signed-no-verify'] },
  { file: 'cs.t', n: 27, title: 'handhake with custom headers', scenarios: ['cs-27-custom-headers'] },
  { file: 'cs.t', n: 28, title: 'send invalid close status code', scenarios: ['cs-28-bad-close-code'] },
  { file: 'cs.t', n: 29, title: 'mutual TLS with client certs', scenarios: ['cs-29-mutual-tls'] },
  { file: 'cs.t', n: 30, title: 'handshake with default host header', scenarios: ['cs-30-default-host'] },
  { file: 'cs.t', n: 31, title: 'handshake with custom host header (without port number)', scenarios: ['cs-31-custom-host'] },
  { file: 'cs.t', n: 32, title: 'handshake with custom host header (with port number)', scenarios: ['cs-32-custom-host-port'] },
  { file: 'cs.t', n: 33, title: 'SNI derived from custom host header (without port number)', scenarios: ['cs-33-wss-host-sni'] },
  { file: 'cs.t', n: 34, title: 'SNI derived from custom host header (with port number)', scenarios: ['cs-34-wss-host-port-sni'] },
  { file: 'cs.t', n: 35, title: 'custom SNI', scenarios: ['cs-35-server-name'] },
  { file: 'cs.t', n: 36, title: 'custom SNI and host', scenarios: ['cs-36-host-and-server-name'] },
  { file: 'cs.t', n: 37, title: 'overriding the Sec-WebSocket-Key header', scenarios: ['cs-37-custom-key'] },
  {
    file: 'cs.t', n: 38, title: 'server handshake response string', scenarios: ['cs-38-connect-response'],
    gap: 'the X-My-Custom-Header the block\'s server sets before new(): neither scripted server can add a response header',
  },
  { file: 'cs.t', n: 39, title: 'server handshake response string (reused connection)', scenarios: ['cs-39-reuse-new-object'] },

  { file: 'limits.t', n: 1, title: 'client max_send_len', scenarios: ['limits-01-client-max-send'] },
  { file: 'limits.t', n: 2, title: 'client max_recv_len', scenarios: ['limits-02-client-max-recv'] },
  { file: 'limits.t', n: 3, title: 'server max_send_len', scenarios: ['limits-03-server-max-send'] },
  { file: 'limits.t', n: 4, title: 'server max_recv_len', scenarios: ['limits-04-server-max-recv'] },

  { file: 'count.t', n: 1, title: 'module size of resty.websocket.protocol', notObservable: COUNT },
  { file: 'count.t', n: 2, title: 'module size of resty.websocket.client', notObservable: COUNT },
  { file: 'count.t', n: 3, title: 'module size of resty.websocket.server', notObservable: COUNT },
];

/** The blocks a scenario's `upstream` field cites: "cs.t 13" or "cs.t 38, 39". */
export function parseUpstreamCitation(upstream: string): Array<{ file: string; n: number }> {
  const m = /^(\S+\.t) (\d+(?:, \d+)*)$/.exec(upstream);
  if (!m) throw new Error(`not a citation of the form "file.t N[, M…]": ${JSON.stringify(upstream)}`);
  return m[2]!.split(', ').map((n) => ({ file: m[1]!, n: Number(n) }));
}

/** The `=== TEST N: title` lines of a Test::Nginx .t file, in order. */
export function parseTestBlocks(text: string): Array<{ n: number; title: string }> {
  return [...text.matchAll(/^=== TEST (\d+): (.*?)\s*$/gm)].map((m) => ({ n: Number(m[1]), title: m[2]! }));
}
