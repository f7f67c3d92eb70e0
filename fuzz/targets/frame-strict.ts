// jsfuzz target: the strict profile's receive path, FrameDecoder + MessageValidator(STRICT), fed in
// input-chosen chunk sizes. On top of the compat oracle, everything the validator lets through
// must obey RFC 6455: fragmentation order (§5.4), UTF-8 text and close reasons (§8.1), valid
// close codes (§7.4); a failure must carry close code 1002, 1007 or 1009.
import { isUtf8 } from 'node:buffer';
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { FrameDecoder } from '../../impl/protocol.js';
import { MessageValidator } from '../../impl/message-validator.js';
import { STRICT } from '../../impl/profile.js';
import { fuzzFrames } from './frame-common.js';
import { check, FuzzCrash } from './oracle.js';

/** RFC 6455 §7.4.1/§7.4.2 plus the IANA registry; 1012-1014 are registered later, so either answer is fine. */
export function closeCodeVerdict(code: number): 'valid' | 'invalid' | 'either' {
  if (code >= 1012 && code <= 1014) return 'either';
  if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999)) return 'valid';
  return 'invalid';
}

export function fuzz(buf: Buffer): void {
  const run = fuzzFrames(buf, (opts) => new FrameDecoder(opts));
  if (run === null) return;
  const validator = new MessageValidator({ ...STRICT });
  let open: 'text' | 'binary' | null = null;
  let text: Buffer[] = [];
  for (const r of run.results) {
    if (r.data === null) break; // a decoder error fails the connection on its own
    let verdict: ReturnType<MessageValidator['check']>;
    try {
      verdict = validator.check(r);
    } catch (e) {
      throw new FuzzCrash('validator threw', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    }
    if (!verdict.ok) {
      check(typeof verdict.err === 'string' && verdict.err.length > 0, 'failure without an error text', verdict);
      check([1002, 1007, 1009].includes(verdict.closeCode), 'failure with an unexpected close code', verdict);
      return;
    }
    check(verdict.ok === true, 'verdict shape', verdict);
    const final = r.err === null;
    switch (r.type) {
      case 'continuation':
        check(open !== null, 'continuation outside a fragmented message accepted', r);
        if (open === 'text') text.push(r.data);
        break;
      case 'text':
      case 'binary':
        check(open === null, 'new data frame inside a fragmented message accepted', { open, type: r.type });
        open = r.type;
        text = r.type === 'text' ? [r.data] : [];
        break;
      case 'close':
        if (r.err !== null) check(closeCodeVerdict(r.err) !== 'invalid', 'invalid close code accepted', r.err);
        check(isUtf8(r.data), 'close reason that is not UTF-8 accepted', r.data.toString('hex'));
        return; // nothing is read after a close frame
      default:
        break; // ping/pong: already checked by the compat oracle
    }
    if ((r.type === 'text' || r.type === 'binary' || r.type === 'continuation') && final) {
      if (open === 'text') check(isUtf8(Buffer.concat(text)), 'text message that is not UTF-8 accepted', Buffer.concat(text).toString('hex'));
      open = null;
      text = [];
    }
  }
}
