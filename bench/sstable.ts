/**
 * Benchmark of the SSTable layer of `@auradb/lsm` on the real file system. A command, not a test:
 *
 *   node_modules/.bin/node bench/sstable.ts
 *   node_modules/.bin/bun bench/sstable.ts
 *   node_modules/.bin/deno run -A bench/sstable.ts
 *   node_modules/.bin/node bench/sstable.ts --entries 200000 --reps 3
 *   node_modules/.bin/node --cpu-prof bench/sstable.ts --only "get warm"   # one measurement
 *
 * Builds one table of `--entries` entries (default 1,000,000): 16-byte keys as peerbench makes
 * them (zero-padded decimals; the even numbers, so the odd ones are absent keys inside the key
 * range), 100-byte values, default options (4 KiB blocks, restart interval 16, 10 Bloom bits per
 * key), with `@auradb/fs/node` in a temporary directory. Then measures, each `--reps` times (default
 * 5), printing the median:
 *
 * - `build`: `TableBuilder.add` of every entry, then `finish` (fdatasync included).
 * - `get warm`: random `get`s of present keys, every block in the block cache.
 * - `get cold`: random `get`s of present keys with a 64 KiB cache: nearly every lookup reads its
 *   block with a positional read (served by the OS page cache: the file was just written), checks
 *   its checksum and decodes it.
 * - `get absent`: random `get`s of absent keys (odd numbers): the Bloom filter answers most.
 * - `scan`: a full forward iteration (entries per second).
 * - `seek+next10`: a random `seek`, then 10 `next`s (operations per second), warm cache.
 *
 * The query keys are made before timing (a pool reused in random order), so the loop measures the
 * table, not key encoding. Temporary files are removed at the end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { nodeFs } from "@auradb/fs/node";
import { ValueKind } from "../packages/lsm/src/types.ts";
import { TableBuilder } from "../packages/lsm/src/sstable/builder.ts";
import { BlockCache } from "../packages/lsm/src/sstable/cache.ts";
import { TableReader } from "../packages/lsm/src/sstable/reader.ts";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`bench/sstable: --${name} needs a positive integer`);
  return value;
}

const ENTRY_COUNT = option("entries", 1_000_000);
/** `--only <measurement>`: run the build once and only that measurement (for profiling). */
const ONLY = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
const REPETITIONS = option("reps", 5);
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const QUERY_POOL = 100_000;
const GET_COUNT = 500_000;
const COLD_GET_COUNT = 200_000;
const SEEK_COUNT = 200_000;

function writeKey(target: Uint8Array, offset: number, number: number): void {
  // Zero-padded decimal, written digit by digit (no string per key).
  for (let index = KEY_BYTES - 1; index >= 0; index--) {
    target[offset + index] = 0x30 + (number % 10);
    number = Math.floor(number / 10);
  }
}

function keyOf(number: number): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  writeKey(key, 0, number);
  return key;
}

