// The verdicts of Autobahn's Case.onConnectionLost (case/case.py), with closedByWrongEndpointIsFatal:
// a pure function of what a case expected and what the endpoint recorded once the connection was
// gone. The transport (endpoint.ts) only records; run-case.ts asks for the verdict afterwards.
import { sameEvents } from './events.js';
import type { Behavior, CaseRun, CloseBehavior, EndpointOutcome } from './types.js';

export interface Verdict {
  behavior: Behavior;
  result: string;
  behaviorClose: CloseBehavior;
  resultClose: string;
}

export function judge(c: Pick<CaseRun, 'received' | 'expected' | 'expectedClose'>, o: EndpointOutcome, isServer: boolean): Verdict {
  let behavior: Behavior = 'FAILED';
  let result = 'Actual events differ from any expected.';
  for (const [b, events] of Object.entries(c.expected)) {
    if (sameEvents(c.received, events!)) {
      behavior = b as Behavior;
      result = 'Actual events match at least one expected.';
      break;
    }
  }
  const ec = c.expectedClose;
  let behaviorClose: CloseBehavior;
  let resultClose: string;
  if (ec.closedByMe !== o.closedByMe) {
    behaviorClose = 'FAILED';
    resultClose = 'The connection was failed by the wrong endpoint';
  } else if (ec.requireClean && !o.wasClean) {
    behaviorClose = 'UNCLEAN';
    resultClose = 'The spec requires the connection to be failed cleanly here';
  } else if (o.remoteCloseCode !== null && !ec.closeCode.includes(o.remoteCloseCode)) {
    behaviorClose = 'WRONG CODE';
    resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
  } else if (!isServer && o.droppedByMe) {
    behaviorClose = 'FAILED BY CLIENT';
    resultClose = 'It is preferred that the server close the TCP connection';
  } else {
    behaviorClose = 'OK';
    resultClose = 'Connection was properly closed';
  }
  if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== o.closedByMe) {
    behavior = 'FAILED';
    result = 'Failed by wrong endpoint';
  }
  return { behavior, result, behaviorClose, resultClose };
}
