// Incremental UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires for text messages and close
// reasons). It fails fast: the byte that makes a sequence impossible fails the push it arrives in,
// even in the middle of a character (E0 80, ED A0, F4 90 and overlong leads fail at once).
import { isUtf8 } from 'node:buffer';

/** Whole-buffer check (native). */
export function isValidUtf8(buf: Uint8Array): boolean {
  return isUtf8(buf);
}

export class Utf8Validator {
  /** Continuation bytes still needed for the current character. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrowed after E0, ED, F0, F4). */
  private lower = 0x80;
  private upper = 0xbf;
  private failed = false;

  /** Feeds the next bytes; false once the text can no longer be valid UTF-8. */
  push(chunk: Uint8Array): boolean {
    if (this.failed) return false;
    let need = this.need;
    let lower = this.lower;
    let upper = this.upper;
    const len = chunk.length;
    let i = 0;
    // Between characters, a whole run can be checked natively: only its tail may be unfinished.
    if (need === 0 && len > 64) {
      const tailStart = Math.max(0, len - 3);
      let cut = len;
      for (let j = len - 1; j >= tailStart; j--) {
        const b = chunk[j]!;
        if (b >= 0xc0) {
          cut = j;
          break;
        }
        if (b < 0x80) break;
      }
      if (!isUtf8(chunk.subarray(0, cut))) {
        this.failed = true;
        return false;
      }
      i = cut;
    }
    for (; i < len; i++) {
      const b = chunk[i]!;
      if (need === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lower = 0xa0; // no overlong 3-byte forms
          else if (b === 0xed) upper = 0x9f; // no surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lower = 0x90; // no overlong 4-byte forms
          else if (b === 0xf4) upper = 0x8f; // nothing above U+10FFFF
        } else {
          this.failed = true;
          return false;
        }
      } else {
        if (b < lower || b > upper) {
          this.failed = true;
          return false;
        }
        lower = 0x80;
        upper = 0xbf;
        need--;
      }
    }
    this.need = need;
    this.lower = lower;
    this.upper = upper;
    return true;
  }

  /** The text is over: valid only if no character is left unfinished. */
  end(): boolean {
    return !this.failed && this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.failed = false;
  }
}
