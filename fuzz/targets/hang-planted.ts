// A target that hangs on most inputs, for the runner's hang guard test: jsfuzz's own --timeout
// must kill it, and the runner must save the input as a "timeout" finding.
export function fuzz(buf: Buffer): void {
  if (buf.length === 0) return;
  const until = Date.now() + 3_600_000;
  while (Date.now() < until) {
    // spin: a decoder stuck in a loop looks like this from the outside
  }
}
