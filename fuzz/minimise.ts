// Test-case minimisation for saved findings (jsfuzz has none): greedy chunk removal from large to
// single bytes (delta debugging, ddmin-style), then byte simplification, within an attempt budget.
// The search is a generator that yields candidates and is told whether each still fails, so the
// same code drives a synchronous predicate (a fuzz target) and an asynchronous one (the Lua oracle).

function* search(input: Buffer, maxAttempts: number): Generator<Buffer, Buffer, boolean> {
  let best = input;
  let attempts = 0;
  for (let size = Math.max(1, best.length >> 1); size >= 1 && attempts < maxAttempts; size = size >> 1) {
    let progress = true;
    while (progress && attempts < maxAttempts) {
      progress = false;
      for (let at = 0; at + size <= best.length && attempts < maxAttempts; ) {
        const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + size)]);
        attempts++;
        if (yield candidate) {
          best = candidate;
          progress = true;
        } else {
          at += size;
        }
      }
    }
  }
  // Simplification: make each remaining byte 0x00, then 'A', when that keeps the failure.
  for (let i = 0; i < best.length && attempts < maxAttempts; i++) {
    for (const b of [0x00, 0x41]) {
      if (best[i] === b) break;
      const candidate = Buffer.from(best);
      candidate[i] = b;
      attempts++;
      if (yield candidate) {
        best = candidate;
        break;
      }
    }
  }
  return best;
}

/** `stillFails` must be deterministic for the input it is given. */
export function minimise(input: Buffer, stillFails: (candidate: Buffer) => boolean, maxAttempts = 4000): Buffer {
  const it = search(input, maxAttempts);
  let step = it.next();
  while (!step.done) step = it.next(stillFails(step.value));
  return step.value;
}

export async function minimiseAsync(
  input: Buffer,
  stillFails: (candidate: Buffer) => Promise<boolean>,
  maxAttempts = 1500,
): Promise<Buffer> {
  const it = search(input, maxAttempts);
  let step = it.next();
  while (!step.done) step = it.next(await stillFails(step.value));
  return step.value;
}
