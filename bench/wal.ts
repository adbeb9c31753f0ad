/**
 * Benchmark of `@auradb/wal` on the current runtime, beside what the raw file system does with
 * the same bytes. A command, not a test:
 *
 *   node_modules/.bin/node bench/wal.ts [--quick] [--reps 5] [--json]
 *   node_modules/.bin/bun bench/wal.ts
 *   node_modules/.bin/deno run -A bench/wal.ts
 *
 * Sections (each repeated `--reps` times; every figure printed is the median; ratios are taken
 * per repetition, then their median):
 * 1. `append`: throughput with sync policy 'none' (acknowledged once written to the OS), for
 *    100 B and 4 KiB records, `--append-bytes` of payload (256 MiB; 64 MiB with --quick), issued
 *    three ways: `appendBatch` of `--batch` records awaited one at a time, the same with
 *    `--pipeline` batches in flight, and plain `append` with `--batch` calls in flight
 *    (`Promise.all` per chunk). Beside them, the same payload written with `node:fs` to a fresh
 *    file: one `writeSync` per record (the naive raw loop), and records copied into 1 MiB buffers,
 *    one `writeSync` per buffer (the best-case raw loop). Target: WAL >= 80 % of the raw loop.
 * 2. `durable`: sync policy 'always' for `--duration` seconds (3; 1 with --quick): 1 writer
 *    awaiting each 100 B append, and 64 writers doing the same concurrently (group commit).
 *    fdatasync calls are counted by a counting wrapper of the FileSystem. Beside them, the
 *    device's own rate: `writeSync` of 4 KiB at increasing offsets + `fdatasyncSync`, in a loop.
 *    Target: 64 writers >= 20x the records/s of 1 writer.
 * 3. `replay`: a log of `--replay-bytes` of 4 KiB records (1 GiB; 128 MiB with --quick) and one
 *    of `--replay-small-bytes` of 100 B records (a quarter of it) are written once (timed), then
 *    each repetition reopens the log (timed: recovery scans the last segment) and replays it all.
 * 4. `open`: reopening a log whose only segment is nearly full (63 MiB of payload), the worst
 *    case of the recovery scan with the default 64 MiB segments.
 *
 * NB: the files were just written, so reads come from the page cache: `replay` and `open`
 * measure the CPU cost of reading, parsing and checking, not the disk.
 *
 * The log uses `@auradb/fs/node` (the default of `Wal.open`) through a thin wrapper that counts
 * and times its `write` and `datasync` calls. Temporary files go under `os.tmpdir()` (or `--dir`)
 * and are removed as soon as each measurement is done, and at the end. See bench/README.md.
 */
import * as fsSync from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { File, FileStat, FileSystem, FsLock, OpenOptions } from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { Wal } from "@auradb/wal";

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
const SMALL_RECORD_BYTES = 100;
const LARGE_RECORD_BYTES = 4 * KIB;
const RAW_BUFFER_BYTES = MIB;
const DEVICE_WRITE_BYTES = 4 * KIB;
const DURABLE_RECORD_BYTES = 100;
const DURABLE_WRITERS = 64;
/** Distinct records cycled through by the append loops (each a separate Uint8Array). */
const POOL_RECORDS = 1000;
/**
 * Encoded size of the one-segment logs of the `open` section: just under the default 64 MiB
 * segment. Their payload is this less the framing (11 B chunk header + LSN varint per record).
 */
const OPEN_LOG_BYTES = 63 * MIB;
const FRAMING_BYTES_ESTIMATE = 14;

function openLogPayload(recordBytes: number): number {
  return Math.floor((OPEN_LOG_BYTES * recordBytes) / (recordBytes + FRAMING_BYTES_ESTIMATE));
}

// --- options ---

/** A bad command line: printed without a stack. */
class UsageError extends Error {}

interface Options {
  reps: number;
  quick: boolean;
  json: boolean;
  appendBytes: number;
  replayBytes: number;
  replaySmallBytes: number;
  durationMs: number;
  batch: number;
  pipeline: number;
  sections: Set<Section>;
  dir: string;
}

type Section = "append" | "durable" | "replay" | "open";
const SECTIONS: readonly Section[] = ["append", "durable", "replay", "open"];

const USAGE = `Usage: <runtime> bench/wal.ts [options]

  --reps N                repetitions; the median is printed (default 5)
  --quick                 smaller sizes: 64 MiB appended, 1 s durable runs, 128 MiB replayed
  --json                  also print one line of JSON with every result and sample
  --append-bytes SIZE     payload per append measurement (default 256M; quick 64M)
  --duration SECONDS      length of each durable measurement (default 3; quick 1)
  --replay-bytes SIZE     payload of the 4 KiB-record replay log (default 1G; quick 128M)
  --replay-small-bytes S  payload of the 100 B-record replay log (default replay-bytes / 4)
  --batch N               records per appendBatch, and appends in flight (default 1000)
  --pipeline N            appendBatch calls in flight in the pipelined variant (default 4)
  --only LIST             comma-separated sections: append,durable,replay,open (default all)
  --dir PATH              where the temporary directory goes (default os.tmpdir())

SIZE is bytes, or a number with K, M or G (binary: 1M = 1 MiB).`;

