/**
 * Benchmark of `@auradb/learned-index`. A command, not a test:
 *
 *   node_modules/.bin/node bench/learned-index.ts
 *   node_modules/.bin/bun bench/learned-index.ts
 *   node_modules/.bin/deno run -A bench/learned-index.ts
 *   node_modules/.bin/node bench/learned-index.ts --keys 200000 --queries 100000 --reps 3 --epsilon 16
 *
 * For each key distribution (`--keys` keys, default 1,000,000, sorted and distinct) prints: the
 * segments of the greedy and of the optimal model at `--epsilon` (default 16), the optimal model's
 * serialized bytes per key, build time per key of both builders, and lookups per second of the
 * learned `lowerBound` (optimal model) against a plain binary search over the same array, in the
 * same run, on the same random present keys (`--queries`, default 300,000). Every timing is the
 * median of `--reps` (default 3). Imports the package by name: run `npm run build` first.
 */
import process from "node:process";
import { buildGreedyModel, buildOptimalModel, compareBytes, lowerBound } from "@auradb/learned-index";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const N = option("keys", 1_000_000);
const QUERIES = option("queries", 300_000);
const REPS = option("reps", 3);
const EPSILON = option("epsilon", 16);

/** A deterministic PRNG (mulberry32), so runs are comparable. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 8-byte big-endian keys of sorted distinct safe integers. */
function u64Keys(values: number[]): Uint8Array[] {
  values.sort((a, b) => a - b);
  const keys: Uint8Array[] = [];
  let previous = -1;
  for (const v of values) {
    if (v === previous) continue;
    previous = v;
    const key = new Uint8Array(8);
    const view = new DataView(key.buffer);
    view.setUint32(0, Math.floor(v / 2 ** 32));
    view.setUint32(4, v >>> 0);
    keys.push(key);
  }
  return keys;
}

const distributions: [string, () => Uint8Array[]][] = [
  ["sequential u64", () => u64Keys(Array.from({ length: N }, (_, i) => i))],
  [
    "uniform random u64",
    () => {
      const r = random(1);
      return u64Keys(Array.from({ length: N }, () => Math.floor(r() * 2 ** 53)));
    },
  ],
  [
    "clustered with gaps",
    () => {
      const r = random(2);
      const values: number[] = [];
      let base = 0;
      while (values.length < N) {
        base += Math.floor(r() * 2 ** 36); // a gap
        const size = 100 + Math.floor(r() * 5000);
        for (let i = 0; i < size && values.length < N; i++) {
          values.push(base);
          base += 1 + Math.floor(r() * 4);
        }
      }
      return u64Keys(values);
    },
  ],
  [
    "strings user:000123",
    () => {
      const r = random(3);
      const encoder = new TextEncoder();
      const keys: Uint8Array[] = [];
      let id = 0;
      for (let i = 0; i < N; i++) {
        id += 1 + Math.floor(r() * 8);
        keys.push(encoder.encode(`user:${String(id).padStart(9, "0")}`));
      }
      return keys;
    },
  ],
  [
    "bursty timestamps (µs)",
    () => {
      const r = random(4);
      const values: number[] = [];
      let t = 1_700_000_000_000_000;
      while (values.length < N) {
        t += Math.floor(r() * 60_000_000); // up to a minute of silence
        const burst = 1 + Math.floor(r() * 2000);
        for (let i = 0; i < burst && values.length < N; i++) {
          t += 1 + Math.floor(r() * 20);
          values.push(t);
        }
      }
      return u64Keys(values);
    },
  ],
  [
    "adversarial steps",
    () => {
      // Runs of 2ε+2 consecutive numbers separated by huge jumps: a staircase no line follows for
      // more than one step, so every step costs a segment.
      const step = 2 * EPSILON + 2;
      return u64Keys(Array.from({ length: N }, (_, i) => Math.floor(i / step) * 2 ** 32 + (i % step)));
    },
  ],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function plainLowerBound(keys: Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function timeNs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

const fmt = (value: number, digits = 0) => value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.bun !== undefined ? `Bun ${versions.bun}` : versions.deno !== undefined ? `Deno ${versions.deno}` : `Node ${process.version}`;

console.log(`learned-index, ${runtime}, ε = ${EPSILON}, medians of ${REPS}, ${fmt(QUERIES)} lookups of present keys\n`);
console.log("| distribution | keys | segments greedy | segments optimal | bytes/key (optimal) | build greedy ns/key | build optimal ns/key | learned lookups/s | binary search lookups/s | speed-up |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const [name, make] of distributions) {
  process.stderr.write(`${name}…\n`);
  const keys = make();
  const n = keys.length;
  let greedy = buildGreedyModel(keys, { epsilon: EPSILON });
  let optimal = buildOptimalModel(keys, { epsilon: EPSILON });
  const greedyNs: number[] = [];
  const optimalNs: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    greedyNs.push(timeNs(() => (greedy = buildGreedyModel(keys, { epsilon: EPSILON }))) / n);
    optimalNs.push(timeNs(() => (optimal = buildOptimalModel(keys, { epsilon: EPSILON }))) / n);
  }
  const r = random(99);
  const queryIndexes = Int32Array.from({ length: QUERIES }, () => Math.floor(r() * n));
  const queries = Array.from(queryIndexes, (i) => keys[i]!);
  let check = 0;
  for (let i = 0; i < QUERIES; i++) if (lowerBound(optimal, keys, queries[i]!) !== queryIndexes[i]) check++;
  if (check !== 0) throw new Error(`${name}: ${check} wrong learned lookups`);
  const learned: number[] = [];
  const plain: number[] = [];
  let sink = 0;
  for (let rep = 0; rep < REPS; rep++) {
    learned.push(QUERIES / (timeNs(() => {
      for (let i = 0; i < QUERIES; i++) sink += lowerBound(optimal, keys, queries[i]!);
    }) / 1e9));
    plain.push(QUERIES / (timeNs(() => {
      for (let i = 0; i < QUERIES; i++) sink += plainLowerBound(keys, queries[i]!);
    }) / 1e9));
  }
  if (sink === -1) console.log(sink);
  const stats = optimal.stats();
  const learnedPerS = median(learned);
  const plainPerS = median(plain);
  console.log(
    `| ${name} | ${fmt(n)} | ${fmt(greedy.segmentCount)} | ${fmt(optimal.segmentCount)} | ${fmt(stats.bytesPerKey, 4)} | ${fmt(median(greedyNs), 1)} | ${fmt(median(optimalNs), 1)} | ${fmt(learnedPerS)} | ${fmt(plainPerS)} | ${fmt(learnedPerS / plainPerS, 2)}× |`,
  );
}
