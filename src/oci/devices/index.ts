// Collision-safe device remapping of OCI specs (host -> guest numbers),
// its explanation, and the guest root disk deny rule.
export * from './dev-t.js';
export * from './errors.js';
export * from './explain.js';
export * from './guest-root.js';
export * from './plan.js';
export * from './remap.js';
export type * from './types.js';
