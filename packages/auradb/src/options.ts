/**
 * The engine's options, their defaults and their validation.
 */
import { type AgentOptions, resolveAgentOptions, resolveShape } from "@auradb/compactor";
import { AuraError, type FileSystem, InvalidArgumentError } from "@auradb/fs";
import { BLOCK_COMPRESSIONS, type BlockCompression } from "@auradb/lsm";
import type { SyncPolicy } from "@auradb/wal";

/** The compaction policies (`compaction` option); see the README's "Compaction" section. */
export const COMPACTION_STYLES = ["leveled", "tiered", "lazy-leveling", "fluid", "learned"] as const;
export type CompactionStyle = (typeof COMPACTION_STYLES)[number];

/**
 * Knobs of `compaction: 'learned'`: the agent's own (`@auradb/compactor`'s `AgentOptions`; the
 * size ratio, L1 bytes and level count come from the engine's options) and how the engine feeds it.
 */
export interface CompactionAgentOptions extends Omit<AgentOptions, "sizeRatio" | "level1Bytes" | "levelCount"> {
  /** A workload window ends after this many operations (gets, writes, scans). Default 20,000. */
  readonly windowOperations?: number;
  /** ... or once this much time has passed since it began (checked at operations). Default 1,000 ms. */
  readonly windowMs?: number;
  /**
   * Keep what the agent learned in the database directory (file `COMPACTION-AGENT`), written at
   * close and every `persistEveryWindows` windows, read at open. Default true.
   */
  readonly persist?: boolean;
  /** Default 10. */
  readonly persistEveryWindows?: number;
}

/** `CompactionAgentOptions` with the engine's defaults applied. */
export interface ResolvedCompactionAgentOptions {
  readonly agent: AgentOptions;
  readonly windowOperations: number;
  readonly windowMs: number;
  readonly persist: boolean;
  readonly persistEveryWindows: number;
}

/** What `onEvent` is told. Plain data; new kinds may be added (ignore the ones you do not know). */
export type AuraEvent =
  | { readonly kind: "flush-start" | "flush-end" }
  | { readonly kind: "compaction-start" | "compaction-end"; readonly outputLevel: number; readonly trivialMove: boolean }
  | { readonly kind: "tables-written"; readonly level: number; readonly tables: number }
  | { readonly kind: "gc-start" | "gc-end" }
  | { readonly kind: "wal-roll" };

