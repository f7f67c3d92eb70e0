// resty-websocket-lab's reference implementation of lua-resty-websocket v0.12: the frame codec
// (protocol), the server, the client, their cosocket-like socket layer and the profiles.
export * from './types.js';
export { COMPAT, STRICT, resolveProfile } from './profile.js';
export type { StrictChecks, StrictOption, StrictSwitch } from './profile.js';
export {
  _VERSION, recvFrame, buildFrame, sendFrame, FrameDecoder, FrameParser, RECV_ERRORS, SEND_ERRORS, READ_FAILURE_PREFIX, MAX_FRAME_PAYLOAD,
  isRecvError, recvErrorText, toRecvResult,
} from './protocol.js';
export { luaPayload, luaToString, formatLuaNumber } from './lua.js';
export type { DecodedFrame, FrameDecoderOptions, FrameHead, FrameOutcome, ReadStage, RecvError, RecvErrorKind, RecvFrame } from './protocol.js';
export { maskInPlace, randomMaskKey } from './mask.js';
export { NodeCosocket, connectCosocket, DEFAULT_TIMEOUT_MS } from './socket.js';
export type { Stream } from './socket.js';
export { createServer, newServer, acceptWebSocket, WebSocketServer, SERVER_ERRORS, handlerErrorLine } from './server.js';
export type { ServerOptions, CreateServerOptions, RunningServer, NewServerResult } from './server.js';
export type { HandshakeRequest } from './handshake-server.js';
export { newClient, WebSocketClient, CLIENT_ERRORS } from './client.js';
export type { ClientOptions, ConnectOptions, ConnectResult } from './client.js';
export { parseUri } from './uri.js';
export { KeepalivePool, defaultKeepalivePool } from './pool.js';
export { TcpSocket } from './tcp-socket.js';
export { WebSocketEndpoint, ENDPOINT_ERRORS } from './endpoint.js';
export { parseRequestHead, checkHandshake, firstHeader, HANDSHAKE_ERRORS } from './handshake-server.js';
export { buildHandshakeRequest, parseResponseHead, acceptFor } from './handshake-client.js';
export { Utf8Validator, isValidUtf8 } from './utf8.js';
export { MessageValidator, STRICT_ERRORS, isValidCloseCode } from './message-validator.js';
export { recvMessage, MESSAGE_ERRORS, DEFAULT_MAX_MESSAGE_LEN, DEFAULT_MAX_FRAGMENTS } from './message.js';
export type { RecvMessageOptions, MessageResult, MessageEndpoint } from './message.js';
export { readHttpRequest, headLimits, HTTP_EDGE_DEFAULTS, LINGERING_TIMEOUT_MS, LINGERING_TIME_MS } from './http-edge.js';
export { ChunkedBodyCounter, CONTINUE_RESPONSE, expectsContinue } from './request-body.js';
export type { HttpEdgeOptions, HttpEdgeResult } from './http-edge.js';
export { RequestHeadParser } from './request-head.js';
export type { HeadStatus, RequestHead } from './request-head.js';
export { DEFAULT_HEAD_LIMITS } from './header-buffers.js';
export type { HeadLimits } from './header-buffers.js';
export { nginxErrorResponse } from './nginx-error-pages.js';
export { LUA_GET_HEADERS_MAX } from './request-headers.js';
export { luaTruthy, luaOr, luaSocketTimeout } from './lua.js';
export { SOCKET_BUSY } from './socket.js';
export type { AcceptOptions } from './server.js';
export {
  PerMessageDeflate, DEFLATE_ERRORS, EXTENSION_NAME, resolveDeflateOption, parseExtensions, negotiateAsServer, negotiateAsClient, offerAsClient,
  zlibWindowBits,
} from './permessage-deflate.js';
export type { PerMessageDeflateOption, PerMessageDeflateOptions, DeflateParams, DeflateSettings, DeflateFailure, ExtensionElement } from './permessage-deflate.js';
