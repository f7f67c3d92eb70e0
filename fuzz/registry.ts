// The jsfuzz targets, by name. Each is fuzz/targets/<name>.ts exporting `fuzz(buf)`.
export interface TargetInfo {
  readonly name: string;
  readonly summary: string;
  /** Text protocols profit from jsfuzz's versifier (token-level mutation); binary ones do not. */
  readonly text: boolean;
}

export const TARGETS: readonly TargetInfo[] = [
  { name: 'frame-compat', summary: 'FrameDecoder, original rules, input-chosen chunking', text: false },
  { name: 'frame-strict', summary: 'FrameDecoder + MessageValidator(STRICT)', text: false },
  { name: 'inflate', summary: 'strict server recvFrame under permessage-deflate (RSV1, compressed fragments, bad deflate, parameters)', text: false },
  { name: 'handshake-server', summary: 'server request-head parser + handshake checks', text: true },
  { name: 'handshake-client', summary: 'client response head / status-line parser', text: true },
  { name: 'uri', summary: 'client URI parser (compat and strict)', text: true },
  { name: 'utf8', summary: 'incremental UTF-8 validator', text: false },
];

/** Targets that exist for tests only (a deliberately broken decoder); never in "all". */
export const TEST_TARGETS: readonly TargetInfo[] = [
  { name: 'frame-planted', summary: 'FrameDecoder with a planted bug (signed close code)', text: false },
  { name: 'broken-load', summary: 'a target that throws when loaded (runner guard test)', text: false },
  { name: 'hang-planted', summary: 'a target that hangs (runner hang guard test)', text: false },
];

export function findTarget(name: string): TargetInfo | undefined {
  return [...TARGETS, ...TEST_TARGETS].find((t) => t.name === name);
}

/** "all", a comma list, or one name; unknown names are an error. */
export function resolveTargets(spec: string | readonly string[]): TargetInfo[] {
  const names = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()).filter(Boolean) : [...spec];
  if (names.length === 1 && names[0] === 'all') return [...TARGETS];
  return names.map((n) => {
    const t = findTarget(n);
    if (!t) throw new Error(`unknown fuzz target "${n}" (known: ${[...TARGETS, ...TEST_TARGETS].map((x) => x.name).join(', ')})`);
    return t;
  });
}
