// Comparing what a case received with what it expected, as Autobahn compares pickles: same kinds,
// same payload bytes, same flags, same order. Shared by the endpoint (a case that got everything it
// expected starts the closing handshake) and the judge.
export function sameEvents(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as unknown[];
    const y = b[i] as unknown[];
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      const u = x[j];
      const v = y[j];
      if (Buffer.isBuffer(u) || Buffer.isBuffer(v)) {
        const ub = Buffer.isBuffer(u) ? u : Buffer.from(String(u), 'utf8');
        const vb = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
        if (!ub.equals(vb)) return false;
      } else if (u !== v) return false;
    }
  }
  return true;
}
