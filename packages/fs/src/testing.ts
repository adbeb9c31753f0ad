/**
 * @module
 * `@auradb/fs/testing`: simulated file systems and the adapter conformance suite.
 *
 * - `MemFs`: an in-memory file system that can simulate a power cut (`crash()`).
 * - `FaultFs`: wraps any file system and injects I/O errors on a seeded schedule.
 * - `fsConformance`: the `node:test` suite every adapter passes (runs under Node, Bun and Deno).
 * - `createSeededRandom`: the seeded PRNG (mulberry32) they use, for tests that must replay a seed
 *   on every runtime.
 */
export { MemFs, createSeededRandom } from "./memfs.ts";
export type { CrashOptions, CrashMode } from "./memfs.ts";
export { FaultFs } from "./faultfs.ts";
export type { FaultFsOptions, FaultKind, FaultOp, FaultRule } from "./faultfs.ts";
export { fsConformance } from "./conformance.ts";
export type { ConformanceOptions } from "./conformance.ts";
