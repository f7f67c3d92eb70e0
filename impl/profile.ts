// Profiles. `compat` (the default) reproduces lua-resty-websocket v0.12 byte for byte and error for
// error, including its RFC 6455 deviations (docs/behaviour.md §7). `strict` fixes each deviation; every
// fix is one named switch so a report can say exactly which deviation made a difference.

export interface StrictChecks {
  /** §7.1, RFC 4.1: client fails unless the response is 101 with the right Accept, Upgrade, Connection and a requested subprotocol. */
  validateHandshakeResponse: boolean;
  /** §7.2, RFC 5.1: client fails on a masked frame from the server. */
  rejectMaskedServerFrames: boolean;
  /** §7.3, RFC 4.2.2: server selects one offered subprotocol instead of echoing the whole first header value. */
  selectOneSubprotocol: boolean;
  /** §7.4, RFC 4.2.1: server checks method GET, the key (base64 of 16 bytes), Upgrade/Connection as token lists, and answers 400/426. */
  validateHandshakeRequest: boolean;
  /** §7.5, RFC 5.4: continuation frames only inside a fragmented message; no new data frame inside one. */
  checkFragmentation: boolean;
  /** §7.6, RFC 8.1: text messages and close reasons must be UTF-8, checked incrementally (fail fast). */
  validateUtf8: boolean;
  /** §7.7, RFC 7.4: close codes are checked on receive and on send. */
  validateCloseCodes: boolean;
  /** §7.9: a timeout in the middle of a frame is fatal instead of leaving the stream desynchronised. */
  fatalOnPartialTimeout: boolean;
  /** §7.11, RFC 3: case-insensitive scheme, IPv6 literals, numeric ports only, path starts with "/", no fragment. */
  strictUri: boolean;
  /** §7.12, RFC 6066 §3: no SNI for IP literals, never a port in SNI. */
  strictSni: boolean;
  /** §7.13: no stray CRLF after the request head when `headers` is empty. */
  noStrayCrlf: boolean;
  /** §7.14/§7.15: set_keepalive and close() respect the closed/fatal state; connect() starts a fresh state. */
  strictConnectionState: boolean;
  /** §7.16: send_frame rejects opcodes above 0xF and reserved opcodes. */
  validateSendOpcode: boolean;
  /** §7.17, RFC 5.5.1: the server sends no data frames after its close frame. */
  serverClosedState: boolean;
  /** §7.18: the client limits the response header to 64 KiB. */
  limitResponseHeader: boolean;
  /** RFC 7.1.7/7.4.1: failing the connection sends a close frame with 1002, 1007 or 1009 before closing. */
  failWithCloseCode: boolean;
  /** RFC 10.4: recvMessage() caps a reassembled message (default 100 MiB, ws's maxPayload; its own error "message too long"). */
  capMessageSize: boolean;
  /** RFC 10.4: recvMessage() caps the fragments of one message (default 16384, ws's maxFragments; "too many fragments"). */
  capFragments: boolean;
}

export type StrictSwitch = keyof StrictChecks;

export const COMPAT: Readonly<StrictChecks> = Object.freeze({
  validateHandshakeResponse: false,
  rejectMaskedServerFrames: false,
  selectOneSubprotocol: false,
  validateHandshakeRequest: false,
  checkFragmentation: false,
  validateUtf8: false,
  validateCloseCodes: false,
  fatalOnPartialTimeout: false,
  strictUri: false,
  strictSni: false,
  noStrayCrlf: false,
  strictConnectionState: false,
  validateSendOpcode: false,
  serverClosedState: false,
  limitResponseHeader: false,
  failWithCloseCode: false,
  capMessageSize: false,
  capFragments: false,
});

export const STRICT: Readonly<StrictChecks> = Object.freeze(
  Object.fromEntries(Object.keys(COMPAT).map((k) => [k, true])) as unknown as StrictChecks,
);

/** `strict: true` turns every switch on; an object turns on the named ones over compat. */
export type StrictOption = boolean | Partial<StrictChecks> | undefined;

export function resolveProfile(strict: StrictOption): StrictChecks {
  if (strict === true) return { ...STRICT };
  if (!strict) return { ...COMPAT };
  return { ...COMPAT, ...strict };
}
