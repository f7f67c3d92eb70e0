// Test-case minimisation for saved findings (jsfuzz has none): greedy chunk removal from large to
// single bytes (delta debugging, ddmin-style), then byte simplification, within an attempt budget.
// `stillFails` must be deterministic for the input it is given.

export function minimise(input: Buffer, stillFails: (candidate: Buffer) => boolean, maxAttempts = 4000): Buffer {
  let best = input;
  let attempts = 0;
  const attempt = (c: Buffer): boolean => {
    attempts++;
    return stillFails(c);
  };
  // Removal passes: drop chunks of size n, halving n each time nothing more can go.
  for (let size = Math.max(1, best.length >> 1); size >= 1 && attempts < maxAttempts; size = size >> 1) {
    let progress = true;
    while (progress && attempts < maxAttempts) {
      progress = false;
      for (let at = 0; at + size <= best.length && attempts < maxAttempts; ) {
        const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + size)]);
        if (attempt(candidate)) {
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
      if (attempt(candidate)) {
        best = candidate;
        break;
      }
    }
  }
  return best;
}