function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  if (match === null) throw new UsageError(`bench/wal: ${flag}: not a size: ${text}`);
  const unit = { "": 1, k: KIB, m: MIB, g: GIB }[match[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const bytes = Math.round(Number(match[1]) * unit);
  if (!(bytes > 0)) throw new UsageError(`bench/wal: ${flag}: must be positive`);
  return bytes;
}

function parsePositive(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (text === undefined || !Number.isFinite(value) || value <= 0) throw new UsageError(`bench/wal: ${flag} takes a positive number`);
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === "--help" || argument === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (argument === "--quick" || argument === "--json") {
      flags.add(argument);
      continue;
    }
    const equals = argument.indexOf("=");
    const name = equals > 0 ? argument.slice(0, equals) : argument;
    const known = ["--reps", "--append-bytes", "--duration", "--replay-bytes", "--replay-small-bytes", "--batch", "--pipeline", "--only", "--dir"];
    if (!known.includes(name)) throw new UsageError(`bench/wal: unknown argument ${argument}\n\n${USAGE}`);
    const value = equals > 0 ? argument.slice(equals + 1) : argv[++index];
    if (value === undefined) throw new UsageError(`bench/wal: ${name} takes a value`);
    values.set(name, value);
  }
  const quick = flags.has("--quick");
  const replayBytes = values.has("--replay-bytes") ? parseSize(values.get("--replay-bytes")!, "--replay-bytes") : quick ? 128 * MIB : GIB;
  const sections = new Set<Section>();
  for (const name of (values.get("--only") ?? SECTIONS.join(",")).split(",")) {
    if (!SECTIONS.includes(name as Section)) throw new UsageError(`bench/wal: --only: unknown section ${name}`);
    sections.add(name as Section);
  }
  return {
    reps: Math.round(parsePositive(values.get("--reps") ?? "5", "--reps")),
    quick,
    json: flags.has("--json"),
    appendBytes: values.has("--append-bytes") ? parseSize(values.get("--append-bytes")!, "--append-bytes") : quick ? 64 * MIB : 256 * MIB,
    replayBytes,
    replaySmallBytes: values.has("--replay-small-bytes")
      ? parseSize(values.get("--replay-small-bytes")!, "--replay-small-bytes")
      : Math.max(MIB, Math.floor(replayBytes / 4)),
    durationMs: parsePositive(values.get("--duration") ?? (quick ? "1" : "3"), "--duration") * 1000,
    batch: Math.round(parsePositive(values.get("--batch") ?? "1000", "--batch")),
    pipeline: Math.round(parsePositive(values.get("--pipeline") ?? "4", "--pipeline")),
    sections,
    dir: values.get("--dir") ?? tmpdir(),
  };
}

// --- helpers ---

