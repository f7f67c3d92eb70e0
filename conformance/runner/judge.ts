// The verdicts of Autobahn's Case.onConnectionLost (case/case.py), with closedByWrongEndpointIsFatal.
import type { CaseRun } from './types.js';
import type { EndpointOutcome } from './endpoint.js';
import { sameEvents } from './endpoint.js';

export function judge(c: CaseRun, o: EndpointOutcome, isServer: boolean): void {
  for (const [behavior, events] of Object.entries(c.expected)) {
    if (sameEvents(c.received, events!)) {
      c.behavior = behavior as CaseRun['behavior'];
      c.result = 'Actual events match at least one expected.';
      break;
    }
  }
  const ec = c.expectedClose;
  if (ec.closedByMe !== o.closedByMe) {
    c.behaviorClose = 'FAILED';
    c.resultClose = 'The connection was failed by the wrong endpoint';
  } else if (ec.requireClean && !o.wasClean) {
    c.behaviorClose = 'UNCLEAN';
    c.resultClose = 'The spec requires the connection to be failed cleanly here';
  } else if (o.remoteCloseCode !== null && !ec.closeCode.includes(o.remoteCloseCode)) {
    c.behaviorClose = 'WRONG CODE';
    c.resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
  } else if (!isServer && o.droppedByMe) {
    c.behaviorClose = 'FAILED BY CLIENT';
    c.resultClose = 'It is preferred that the server close the TCP connection';
  } else {
    c.behaviorClose = 'OK';
    c.resultClose = 'Connection was properly closed';
  }
  if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== o.closedByMe) {
    c.behavior = 'FAILED';
    c.result = 'Failed by wrong endpoint';
  }
}
