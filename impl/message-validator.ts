// The strict profile's checks above recv_frame, which the original does not make (docs/behaviour.md §7.5-7.7):
// fragmentation order (RFC 6455 §5.4), UTF-8 of text messages across fragments and of close
// reasons (§8.1, failing fast), and close codes (§7.4). Each is on only when its switch is.
import type { StrictChecks } from './profile.js';
import type { RecvResult } from './types.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

export const STRICT_ERRORS = {
  strayContinuation: 'continuation frame with no message to continue',
  interleavedData: 'new data frame inside a fragmented message',
  invalidUtf8Text: 'invalid UTF-8 in text message',
  invalidUtf8Reason: 'invalid UTF-8 in close reason',
  invalidCloseCode: 'invalid close status code',
} as const;

export type ValidationResult = { ok: true } | { ok: false; err: string; closeCode: 1002 | 1007 | 1009 };

const OK: ValidationResult = { ok: true };

/** RFC 6455 §7.4.1/§7.4.2: codes an endpoint may put on the wire (1012-1014 were registered later). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export class MessageValidator {
  private readonly checks: Pick<StrictChecks, 'checkFragmentation' | 'validateUtf8' | 'validateCloseCodes'>;
  /** The data type of the fragmented message in progress, if any. */
  private fragmented: 'text' | 'binary' | null = null;
  private readonly utf8 = new Utf8Validator();

  constructor(checks: Pick<StrictChecks, 'checkFragmentation' | 'validateUtf8' | 'validateCloseCodes'>) {
    this.checks = checks;
  }

  /** Checks the next recv_frame result in order; failures say which close code to fail with. */
  check(r: RecvResult): ValidationResult {
    if (r.data === null) return OK;
    switch (r.type) {
      case 'text':
      case 'binary': {
        if (this.checks.checkFragmentation && this.fragmented !== null) return fail(STRICT_ERRORS.interleavedData, 1002);
        const fin = r.err === null;
        this.fragmented = fin ? null : r.type;
        if (r.type === 'text' && this.checks.validateUtf8) {
          this.utf8.reset();
          if (!this.utf8.push(r.data) || (fin && !this.utf8.end())) return fail(STRICT_ERRORS.invalidUtf8Text, 1007);
        }
        return OK;
      }
      case 'continuation': {
        const current = this.fragmented;
        if (current === null) return this.checks.checkFragmentation ? fail(STRICT_ERRORS.strayContinuation, 1002) : OK;
        const fin = r.err === null;
        if (fin) this.fragmented = null;
        if (current === 'text' && this.checks.validateUtf8) {
          if (!this.utf8.push(r.data) || (fin && !this.utf8.end())) return fail(STRICT_ERRORS.invalidUtf8Text, 1007);
        }
        return OK;
      }
      case 'close': {
        const code = r.err;
        if (this.checks.validateCloseCodes && code !== null && !isValidCloseCode(code)) {
          return fail(`${STRICT_ERRORS.invalidCloseCode}: ${code}`, 1002);
        }
        if (this.checks.validateUtf8 && !isValidUtf8(r.data)) return fail(STRICT_ERRORS.invalidUtf8Reason, 1007);
        return OK;
      }
      default:
        return OK;
    }
  }
}

function fail(err: string, closeCode: 1002 | 1007 | 1009): ValidationResult {
  return { ok: false, err, closeCode };
}