function runtimeName(): string {
  const globals = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (globals.Bun !== undefined) return `Bun ${globals.Bun.version}`;
  if (globals.Deno !== undefined) return `Deno ${globals.Deno.version.deno}`;
  return `Node ${process.version}`;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `count` distinct records of `bytes` bytes (a linear congruential generator, the same every run). */
function recordPool(bytes: number, count = POOL_RECORDS): Uint8Array[] {
  let state = 0x2545f491 ^ bytes;
  return Array.from({ length: count }, () => {
    const record = new Uint8Array(bytes);
    for (let index = 0; index < bytes; index++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      record[index] = state >>> 24;
    }
    return record;
  });
}

function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

function perSecond(count: number, ms: number): number {
  return count / (ms / 1000);
}

/** Bytes held by the files of a directory (not recursive). */
function directoryBytes(dir: string): { bytes: number; segments: number; lastSegmentBytes: number } {
  let bytes = 0;
  let segments = 0;
  let lastName = "";
  let lastSegmentBytes = 0;
  for (const name of fsSync.readdirSync(dir).sort()) {
    const size = fsSync.statSync(join(dir, name)).size;
    bytes += size;
    if (/^\d{16}\.wal$/.test(name)) {
      segments++;
      if (name > lastName) {
        lastName = name;
        lastSegmentBytes = size;
      }
    }
  }
  return { bytes, segments, lastSegmentBytes };
}

/** Free bytes of the file system holding `dir`, or undefined where the runtime cannot tell. */
function freeBytes(dir: string): number | undefined {
  try {
    const statfs = (fsSync as { statfsSync?: (path: string) => { bavail: number; bsize: number } }).statfsSync;
    if (statfs === undefined) return undefined;
    const stats = statfs(dir);
    const free = Number(stats.bavail) * Number(stats.bsize);
    return Number.isFinite(free) && free > 0 ? free : undefined;
  } catch {
    return undefined;
  }
}

function log(message: string): void {
  // Progress goes to stderr so that stdout holds only the report.
  process.stderr.write(`${message}\n`);
}

/** Collects garbage between measurements where the runtime lets us (node --expose-gc, Bun). */
function collectGarbage(): void {
  const globals = globalThis as { gc?: () => void; Bun?: { gc: (force: boolean) => void } };
  if (typeof globals.gc === "function") globals.gc();
  else globals.Bun?.gc(true);
}

// --- a FileSystem that counts what the WAL asks of the disk ---

class Counters {
  datasyncs = 0;
  datasyncMs = 0;
  writes = 0;
  writeMs = 0;
  writtenBytes = 0;
  syncDirs = 0;

  reset(): void {
    this.datasyncs = 0;
    this.datasyncMs = 0;
    this.writes = 0;
    this.writeMs = 0;
    this.writtenBytes = 0;
    this.syncDirs = 0;
  }
}

class CountingFile implements File {
  readonly path: string;
  readonly #inner: File;
  readonly #counters: Counters;

  constructor(inner: File, counters: Counters) {
    this.path = inner.path;
    this.#inner = inner;
    this.#counters = counters;
  }

  read(buffer: Uint8Array, position: number): Promise<number> {
    return this.#inner.read(buffer, position);
  }

  readSync(buffer: Uint8Array, position: number): number {
    return this.#inner.readSync(buffer, position);
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    const started = performance.now();
    try {
      return await this.#inner.write(data, position);
    } finally {
      this.#counters.writes++;
      this.#counters.writtenBytes += data.length;
      this.#counters.writeMs += performance.now() - started;
    }
  }

  writeSync(data: Uint8Array, position: number): number {
    this.#counters.writes++;
    this.#counters.writtenBytes += data.length;
    return this.#inner.writeSync(data, position);
  }

  sync(): Promise<void> {
    return this.#inner.sync();
  }

  async datasync(): Promise<void> {
    const started = performance.now();
    try {
      await this.#inner.datasync();
    } finally {
      this.#counters.datasyncs++;
      this.#counters.datasyncMs += performance.now() - started;
    }
  }

  truncate(size: number): Promise<void> {
    return this.#inner.truncate(size);
  }

  size(): Promise<number> {
    return this.#inner.size();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

class CountingFs implements FileSystem {
  readonly name: string;
  readonly supports: FileSystem["supports"];
  readonly counters = new Counters();
  readonly #inner: FileSystem;

  constructor(inner: FileSystem) {
    this.#inner = inner;
    this.name = `counting(${inner.name})`;
    this.supports = inner.supports;
  }

  async open(path: string, options?: OpenOptions): Promise<File> {
    return new CountingFile(await this.#inner.open(path, options), this.counters);
  }

  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir);
  }

  mkdir(dir: string): Promise<void> {
    return this.#inner.mkdir(dir);
  }

  rename(from: string, to: string): Promise<void> {
    return this.#inner.rename(from, to);
  }

  remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.#inner.remove(path, options);
  }

  stat(path: string): Promise<FileStat> {
    return this.#inner.stat(path);
  }

  exists(path: string): Promise<boolean> {
    return this.#inner.exists(path);
  }

  syncDir(dir: string): Promise<void> {
    this.counters.syncDirs++;
    return this.#inner.syncDir(dir);
  }

  lock(path: string): Promise<FsLock> {
    return this.#inner.lock(path);
  }
}

// --- 1. append throughput, sync policy 'none' ---

type AppendMethod = "batch" | "pipelined" | "append" | "raw-per-record" | "raw-1mib";

interface AppendSample {
  ms: number;
  /** fdatasync calls made while appending (segment rolls), and the time they took. */
  datasyncs: number;
  datasyncMs: number;
  writes: number;
  /** Time from each write call to its completion, summed (the thread pool's pwrite, as seen from JS). */
  writeMs: number;
  /** Time of `close()` after the appends (it syncs the last segment). */
  closeMs: number;
}

async function appendWal(
  root: string,
  method: "batch" | "pipelined" | "append",
  pool: readonly Uint8Array[],
  totalBytes: number,
  options: Options,
): Promise<AppendSample> {
  const recordBytes = pool[0]!.length;
  const count = Math.floor(totalBytes / recordBytes);
  const dir = join(root, `append-${method}-${recordBytes}`);
  const fs = new CountingFs(nodeFs());
  const wal = await Wal.open({ dir, fs, sync: "none" });
  const batch = Math.min(options.batch, pool.length);
  const fullBatch = pool.slice(0, batch);
  fs.counters.reset();
  const started = performance.now();
  if (method === "batch") {
    for (let done = 0; done < count; done += batch) {
      const size = Math.min(batch, count - done);
      await wal.appendBatch(size === batch ? fullBatch : pool.slice(0, size));
    }
  } else if (method === "pipelined") {
    const inFlight: Array<Promise<unknown>> = [];
    for (let done = 0; done < count; done += batch) {
      const size = Math.min(batch, count - done);
      inFlight.push(wal.appendBatch(size === batch ? fullBatch : pool.slice(0, size)));
      if (inFlight.length >= options.pipeline) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } else {
    for (let done = 0; done < count; done += batch) {
      const size = Math.min(batch, count - done);
      const promises = new Array<Promise<number>>(size);
      for (let index = 0; index < size; index++) promises[index] = wal.append(pool[index]!);
      await Promise.all(promises);
    }
  }
  const ms = performance.now() - started;
  const { datasyncs, datasyncMs, writes, writeMs } = fs.counters;
  const closeStarted = performance.now();
  await wal.close();
  const closeMs = performance.now() - closeStarted;
  if (wal.nextLsn !== count + 1) throw new Error(`bench/wal: appended ${wal.nextLsn - 1} records, expected ${count}`);
  await rm(dir, { recursive: true, force: true });
  return { ms, datasyncs, datasyncMs, writes, writeMs, closeMs };
}

function openFresh(path: string): number {
  const { O_RDWR, O_CREAT, O_TRUNC } = fsSync.constants;
  return fsSync.openSync(path, O_RDWR | O_CREAT | O_TRUNC, 0o644);
}

function writeFullySync(descriptor: number, data: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const written = fsSync.writeSync(descriptor, data, done, length - done, position + done);
    if (written <= 0) throw new Error("bench/wal: write made no progress");
    done += written;
  }
}

/** The same payload with node:fs: one writeSync per record, or per 1 MiB buffer of records. */
async function appendRaw(root: string, method: "raw-per-record" | "raw-1mib", pool: readonly Uint8Array[], totalBytes: number): Promise<AppendSample> {
  const recordBytes = pool[0]!.length;
  const count = Math.floor(totalBytes / recordBytes);
  const path = join(root, `raw-${method}-${recordBytes}`);
  const descriptor = openFresh(path);
  let writes = 0;
  let ms: number;
  try {
    const started = performance.now();
    let position = 0;
    if (method === "raw-per-record") {
      for (let index = 0; index < count; index++) {
        writeFullySync(descriptor, pool[index % pool.length]!, recordBytes, position);
        position += recordBytes;
      }
      writes = count;
    } else {
      const buffer = new Uint8Array(RAW_BUFFER_BYTES);
      let filled = 0;
      for (let index = 0; index < count; index++) {
        if (filled + recordBytes > buffer.length) {
          writeFullySync(descriptor, buffer, filled, position);
          writes++;
          position += filled;
          filled = 0;
        }
        buffer.set(pool[index % pool.length]!, filled);
        filled += recordBytes;
      }
      if (filled > 0) {
        writeFullySync(descriptor, buffer, filled, position);
        writes++;
        position += filled;
      }
    }
    ms = performance.now() - started;
    if (position !== count * recordBytes) throw new Error("bench/wal: raw loop wrote the wrong amount");
  } finally {
    fsSync.closeSync(descriptor);
    fsSync.rmSync(path, { force: true });
  }
  return { ms, datasyncs: 0, datasyncMs: 0, writes, writeMs: ms, closeMs: 0 };
}

interface AppendRow {
  recordBytes: number;
  method: AppendMethod;
  label: string;
  payloadBytes: number;
  records: number;
  mibPerSecond: number;
  recordsPerSecond: number;
  /** WAL MiB/s ÷ raw MiB/s, paired per repetition, median; for the WAL methods. */
  ratioToRawPerRecord: number | null;
  ratioToRaw1Mib: number | null;
  datasyncs: number;
  datasyncMs: number;
  writes: number;
  writeMs: number;
  closeMs: number;
  samplesMs: number[];
}

async function benchAppend(root: string, options: Options): Promise<AppendRow[]> {
  const rows: AppendRow[] = [];
  const labels: Record<AppendMethod, string> = {
    batch: `WAL appendBatch(${options.batch}), awaited`,
    pipelined: `WAL appendBatch(${options.batch}), ${options.pipeline} in flight`,
    append: `WAL append, ${options.batch} in flight`,
    "raw-per-record": "raw: writeSync per record",
    "raw-1mib": "raw: writeSync per 1 MiB",
  };
  const methods: AppendMethod[] = ["batch", "pipelined", "append", "raw-per-record", "raw-1mib"];
  for (const recordBytes of [SMALL_RECORD_BYTES, LARGE_RECORD_BYTES]) {
    const pool = recordPool(recordBytes);
    const count = Math.floor(options.appendBytes / recordBytes);
    const payloadBytes = count * recordBytes;
    const samples = new Map<AppendMethod, AppendSample[]>(methods.map((method) => [method, []]));
    for (let rep = 0; rep < options.reps; rep++) {
      for (const method of methods) {
        collectGarbage();
        const sample =
          method === "raw-per-record" || method === "raw-1mib"
            ? await appendRaw(root, method, pool, options.appendBytes)
            : await appendWal(root, method, pool, options.appendBytes, options);
        samples.get(method)!.push(sample);
        log(`append ${recordBytes} B ${method} rep ${rep + 1}: ${mibPerSecond(payloadBytes, sample.ms).toFixed(1)} MiB/s`);
      }
    }
    const medianMs = (method: AppendMethod) => median(samples.get(method)!.map((sample) => sample.ms));
    // Ratios are paired per repetition (same payload: speed ratio = inverse time ratio), then the
    // median is taken: on a noisy machine this cancels drifts that hit both runs of a repetition.
    const pairedRatio = (method: AppendMethod, raw: AppendMethod) => {
      const rawSamples = samples.get(raw)!;
      return median(samples.get(method)!.map((sample, rep) => rawSamples[rep]!.ms / sample.ms));
    };
    for (const method of methods) {
      const list = samples.get(method)!;
      const ms = medianMs(method);
      const speed = mibPerSecond(payloadBytes, ms);
      const isWal = !method.startsWith("raw");
      rows.push({
        recordBytes,
        method,
        label: labels[method],
        payloadBytes,
        records: count,
        mibPerSecond: speed,
        recordsPerSecond: perSecond(count, ms),
        ratioToRawPerRecord: isWal ? pairedRatio(method, "raw-per-record") : null,
        ratioToRaw1Mib: isWal ? pairedRatio(method, "raw-1mib") : null,
        datasyncs: median(list.map((sample) => sample.datasyncs)),
        datasyncMs: median(list.map((sample) => sample.datasyncMs)),
        writes: median(list.map((sample) => sample.writes)),
        writeMs: median(list.map((sample) => sample.writeMs)),
        closeMs: median(list.map((sample) => sample.closeMs)),
        samplesMs: list.map((sample) => sample.ms),
      });
    }
  }
  return rows;
}

// --- 2. durable appends, sync policy 'always' ---

interface DurableSample {
  ms: number;
  records: number;
  datasyncs: number;
  datasyncMs: number;
}

/** The device: 4 KiB written at increasing offsets, then fdatasync, for `durationMs`. */
function deviceDatasyncLoop(root: string, durationMs: number): DurableSample {
  const path = join(root, "device-datasync");
  const descriptor = openFresh(path);
  const buffer = new Uint8Array(DEVICE_WRITE_BYTES).fill(0x5a);
  let count = 0;
  let syncMs = 0;
  let ms: number;
  try {
    const started = performance.now();
    const deadline = started + durationMs;
    let position = 0;
    let now = started;
    while (now < deadline) {
      writeFullySync(descriptor, buffer, buffer.length, position);
      position += buffer.length;
      const before = performance.now();
      fsSync.fdatasyncSync(descriptor);
      now = performance.now();
      syncMs += now - before;
      count++;
    }
    ms = now - started;
  } finally {
    fsSync.closeSync(descriptor);
    fsSync.rmSync(path, { force: true });
  }
  return { ms, records: count, datasyncs: count, datasyncMs: syncMs };
}

async function durableWal(root: string, writers: number, durationMs: number, record: Uint8Array): Promise<DurableSample> {
  const dir = join(root, `durable-${writers}`);
  const fs = new CountingFs(nodeFs());
  const wal = await Wal.open({ dir, fs, sync: "always" });
  fs.counters.reset();
  let records = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        await wal.append(record);
        records++;
      }
    }),
  );
  const ms = performance.now() - started;
  const { datasyncs, datasyncMs } = fs.counters;
  await wal.close();
  await rm(dir, { recursive: true, force: true });
  return { ms, records, datasyncs, datasyncMs };
}