export interface AuraDBOptions {
  /** The file system. Default: `@auradb/fs/node` (node:fs makes the same calls on all runtimes). */
  readonly fs?: FileSystem;
  /** Create the database when the directory holds none. Default true. */
  readonly createIfMissing?: boolean;
  /** Refuse to open an existing database. Default false. */
  readonly errorIfExists?: boolean;
  /**
   * Open without changing a byte of the directory. Default false. The database must exist; every
   * write (put, delete, batch, flush, compactRange, gcValueLog) fails with `ReadOnlyError`, and no
   * background work runs. Recovery runs as usual (the log is replayed, a torn tail is cut), but
   * what it would write (a fresh manifest, CURRENT, a cut log) stays in memory. The LOCK file is
   * not taken: another process may have the database open for writing; its files may then change
   * under this one, which can fail reads with an error (never damage anything). Memory: the log's
   * records since the last flush are held in the memtable, however many there are.
   */
  readonly readOnly?: boolean;
  /**
   * Called at the start and end of each piece of background work (flush, compaction, value-log GC),
   * after the tables of a flush or compaction are written and synced, and when the WAL rolls to a
   * new segment: for metrics, logs and tests (the kill -9 test aims its kills with it). An end
   * event comes when the work succeeded (a failure turns the database read-only instead, and
   * `stats()` says why). Called synchronously on the engine's path: keep it short. An exception it
   * throws is ignored.
   */
  readonly onEvent?: (event: AuraEvent) => void;
  /**
   * When writes are acknowledged (the WAL's policy): `'none'` (default, LevelDB's: after the OS
   * has the bytes; survives a process crash), `'always'` (after fdatasync; survives power loss),
   * `{ intervalMs }` or `{ bytes }`. A write with `{ sync: true }` always waits for fdatasync.
   */
  readonly sync?: SyncPolicy;
  /** Bytes a memtable takes before it is frozen and flushed. Default 8 MiB. */
  readonly memtableBytes?: number;
  /** Frozen memtables that may wait for flush before writes stall. Default 2. */
  readonly maxImmutableMemtables?: number;
  /** Data block size of tables. Default 4 KiB. */
  readonly blockBytes?: number;
  /** Block cache capacity, shared by all tables. Default 32 MiB. */
  readonly cacheBytes?: number;
  /** Bloom filter bits per key (0: no filter). Default 10 (~1 % false positives). */
  readonly bloomBitsPerKey?: number;
  /**
   * Compression of the data blocks of new tables: `'none'` (default) or `'snappy'` (a block is
   * stored compressed only when that saves at least 12.5 %). Tables written either way are read
   * whatever this option says. See BENCHMARKS.md, "Block compression", for what it costs.
   */
  readonly compression?: BlockCompression;
  /** Size at which compaction cuts output tables. Default 2 MiB. */
  readonly targetFileBytes?: number;
  /** L0 tables that trigger a compaction into L1. Default 4. */
  readonly l0CompactionTrigger?: number;
  /** L0 tables at which each write first yields to the event loop. Default 8. */
  readonly l0SlowdownFiles?: number;
  /** L0 tables at which writes wait for compaction. Default 12. */
  readonly l0StopFiles?: number;
  /** Target size of L1; each deeper level is `sizeRatio` times larger. Default 10 MiB. */
  readonly level1Bytes?: number;
  /** Default 10. */
  readonly sizeRatio?: number;
  /** Largest key accepted, in bytes. Default 64 KiB. */
  readonly keyBytesMax?: number;
  /** Largest value accepted, in bytes. Default 64 MiB. */
  readonly valueBytesMax?: number;
  /** Largest batch accepted, in encoded bytes. Default 128 MiB. */
  readonly batchBytesMax?: number;
  /** WAL segment size. Default 64 MiB. */
  readonly walSegmentBytes?: number;
  /** Run background compactions. Default true (false: only `compactRange` compacts). */
  readonly autoCompaction?: boolean;
  /**
   * The compaction policy: `'leveled'` (default; LevelDB's, one sorted run per level: the fewest
   * runs a read probes), `'tiered'` (up to sizeRatio − 1 runs per level: the least rewriting),
   * `'lazy-leveling'` (tiered above the last level, one run at it), `'fluid'` (the shape you set
   * with `runsPerLevel` and `runsLastLevel`: Dostoevsky's K and Z) or `'learned'` (an agent that
   * re-shapes the tree between those for the workload it measures, and keeps what it learned in
   * the database directory). BENCHMARKS.md, "Compaction policies", has the measurement behind the
   * default. `l0CompactionTrigger`, `l0SlowdownFiles`, `l0StopFiles`, `level1Bytes` and
   * `sizeRatio` are the policy's knobs (for `'learned'` the agent moves the L0 trigger itself).
   */
  readonly compaction?: CompactionStyle;
  /** Knobs of `compaction: 'learned'` (an error with any other policy). */
  readonly compactionAgent?: CompactionAgentOptions;
  /** `compaction: 'fluid'` only: K, the sorted runs each level above the last may hold, in [1, 64]. Default sizeRatio − 1 (tiered). */
  readonly runsPerLevel?: number;
  /** `compaction: 'fluid'` only: Z, the sorted runs the last level may hold, in [1, 64]. Default 1 (leveled). */
  readonly runsLastLevel?: number;
  /**
   * Key-value separation: a put whose value has at least this many bytes writes the value once,
   * to the value log, when it is logged; the WAL, memtable and tables keep the key and a pointer.
   * Default 4096 (BENCHMARKS.md, "Value threshold"). `Infinity` keeps every value inline.
   * `'auto'` follows the observed value sizes (docs/kv-separation.md): the smallest set of large
   * values that carries 80 % of the value bytes is separated, never values under 512 bytes.
   */
  readonly valueThreshold?: number | "auto";
  /** A value-log file is sealed and a new one started at this size. Default 256 MiB. */
  readonly valueLogFileBytes?: number;
  /**
   * Background value-log GC collects a sealed file once this fraction of it is garbage
   * (overwritten or deleted values). Default 0.5; 0 turns background GC off (`gcValueLog()` still
   * works).
   */
  readonly valueLogGcRatio?: number;
  /**
   * Learned indexes in tables (docs/format/sstable.md, "Learned-index block"): `true` fits a
   * model into every table large and regular enough, `false` fits none and reads every table by
   * binary search, `'auto'` (default) fits one when the table is expected to be read enough to
   * repay the fit (packages/auradb/src/learned.ts).
   */
  readonly learnedIndex?: boolean | "auto";
  /**
   * Verify the whole database at open and refuse to open on any damage (default false): every
   * block of every table and every entry of every value-log file is read and its checksum
   * checked (a full read of the database). Without it, damage is found when the damaged part is
   * read (a `CorruptionError` for that read), which is also never wrong data. A torn tail of the
   * newest WAL segment or value-log file is not damage (a crash leaves one; it holds only writes
   * never acknowledged as synced) and is cut in both modes.
   */
  readonly paranoidChecks?: boolean;
}

