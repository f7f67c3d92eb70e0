// The interop comparator lives in lab/compare.ts (the session diff of fuzz/ uses it too).
export * from '../../lab/compare.js';
