/**
 * Benchmark of the `@auradb/fs` adapters available on the current runtime (nodeFs always, bunFs
 * on Bun, denoFs on Deno). A command, not a test:
 *
 *   node_modules/.bin/node bench/fs.ts
 *   node_modules/.bin/bun bench/fs.ts
 *   node_modules/.bin/deno run -A bench/fs.ts
 *
 * Workloads, each repeated 5 times (the median is printed):
 * - `appendSync`: 100,000 appends of 100 B with `writeSync` at the end position (WAL without
 *   group commit, no sync).
 * - `groupDatasync`: 100 groups of 1,000 records of 100 B, one awaited `write` per group and a
 *   `datasync` after each (WAL with group commit).
 * - `preadAsync`, `preadAsync32`, `preadSync`: 20,000 reads of 4 KiB at random 4 KiB-aligned
 *   offsets of a 64 MiB file: awaited one at a time, 32 in flight, and `readSync`. The file was
 *   just written, so it is in the page cache: this measures the cost of the call, not the disk.
 *
 * Temporary files go under `os.tmpdir()` and are removed at the end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { writeAll, writeAllSync } from "../packages/fs/src/io.ts";
import { nodeFs } from "../packages/fs/src/node.ts";
import type { FileSystem } from "../packages/fs/src/types.ts";

const REPETITIONS = 5;
const RECORD_BYTES = 100;
const APPEND_COUNT = 100_000;
const GROUP_RECORD_COUNT = 1_000;
const GROUP_COUNT = APPEND_COUNT / GROUP_RECORD_COUNT;
const READ_FILE_BYTES = 64 * 1024 * 1024;
const READ_BYTES = 4096;
const READ_COUNT = 20_000;
const READ_CONCURRENCY = 32;

interface Runtime {
  readonly name: string;
  readonly adapters: Array<{ name: string; fs: FileSystem }>;
}

async function detectRuntime(): Promise<Runtime> {
  const adapters = [{ name: "nodeFs", fs: nodeFs() }];
  const globals = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (globals.Bun !== undefined) {
    const { bunFs } = await import("../packages/fs/src/bun.ts");
    adapters.push({ name: "bunFs", fs: bunFs() });
    return { name: `Bun ${globals.Bun.version}`, adapters };
  }
  if (globals.Deno !== undefined) {
    const { denoFs } = await import("../packages/fs/src/deno.ts");
    adapters.push({ name: "denoFs", fs: denoFs() });
    return { name: `Deno ${globals.Deno.version.deno}`, adapters };
  }
  return { name: `Node ${process.version}`, adapters };
}

/** Deterministic offsets (a linear congruential generator), the same for every adapter. */
function randomOffsets(): number[] {
  let state = 12345;
  const blockCount = READ_FILE_BYTES / READ_BYTES;
  return Array.from({ length: READ_COUNT }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state % blockCount) * READ_BYTES;
  });
}

async function appendSync(fs: FileSystem, path: string): Promise<number> {
  const file = await fs.open(path, { create: true, truncate: true });
  const record = new Uint8Array(RECORD_BYTES).fill(0x61);
  const started = performance.now();
  let position = 0;
  for (let index = 0; index < APPEND_COUNT; index++) {
    writeAllSync(file, record, position);
    position += RECORD_BYTES;
  }
  const elapsedMs = performance.now() - started;
  await file.close();
  return elapsedMs;
}

async function groupDatasync(fs: FileSystem, path: string): Promise<number> {
  const file = await fs.open(path, { create: true, truncate: true });
  const group = new Uint8Array(RECORD_BYTES * GROUP_RECORD_COUNT).fill(0x62);
  const started = performance.now();
  let position = 0;
  for (let index = 0; index < GROUP_COUNT; index++) {
    await writeAll(file, group, position);
    await file.datasync();
    position += group.length;
  }
  const elapsedMs = performance.now() - started;
  await file.close();
  return elapsedMs;
}

