// Autobahn section 12, WebSocket Compression (different payloads) (RFC 7692 permessage-deflate over
// RFC 6455 §9 extension negotiation): five data sets x the 18 size/fragmentation settings, with the
// default offer (client_no_context_takeover; client_max_window_bits) and a server that accepts it
// as offered. Each echo must come back with the same type, length and SHA-1.
import { deflateOffer, offerString, type DeflateNegotiation } from '../runner/deflate.js';
import type { ConformanceCase } from '../runner/types.js';
import { DEFLATE_DATA_SETS } from './deflate-data.js';
import { MSG_SIZES, deflateEchoCase } from './deflate-echo.js';

/** [PerMessageDeflateOffer()] and accept_deflate: the first permessage-deflate offer, as offered. */
const DEFAULT_OFFER: DeflateNegotiation = {
  offers: [deflateOffer()],
  accept: (offers) => (offers[0] ? { offer: offers[0], requestNoContextTakeover: false, requestMaxWindowBits: 0 } : null),
  acceptDescription: 'accept the first permessage-deflate offer as offered',
};

export const section12: ConformanceCase[] = DEFLATE_DATA_SETS.flatMap((set, j) =>
  MSG_SIZES.map((setting, i) =>
    deflateEchoCase(`12.${j + 1}.${i + 1}`, set, setting, DEFAULT_OFFER, `default permessage-deflate offer (${offerString(deflateOffer())}).`)));
