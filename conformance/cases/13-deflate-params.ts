// Autobahn section 13, WebSocket Compression (different parameters) (RFC 7692 §7.1: context
// takeover and window sizes): seven offer/accept combinations of no_context_takeover and
// max_window_bits in {0 (not set), 9, 15} x the 18 size/fragmentation settings, on the JSON data set.
// The client offers server-side parameters; the server's accept requests client-side ones when the
// offer allows it (Autobahn's accept1..accept7), so both directions run with what was agreed.
import { deflateOffer, offerString, type DeflateAccept, type DeflateNegotiation, type DeflateOffer } from '../runner/deflate.js';
import type { ConformanceCase } from '../runner/types.js';
import { DEFLATE_DATA_SETS } from './deflate-data.js';
import { MSG_SIZES, deflateEchoCase } from './deflate-echo.js';

/** Accept the first offer that allows it, requesting (client_no_context_takeover, client_max_window_bits). */
function acceptRequesting(noContextTakeover: boolean, maxWindowBits: number) {
  return (offers: readonly DeflateOffer[]): DeflateAccept | null => {
    for (const offer of offers) {
      if (noContextTakeover && !offer.acceptNoContextTakeover) continue;
      if (maxWindowBits !== 0 && !offer.acceptMaxWindowBits) continue;
      return { offer, requestNoContextTakeover: noContextTakeover, requestMaxWindowBits: maxWindowBits };
    }
    return null;
  };
}

type Pair = readonly [boolean, number];
const show = (pairs: readonly Pair[]): string => `[${pairs.map(([n, w]) => `(${n ? 'True' : 'False'}, ${w})`).join(', ')}]`;

/** Tries each (no_context_takeover, max_window_bits) request in turn (accept7 tries three). */
function negotiation(offers: Pair[], accepts: Pair[]): DeflateNegotiation {
  const tries = accepts.map(([n, w]) => acceptRequesting(n, w));
  return {
    offers: offers.map(([n, w]) => deflateOffer({ requestNoContextTakeover: n, requestMaxWindowBits: w })),
    accept: (o) => tries.reduce<DeflateAccept | null>((got, t) => got ?? t(o), null),
    acceptDescription: `server accept (requestNoContextTakeover, requestMaxWindowBits): ${show(accepts)}`,
  };
}

/** DEFLATE_PARAMS: (client offers, server accept), each as (requestNoContextTakeover, requestMaxWindowBits). */
const DEFLATE_PARAMS: ReadonlyArray<DeflateNegotiation> = [
  negotiation([[false, 0]], [[false, 0]]),
  negotiation([[true, 0]], [[true, 0]]),
  negotiation([[false, 9]], [[false, 9]]),
  negotiation([[false, 15]], [[false, 15]]),
  negotiation([[true, 9]], [[true, 9]]),
  negotiation([[true, 15]], [[true, 15]]),
  negotiation([[true, 9], [true, 0], [false, 0]], [[true, 9], [true, 0], [false, 0]]),
];

const JSON_SET = DEFLATE_DATA_SETS.find((s) => s.key === 'json_data1')!;

export const section13: ConformanceCase[] = DEFLATE_PARAMS.flatMap((n, j) => {
  const offers = `permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): ${show(n.offers.map((o) => [o.requestNoContextTakeover, o.requestMaxWindowBits]))} (${n.offers.map(offerString).join(', ')}) / ${n.acceptDescription}`;
  return MSG_SIZES.map((setting, i) => deflateEchoCase(`13.${j + 1}.${i + 1}`, JSON_SET, setting, n, offers));
});