export interface ResolvedOptions {
  readonly createIfMissing: boolean;
  readonly errorIfExists: boolean;
  readonly readOnly: boolean;
  readonly onEvent: ((event: AuraEvent) => void) | null;
  readonly sync: SyncPolicy;
  readonly memtableBytes: number;
  readonly maxImmutableMemtables: number;
  readonly blockBytes: number;
  readonly cacheBytes: number;
  readonly bloomBitsPerKey: number;
  readonly compression: BlockCompression;
  readonly targetFileBytes: number;
  readonly l0CompactionTrigger: number;
  readonly l0SlowdownFiles: number;
  readonly l0StopFiles: number;
  readonly level1Bytes: number;
  readonly sizeRatio: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly batchBytesMax: number;
  readonly walSegmentBytes: number;
  readonly autoCompaction: boolean;
  readonly compaction: CompactionStyle;
  /** Non-null exactly when `compaction` is 'learned'. */
  readonly compactionAgent: ResolvedCompactionAgentOptions | null;
  /** K and Z of `compaction: 'fluid'` (for the other policies, what they imply; unused). */
  readonly runsPerLevel: number;
  readonly runsLastLevel: number;
  readonly valueThreshold: number | "auto";
  readonly valueLogFileBytes: number;
  readonly valueLogGcRatio: number;
  readonly learnedIndex: boolean | "auto";
  readonly paranoidChecks: boolean;
}

const MIB = 1024 * 1024;

