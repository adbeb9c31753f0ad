/**
 * Benchmark of block compression codecs for SSTable data blocks. A command, not a test:
 *
 *   node_modules/.bin/node bench/compression.ts
 *   node_modules/.bin/bun bench/compression.ts
 *   node_modules/.bin/deno run -A bench/compression.ts
 *   node_modules/.bin/node bench/compression.ts --blocks 128 --reps 3 --json
 *
 * Builds `--blocks` (default 256) real 4 KiB data blocks of each of three kinds with the table's
 * own `BlockBuilder` (keys `user:000123456`, increasing, prefix-compressed with restart interval
 * 16, descending sequence numbers, kind Put), whose values are:
 *
 * - `random`: 100 random bytes (incompressible: what a codec costs for nothing);
 * - `json`: JSON records of 150–220 bytes (names, e-mails, numbers, dates, tags);
 * - `text`: log lines of 90–140 bytes from a small vocabulary (repetitive text).
 *
 * Then, for every candidate codec that loads on this runtime, each `--reps` times (default 5),
 * the median printed: the compression ratio (raw ÷ compressed), the share of blocks that the
 * 12.5 % rule would store compressed and the bytes stored under that rule, compress MB/s and
 * decompress MB/s (of raw bytes, 1 MB = 10^6 B, each block to a fresh output array, as a reader
 * must allocate the block it caches), and the decompression time of one block. Every round trip
 * is checked byte for byte.
 *
 * The first row set, "SSTable type 1", is what the table runs: snappyjs behind the stream checks of
 * `packages/lsm/src/sstable/compression.ts`, storing a block as is when Snappy saves under 12.5 %.
 *
 * Beside them, the cost a cache miss already pays today, on the same runtime: a positional read
 * of a 4 KiB block from a file in the OS page cache (`node:fs` `readSync` into a fresh buffer, as
 * `readAtSync` does), and the CRC-32C of those bytes. A codec's decompression time is compared
 * with their sum: that is how much slower a block read from the page cache would become. (A block
 * found in the block cache is never decompressed: the cache holds uncompressed blocks.)
 *
 * Last, end to end: a table of `--entries` JSON entries (default 100,000) built with compression
 * `'none'` and `'snappy'` on the real file system, its size, build rate, `get` with every block
 * cached (warm), `get` through a 64 KiB cache (cold: a pread from the page cache, checksum,
 * decompression and decode per lookup) and a full scan through the 64 KiB cache (every block read
 * and decompressed once).
 *
 * Candidates are imported by name and skipped with a note when not installed. Only the codec the
 * SSTable uses (snappyjs) is a dependency of the repo; to install the others for a run:
 *
 *   npm install --no-save lz4js@0.2.0 fflate@0.8.3 pako@3.0.3 fzstd@0.1.1 \
 *     lz4-wasm-nodejs@0.9.2 @bokuweb/zstd-wasm@0.0.27 snappy@7.4.3
 *
 * (`snappy` is a native Node-API addon, measured as a reference only; the next `npm install`
 * removes them again.)
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { crc32c } from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { ValueKind } from "../packages/lsm/src/types.ts";
import { BlockBuilder } from "../packages/lsm/src/sstable/block.ts";
import { TableBuilder } from "../packages/lsm/src/sstable/builder.ts";
import { BlockCache } from "../packages/lsm/src/sstable/cache.ts";
import { snappyCompress, snappyUncompress } from "../packages/lsm/src/sstable/compression.ts";
import { BLOCK_BYTES_MAX } from "../packages/lsm/src/sstable/format.ts";
import { TableReader } from "../packages/lsm/src/sstable/reader.ts";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`bench/compression: --${name} needs a positive integer`);
  return value;
}

const BLOCK_COUNT = option("blocks", 256);
/** Entries of the table of the end-to-end section (`--entries`, default 100,000; JSON values). */
const TABLE_ENTRIES = option("entries", 100_000);
const REPETITIONS = option("reps", 5);
const JSON_OUTPUT = process.argv.includes("--json");
/** `--snappy-first`: measure the compressed table before the plain one (to see order effects). */
const SNAPPY_FIRST = process.argv.includes("--snappy-first");
const BLOCK_BYTES = 4096;
const RESTART_INTERVAL = 16;
/** Each timed pass repeats the whole set until it has run at least this long. */
const PASS_MS_MIN = 150;
/** A block is stored compressed only when that saves at least 1/8 (12.5 %). */
const MIN_SAVING_DIVISOR = 8;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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

