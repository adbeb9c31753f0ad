/**
 * `auradb bench`: db_bench-style workloads on AuraDB and, beside it, on each peer engine that is
 * installed (classic-level, lmdb, rocksdb-native, better-sqlite3). One process, one engine at a
 * time, each in a fresh temporary directory, the same keys, values and orders for all.
 *
 * Keys are 16-byte zero-padded decimals; values are views into a pool of random bytes
 * (incompressible, so a compressing engine gains nothing it would not gain on real data of that
 * kind). Latency is sampled, not measured per op: timing every op would cost two clock reads
 * per op, which is a large share of a 1 µs lookup. Every SAMPLE_EVERY-th op is timed alone (an
 * unbiased sample of the per-op latency), and every batch of the fill workloads (the unit there).
 *
 * Every workload checks its answers (reads find every key with its value's length, misses find
 * nothing, scans see every key): a wrong answer fails the run with exit code 1.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, freemem, release, tmpdir, totalmem, type as osType } from "node:os";
import { join, resolve } from "node:path";
import { booleanFlag, expectPositionals, integerFlag, parseArgs, stringFlag } from "../_args.ts";
import { type BenchEngine, type BenchOperation, type BenchStore, ENGINES, isPromise, type MaybePromise, PeerMissingError } from "../_bench-engines.ts";
import { colors, errorColors, formatBytes, formatCount, print, printError, UsageError } from "../_output.ts";
import type { CommandContext } from "../cli.ts";

/** The workloads, in the order they run when named together. */
export const WORKLOADS = ["fillseq", "fillrandom", "overwrite", "readrandom", "readmissing", "readseq", "seekrandom", "deleterandom", "fillbatch"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];
const DEFAULT_WORKLOADS: readonly WorkloadName[] = ["fillseq", "fillrandom", "overwrite", "readrandom", "readmissing", "readseq", "seekrandom", "deleterandom"];
const WRITE_WORKLOADS: ReadonlySet<WorkloadName> = new Set(["fillseq", "fillrandom", "fillbatch", "overwrite", "deleterandom"]);
const FILL_WORKLOADS: ReadonlySet<WorkloadName> = new Set(["fillseq", "fillrandom", "fillbatch"]);

export const DEFAULT_NUM = 50_000;
const DEFAULT_VALUE_BYTES = 100;
const KEY_BYTES = 16;
/** Puts per batch in fillseq, fillrandom and the untimed loads (db_bench's write batch of 1000). */
const BATCH_OPERATIONS = 1000;
/** fillbatch: small batches, where the per-batch cost (not the per-entry one) dominates. */
const SMALL_BATCH_OPERATIONS = 16;
/** One op in this many is timed alone for the latency percentiles. */
export const SAMPLE_EVERY = 16;
/** Entries read after each seek of seekrandom. */
const SEEK_ENTRIES = 10;
/** seekrandom makes num / SEEK_DIVISOR seeks (each reads SEEK_ENTRIES entries). */
const SEEK_DIVISOR = 10;
/** The random-value pool: values are views into it, so no value repeats within this many bytes. */
const POOL_BYTES = 16 * 1024 * 1024;
const SEED = 42;

/** How latency was measured for a workload. */
export interface LatencySummary {
  /** "op": one operation; "batch": one batch of puts; "seek": one seek and its reads. */
  readonly unit: "op" | "batch" | "seek";
  /** 1 when every unit was timed, else one in `sampleEvery`. */
  readonly sampleEvery: number;
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** One engine's result on one workload: the JSON output, the table and the HTML report read it. */
export interface WorkloadResult {
  readonly engine: string;
  readonly workload: WorkloadName;
  readonly operations: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  /** User bytes (keys and values read or written) per second, in MB (10^6 B); null when none. */
  readonly mbPerSecond: number | null;
  readonly latency: LatencySummary | null;
  /** Write workloads only; see `writeAmplificationSource`. */
  readonly writeAmplification: number | null;
  /**
   * "engine": bytes the engine counted as written (WAL, value log, flushes, compactions) / user
   * bytes, over the workload (AuraDB's stats()). "disk": bytes of the engine's files after a fill /
   * user bytes of the fill, for engines that do not count their writes (a space figure).
   */
  readonly writeAmplificationSource: "engine" | "disk" | null;
  /** False when an answer was wrong (a key not found, a scan short): see `note`. */
  readonly verified: boolean;
  readonly note: string | null;
}

/** What `auradb bench --json` prints and the HTML report embeds. */
export interface BenchReport {
  readonly tool: "auradb bench";
  readonly version: string;
  readonly startedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
    readonly freeMemoryBytes: number;
    readonly os: string;
    readonly runtime: string;
  };
  readonly config: { readonly num: number; readonly valueSize: number; readonly keySize: number; readonly workloads: WorkloadName[]; readonly engines: string[]; readonly sampleEvery: number; readonly seeks: number };
  readonly engines: { readonly name: string; readonly version: string | null; readonly notes: string }[];
  readonly skipped: { readonly engine: string; readonly reason: string }[];
  readonly results: WorkloadResult[];
}