async function writeReadFile(fs: FileSystem, path: string): Promise<void> {
  const file = await fs.open(path, { create: true, truncate: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let position = 0; position < READ_FILE_BYTES; position += chunk.length) {
    chunk.fill((position >> 20) & 0xff);
    await writeAll(file, chunk, position);
  }
  await file.close();
}

async function preadAsync(fs: FileSystem, path: string, offsets: number[]): Promise<number> {
  const file = await fs.open(path, { readOnly: true });
  const buffer = new Uint8Array(READ_BYTES);
  const started = performance.now();
  for (const offset of offsets) {
    if ((await file.read(buffer, offset)) !== READ_BYTES) throw new Error("bench/fs: short read");
  }
  const elapsedMs = performance.now() - started;
  await file.close();
  return (elapsedMs * 1000) / offsets.length;
}

async function preadAsyncConcurrent(fs: FileSystem, path: string, offsets: number[]): Promise<number> {
  const file = await fs.open(path, { readOnly: true });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      const buffer = new Uint8Array(READ_BYTES);
      while (next < offsets.length) {
        const offset = offsets[next++] ?? 0;
        if ((await file.read(buffer, offset)) !== READ_BYTES) throw new Error("bench/fs: short read");
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  await file.close();
  return (elapsedMs * 1000) / offsets.length;
}

async function preadSync(fs: FileSystem, path: string, offsets: number[]): Promise<number> {
  const file = await fs.open(path, { readOnly: true });
  const buffer = new Uint8Array(READ_BYTES);
  const started = performance.now();
  for (const offset of offsets) {
    if (file.readSync(buffer, offset) !== READ_BYTES) throw new Error("bench/fs: short read");
  }
  const elapsedMs = performance.now() - started;
  await file.close();
  return (elapsedMs * 1000) / offsets.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const runtime = await detectRuntime();
  const root = await mkdtemp(join(tmpdir(), "auradb-bench-fs-"));
  const columns = [
    { key: "appendSync", title: "appendSync ms", digits: 1 },
    { key: "groupDatasync", title: "groupDatasync ms", digits: 1 },
    { key: "preadAsync", title: "preadAsync µs/op", digits: 2 },
    { key: "preadAsync32", title: "preadAsync32 µs/op", digits: 2 },
    { key: "preadSync", title: "preadSync µs/op", digits: 2 },
  ] as const;
  const rows: Array<{ name: string; values: Record<(typeof columns)[number]["key"], number> }> = [];
  try {
    const offsets = randomOffsets();
    const readPath = join(root, "read.bin");
    await writeReadFile(runtime.adapters[0]?.fs ?? nodeFs(), readPath);
    for (const { name, fs } of runtime.adapters) {
      const samples: Record<(typeof columns)[number]["key"], number[]> = {
        appendSync: [],
        groupDatasync: [],
        preadAsync: [],
        preadAsync32: [],
        preadSync: [],
      };
      for (let repetition = 0; repetition < REPETITIONS; repetition++) {
        samples.appendSync.push(await appendSync(fs, join(root, `append-${name}`)));
        samples.groupDatasync.push(await groupDatasync(fs, join(root, `group-${name}`)));
        samples.preadAsync.push(await preadAsync(fs, readPath, offsets));
        samples.preadAsync32.push(await preadAsyncConcurrent(fs, readPath, offsets));
        samples.preadSync.push(await preadSync(fs, readPath, offsets));
      }
      rows.push({
        name,
        values: {
          appendSync: median(samples.appendSync),
          groupDatasync: median(samples.groupDatasync),
          preadAsync: median(samples.preadAsync),
          preadAsync32: median(samples.preadAsync32),
          preadSync: median(samples.preadSync),
        },
      });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  console.log(`${runtime.name}, ${process.platform} ${process.arch}, median of ${REPETITIONS}`);
  console.log(
    `appendSync: ${APPEND_COUNT} × ${RECORD_BYTES} B writeSync; groupDatasync: ${GROUP_COUNT} × ` +
      `${GROUP_RECORD_COUNT} records per write + datasync; pread: ${READ_COUNT} × 4 KiB over 64 MiB (cached)`,
  );
  const nameWidth = Math.max(7, ...rows.map((row) => row.name.length));
  console.log(["adapter".padEnd(nameWidth), ...columns.map((column) => column.title)].join(" | "));
  console.log(["-".repeat(nameWidth), ...columns.map((column) => "-".repeat(column.title.length))].join("-|-"));
  for (const row of rows) {
    const cells = columns.map((column) => row.values[column.key].toFixed(column.digits).padStart(column.title.length));
    console.log([row.name.padEnd(nameWidth), ...cells].join(" | "));
  }
}

await main();