interface DurableRow {
  name: string;
  label: string;
  recordsPerSecond: number;
  datasyncsPerSecond: number;
  recordsPerDatasync: number;
  /** Mean fdatasync latency, ms. */
  datasyncMeanMs: number;
  samples: DurableSample[];
}

interface DurableResult {
  rows: DurableRow[];
  /** 64 writers' records/s ÷ 1 writer's (paired per repetition, median). */
  concurrencyGain: number;
  /** 1 writer's records/s ÷ the device's fdatasyncs/s (paired per repetition, median). */
  singleWriterToDevice: number;
}

async function benchDurable(root: string, options: Options): Promise<DurableResult> {
  const record = recordPool(DURABLE_RECORD_BYTES, 1)[0]!;
  const names = ["device", "wal-1", `wal-${DURABLE_WRITERS}`] as const;
  const samples = new Map<string, DurableSample[]>(names.map((name) => [name, []]));
  for (let rep = 0; rep < options.reps; rep++) {
    for (const name of names) {
      collectGarbage();
      const sample =
        name === "device"
          ? deviceDatasyncLoop(root, options.durationMs)
          : await durableWal(root, name === "wal-1" ? 1 : DURABLE_WRITERS, options.durationMs, record);
      samples.get(name)!.push(sample);
      log(`durable ${name} rep ${rep + 1}: ${perSecond(sample.records, sample.ms).toFixed(0)} records/s, ${perSecond(sample.datasyncs, sample.ms).toFixed(0)} fdatasync/s`);
    }
  }
  const labels: Record<(typeof names)[number], string> = {
    device: "device: writeSync 4 KiB + fdatasyncSync loop",
    "wal-1": "WAL 'always', 1 writer",
    [`wal-${DURABLE_WRITERS}`]: `WAL 'always', ${DURABLE_WRITERS} concurrent writers`,
  };
  const rows = names.map((name): DurableRow => {
    const list = samples.get(name)!;
    return {
      name,
      label: labels[name],
      recordsPerSecond: median(list.map((sample) => perSecond(sample.records, sample.ms))),
      datasyncsPerSecond: median(list.map((sample) => perSecond(sample.datasyncs, sample.ms))),
      recordsPerDatasync: median(list.map((sample) => sample.records / Math.max(1, sample.datasyncs))),
      datasyncMeanMs: median(list.map((sample) => sample.datasyncMs / Math.max(1, sample.datasyncs))),
      samples: list,
    };
  });
  const [device, single, many] = rows as [DurableRow, DurableRow, DurableRow];
  const rate = (sample: DurableSample) => sample.records / sample.ms;
  return {
    rows,
    concurrencyGain: median(many.samples.map((sample, rep) => rate(sample) / rate(single.samples[rep]!))),
    singleWriterToDevice: median(single.samples.map((sample, rep) => rate(sample) / (device.samples[rep]!.datasyncs / device.samples[rep]!.ms))),
  };
}