// ---------------------------------------------------------------------------------------------
// Keys, values, orders

/** All keys in one buffer: key i is the 16-byte zero-padded decimal of i. */
function makeKeys(count: number): (index: number) => Uint8Array {
  const buffer = Buffer.allocUnsafe(count * KEY_BYTES);
  for (let index = 0; index < count; index++) buffer.write(String(index).padStart(KEY_BYTES, "0"), index * KEY_BYTES, "latin1");
  return (index) => buffer.subarray(index * KEY_BYTES, (index + 1) * KEY_BYTES);
}

/** A key that is absent but sorts among the present ones ("…123x" lies between …1239 and …1240). */
function missingKey(index: number): Uint8Array {
  return Buffer.from(String(index).padStart(KEY_BYTES - 1, "0") + "x", "latin1");
}

/** Values: views into one random pool; the `sequence`-th write gets the `sequence`-th view. */
function makeValues(valueBytes: number): (sequence: number) => Uint8Array {
  const poolBytes = Math.max(POOL_BYTES, valueBytes * 4);
  const pool = randomBytes(poolBytes + valueBytes);
  const slots = Math.floor(poolBytes / Math.max(1, valueBytes));
  return (sequence) => {
    const offset = (sequence % slots) * valueBytes;
    return pool.subarray(offset, offset + valueBytes);
  };
}

/** mulberry32: a small seeded PRNG, so every engine sees the same orders. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutation(count: number, seed: number): Uint32Array {
  const random = prng(seed);
  const order = new Uint32Array(count);
  for (let index = 0; index < count; index++) order[index] = index;
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const swap = order[index]!;
    order[index] = order[other]!;
    order[other] = swap;
  }
  return order;
}

function randomIndexes(count: number, range: number, seed: number): Uint32Array {
  const random = prng(seed);
  const indexes = new Uint32Array(count);
  for (let index = 0; index < count; index++) indexes[index] = Math.floor(random() * range);
  return indexes;
}

// ---------------------------------------------------------------------------------------------
// Measuring

function percentile(sorted: Float64Array, fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

function summarize(samplesMs: number[], unit: LatencySummary["unit"], sampleEvery: number): LatencySummary | null {
  if (samplesMs.length === 0) return null;
  const sorted = Float64Array.from(samplesMs).sort();
  const micros = (milliseconds: number): number => Math.round(milliseconds * 10_000) / 10;
  return { unit, sampleEvery, samples: sorted.length, p50Us: micros(percentile(sorted, 0.5)), p99Us: micros(percentile(sorted, 0.99)) };
}

/** Apparent bytes of every file under `dir`. */
function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += directoryBytes(path);
    else if (entry.isFile()) bytes += statSync(path).size;
  }
  return bytes;
}

/** A progress bar per workload on a terminal; plain lines (about one a second) elsewhere. */
interface Progress {
  update(done: number): void;
  stop(): void;
}

