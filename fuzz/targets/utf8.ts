// jsfuzz target: the incremental UTF-8 validator (strict profile, RFC 6455 §8.1 fail-fast).
// Input: byte 0 picks the largest chunk, byte 1 seeds the chunk sizes, the rest is the text.
// Reference: node:buffer isUtf8 (WHATWG UTF-8, the same definition RFC 3629 gives).
import { isUtf8 } from 'node:buffer';
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { Utf8Validator } from '../../impl/utf8.js';
import { MAX_CHUNK_CHOICES } from './frame-common.js';
import { check, chunkSizes, splitBy } from './oracle.js';

export function fuzz(buf: Buffer): void {
  if (buf.length < 2) return;
  const text = buf.subarray(2);
  const chunks = splitBy(text, chunkSizes(text.length, buf[1]! + 1, MAX_CHUNK_CHOICES[buf[0]! & 15]!));
  const whole = isUtf8(text);
  const v = new Utf8Validator();
  let seen = 0;
  let failedAt = -1;
  for (const chunk of chunks) {
    seen += chunk.length;
    const ok = v.push(chunk);
    check(typeof ok === 'boolean', 'push returned a non-boolean', String(ok));
    const prefixValid = isUtf8(text.subarray(0, seen));
    // A prefix that is valid UTF-8 on its own can always be extended: failing there is wrong.
    if (prefixValid) check(ok, 'rejected a valid prefix', { seen, hex: text.subarray(0, seen).toString('hex') });
    if (!ok) {
      failedAt = seen;
      break;
    }
  }
  if (failedAt >= 0) {
    check(!whole, 'rejected valid UTF-8', text.toString('hex'));
  } else {
    const ok = v.end();
    check(ok === whole, 'end() disagrees with isUtf8', { end: ok, isUtf8: whole, hex: text.toString('hex') });
  }
  // Fail fast (RFC 6455 §8.1): if a 4-byte window can't start or finish a character, the
  // validator must have failed no later than 4 bytes after the first invalid byte.
  if (!whole && failedAt < 0) {
    // It only failed at end(): the text must be a truncated but otherwise valid sequence.
    check(isTruncatedValid(text), 'invalid byte not detected before end()', text.toString('hex'));
  }
  v.reset();
  check(v.push(Buffer.from(text)) === whole || !whole, 'reset() kept state', text.toString('hex'));
  check((v.push(Buffer.alloc(0)), v.end()) === whole, 'after reset: end() disagrees with isUtf8', text.toString('hex'));
}

/** True when `text` is valid UTF-8 except that its last character is cut short. */
function isTruncatedValid(text: Buffer): boolean {
  for (let cut = 1; cut <= 3 && cut <= text.length; cut++) {
    if (!isUtf8(text.subarray(0, text.length - cut))) continue;
    const tail = text.subarray(text.length - cut);
    // Some completion of the tail makes it a valid character.
    for (const filler of COMPLETIONS) {
      if (isUtf8(Buffer.concat([tail, filler.subarray(0, 4 - cut)]))) return true;
      if (isUtf8(Buffer.concat([tail, filler.subarray(0, 3 - cut)]))) return true;
      if (isUtf8(Buffer.concat([tail, filler.subarray(0, 2 - cut)]))) return true;
    }
  }
  return false;
}

const COMPLETIONS = [0x80, 0x90, 0xa0, 0xbf, 0x8f, 0x9f].map((b) => Buffer.from([b, 0x80, 0x80]));
