// A target that fails to load, for the campaign runner's guard test: jsfuzz 1.0.15 exits 0 having
// run nothing when its target throws at require time, and the runner must report that as a failure.
throw new Error('planted load failure');

export function fuzz(_buf: Buffer): void {}
