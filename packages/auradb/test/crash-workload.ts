/**
 * The deterministic workload of the kill -9 crash test (RELIABILITY-PLAN §3c), shared by the
 * writer child (crash-writer.ts) and the parent that checks it (crash-harness.ts).
 *
 * Op `index` of a run is a pure function of `(seed, index)`: a child that resumes at any index
 * issues exactly the ops the parent's model expects, and no value ever crosses the pipe. Every
 * value starts with an ASCII descriptor `index.slot.size|`, then bytes derived from it: reading a
 * value back tells which write produced it, and the filler proves its bytes are that write's
 * (a wrong or damaged value is caught, not only a missing one).
 */
import { createSeededRandom } from "@auradb/fs/testing";
import type { AuraDBOptions, BatchOperation } from "../src/index.ts";

/** Values at or above this go to the value log (and are verified through it on recovery). */
export const VALUE_THRESHOLD_BYTES = 1024;

/**
 * Engine options that make flushes, compactions, WAL rolls and value-log GC frequent: a run of a
 * few hundred milliseconds goes through all of them, so kills land inside them.
 */
export const CRASH_DB_OPTIONS: AuraDBOptions = {
  memtableBytes: 24 * 1024,
  blockBytes: 1024,
  cacheBytes: 1024 * 1024,
  l0CompactionTrigger: 2,
  level1Bytes: 96 * 1024,
  sizeRatio: 4,
  targetFileBytes: 32 * 1024,
  valueThreshold: VALUE_THRESHOLD_BYTES,
  valueLogFileBytes: 192 * 1024,
  // Background GC too, besides the explicit gcValueLog ops of the workload.
  valueLogGcRatio: 0.4,
};

const KEY_COUNT = 300;

export type CrashWrite =
  | { readonly kind: "put"; readonly key: string; readonly value: string; readonly sync: boolean }
  | { readonly kind: "del"; readonly key: string; readonly sync: boolean }
  | { readonly kind: "batch"; readonly entries: readonly { readonly key: string; readonly value: string | null }[]; readonly sync: boolean };

export type CrashMaintenance = { readonly kind: "flush" } | { readonly kind: "compact" } | { readonly kind: "gc" };

/** A write (changes the model) or background-style maintenance (does not). */
export type CrashOp = CrashWrite | CrashMaintenance;

export function isWrite(op: CrashOp): op is CrashWrite {
  return op.kind === "put" || op.kind === "del" || op.kind === "batch";
}

/** mulberry32: the same numbers on every runtime (no Math.random). */
const seededRandom = createSeededRandom;

function mix(seed: number, index: number): number {
  let hash = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x7feb352d) >>> 0;
  return (hash ^ (hash >>> 15)) >>> 0;
}

/** Keys skewed towards the low numbers, so keys are overwritten and deleted often (shadowing). */
function keyOf(random: () => number): string {
  const draw = random();
  return `k${String(Math.floor(KEY_COUNT * draw * draw)).padStart(4, "0")}`;
}

/** A value descriptor `index.slot.size`: small values mostly, a fifth above the separation threshold. */
function valueOf(random: () => number, index: number, slot: number): string {
  const large = random() < 0.2;
  const size = large ? VALUE_THRESHOLD_BYTES + Math.floor(random() * 20_000) : 24 + Math.floor(random() * 280);
  return `${index}.${slot}.${size}`;
}

/** Op `index` of the workload with `seed`. */
export function opAt(seed: number, index: number): CrashOp {
  const random = seededRandom(mix(seed, index));
  const draw = random();
  const sync = random() < 0.5;
  if (draw < 0.5) return { kind: "put", key: keyOf(random), value: valueOf(random, index, 0), sync };
  if (draw < 0.64) return { kind: "del", key: keyOf(random), sync };
  if (draw < 0.955) {
    const count = 2 + Math.floor(random() * 7);
    const entries: { key: string; value: string | null }[] = [];
    for (let slot = 0; slot < count; slot++) entries.push({ key: keyOf(random), value: random() < 0.2 ? null : valueOf(random, index, slot) });
    return { kind: "batch", entries, sync };
  }
  if (draw < 0.975) return { kind: "flush" };
  if (draw < 0.988) return { kind: "compact" };
  return { kind: "gc" };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of the value a descriptor names: the descriptor, `|`, then seeded filler. */
export function valueBytes(descriptor: string): Uint8Array {
  const size = Number(descriptor.slice(descriptor.lastIndexOf(".") + 1));
  const out = new Uint8Array(size);
  const header = encoder.encode(`${descriptor}|`);
  out.set(header.subarray(0, size));
  let state = mix(header.length, size) || 1;
  for (let offset = header.length; offset < size; offset++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[offset] = state >>> 24;
  }
  return out;
}

/**
 * The descriptor of a value read back, or null when the bytes are not exactly those of the write
 * the header names (a wrong or damaged value).
 */
export function descriptorOf(value: Uint8Array): string | null {
  const bar = value.indexOf(0x7c); // "|"
  if (bar < 0 || bar > 40) return null;
  const descriptor = decoder.decode(value.subarray(0, bar));
  if (!/^\d+\.\d+\.\d+$/.test(descriptor)) return null;
  const expected = valueBytes(descriptor);
  if (expected.length !== value.length) return null;
  for (let offset = 0; offset < value.length; offset++) if (expected[offset] !== value[offset]) return null;
  return descriptor;
}

/** The engine's batch for a write. */
export function toBatch(write: CrashWrite): BatchOperation[] {
  if (write.kind === "put") return [{ type: "put", key: write.key, value: valueBytes(write.value) }];
  if (write.kind === "del") return [{ type: "del", key: write.key }];
  return write.entries.map((entry) => (entry.value === null ? { type: "del", key: entry.key } : { type: "put", key: entry.key, value: valueBytes(entry.value) }));
}

/** The model: key → value descriptor. */
export type CrashModel = Map<string, string>;

/** Applies a write to the model (a batch in order: a later entry for a key wins). */
export function applyWrite(model: CrashModel, write: CrashWrite): void {
  if (write.kind === "put") model.set(write.key, write.value);
  else if (write.kind === "del") model.delete(write.key);
  else {
    for (const entry of write.entries) {
      if (entry.value === null) model.delete(entry.key);
      else model.set(entry.key, entry.value);
    }
  }
}

/** FNV-1a of a string: the per-entry hash of the state fingerprint. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/** Hash of one entry of the model. */
export function entryHash(key: string, descriptor: string): number {
  return hashString(`${key}=${descriptor}`);
}

/** Σ entryHash mod 2^32: updated per write in O(entries changed), compared in O(1). */
export function fingerprint(model: CrashModel): number {
  let sum = 0;
  for (const [key, descriptor] of model) sum = (sum + entryHash(key, descriptor)) >>> 0;
  return sum;
}

/** Applies a write to the model and its fingerprint; returns the new fingerprint. */
export function applyWriteFingerprinted(model: CrashModel, write: CrashWrite, sum: number): number {
  const keys = write.kind === "batch" ? write.entries.map((entry) => entry.key) : [write.key];
  for (const key of new Set(keys)) {
    const old = model.get(key);
    if (old !== undefined) sum = (sum - entryHash(key, old)) >>> 0;
  }
  applyWrite(model, write);
  for (const key of new Set(keys)) {
    const now = model.get(key);
    if (now !== undefined) sum = (sum + entryHash(key, now)) >>> 0;
  }
  return sum;
}

export function equalModels(left: CrashModel, right: CrashModel): boolean {
  if (left.size !== right.size) return false;
  for (const [key, value] of left) if (right.get(key) !== value) return false;
  return true;
}