// --- 3. replay, and 4. open ---

interface WrittenLog {
  dir: string;
  recordBytes: number;
  records: number;
  payloadBytes: number;
  diskBytes: number;
  segments: number;
  lastSegmentBytes: number;
  /** Appending (appendBatch, awaited; includes the fdatasync of each segment roll). */
  writeMs: number;
  /** `close()`: syncs the last segment. */
  closeMs: number;
}

async function writeLog(dir: string, recordBytes: number, payloadBytes: number, batch: number): Promise<WrittenLog> {
  const pool = recordPool(recordBytes);
  const records = Math.floor(payloadBytes / recordBytes);
  const size = Math.min(batch, pool.length);
  const fullBatch = pool.slice(0, size);
  const wal = await Wal.open({ dir, sync: "none" });
  const started = performance.now();
  for (let done = 0; done < records; done += size) {
    const count = Math.min(size, records - done);
    await wal.appendBatch(count === size ? fullBatch : pool.slice(0, count));
  }
  const writeMs = performance.now() - started;
  const closeStarted = performance.now();
  await wal.close();
  const closeMs = performance.now() - closeStarted;
  const { bytes, segments, lastSegmentBytes } = directoryBytes(dir);
  return { dir, recordBytes, records, payloadBytes: records * recordBytes, diskBytes: bytes, segments, lastSegmentBytes, writeMs, closeMs };
}

