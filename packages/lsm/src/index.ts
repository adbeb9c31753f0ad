/**
 * @module
 * `@auradb/lsm`: the log-structured merge tree under the AuraDB engine.
 */
export { ValueKind, SEQUENCE_MAX } from "./types.ts";
export type { InternalEntry, InternalIterator } from "./types.ts";
export { compareBytes, compareInternal, equalBytes } from "./compare.ts";