/** A deterministic generator (xorshift32): the same queries on every runtime and run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function format(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

function runtimeName(): string {
  const globals = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (globals.Bun !== undefined) return `Bun ${globals.Bun.version}`;
  if (globals.Deno !== undefined) return `Deno ${globals.Deno.version.deno}`;
  return `Node ${process.version}`;
}

async function main(): Promise<void> {
  const fs = nodeFs();
  const directory = await mkdtemp(join(tmpdir(), "auradb-bench-sstable-"));
  const path = join(directory, "000001.sst");
  const results: Array<[string, string, string]> = [];
  try {
    // --- build
    const value = new Uint8Array(VALUE_BYTES);
    for (let index = 0; index < VALUE_BYTES; index++) value[index] = (index * 31) & 0xff;
    const key = new Uint8Array(KEY_BYTES);
    const buildMs: number[] = [];
    let fileBytes = 0;
    let dataBlockCount = 0;
    const buildRepetitions = ONLY === undefined || ONLY === "build" ? REPETITIONS : 1;
    for (let repetition = 0; repetition < buildRepetitions; repetition++) {
      const file = await fs.open(path, { create: true, truncate: true });
      const started = performance.now();
      const builder = new TableBuilder(file, 1);
      for (let index = 0; index < ENTRY_COUNT; index++) {
        writeKey(key, 0, index * 2);
        builder.add(key, ENTRY_COUNT + index, ValueKind.Put, value);
      }
      const result = await builder.finish();
      buildMs.push(performance.now() - started);
      fileBytes = result.fileBytes;
      dataBlockCount = result.properties.dataBlockCount;
      await file.close();
      progress(`build ${repetition + 1}/${buildRepetitions}: ${buildMs[buildMs.length - 1]!.toFixed(0)} ms`);
    }
    const buildMedianMs = median(buildMs);
    results.push(["build", `${format((ENTRY_COUNT / buildMedianMs) * 1000)} entries/s`, `${buildMedianMs.toFixed(0)} ms, ${(fileBytes / 1024 / 1024).toFixed(1)} MiB, ${dataBlockCount} blocks, ${((fileBytes / buildMedianMs) * 1000 / 1024 / 1024).toFixed(0)} MiB/s`]);

    const file = await fs.open(path, { readOnly: true });
    const warmCache = new BlockCache(1024 * 1024 * 1024);
    const openStarted = performance.now();
    const reader = TableReader.open(file, 1, warmCache, { fileBytes });
    const openMs = performance.now() - openStarted;
    results.push(["open", `${openMs.toFixed(2)} ms`, "header, footer, metaindex, properties, filter, index (checked)"]);

    // Query pools: present keys (even numbers) and absent ones (odd numbers), random order.
    const next = random(42);
    const present: Uint8Array[] = [];
    const absent: Uint8Array[] = [];
    for (let index = 0; index < QUERY_POOL; index++) {
      present.push(keyOf(Math.floor(next() * ENTRY_COUNT) * 2));
      absent.push(keyOf(Math.floor(next() * ENTRY_COUNT) * 2 + 1));
    }

    // Warm the cache: every block.
    const warming = reader.iterator();
    let scanned = 0;
    for (warming.seekToFirst(); warming.valid(); warming.next()) scanned++;
    warming.close();
    if (scanned !== ENTRY_COUNT) throw new Error(`bench/sstable: scanned ${scanned} of ${ENTRY_COUNT}`);

    const measure = (name: string, count: number, unit: string, note: string, run: (count: number) => number): void => {
      if (ONLY !== undefined && ONLY !== name) return;
      const rates: number[] = [];
      for (let repetition = 0; repetition < REPETITIONS; repetition++) {
        const started = performance.now();
        const checked = run(count);
        const elapsedMs = performance.now() - started;
        if (checked !== count) throw new Error(`bench/sstable: ${name}: ${checked} of ${count} answers as expected`);
        rates.push((count / elapsedMs) * 1000);
        progress(`${name} ${repetition + 1}/${REPETITIONS}: ${format(rates[rates.length - 1]!)} ${unit}`);
      }
      results.push([name, `${format(median(rates))} ${unit}`, note]);
    };

    const getPresent = (target: TableReader) => (count: number): number => {
      let found = 0;
      for (let index = 0; index < count; index++) if (target.get(present[index % QUERY_POOL]!) !== undefined) found++;
      return found;
    };
    measure("get warm", GET_COUNT, "ops/s", "present keys, all blocks cached", getPresent(reader));

    const coldCache = new BlockCache(64 * 1024);
    const coldReader = TableReader.open(file, 1, coldCache, { fileBytes });
    measure("get cold", COLD_GET_COUNT, "ops/s", "present keys, 64 KiB cache: a pread + checksum + decode per lookup", getPresent(coldReader));
    const coldStats = coldCache.stats();
    const coldHitRate = coldStats.hits / Math.max(1, coldStats.hits + coldStats.misses);

    const statsBefore = reader.stats();
    measure("get absent", GET_COUNT, "ops/s", "absent keys inside the key range", (count) => {
      let missing = 0;
      for (let index = 0; index < count; index++) if (reader.get(absent[index % QUERY_POOL]!) === undefined) missing++;
      return missing;
    });
    const statsAfter = reader.stats();
    const checks = statsAfter.bloomChecks - statsBefore.bloomChecks;
    const falsePositives = statsAfter.bloomFalsePositives - statsBefore.bloomFalsePositives;

    measure("scan", ENTRY_COUNT, "entries/s", "full forward iteration, warm cache", (count) => {
      const iterator = reader.iterator();
      let seen = 0;
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) seen++;
      iterator.close();
      return seen === count ? count : seen;
    });

    measure("seek+next10", SEEK_COUNT, "ops/s", "random seek then 10 next, warm cache", (count) => {
      const iterator = reader.iterator();
      let done = 0;
      for (let index = 0; index < count; index++) {
        iterator.seek(present[index % QUERY_POOL]!);
        for (let step = 0; step < 10 && iterator.valid(); step++) iterator.next();
        done++;
      }
      iterator.close();
      return done;
    });

    reader.close();
    coldReader.close();
    await file.close();

    const out: string[] = [];
    out.push(`## SSTable (${runtimeName()}, ${ENTRY_COUNT.toLocaleString("en-US")} entries of ${KEY_BYTES} B keys + ${VALUE_BYTES} B values, median of ${REPETITIONS})`);
    out.push("");
    out.push("| measurement | rate | notes |");
    out.push("|---|---:|---|");
    for (const [name, rate, note] of results) out.push(`| ${name} | ${rate} | ${note} |`);
    out.push("");
    out.push(
      `Bloom on absent keys: ${(100 * (falsePositives / Math.max(1, checks))).toFixed(2)} % false positives (${falsePositives} of ${checks}); ` +
        `cold cache hit rate ${(100 * coldHitRate).toFixed(1)} %.`,
    );
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