interface ReplaySample {
  openMs: number;
  replayMs: number;
}

async function replayOnce(written: WrittenLog, replay: boolean): Promise<ReplaySample> {
  const openStarted = performance.now();
  const wal = await Wal.open({ dir: written.dir });
  const openMs = performance.now() - openStarted;
  let replayMs = 0;
  try {
    if (wal.nextLsn !== written.records + 1) throw new Error(`bench/wal: reopened log has ${wal.nextLsn - 1} records, expected ${written.records}`);
    if (replay) {
      let records = 0;
      let bytes = 0;
      const started = performance.now();
      for await (const record of wal.replay()) {
        records++;
        bytes += record.data.length;
      }
      replayMs = performance.now() - started;
      if (records !== written.records || bytes !== written.payloadBytes) {
        throw new Error(`bench/wal: replayed ${records} records / ${bytes} B, expected ${written.records} / ${written.payloadBytes}`);
      }
    }
  } finally {
    await wal.close();
  }
  return { openMs, replayMs };
}

interface ReplayRow {
  log: string;
  recordBytes: number;
  payloadBytes: number;
  records: number;
  diskBytes: number;
  segments: number;
  lastSegmentBytes: number;
  writeMibPerSecond: number;
  writeRecordsPerSecond: number;
  writeMs: number;
  closeMs: number;
  openMs: number;
  replayMibPerSecond: number | null;
  replayRecordsPerSecond: number | null;
  samples: ReplaySample[];
}

