// Payloads on report pages: hex next to the text they decode to, with invalid UTF-8 said, not garbled.
import { esc } from './esc.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** The text of `bytes` as UTF-8, and whether it was valid (invalid sequences become U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: utf8.decode(bytes), valid: true };
  } catch {
    return { text: lenient.decode(bytes), valid: false };
  }
}

/** Hex in groups of four bytes, `limit` bytes at most (the rest counted). */
export function hexGroups(bytes: Uint8Array, limit = 64): string {
  const shown = Buffer.from(bytes.subarray(0, limit)).toString('hex').replace(/(.{8})(?=.)/g, '$1 ');
  return bytes.length > limit ? `${shown} … (+${bytes.length - limit} bytes)` : shown;
}

/** Control characters made visible so a payload never breaks a row. */
function visible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '↵' : c === '\t' ? '⇥' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * HTML for a payload: hex and the decoded text (`truncated`: the bytes are the start of a longer
 * payload, so a sequence cut at the end is not called invalid).
 */
export function payloadHtml(bytes: Uint8Array, opts: { limit?: number; truncated?: boolean; text?: boolean } = {}): string {
  if (bytes.length === 0) return '<span class="muted">(empty)</span>';
  const hex = `<span class="hex mono">${esc(hexGroups(bytes, opts.limit ?? 64))}</span>`;
  if (opts.text === false) return hex;
  const TEXT_LIMIT = 256;
  const cutHere = bytes.length > TEXT_LIMIT || !!opts.truncated;
  const head = bytes.subarray(0, TEXT_LIMIT);
  let d = decodeUtf8(head);
  // A multi-byte sequence cut by a limit is not the payload's fault: drop up to 3 trailing bytes.
  for (let k = 1; !d.valid && cutHere && k <= 3 && k < head.length; k++) {
    const shorter = decodeUtf8(head.subarray(0, head.length - k));
    if (shorter.valid) d = shorter;
  }
  const mark = d.valid ? '' : ' <span class="bad-utf8">invalid UTF-8</span>';
  return `${hex}<br><span class="txt mono">${esc(visible(d.text))}${cutHere ? ' …' : ''}</span>${mark}`;
}