function integer(name: string, value: number | undefined, fallback: number, minimum: number, maximum: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(`auradb: option ${name} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: T | undefined, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !allowed.includes(value)) {
    const list = allowed.map((item) => `'${item}'`).join(", ");
    throw new InvalidArgumentError(`auradb: option ${name} must be one of ${list}, got ${typeof value === "string" ? `'${value}'` : String(value)}`);
  }
  return value;
}

function eventListener(value: AuraDBOptions["onEvent"]): ((event: AuraEvent) => void) | null {
  if (value === undefined) return null;
  if (typeof value !== "function") throw new InvalidArgumentError("auradb: option onEvent must be a function");
  return value;
}

function boolean(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`auradb: option ${name} must be a boolean`);
  return value;
}

function valueThreshold(value: number | "auto" | undefined): number | "auto" {
  if (value === undefined) return 4096;
  if (value === Infinity || value === "auto") return value;
  if (typeof value !== "number") throw new InvalidArgumentError(`auradb: option valueThreshold must be a number of bytes, Infinity or 'auto', got ${String(value)}`);
  return integer("valueThreshold", value, 4096, 1, 512 * MIB);
}

function fraction(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new InvalidArgumentError(`auradb: option ${name} must be a number from 0 up to (not including) 1, got ${String(value)}`);
  }
  return value;
}

/** Fills defaults and checks every option; throws `InvalidArgumentError` naming the bad one. */
export function resolveOptions(options: AuraDBOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb: options must be an object");
  const l0CompactionTrigger = integer("l0CompactionTrigger", options.l0CompactionTrigger, 4, 1, 1000);
  const l0SlowdownFiles = integer("l0SlowdownFiles", options.l0SlowdownFiles, Math.max(8, l0CompactionTrigger * 2), l0CompactionTrigger, 10_000);
  const l0StopFiles = integer("l0StopFiles", options.l0StopFiles, Math.max(12, l0SlowdownFiles + 4), l0SlowdownFiles, 10_000);
  const sync = options.sync ?? "none";
  const sizeRatio = integer("sizeRatio", options.sizeRatio, 10, 2, 1000);
  const level1Bytes = integer("level1Bytes", options.level1Bytes, 10 * MIB, 4096, 1024 * 1024 * MIB);
  const compaction = oneOf("compaction", options.compaction, "leveled", COMPACTION_STYLES);
  const compactionAgent = compactionAgentOption(options.compactionAgent, compaction, sizeRatio, level1Bytes);
  for (const name of ["runsPerLevel", "runsLastLevel"] as const) {
    if (options[name] !== undefined && compaction !== "fluid") throw new InvalidArgumentError(`auradb: option ${name} applies only to compaction 'fluid', not '${compaction}'`);
  }
  const runsPerLevel = integer("runsPerLevel", options.runsPerLevel, Math.max(1, Math.min(sizeRatio - 1, 64)), 1, 64);
  const runsLastLevel = integer("runsLastLevel", options.runsLastLevel, 1, 1, 64);
  if (compaction === "tiered" || compaction === "lazy-leveling" || compaction === "fluid") {
    // NB: the policy's own checks (its ranges are narrower: a size ratio up to 255, L0 triggers up to 64).
    compactorCheck(() => resolveShape({ sizeRatio, level1Bytes, l0Trigger: l0CompactionTrigger, l0SlowdownTrigger: l0SlowdownFiles, l0StopTrigger: l0StopFiles }));
  }
  const readOnly = boolean("readOnly", options.readOnly, false);
  const errorIfExists = boolean("errorIfExists", options.errorIfExists, false);
  if (readOnly && errorIfExists) throw new InvalidArgumentError("auradb: options readOnly and errorIfExists exclude each other (a read-only open needs an existing database)");
  return {
    createIfMissing: boolean("createIfMissing", options.createIfMissing, true),
    errorIfExists,
    readOnly,
    onEvent: eventListener(options.onEvent),
    sync,
    memtableBytes: integer("memtableBytes", options.memtableBytes, 8 * MIB, 4096, 1024 * MIB),
    maxImmutableMemtables: integer("maxImmutableMemtables", options.maxImmutableMemtables, 2, 1, 64),
    blockBytes: integer("blockBytes", options.blockBytes, 4096, 256, 4 * MIB),
    cacheBytes: integer("cacheBytes", options.cacheBytes, 32 * MIB, 0, 64 * 1024 * MIB),
    bloomBitsPerKey: integer("bloomBitsPerKey", options.bloomBitsPerKey, 10, 0, 64),
    compression: oneOf("compression", options.compression, "none", BLOCK_COMPRESSIONS),
    targetFileBytes: integer("targetFileBytes", options.targetFileBytes, 2 * MIB, 4096, 4096 * MIB),
    l0CompactionTrigger,
    l0SlowdownFiles,
    l0StopFiles,
    level1Bytes,
    sizeRatio,
    keyBytesMax: integer("keyBytesMax", options.keyBytesMax, 64 * 1024, 1, 16 * MIB),
    valueBytesMax: integer("valueBytesMax", options.valueBytesMax, 64 * MIB, 0, 512 * MIB),
    batchBytesMax: integer("batchBytesMax", options.batchBytesMax, 128 * MIB, 1024, 1024 * MIB),
    walSegmentBytes: integer("walSegmentBytes", options.walSegmentBytes, 64 * MIB, 64 * 1024, 2048 * MIB),
    autoCompaction: boolean("autoCompaction", options.autoCompaction, true),
    compaction,
    compactionAgent,
    runsPerLevel,
    runsLastLevel,
    valueThreshold: valueThreshold(options.valueThreshold),
    valueLogFileBytes: integer("valueLogFileBytes", options.valueLogFileBytes, 256 * MIB, 64 * 1024, 4096 * MIB),
    valueLogGcRatio: fraction("valueLogGcRatio", options.valueLogGcRatio, 0.5),
    learnedIndex: learnedIndexOption(options.learnedIndex),
    paranoidChecks: booleanOption("paranoidChecks", options.paranoidChecks, false),
  };
}

function learnedIndexOption(value: boolean | "auto" | undefined): boolean | "auto" {
  if (value === undefined) return "auto";
  if (value === true || value === false || value === "auto") return value;
  throw new InvalidArgumentError(`auradb: option learnedIndex must be true, false or 'auto', got ${typeof value === "string" ? `'${value}'` : String(value)}`);
}

function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`auradb: option ${name} must be true or false, got ${String(value)}`);
  return value;
}

/** Runs a check of `@auradb/compactor` and turns its error into the engine's (same code, "option" in the message). */
function compactorCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (AuraError.isInstance(error) && error.code === "AURADB_INVALID_ARGUMENT") {
      throw new InvalidArgumentError(`auradb: compaction option: ${error.message.replace(/^auradb\/compactor: /, "")}`, { cause: error });
    }
    throw error;
  }
}

function compactionAgentOption(
  value: CompactionAgentOptions | undefined,
  compaction: CompactionStyle,
  sizeRatio: number,
  level1Bytes: number,
): ResolvedCompactionAgentOptions | null {
  if (compaction !== "learned") {
    if (value !== undefined) throw new InvalidArgumentError(`auradb: option compactionAgent applies only to compaction 'learned', not '${compaction}'`);
    return null;
  }
  const given = value === undefined ? {} : value;
  if (given === null || typeof given !== "object") throw new InvalidArgumentError("auradb: option compactionAgent must be an object");
  const { windowOperations, windowMs, persist, persistEveryWindows, ...agentOnly } = given;
  const foreign = agentOnly as { sizeRatio?: unknown; level1Bytes?: unknown; levelCount?: unknown };
  if (foreign.sizeRatio !== undefined || foreign.level1Bytes !== undefined || foreign.levelCount !== undefined) {
    throw new InvalidArgumentError("auradb: option compactionAgent takes sizeRatio and level1Bytes from the database's options (and the level count is the engine's)");
  }
  const agent: AgentOptions = { ...agentOnly, sizeRatio, level1Bytes, levelCount: LEVEL_COUNT };
  compactorCheck(() => resolveAgentOptions(agent));
  return {
    agent,
    windowOperations: integer("compactionAgent.windowOperations", windowOperations, 20_000, 1, 1_000_000_000),
    windowMs: integer("compactionAgent.windowMs", windowMs, 1000, 1, 24 * 3600 * 1000),
    persist: booleanOption("compactionAgent.persist", persist, true),
    persistEveryWindows: integer("compactionAgent.persistEveryWindows", persistEveryWindows, 10, 1, 1_000_000),
  };
}

/** Levels of the tree, L0 included (the version set's default, LevelDB's 7). */
export const LEVEL_COUNT = 7;