async function benchLog(root: string, name: string, recordBytes: number, payloadBytes: number, replay: boolean, options: Options): Promise<ReplayRow> {
  const dir = join(root, name);
  log(`${name}: writing ${(payloadBytes / MIB).toFixed(0)} MiB of ${recordBytes} B records`);
  const written = await writeLog(dir, recordBytes, payloadBytes, options.batch);
  try {
    const samples: ReplaySample[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      collectGarbage();
      const sample = await replayOnce(written, replay);
      samples.push(sample);
      log(
        `${name} rep ${rep + 1}: open ${sample.openMs.toFixed(1)} ms` +
          (replay ? `, replay ${mibPerSecond(written.payloadBytes, sample.replayMs).toFixed(1)} MiB/s` : ""),
      );
    }
    const replayMs = median(samples.map((sample) => sample.replayMs));
    return {
      log: name,
      recordBytes,
      payloadBytes: written.payloadBytes,
      records: written.records,
      diskBytes: written.diskBytes,
      segments: written.segments,
      lastSegmentBytes: written.lastSegmentBytes,
      writeMibPerSecond: mibPerSecond(written.payloadBytes, written.writeMs + written.closeMs),
      writeRecordsPerSecond: perSecond(written.records, written.writeMs + written.closeMs),
      writeMs: written.writeMs,
      closeMs: written.closeMs,
      openMs: median(samples.map((sample) => sample.openMs)),
      replayMibPerSecond: replay ? mibPerSecond(written.payloadBytes, replayMs) : null,
      replayRecordsPerSecond: replay ? perSecond(written.records, replayMs) : null,
      samples,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// --- report ---

function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAligned: ReadonlySet<number>): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (rightAligned.has(column) ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

function fixed(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? "" : value.toFixed(digits);
}

function thousands(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "" : Math.round(value).toLocaleString("en-US");
}

function percent(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "" : `${(value * 100).toFixed(0)} %`;
}

function mib(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(2)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`;
}

function printAppend(rows: readonly AppendRow[], options: Options): void {
  console.log(`\n### Append throughput, sync 'none' (${mib(options.appendBytes)} of payload per run)\n`);
  console.log(
    table(
      ["record", "method", "MiB/s", "records/s", "% of raw per-record", "% of raw 1 MiB", "ms", "writes", "in write ms", "fdatasyncs", "in fdatasync ms"],
      rows.map((row) => {
        const raw = row.method.startsWith("raw");
        return [
          `${row.recordBytes} B`,
          row.label,
          fixed(row.mibPerSecond, 1),
          thousands(row.recordsPerSecond),
          percent(row.ratioToRawPerRecord),
          percent(row.ratioToRaw1Mib),
          thousands(median(row.samplesMs)),
          thousands(row.writes),
          raw ? "" : thousands(row.writeMs),
          raw ? "" : String(row.datasyncs),
          raw ? "" : thousands(row.datasyncMs),
        ];
      }),
      new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ),
  );
  console.log(
    "\nMiB/s of payload (framing excluded). % columns: the WAL's MiB/s over the raw loop's, same record size, " +
      "paired per repetition (median) " +
      "(target: >= 80 % of the raw loop). ms: the run's median time. writes / in write ms: the WAL's `File.write` " +
      "calls and the time from each call to its completion (summed; thread-pool pwrite as seen from JS, so with " +
      "batches in flight it includes the event-loop delay while the next group is encoded). " +
      "fdatasyncs / in fdatasync ms: the same for fdatasync (under 'none' only segment rolls sync: the full 64 MiB " +
      "segment, then the new segment's header). `wal.close()` afterwards is not timed here (`closeMs` in --json).",
  );
}

function printDurable(result: DurableResult, options: Options): void {
  console.log(`\n### Durable appends, sync 'always', ${DURABLE_RECORD_BYTES} B records (${options.durationMs / 1000} s per run)\n`);
  console.log(
    table(
      ["workload", "records/s", "fdatasyncs/s", "records per fdatasync", "mean fdatasync ms"],
      result.rows.map((row) => [
        row.label,
        thousands(row.recordsPerSecond),
        thousands(row.datasyncsPerSecond),
        fixed(row.recordsPerDatasync, 1),
        fixed(row.datasyncMeanMs, 2),
      ]),
      new Set([1, 2, 3, 4]),
    ),
  );
  console.log(
    `\n${DURABLE_WRITERS} writers ÷ 1 writer: **${result.concurrencyGain.toFixed(1)}×** records/s (target >= 20×). ` +
      `1 writer ÷ device fdatasync rate: ${percent(result.singleWriterToDevice)}. Both paired per repetition (median). ` +
      "WAL fdatasync latency is timed from JS (thread pool included); the device loop's is fdatasyncSync's.",
  );
}

function printReplay(rows: readonly ReplayRow[]): void {
  console.log("\n### Replay (reopen, then `for await (const r of wal.replay())`)\n");
  console.log(
    table(
      ["log", "payload", "records", "on disk", "segments", "write MiB/s", "write s (+ close)", "open ms", "replay MiB/s", "replay records/s"],
      rows.map((row) => [
        `${row.recordBytes} B records`,
        mib(row.payloadBytes),
        thousands(row.records),
        mib(row.diskBytes),
        String(row.segments),
        fixed(row.writeMibPerSecond, 1),
        `${(row.writeMs / 1000).toFixed(2)} (+ ${(row.closeMs / 1000).toFixed(2)})`,
        fixed(row.openMs, 1),
        fixed(row.replayMibPerSecond, 1),
        thousands(row.replayRecordsPerSecond),
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ),
  );
  console.log(
    "\nwrite: one run, appendBatch awaited, sync 'none', segment-roll fdatasyncs included, then close. " +
      "open/replay: medians; the files are in the page cache, so this is CPU, not disk.",
  );
}

function printOpen(rows: readonly ReplayRow[]): void {
  console.log("\n### Open (recovery scans the last segment)\n");
  console.log(
    table(
      ["log", "segments", "last segment", "open ms", "scan MiB/s of last segment"],
      rows.map((row) => [
        `${mib(row.payloadBytes)} of ${row.recordBytes} B records`,
        String(row.segments),
        mib(row.lastSegmentBytes),
        fixed(row.openMs, 1),
        fixed(mibPerSecond(row.lastSegmentBytes, row.openMs), 1),
      ]),
      new Set([1, 2, 3, 4]),
    ),
  );
}

// --- main ---

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runtime = runtimeName();
  // Peak disk use: one append run at a time (4 KiB framing adds < 1 %, 100 B adds ~15 %), or one
  // replay log at a time.
  const appendPeak = options.sections.has("append") ? options.appendBytes * 1.2 : 0;
  const replayPeak = options.sections.has("replay") ? Math.max(options.replayBytes * 1.01, options.replaySmallBytes * 1.2) : 0;
  const openPeak = options.sections.has("open") ? OPEN_LOG_BYTES * 1.2 : 0;
  const peak = Math.max(appendPeak, replayPeak, openPeak) + 16 * MIB;
  const free = freeBytes(options.dir);
  if (free !== undefined && free < peak + GIB) {
    throw new UsageError(`bench/wal: ${options.dir} has ${mib(free)} free; this run needs ${mib(peak)} plus 1 GiB of margin (use --quick or smaller sizes)`);
  }
  const root = await mkdtemp(join(options.dir, "auradb-bench-wal-"));
  const cleanup = () => fsSync.rmSync(root, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  log(`${runtime}: temporary files in ${root} (peak ~${mib(peak)})`);

  const results: {
    append?: AppendRow[];
    durable?: DurableResult;
    replay?: ReplayRow[];
    open?: ReplayRow[];
  } = {};
  const started = performance.now();
  try {
    if (options.sections.has("append")) results.append = await benchAppend(root, options);
    if (options.sections.has("durable")) results.durable = await benchDurable(root, options);
    if (options.sections.has("replay")) {
      results.replay = [
        await benchLog(root, "replay-4k", LARGE_RECORD_BYTES, options.replayBytes, true, options),
        await benchLog(root, "replay-100", SMALL_RECORD_BYTES, options.replaySmallBytes, true, options),
      ];
    }
    if (options.sections.has("open")) {
      results.open = [
        await benchLog(root, "open-4k", LARGE_RECORD_BYTES, openLogPayload(LARGE_RECORD_BYTES), false, options),
        await benchLog(root, "open-100", SMALL_RECORD_BYTES, openLogPayload(SMALL_RECORD_BYTES), false, options),
      ];
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await rm(root, { recursive: true, force: true });
  }
  const totalSeconds = (performance.now() - started) / 1000;

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `## @auradb/wal on ${runtime}, ${process.platform} ${process.arch}, ${cpus().length} × ${cpu}\n\n` +
      `Median of ${options.reps} repetitions${options.quick ? " (--quick)" : ""}; fs: @auradb/fs/node; ` +
      `temporary files under ${options.dir}; ${totalSeconds.toFixed(0)} s in all.`,
  );
  if (results.append !== undefined) printAppend(results.append, options);
  if (results.durable !== undefined) printDurable(results.durable, options);
  if (results.replay !== undefined) printReplay(results.replay);
  if (results.open !== undefined || results.replay !== undefined) printOpen([...(results.replay ?? []), ...(results.open ?? [])]);
  if (options.json) {
    const { sections, ...config } = options;
    console.log(
      JSON.stringify({
        bench: "wal",
        runtime,
        platform: process.platform,
        arch: process.arch,
        cpus: cpus().length,
        cpu,
        date: new Date().toISOString(),
        config: { ...config, sections: [...sections] },
        totalSeconds,
        ...results,
      }),
    );
  }
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