async function progressBar(label: string, total: number, stream: NodeJS.WriteStream, quiet: boolean): Promise<Progress> {
  if (quiet) return { update() {}, stop() {} };
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: `  ${label} ${colors.cyan("{bar}")} {percentage}% | {value}/{total} | eta {eta_formatted}`,
      barCompleteChar: "█",
      barIncompleteChar: "░",
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      stream,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

const now = (): number => performance.now();

/**
 * Runs `count` operations, each awaited when it returns a promise; every SAMPLE_EVERY-th is timed
 * alone into `samples`. NB: the untimed path awaits only real promises, so the synchronous APIs
 * (AuraDB's getSync, lmdb, SQLite) are not slowed by a microtask per op.
 */
async function runOperations(count: number, operation: (index: number) => MaybePromise<unknown>, samples: number[], progress: Progress): Promise<void> {
  for (let index = 0; index < count; index++) {
    if (index % SAMPLE_EVERY === 0) {
      const started = now();
      const result = operation(index);
      if (isPromise(result)) await result;
      samples.push(now() - started);
      if ((index & 4095) === 0) progress.update(index);
    } else {
      const result = operation(index);
      if (isPromise(result)) await result;
    }
  }
  progress.update(count);
}

// ---------------------------------------------------------------------------------------------
// One engine

interface BenchSettings {
  readonly num: number;
  readonly valueBytes: number;
  readonly workloads: readonly WorkloadName[];
  readonly progressStream: NodeJS.WriteStream;
  readonly quiet: boolean;
}

/** The data every engine shares: keys, values, orders (built once, so every engine sees the same). */
interface SharedData {
  readonly key: (index: number) => Uint8Array;
  readonly value: (sequence: number) => Uint8Array;
  readonly fillOrder: Uint32Array;
  readonly readOrder: Uint32Array;
  readonly deleteOrder: Uint32Array;
  readonly seekOrder: Uint32Array;
}

function sharedData(num: number, valueBytes: number): SharedData {
  return {
    key: makeKeys(num),
    value: makeValues(valueBytes),
    fillOrder: permutation(num, SEED),
    readOrder: randomIndexes(num, num, SEED + 1),
    deleteOrder: permutation(num, SEED + 2),
    seekOrder: randomIndexes(Math.max(1, Math.floor(num / SEEK_DIVISOR)), num, SEED + 3),
  };
}

async function runEngine(
  engine: { name: string; open(dir: string): Promise<BenchStore> },
  parentDir: string,
  settings: BenchSettings,
  data: SharedData,
): Promise<WorkloadResult[]> {
  const { num, valueBytes } = settings;
  const dir = mkdtempSync(join(parentDir, `auradb-bench-${engine.name}-`));
  const results: WorkloadResult[] = [];
  let store: BenchStore;
  try {
    store = await engine.open(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  /** True while keys 0..num-1 are all present with values of valueBytes. */
  let loaded = false;
  /** True while the store holds nothing (fresh). */
  let empty = true;
  let valueSequence = 0;

  const fresh = async (): Promise<void> => {
    if (empty) return;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    store = await engine.open(dir);
    empty = true;
    loaded = false;
  };

  /** Puts keys `order[from..to)` in batches of `batchSize`, timing each batch into `samples`. */
  const fill = async (order: Uint32Array | null, batchSize: number, samples: number[] | null, progress: Progress): Promise<void> => {
    for (let start = 0; start < num; start += batchSize) {
      const end = Math.min(num, start + batchSize);
      const operations: BenchOperation[] = [];
      for (let position = start; position < end; position++) {
        const index = order === null ? position : order[position]!;
        operations.push({ type: "put", key: data.key(index), value: data.value(valueSequence++) });
      }
      const started = now();
      const result = store.batch(operations);
      if (isPromise(result)) await result;
      samples?.push(now() - started);
      progress.update(end);
    }
    empty = false;
    loaded = true;
  };

  const quietProgress: Progress = { update() {}, stop() {} };
  /** Read workloads need the keys: load them (untimed) when no fill ran before. */
  const ensureLoaded = async (): Promise<string | null> => {
    if (loaded) return null;
    await fresh();
    await fill(null, BATCH_OPERATIONS, null, quietProgress);
    return `loaded ${formatCount(num)} keys first (untimed)`;
  };

  try {
    for (const workload of settings.workloads) {
      let note: string | null = null;
      if (FILL_WORKLOADS.has(workload)) await fresh();
      else note = await ensureLoaded();
      const samples: number[] = [];
      let operations = num;
      let userBytesPerOperation = KEY_BYTES + valueBytes;
      let unit: LatencySummary["unit"] = "op";
      let sampleEvery = SAMPLE_EVERY;
      let verified = true;
      const problems: string[] = [];
      const label = `${engine.name} ${workload}`.padEnd(30);
      const total = workload === "seekrandom" ? data.seekOrder.length : num;
      const progress = await progressBar(label, total, settings.progressStream, settings.quiet);
      const writtenBefore = store.writtenBytes();
      const started = now();
      switch (workload) {
        case "fillseq":
        case "fillrandom":
        case "fillbatch": {
          unit = "batch";
          sampleEvery = 1;
          const batchSize = workload === "fillbatch" ? SMALL_BATCH_OPERATIONS : BATCH_OPERATIONS;
          await fill(workload === "fillseq" ? null : data.fillOrder, batchSize, samples, progress);
          break;
        }
        case "overwrite": {
          await runOperations(num, (index) => store.put(data.key(data.readOrder[index]!), data.value(valueSequence++)), samples, progress);
          break;
        }
        case "readrandom": {
          let found = 0;
          let wrongLength = 0;
          const check = (value: Uint8Array | undefined | null): void => {
            if (value === undefined || value === null) return;
            found++;
            if (value.length !== valueBytes) wrongLength++;
          };
          await runOperations(
            num,
            (index) => {
              const result = store.get(data.key(data.readOrder[index]!));
              return isPromise(result) ? result.then(check) : check(result);
            },
            samples,
            progress,
          );
          if (found !== num) problems.push(`${formatCount(num - found)} keys not found`);
          if (wrongLength > 0) problems.push(`${formatCount(wrongLength)} values of the wrong length`);
          break;
        }
        case "readmissing": {
          userBytesPerOperation = 0;
          let found = 0;
          const check = (value: Uint8Array | undefined | null): void => {
            if (value !== undefined && value !== null) found++;
          };
          await runOperations(
            num,
            (index) => {
              const result = store.get(missingKey(data.readOrder[index]!));
              return isPromise(result) ? result.then(check) : check(result);
            },
            samples,
            progress,
          );
          if (found > 0) problems.push(`${formatCount(found)} absent keys found`);
          break;
        }
        case "readseq": {
          // One full scan: no per-op latency (a scan is one op).
          let bytes = 0;
          let seen = 0;
          const visited = await store.scan({}, (key, value) => {
            bytes += key.length + value.length;
            if (++seen % 65536 === 0) progress.update(seen);
          });
          progress.update(visited);
          if (visited !== num) problems.push(`the scan saw ${formatCount(visited)} entries, not ${formatCount(num)}`);
          userBytesPerOperation = visited > 0 ? bytes / visited : 0;
          break;
        }
        case "seekrandom": {
          unit = "seek";
          operations = data.seekOrder.length;
          userBytesPerOperation = SEEK_ENTRIES * (KEY_BYTES + valueBytes);
          let short = 0;
          const visit = (): void => {};
          await runOperations(
            operations,
            (index) => {
              const target = data.seekOrder[index]!;
              const expected = Math.min(SEEK_ENTRIES, num - target);
              const result = store.scan({ gte: data.key(target), limit: SEEK_ENTRIES }, visit);
              const check = (count: number): void => {
                if (count !== expected) short++;
              };
              return isPromise(result) ? result.then(check) : check(result);
            },
            samples,
            progress,
          );
          if (short > 0) problems.push(`${formatCount(short)} seeks read fewer entries than expected`);
          break;
        }
        case "deleterandom": {
          userBytesPerOperation = KEY_BYTES;
          await runOperations(num, (index) => store.del(data.key(data.deleteOrder[index]!)), samples, progress);
          loaded = false;
          break;
        }
      }
      const seconds = (now() - started) / 1000;
      progress.stop();
      if (problems.length > 0) {
        verified = false;
        note = [note, ...problems].filter((part) => part !== null).join("; ");
      }
      const userBytes = operations * userBytesPerOperation;
      let writeAmplification: number | null = null;
      let writeAmplificationSource: WorkloadResult["writeAmplificationSource"] = null;
      if (WRITE_WORKLOADS.has(workload)) {
        const writtenAfter = store.writtenBytes();
        if (writtenBefore !== null && writtenAfter !== null) {
          const user = writtenAfter.userBytes - writtenBefore.userBytes;
          if (user > 0) {
            writeAmplification = round((writtenAfter.engineBytes - writtenBefore.engineBytes) / user, 2);
            writeAmplificationSource = "engine";
          }
        } else if (FILL_WORKLOADS.has(workload) && userBytes > 0) {
          writeAmplification = round(directoryBytes(dir) / userBytes, 2);
          writeAmplificationSource = "disk";
        }
      }
      results.push({
        engine: engine.name,
        workload,
        operations,
        seconds: round(seconds, 4),
        opsPerSecond: Math.round(operations / seconds),
        mbPerSecond: userBytes > 0 ? round(userBytes / seconds / 1e6, 2) : null,
        latency: summarize(samples, unit, sampleEvery),
        writeAmplification,
        writeAmplificationSource,
        verified,
        note,
      });
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

// ---------------------------------------------------------------------------------------------
// Output

function runtimeDescription(): string {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  if (deno?.version?.deno !== undefined) return `Deno ${deno.version.deno}`;
  const bun = process.versions.bun;
  if (bun !== undefined) return `Bun ${bun}`;
  return `Node ${process.version}`;
}

function latencyText(latency: LatencySummary | null, which: "p50Us" | "p99Us"): string {
  if (latency === null) return "-";
  const micros = latency[which];
  const text = micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(micros < 10 ? 1 : 0)} µs`;
  return latency.unit === "op" ? text : `${text}/${latency.unit}`;
}

async function printTable(report: BenchReport): Promise<void> {
  const { default: Table } = await import("cli-table3");
  const table = new Table({
    head: ["workload", "engine", "ops/s", "MB/s", "p50", "p99", "write amp", "vs auradb"],
    colAligns: ["left", "left", "right", "right", "right", "right", "right", "right"],
    style: { head: colors.isColorSupported ? ["cyan"] : [], border: colors.isColorSupported ? ["grey"] : [] },
    // Compact: no rule between rows.
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const workload of report.config.workloads) {
    const rows = report.results.filter((result) => result.workload === workload);
    const base = rows.find((result) => result.engine === "auradb");
    for (const result of rows) {
      const ratio = base === undefined || result.engine === "auradb" ? "" : `${(result.opsPerSecond / base.opsPerSecond).toFixed(2)}×`;
      table.push([
        workload,
        result.verified ? result.engine : colors.red(`${result.engine} ✗`),
        formatCount(result.opsPerSecond),
        result.mbPerSecond === null ? "-" : result.mbPerSecond.toFixed(1),
        latencyText(result.latency, "p50Us"),
        latencyText(result.latency, "p99Us"),
        result.writeAmplification === null ? "-" : `${result.writeAmplification.toFixed(2)}${result.writeAmplificationSource === "disk" ? " (disk)" : ""}`,
        ratio,
      ]);
    }
  }
  print(table.toString());
}

// ---------------------------------------------------------------------------------------------
// The command

function parseList<T extends string>(text: string | undefined, allowed: readonly T[], fallback: readonly T[], flag: string): T[] {
  if (text === undefined) return [...fallback];
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) throw new UsageError(`${flag}: unknown "${name}" (one of ${allowed.join(", ")})`);
  }
  if (names.length === 0) throw new UsageError(`${flag} names nothing`);
  return [...new Set(names)] as T[];
}

async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  try {
    return (JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    workloads: { type: "string", short: "w" },
    num: { type: "string", short: "n" },
    "value-size": { type: "string" },
    vs: { type: "string" },
    json: { type: "boolean" },
    report: { type: "string" },
    dir: { type: "string" },
  });
  expectPositionals(positionals, []);
  const num = integerFlag(values, "num", DEFAULT_NUM, 1);
  const valueBytes = integerFlag(values, "value-size", DEFAULT_VALUE_BYTES, 0);
  const workloads = parseList(stringFlag(values, "workloads"), WORKLOADS, DEFAULT_WORKLOADS, "--workloads");
  const peerNames = ENGINES.filter((engine) => engine.name !== "auradb").map((engine) => engine.name);
  const vs = parseList(stringFlag(values, "vs"), peerNames, [], "--vs");
  const json = booleanFlag(values, "json");
  const reportPath = stringFlag(values, "report");
  const parentDir = resolve(stringFlag(values, "dir") ?? tmpdir());
  mkdirSync(parentDir, { recursive: true });
  // With --json, stdout holds only the JSON: progress and notes go to stderr.
  const say = json ? printError : print;
  const progressStream = json ? process.stderr : process.stdout;

  const engines: BenchEngine[] = [ENGINES[0]!, ...vs.map((name) => ENGINES.find((engine) => engine.name === name)!)];
  const skipped: BenchReport["skipped"][number][] = [];
  const loaded: { engine: BenchEngine; version: string | null; open(dir: string): Promise<BenchStore> }[] = [];
  const auradbVersion = await version();
  for (const engine of engines) {
    try {
      const module = await engine.load();
      loaded.push({ engine, version: engine.packageName === null ? auradbVersion : module.version, open: module.open });
    } catch (error) {
      const reason = error instanceof PeerMissingError ? error.message : `${engine.name} could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
      skipped.push({ engine: engine.name, reason });
      (json ? printError : print)(errorColors.yellow(reason));
    }
  }

  const started = new Date();
  const data = sharedData(num, valueBytes);
  const settings: BenchSettings = { num, valueBytes, workloads, progressStream, quiet: false };
  say(colors.bold(`auradb bench: ${formatCount(num)} keys of ${KEY_BYTES} B, values of ${formatBytes(valueBytes)}; ${workloads.join(", ")}`));
  const results: WorkloadResult[] = [];
  const ran: typeof loaded = [];
  for (const entry of loaded) {
    try {
      results.push(...(await runEngine({ name: entry.engine.name, open: entry.open }, parentDir, settings, data)));
      ran.push(entry);
    } catch (error) {
      // A peer whose JS loads but whose native binding does not (built for another runtime
      // version) fails at its first open: skip it like a missing one, with why.
      if (entry.engine.packageName === null || results.some((result) => result.engine === entry.engine.name)) throw error;
      const reason = `${entry.engine.name} could not open a database: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`;
      skipped.push({ engine: entry.engine.name, reason });
      (json ? printError : print)(errorColors.yellow(reason));
    }
  }

  const cpuList = cpus();
  const report: BenchReport = {
    tool: "auradb bench",
    version: auradbVersion,
    startedAt: started.toISOString(),
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? "unknown",
      memoryBytes: totalmem(),
      freeMemoryBytes: freemem(),
      os: `${osType()} ${release()}`,
      runtime: runtimeDescription(),
    },
    config: { num, valueSize: valueBytes, keySize: KEY_BYTES, workloads, engines: ran.map(({ engine }) => engine.name), sampleEvery: SAMPLE_EVERY, seeks: data.seekOrder.length },
    engines: ran.map(({ engine, version }) => ({ name: engine.name, version, notes: engine.notes })),
    skipped,
    results,
  };

  if (reportPath !== undefined) {
    const { renderHtmlReport } = await import("../_bench-html.ts");
    writeFileSync(reportPath, renderHtmlReport(report));
    say(`report written to ${reportPath}`);
  }
  if (json) {
    print(JSON.stringify(report, null, 2));
  } else {
    print("");
    await printTable(report);
    print(
      colors.dim(
        `latency: one op in ${SAMPLE_EVERY} timed alone (fills: every batch of ${BATCH_OPERATIONS}${workloads.includes("fillbatch") ? ` or ${SMALL_BATCH_OPERATIONS}` : ""}; seekrandom: a seek and ${SEEK_ENTRIES} reads); ` +
          `write amp: AuraDB's own byte counters over the workload, "(disk)": bytes on disk after the fill / user bytes`,
      ),
    );
    print(colors.dim(`${report.machine.cpus} × ${report.machine.cpuModel}, ${formatBytes(report.machine.memoryBytes)} RAM, ${report.machine.os}, ${report.machine.runtime}`));
  }
  const failed = results.filter((result) => !result.verified);
  for (const result of failed) printError(errorColors.red(`${result.engine} ${result.workload}: ${result.note ?? "wrong answers"}`));
  return failed.length === 0 ? 0 : 1;
}