/** A deterministic generator (xorshift32): the same blocks on every runtime and run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------------
// Data

const encoder = new TextEncoder();
const FIRST = ["Ada", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances", "Ken", "Radia", "Tony", "Margaret", "Niklaus"];
const LAST = ["Lovelace", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen", "Thompson", "Perlman", "Hoare", "Hamilton", "Wirth"];
const TAGS = ["admin", "beta", "churned", "enterprise", "free", "mobile", "newsletter", "trial", "vip", "web"];
const CITIES = ["Amsterdam", "Berlin", "Lisbon", "Montreal", "Nairobi", "Osaka", "Santiago", "Tallinn"];
const LEVELS = ["INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const ROUTES = ["/api/v1/users", "/api/v1/orders", "/api/v1/sessions", "/api/v2/search", "/healthz"];
const STATUSES = [200, 200, 200, 200, 201, 204, 304, 404, 500];

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)]!;
}

function pad(number: number, width: number): string {
  return String(number).padStart(width, "0");
}

type ValueKindName = "random" | "json" | "text";

function valueOf(kind: ValueKindName, id: number, next: () => number): Uint8Array {
  if (kind === "random") {
    const value = new Uint8Array(100);
    for (let index = 0; index < value.length; index++) value[index] = Math.floor(next() * 256);
    return value;
  }
  if (kind === "json") {
    const first = pick(next, FIRST);
    const last = pick(next, LAST);
    const tags = [pick(next, TAGS), pick(next, TAGS)];
    return encoder.encode(
      JSON.stringify({
        id: id,
        name: `${first} ${last}`,
        email: `${first.toLowerCase()}.${last.toLowerCase()}${Math.floor(next() * 1000)}@example.com`,
        age: 18 + Math.floor(next() * 60),
        active: next() < 0.8,
        score: Math.round(next() * 100_000) / 100,
        city: pick(next, CITIES),
        tags: next() < 0.5 ? tags : tags.slice(0, 1),
        created: `2026-${pad(1 + Math.floor(next() * 12), 2)}-${pad(1 + Math.floor(next() * 28), 2)}T${pad(Math.floor(next() * 24), 2)}:${pad(Math.floor(next() * 60), 2)}:${pad(Math.floor(next() * 60), 2)}Z`,
      }),
    );
  }
  const status = pick(next, STATUSES);
  return encoder.encode(
    `2026-11-24T${pad(Math.floor(next() * 24), 2)}:${pad(Math.floor(next() * 60), 2)}:${pad(Math.floor(next() * 60), 2)}.${pad(Math.floor(next() * 1000), 3)}Z ` +
      `${pick(next, LEVELS)} [worker-${Math.floor(next() * 8)}] ${pick(next, METHODS)} ${pick(next, ROUTES)}/${id} ` +
      `status=${status} duration=${Math.floor(next() * 250)}ms${status >= 400 ? " error=\"request failed\"" : ""}`,
  );
}

/** `count` finished data blocks (copies) of one value kind, cut at 4 KiB as the table builder cuts them. */
function makeBlocks(kind: ValueKindName, count: number): Uint8Array[] {
  const next = random(kind === "random" ? 1 : kind === "json" ? 2 : 3);
  const builder = new BlockBuilder(RESTART_INTERVAL);
  const blocks: Uint8Array[] = [];
  let id = 100_000;
  let seq = 10_000_000;
  while (blocks.length < count) {
    id += 1 + Math.floor(next() * 3);
    const key = encoder.encode(`user:${pad(id, 9)}`);
    builder.add(key, seq--, 1, valueOf(kind, id, next));
    if (builder.estimatedBytes >= BLOCK_BYTES) {
      blocks.push(builder.finish().slice());
      builder.reset();
    }
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Codecs

interface Codec {
  readonly name: string;
  readonly note: string;
  /** Compressed form of `raw` (may be a view of a scratch buffer: the caller copies it). */
  compress(raw: Uint8Array): Uint8Array;
  /** A fresh array of `rawLength` bytes. */
  decompress(compressed: Uint8Array, rawLength: number): Uint8Array;
}

type Loader = () => Promise<Codec>;

// deno-lint-ignore no-explicit-any
type Module = any;

/** Imports a package by name; CommonJS modules come back as `default` on some runtimes. */
async function load(name: string): Promise<Module> {
  const module: Module = await import(name);
  return module.default !== undefined && Object.keys(module).length <= 2 ? module.default : module;
}

const LOADERS: Array<[string, Loader]> = [
  [
    "@auradb/lsm",
    async () => ({
      // What the SSTable runs: snappyjs, behind the stream walk that checks every element before
      // anything is allocated (packages/lsm/src/sstable/compression.ts). Compress returns the
      // bytes unchanged when Snappy saves less than 12.5 %: as the table stores them.
      name: "SSTable type 1 (snappyjs + checks)",
      note: "what the table uses",
      compress: (raw) => snappyCompress(raw) ?? raw,
      decompress: (compressed, rawLength) =>
        compressed.length === rawLength ? compressed.slice() : snappyUncompress(compressed, BLOCK_BYTES_MAX, "bench", 0),
    }),
  ],
  [
    "snappyjs",
    async () => {
      const snappy = await load("snappyjs");
      return {
        name: "snappyjs 0.7.0",
        note: "Snappy, pure JS",
        compress: (raw) => snappy.compress(raw),
        decompress: (compressed, rawLength) => snappy.uncompress(compressed, rawLength),
      };
    },
  ],
  [
    "lz4js",
    async () => {
      const lz4 = await load("lz4js");
      // The raw LZ4 block format (no frame). The hash table must be cleared for every block (a
      // stale entry can point at the current position: a zero offset), as its frame encoder does.
      const hashTable = new Uint32Array(1 << 16);
      const scratch = new Uint8Array(lz4.compressBound(BLOCK_BYTES * 4));
      return {
        name: "lz4js 0.2.0",
        note: "LZ4 block, pure JS",
        compress: (raw) => {
          hashTable.fill(0);
          const length = lz4.compressBlock(raw, scratch, 0, raw.length, hashTable);
          // compressBlock returns 0 when it found nothing to compress: store the bytes as literals.
          return length === 0 ? raw : scratch.subarray(0, length);
        },
        decompress: (compressed, rawLength) => {
          const out = new Uint8Array(rawLength);
          if (compressed.length === rawLength) {
            out.set(compressed);
            return out;
          }
          const end = lz4.decompressBlock(compressed, out, 0, compressed.length, 0);
          if (end !== rawLength) throw new Error(`lz4js: ${end} bytes, expected ${rawLength}`);
          return out;
        },
      };
    },
  ],
  [
    "fflate",
    async () => {
      const fflate = await load("fflate");
      return {
        name: "fflate 0.8.3 (deflate 1)",
        note: "raw deflate level 1, pure JS",
        compress: (raw) => fflate.deflateSync(raw, { level: 1 }),
        decompress: (compressed, rawLength) => fflate.inflateSync(compressed, { out: new Uint8Array(rawLength) }),
      };
    },
  ],
  [
    "pako",
    async () => {
      const pako = await load("pako");
      return {
        name: "pako 3.0.3 (deflate 1)",
        note: "raw deflate level 1, pure JS",
        compress: (raw) => pako.deflateRaw(raw, { level: 1 }),
        decompress: (compressed) => pako.inflateRaw(compressed),
      };
    },
  ],
  [
    "lz4-wasm-nodejs",
    async () => {
      const lz4 = await load("lz4-wasm-nodejs");
      return {
        name: "lz4-wasm-nodejs 0.9.2",
        note: "LZ4 block (lz4_flex), WASM",
        compress: (raw) => lz4.compress(raw),
        decompress: (compressed) => lz4.decompress(compressed),
      };
    },
  ],
  [
    "@bokuweb/zstd-wasm",
    async () => {
      const zstd = await load("@bokuweb/zstd-wasm");
      await zstd.init();
      return {
        name: "@bokuweb/zstd-wasm 0.0.27 (zstd 1)",
        note: "zstd level 1, WASM",
        compress: (raw) => zstd.compress(raw, 1),
        decompress: (compressed) => zstd.decompress(compressed),
      };
    },
  ],
  [
    "fzstd",
    async () => {
      // Decompression only: frames made by the zstd WASM build above.
      const fzstd = await load("fzstd");
      const zstd = await load("@bokuweb/zstd-wasm");
      await zstd.init();
      return {
        name: "fzstd 0.1.1 (zstd 1)",
        note: "zstd decode in pure JS; compress = zstd-wasm",
        compress: (raw) => zstd.compress(raw, 1),
        decompress: (compressed, rawLength) => fzstd.decompress(compressed, new Uint8Array(rawLength)),
      };
    },
  ],
  [
    "snappy",
    async () => {
      const snappy = await load("snappy");
      return {
        name: "snappy 7.4.3 (native)",
        note: "Snappy, Node-API addon: reference only",
        compress: (raw) => snappy.compressSync(raw),
        decompress: (compressed) => snappy.uncompressSync(compressed, { asBuffer: true }),
      };
    },
  ],
];

// ---------------------------------------------------------------------------------------------
// Measurements

/** Runs `pass` (one pass over the blocks, `bytes` raw bytes) until PASS_MS_MIN; returns MB/s. */
function rate(bytes: number, pass: () => void): number {
  let passes = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = performance.now() - started;
  } while (elapsed < PASS_MS_MIN);
  return (bytes * passes) / (elapsed / 1000) / 1e6;
}

interface CodecResult {
  codec: string;
  data: ValueKindName;
  ratio: number;
  storedShare: number;
  compressedBlockShare: number;
  compressMBps: number;
  decompressMBps: number;
  decompressUsPerBlock: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function measureCodec(codec: Codec, data: ValueKindName, blocks: Uint8Array[]): CodecResult {
  const rawBytes = blocks.reduce((sum, block) => sum + block.length, 0);
  const compressed = blocks.map((block) => codec.compress(block).slice());
  let compressedBytes = 0;
  let storedBytes = 0;
  let compressedBlocks = 0;
  for (const [index, block] of blocks.entries()) {
    const restored = codec.decompress(compressed[index]!, block.length);
    if (!equalBytes(restored, block)) throw new Error(`${codec.name}: block ${index} of ${data} does not round-trip`);
    compressedBytes += compressed[index]!.length;
    // Stored compressed only when that saves at least 1/8. (Snappy, lz4-wasm and zstd output
    // carries the raw length; a codec without would add a 2-byte varint: 0.05 % of a block.)
    const stored = compressed[index]!.length;
    if (stored <= block.length - Math.ceil(block.length / MIN_SAVING_DIVISOR)) {
      storedBytes += stored;
      compressedBlocks++;
    } else {
      storedBytes += block.length;
    }
  }
  const compressRates: number[] = [];
  const decompressRates: number[] = [];
  let sink = 0;
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    compressRates.push(
      rate(rawBytes, () => {
        for (const block of blocks) sink += codec.compress(block).length;
      }),
    );
    decompressRates.push(
      rate(rawBytes, () => {
        for (let index = 0; index < blocks.length; index++) sink += codec.decompress(compressed[index]!, blocks[index]!.length).length;
      }),
    );
  }
  if (sink === 0) throw new Error("unreachable");
  const decompressMBps = median(decompressRates);
  return {
    codec: codec.name,
    data,
    ratio: rawBytes / compressedBytes,
    storedShare: storedBytes / rawBytes,
    compressedBlockShare: compressedBlocks / blocks.length,
    compressMBps: median(compressRates),
    decompressMBps,
    decompressUsPerBlock: (rawBytes / blocks.length / (decompressMBps * 1e6)) * 1e6,
  };
}

interface Baseline {
  preadUs: number;
  crcUs: number;
  copyUs: number;
}

/** The cost of a block read from the page cache today: pread of 4 KiB + 5 into a fresh buffer, CRC-32C. */
function measureBaseline(blocks: Uint8Array[]): Baseline {
  const directory = mkdtempSync(join(tmpdir(), "auradb-bench-compression-"));
  const path = join(directory, "blocks");
  try {
    const fd = openSync(path, "w+");
    const fileBlocks = 4096; // 16 MiB: fits the page cache, larger than the CPU caches
    const stride = BLOCK_BYTES + 5;
    for (let index = 0; index < fileBlocks; index++) writeSync(fd, blocks[index % blocks.length]!.subarray(0, BLOCK_BYTES), 0, BLOCK_BYTES, index * stride);
    const next = random(7);
    const offsets = Array.from({ length: 65_536 }, () => Math.floor(next() * fileBlocks) * stride);
    // Warm the page cache.
    const warm = new Uint8Array(stride);
    for (let index = 0; index < fileBlocks; index++) readSync(fd, warm, 0, stride, index * stride);
    const reads: number[] = [];
    const crcs: number[] = [];
    const copies: number[] = [];
    let sink = 0;
    for (let repetition = 0; repetition < REPETITIONS; repetition++) {
      let cursor = 0;
      let count = 0;
      reads.push(
        1 /
          rate(1, () => {
            for (let index = 0; index < 1024; index++) {
              const buffer = new Uint8Array(stride);
              sink += readSync(fd, buffer, 0, stride, offsets[cursor++ & 0xffff]!);
              count++;
            }
          }) /
          1024,
      );
      crcs.push(
        1 /
          rate(1, () => {
            for (const block of blocks) sink += crc32c(block) & 1;
          }) /
          blocks.length,
      );
      copies.push(
        1 /
          rate(1, () => {
            for (const block of blocks) sink += block.slice().length;
          }) /
          blocks.length,
      );
      if (count === 0) throw new Error("unreachable");
    }
    closeSync(fd);
    if (sink === 0) throw new Error("unreachable");
    // rate() gave passes per microsecond (bytes 1, MB = 10^6): invert to µs per block.
    return { preadUs: median(reads), crcUs: median(crcs), copyUs: median(copies) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

interface TableResult {
  compression: "none" | "snappy";
  fileBytes: number;
  /** Data block bytes a full scan reads from the file (stored size + trailers). */
  storedDataBytes: number;
  dataBlocks: number;
  buildEntriesPerSecond: number;
  warmGetsPerSecond: number;
  coldGetsPerSecond: number;
  scanEntriesPerSecond: number;
}

/**
 * End to end: one table of JSON values per compression setting, on the real file system. `get
 * warm`: every block in the block cache (a compressed table decodes nothing). `get cold`: a 64 KiB
 * cache, so nearly every lookup reads its block from the OS page cache (pread, CRC, decompress,
 * decode). `scan`: a full iteration through the 64 KiB cache (each block read once).
 */
async function measureTable(compression: "none" | "snappy", entryCount: number, repetitions: number): Promise<TableResult> {
  const fs = nodeFs();
  const directory = await mkdtemp(join(tmpdir(), "auradb-bench-compression-table-"));
  const path = join(directory, "000001.sst");
  try {
    const next = random(11);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    for (let index = 0; index < entryCount; index++) {
      keys.push(encoder.encode(`user:${pad(100_000 + index * 2, 9)}`));
      values.push(valueOf("json", 100_000 + index * 2, next));
    }
    const builds: number[] = [];
    let fileBytes = 0;
    let dataBlocks = 0;
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const file = await fs.open(path, { create: true, truncate: true });
      const started = performance.now();
      const builder = new TableBuilder(file, 1, { compression });
      for (let index = 0; index < entryCount; index++) builder.add(keys[index]!, index + 1, ValueKind.Put, values[index]!);
      const result = await builder.finish();
      builds.push((entryCount / (performance.now() - started)) * 1000);
      fileBytes = result.fileBytes;
      dataBlocks = result.properties.dataBlockCount;
      await file.close();
    }
    const file = await fs.open(path, { readOnly: true });
    const queries = Array.from({ length: 65_536 }, () => keys[Math.floor(next() * entryCount)]!);
    const gets = (reader: TableReader, count: number): number => {
      const started = performance.now();
      for (let index = 0; index < count; index++) {
        if (reader.get(queries[index & 0xffff]!) === undefined) throw new Error("bench/compression: a present key was not found");
      }
      return (count / (performance.now() - started)) * 1000;
    };
    const warmReader = TableReader.open(file, 1, new BlockCache(1024 * 1024 * 1024), { fileBytes });
    const coldReader = TableReader.open(file, 1, new BlockCache(64 * 1024), { fileBytes });
    // Fill the warm cache; the stats count the stored bytes read.
    const iterator = warmReader.iterator();
    for (iterator.seekToFirst(); iterator.valid(); iterator.next());
    iterator.close();
    const storedDataBytes = warmReader.stats().blockReadBytes;
    const warm: number[] = [];
    const cold: number[] = [];
    const scans: number[] = [];
    // Each measurement's repetitions back to back: the cold reads' garbage (a read buffer and,
    // compressed, a decompressed block per miss) would otherwise be collected during the warm gets.
    for (let repetition = 0; repetition < repetitions; repetition++) warm.push(gets(warmReader, 200_000));
    for (let repetition = 0; repetition < repetitions; repetition++) cold.push(gets(coldReader, 50_000));
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const started = performance.now();
      const scan = coldReader.iterator({ fillCache: false });
      let seen = 0;
      for (scan.seekToFirst(); scan.valid(); scan.next()) seen++;
      scan.close();
      if (seen !== entryCount) throw new Error("bench/compression: scan missed entries");
      scans.push((seen / (performance.now() - started)) * 1000);
    }
    await file.close();
    return {
      compression,
      fileBytes,
      storedDataBytes,
      dataBlocks,
      buildEntriesPerSecond: median(builds),
      warmGetsPerSecond: median(warm),
      coldGetsPerSecond: median(cold),
      scanEntriesPerSecond: median(scans),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runtime = runtimeName();
  progress(`bench/compression on ${runtime}: ${BLOCK_COUNT} blocks of each kind, ${REPETITIONS} repetitions`);
  const kinds: ValueKindName[] = ["random", "json", "text"];
  const datasets = new Map(kinds.map((kind) => [kind, makeBlocks(kind, BLOCK_COUNT)] as const));
  const baseline = measureBaseline(datasets.get("json")!);
  progress(`baseline: pread ${baseline.preadUs.toFixed(2)} µs, crc32c ${baseline.crcUs.toFixed(2)} µs, copy ${baseline.copyUs.toFixed(2)} µs per 4 KiB block`);
  const results: CodecResult[] = [];
  const skipped: string[] = [];
  for (const [packageName, loader] of LOADERS) {
    let codec: Codec;
    try {
      codec = await loader();
    } catch (error) {
      skipped.push(`${packageName}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      progress(`skip ${packageName}`);
      continue;
    }
    for (const kind of kinds) {
      try {
        const result = measureCodec(codec, kind, datasets.get(kind)!);
        results.push(result);
        progress(
          `${codec.name} ${kind}: ratio ${result.ratio.toFixed(2)} compress ${result.compressMBps.toFixed(0)} MB/s decompress ${result.decompressMBps.toFixed(0)} MB/s`,
        );
      } catch (error) {
        skipped.push(`${codec.name} on ${kind}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
        progress(`fail ${codec.name} ${kind}: ${String(error)}`);
      }
    }
  }
  const tables: TableResult[] = [];
  // A small run of each first, so that neither setting is measured with colder code.
  for (const compression of ["none", "snappy"] as const) await measureTable(compression, Math.ceil(TABLE_ENTRIES / 10), 1);
  for (const compression of SNAPPY_FIRST ? (["snappy", "none"] as const) : (["none", "snappy"] as const)) {
    const table = await measureTable(compression, TABLE_ENTRIES, REPETITIONS);
    tables.push(table);
    progress(
      `table ${compression}: ${(table.fileBytes / 1024 / 1024).toFixed(1)} MiB, get warm ${Math.round(table.warmGetsPerSecond)}/s, ` +
        `get cold ${Math.round(table.coldGetsPerSecond)}/s, scan ${Math.round(table.scanEntriesPerSecond)}/s`,
    );
  }
  if (JSON_OUTPUT) {
    process.stdout.write(JSON.stringify({ runtime, blockCount: BLOCK_COUNT, repetitions: REPETITIONS, baseline, results, skipped, tables }, null, 2) + "\n");
    return;
  }
  const missUs = baseline.preadUs + baseline.crcUs;
  const lines: string[] = [];
  lines.push(`### ${runtime}: ${BLOCK_COUNT} blocks of ~4 KiB per kind, medians of ${REPETITIONS}`);
  lines.push("");
  lines.push(
    `A block read from the page cache today: pread ${baseline.preadUs.toFixed(2)} µs + CRC-32C ${baseline.crcUs.toFixed(2)} µs = ` +
      `**${missUs.toFixed(2)} µs** (a 4 KiB copy: ${baseline.copyUs.toFixed(2)} µs).`,
  );
  lines.push("");
  lines.push("| codec | data | ratio | stored (12.5 % rule) | blocks compressed | compress MB/s | decompress MB/s | decompress µs/block | + on a page-cache read |");
  lines.push("|---|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const result of results) {
    lines.push(
      `| ${result.codec} | ${result.data} | ${result.ratio.toFixed(2)} | ${(result.storedShare * 100).toFixed(0)} % | ` +
        `${(result.compressedBlockShare * 100).toFixed(0)} % | ${result.compressMBps.toFixed(0)} | ${result.decompressMBps.toFixed(0)} | ` +
        `${result.decompressUsPerBlock.toFixed(2)} | +${((result.decompressUsPerBlock / missUs) * 100).toFixed(0)} % |`,
    );
  }
  tables.sort((a, b) => (a.compression === "none" ? -1 : b.compression === "none" ? 1 : 0));
  const none = tables[0]!;
  lines.push("");
  lines.push(`One table of ${TABLE_ENTRIES.toLocaleString("en-US")} JSON entries (4 KiB blocks), \`@auradb/fs/node\`, file in the page cache:`);
  lines.push("");
  lines.push("| compression | file MiB | data blocks | build entries/s | get warm ops/s | get cold ops/s (64 KiB cache) | scan entries/s (64 KiB cache) |");
  lines.push("|---|--:|--:|--:|--:|--:|--:|");
  for (const table of tables) {
    const relative = (value: number, base: number): string => (table === none ? "" : ` (${value >= base ? "+" : ""}${(((value - base) / base) * 100).toFixed(0)} %)`);
    lines.push(
      `| ${table.compression} | ${(table.fileBytes / 1024 / 1024).toFixed(1)}${relative(table.fileBytes, none.fileBytes)} | ${table.dataBlocks} | ` +
        `${Math.round(table.buildEntriesPerSecond).toLocaleString("en-US")}${relative(table.buildEntriesPerSecond, none.buildEntriesPerSecond)} | ` +
        `${Math.round(table.warmGetsPerSecond).toLocaleString("en-US")}${relative(table.warmGetsPerSecond, none.warmGetsPerSecond)} | ` +
        `${Math.round(table.coldGetsPerSecond).toLocaleString("en-US")}${relative(table.coldGetsPerSecond, none.coldGetsPerSecond)} | ` +
        `${Math.round(table.scanEntriesPerSecond).toLocaleString("en-US")}${relative(table.scanEntriesPerSecond, none.scanEntriesPerSecond)} |`,
    );
  }
  if (skipped.length > 0) {
    lines.push("");
    lines.push("Not measured:");
    for (const line of skipped) lines.push(`- ${line}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
}

await main();
