// Small builders shared by the case files: most Autobahn cases are "send this, expect that echo or
// a failed connection", differing only in frames and chopping.
import { CLOSE, type CaseRun, type ConformanceCase, type ExpectedClose } from '../runner/types.js';

export const b = (s: string): Buffer => Buffer.from(s, 'utf8');
export const bin = (s: string): Buffer => Buffer.from(s, 'latin1');

/** We close normally and require a clean close (the testee did everything right). */
export function closeNormally(c: CaseRun): void {
  c.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
}

/** The testee must fail the connection: close with `code` (or just drop TCP). */
export function expectFailure(c: CaseRun, code: number = CLOSE.PROTOCOL_ERROR, extra: Partial<ExpectedClose> = {}): void {
  c.expectedClose = { closedByMe: false, closeCode: [code], requireClean: false, ...extra };
}

/** A case defined by a list of properties (ids and texts as in Autobahn). */
export function defineCase(id: string, rfc: string, description: string, expectation: string, onOpen: (c: CaseRun) => void, extra: Partial<ConformanceCase> = {}): ConformanceCase {
  return { id, rfc, description, expectation, onOpen, ...extra };
}

/** 7.x cases: a WRONG CODE close also fails the behavior (case7_*.py). */
export function wrongCodeFails(c: CaseRun): void {
  if (c.behaviorClose === 'WRONG CODE') {
    c.behavior = 'FAILED';
    c.result = c.resultClose;
  }
}

/** 9.x cases: only the echo's length matters, and the duration is reported. */
export function lengthCheck(datalen: number, binary: boolean) {
  return (c: CaseRun, payload: Buffer, isBinary: boolean): void => {
    if (isBinary !== binary) c.result = `Expected ${binary ? 'binary' : 'text'} message with payload, but got ${isBinary ? 'binary' : 'text'}.`;
    else if (payload.length !== datalen) c.result = `Expected ${binary ? 'binary' : 'text'} message with payload of length ${datalen}, but got ${payload.length}.`;
    else {
      c.behavior = 'OK';
      c.result = `Received ${binary ? 'binary' : 'text'} message of length ${payload.length}.`;
    }
    c.p.createWirelog = true;
    c.p.sendClose(CLOSE.NORMAL);
  };
}
