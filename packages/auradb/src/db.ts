/**
 * The AuraDB engine: write path, read path, background flush and compaction, recovery.
 * Design: docs/rfcs/20261124_engine.md.
 */
import {
  AuraError,
  ClosedError,
  CorruptionError,
  dirname,
  ErrorCode,
  type File,
  type FileSystem,
  type FsLock,
  InvalidArgumentError,
  joinPath,
  mkdirDurable,
  NotFoundError,
  ReadOnlyError,
  ReadOnlyOverlayFs,
  isNotFound,
  readFile,
  writeFileAtomic,
} from "@auradb/fs";
import { CompactionAgent, type CompactionPolicy as ShapePolicy, type DecisionRecord, type ShapeParameters, levelTargetBytes } from "@auradb/compactor";
import { nodeFs } from "@auradb/fs/node";
import {
  BlockCache,
  CompactionIterator,
  compareBytes,
  copyBytes,
  FileKind,
  type EntryBatch,
  type InternalIterator,
  type LearnedTableStats,
  LeveledPolicy,
  LevelIterator,
  LOCK_FILE,
  Memtable,
  MergingIterator,
  parseFileName,
  TableBuilder,
  type TableMeta,
  tableFileName,
  TableReader,
  UserIterator,
  ValueKind,
  type Version,
  VersionSet,
  WAL_DIRECTORY,
} from "@auradb/lsm";
import { decodePointer, encodePointer, ValueLog, type VlogEntry, type ValuePointer } from "@auradb/vlog";
import { Wal } from "@auradb/wal";
import { setImmediate } from "node:timers";
import { decodeBatch, encodeBatch, type Operation } from "./codec.ts";
import { type AuraDBOptions, type AuraEvent, type CompactionStyle, LEVEL_COUNT, type ResolvedOptions, resolveOptions } from "./options.ts";
import {
  type CompactionJob,
  fixedPolicy,
  jobFromDecision,
  keyMayExistOutside,
  LATENCY_SAMPLE_EVERY,
  leveledShape,
  mergeRunsJob,
  rangeJob,
  tableHolding,
  treeViewOf,
  WindowRecorder,
} from "./compaction.ts";
import { LearnedAdvisor, type LearnedLevelStats } from "./learned.ts";
import { AutoThreshold } from "./threshold.ts";

/** A key or value as the API accepts it: bytes, or a string (UTF-8 encoded). */
export type Bytes = Uint8Array | string;

/** One operation of `batch`. */
export type BatchOperation = { type: "put"; key: Bytes; value: Bytes } | { type: "del"; key: Bytes };

export interface WriteOptions {
  /**
   * `true`: wait for fdatasync before resolving (survives power loss). Otherwise the database's
   * `sync` policy applies (under `'always'` every write is synced).
   */
  readonly sync?: boolean;
}

export interface ReadOptions {
  /** Read as of this snapshot. */
  readonly snapshot?: Snapshot;
}

export interface RangeOptions extends ReadOptions {
  readonly gt?: Bytes;
  readonly gte?: Bytes;
  readonly lt?: Bytes;
  readonly lte?: Bytes;
  readonly reverse?: boolean;
  /** At most this many entries (-1 or undefined: no limit). */
  readonly limit?: number;
}

/**
 * Value-log bytes that became garbage in one flush or compaction (pointers it dropped), for the
 * manifest edit that makes the drop durable.
 */
class GarbageTally {
  private readonly bytes = new Map<number, number>();
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  readonly onDropPointer = (_key: Uint8Array, _seq: number, value: Uint8Array): void => {
    const pointer = decodePointer(value, this.path);
    this.bytes.set(pointer.fileNumber, (this.bytes.get(pointer.fileNumber) ?? 0) + pointer.size);
  };

  entries(): { fileNumber: number; bytes: number }[] {
    return [...this.bytes].map(([fileNumber, bytes]) => ({ fileNumber, bytes }));
  }
}

/** What recovery did at open. */
export interface RecoveryReport {
  /** WAL records replayed into the memtable. */
  readonly replayedRecords: number;
  /**
   * Set when the log was cut: the record at `lsn` points to a separated value that is missing or
   * damaged (a crash before the value was durable), so it and every later record were dropped.
   */
  readonly cut: { readonly lsn: number; readonly reason: string } | null;
}

/** What `gcValueLog()` did. */
export interface GcResult {
  /** Value-log files collected (their live values moved; deleted once no reader needs them). */
  readonly filesCollected: number;
  readonly entriesRelocated: number;
  readonly bytesRelocated: number;
  /** Bytes of the collected files. */
  readonly bytesReclaimed: number;
}

/** What `stats()` reports. */
export interface DbStats {
  /** Per level: tables, bytes, and sorted runs (L0: one per table). */
  readonly levels: { level: number; files: number; bytes: number; runs: number }[];
  /** User operations since open, and the table probes of the gets (read amplification). */
  readonly operations: {
    readonly reads: number;
    readonly readMisses: number;
    /** Tables whose key range held a get's key and were asked (Bloom filter first): per get, the read amplification. */
    readonly tableProbes: number;
    readonly tableProbesPerRead: number;
    readonly writes: number;
    readonly scans: number;
    readonly scannedEntries: number;
  };
  /** The compaction policy, the shape it enforces, and for 'learned' what the agent does. */
  readonly compaction: CompactionStats;
  readonly memtableBytes: number;
  readonly immutableMemtables: number;
  readonly sequence: number;
  /** Bytes the user handed in (keys + values). */
  readonly userBytesWritten: number;
  readonly walBytesWritten: number;
  readonly flushBytesWritten: number;
  readonly compactionBytesRead: number;
  readonly compactionBytesWritten: number;
  /** (WAL + value log + flush + compaction bytes) / user bytes. */
  readonly writeAmplification: number;
  readonly flushes: number;
  readonly compactions: number;
  readonly cache: { hits: number; misses: number; bytes: number; capacityBytes: number; hitRate: number };
  readonly bloom: { checks: number; useful: number; falsePositives: number };
  readonly stallMs: number;
  /** The value log (key-value separation) and its garbage collection. */
  readonly valueLog: {
    /** Values of at least this many bytes are separated (the current one, with `'auto'`). */
    readonly threshold: number;
    readonly files: number;
    readonly bytes: number;
    /** Bytes of values overwritten or deleted (counted by flushes and compactions). */
    readonly garbageBytes: number;
    /** Bytes appended (fresh values and GC relocations, with entry headers). */
    readonly bytesWritten: number;
    /** User value bytes written to the value log instead of the WAL. */
    readonly separatedValueBytes: number;
    readonly reads: number;
    readonly bytesRead: number;
    readonly gcRuns: number;
    readonly gcFilesCollected: number;
    readonly gcEntriesRelocated: number;
    readonly gcBytesRelocated: number;
    /** Collected files kept until the snapshots and iterators that may read them are gone. */
    readonly filesAwaitingDelete: number;
  };
  /** Learned indexes: the option, the cost-benefit rule's history, and how the models do. */
  readonly learnedIndex: {
    readonly mode: boolean | "auto";
    /** Tables by learned-index status ("learned", "off", "tiny-table", "too-many-segments", "not-worth-it", "disabled", "no-gain"). */
    readonly tablesByStatus: Record<string, number>;
    /** Lookups located by a model, and those it pinned to one data block (no index search). */
    readonly lookups: number;
    readonly direct: number;
    /** direct / lookups. */
    readonly hitRate: number;
    /** Mean predicted window, in keys, over the lookups. */
    readonly averageWindow: number;
    /** Bytes of the models held in memory. */
    readonly modelBytes: number;
    /** Measured cost of fitting, ns per key. */
    readonly fitNanosPerKey: number;
    /** The rule's history per level ('auto'). */
    readonly levels: LearnedLevelStats[];
  };
  /** Every table: its level, size, entries, and its learned index. */
  readonly tables: { level: number; fileNumber: number; bytes: number; entries: number; lookups: number; learned: LearnedTableStats }[];
  readonly backgroundError: string | null;
}

/** What `stats().compaction` reports. */
export interface CompactionStats {
  readonly policy: CompactionStyle;
  /** The shape in force (for 'learned', the agent's latest choice). */
  readonly shape: ShapeParameters;
  /** Per level: runs, tables, bytes, and the target bytes of the shape (L0: 0). */
  readonly levels: { level: number; runs: number; tables: number; bytes: number; targetBytes: number }[];
  /** Runs a get may probe: every L0 table plus every run below. */
  readonly runsPerRead: number;
  /** Why the last compaction ran (the policy's reason), or null before the first. */
  readonly lastReason: string | null;
  readonly agent: AgentReport | null;
}

/** The agent's part of `stats().compaction` (`compaction: 'learned'`). */
export interface AgentReport {
  /** The workload bucket of the last window (the agent's state), e.g. "w70-100% s<5%", or null before the first window. */
  readonly state: string | null;
  readonly config: { readonly runsUpper: number; readonly runsLast: number; readonly l0Trigger: number };
  readonly lastAction: string | null;
  /** How the last action was chosen: "greedy", "explore", "rollback", "safety", "recall" or "dwell" (kept: the shape moved to is still being measured). */
  readonly lastKind: string | null;
  /** The rewards of the last windows, oldest first (−log of the cost per operation). */
  readonly recentRewards: number[];
  /** ε of the current bucket: the chance the next window explores. */
  readonly explorationRate: number;
  readonly windows: number;
  readonly explorations: number;
  readonly rollbacks: number;
  /** Jumps to a workload's best remembered shape when that workload came back. */
  readonly recalls: number;
  /** The state file (`COMPACTION-AGENT`): "fresh" (none yet), "restored", or "reset" (unreadable: started over; `error` says why). */
  readonly stateFile: { readonly status: "fresh" | "restored" | "reset"; readonly error: string | null; readonly saves: number; readonly saveError: string | null };
  /** The last error observing a window (the window was dropped), or null. */
  readonly lastError: string | null;
  /** The last decision records, oldest first. */
  readonly decisions: DecisionRecord[];
}

/** The agent's learned state, in the database directory (format: docs/format/compactor-state.md). */
export const AGENT_STATE_FILE = "COMPACTION-AGENT";
/** Decision records `stats()` shows. */
const AGENT_DECISIONS_SHOWN = 20;
/** The agent state file is a few KiB; anything past this is not one. */
const AGENT_STATE_BYTES_MAX = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const SYNC = { sync: true } as const;
const VLOG_DIRECTORY = "vlog";
/**
 * Separated values (or iterator batches of them) up to this size are read with a synchronous
 * positional read even by the async API: from the page cache that costs a few µs, less than the
 * thread-pool round trip of an asynchronous read (~30 µs here); larger reads do not block.
 */
const SYNC_READ_BYTES_MAX = 1024 * 1024;
/** The same for the values of one iterator batch (up to 256 entries: ~2 ms of reads at most). */
const SYNC_BATCH_READ_BYTES_MAX = 4 * 1024 * 1024;
/** Background value-log GC reads at most this many bytes per second. */
const GC_BACKGROUND_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** Live entries relocated per write. */
const GC_BATCH_ENTRIES = 256;
const GC_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Background GC slows user writes down (one yield each) while the value log's closed files hold
 * at least this share of garbage: space amplification 2.5 there. Above the default collection
 * ratio (0.5), so that ordinary GC runs without slowing anyone.
 */
const GC_SLOWDOWN_GARBAGE_SHARE = 0.6;
/** While background GC runs, one user write in this many yields to the event loop (fairness, see `write`). */
const GC_YIELD_EVERY_WRITES = 16;
/** The value log's own limit on one value. */
const VLOG_VALUE_BYTES_MAX = 256 * 1024 * 1024;

/**
 * Why the separated value a recovered WAL record points to is unusable, or null when it reads
 * back intact (checksum, size and key). Only a damaged or missing value is a reason: an I/O error
 * is thrown.
 */
function verifyPointer(vlog: ValueLog, key: Uint8Array, pointerBytes: Uint8Array, path: string): string | null {
  try {
    vlog.readSync(decodePointer(pointerBytes, path), key);
    return null;
  } catch (error) {
    if (AuraError.isInstance(error) && (error.code === ErrorCode.Corruption || error.code === ErrorCode.NotFound)) return error.message;
    throw error;
  }
}
/**
 * A memtable is also frozen once the values it points to in the value log reach this many times
 * `memtableBytes`: recovery verifies every pointer of the unflushed log by reading its value, so
 * this bounds what a reopen reads (64 MiB with the defaults).
 */
const SEPARATED_BYTES_PER_MEMTABLE_FACTOR = 8;
const EMPTY: Uint8Array = new Uint8Array(0);

function toBytes(value: Bytes, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  throw new InvalidArgumentError(`auradb: ${what} must be a Uint8Array or a string`);
}

interface OpenTable {
  readonly file: File;
  readonly reader: TableReader;
}

interface FrozenMemtable {
  readonly memtable: Memtable;
  /** LSN of the last WAL record applied to it. */
  readonly lastLsn: number;
}

/** A consistent view of the database, until released. */
export class Snapshot {
  /** Reads see every write with a sequence number up to this. */
  readonly seq: number;
  private readonly db: AuraDB;
  private released = false;

  /** @internal Created by `db.snapshot()`. */
  constructor(db: AuraDB, seq: number) {
    this.db = db;
    this.seq = seq;
  }

  get(key: Bytes): Promise<Uint8Array | undefined> {
    return this.db.get(key, { snapshot: this });
  }

  getSync(key: Bytes): Uint8Array | undefined {
    return this.db.getSync(key, { snapshot: this });
  }

  iterator(options: Omit<RangeOptions, "snapshot"> = {}): DbIterator {
    return this.db.iterator({ ...options, snapshot: this });
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Lets compaction drop the versions this snapshot kept. A second call is a no-op. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.db._releaseSnapshot(this);
  }
}

/** @internal Turns the value pointers of a batch into values. */
export interface PointerResolver {
  resolveSync(batch: EntryBatch): void;
  resolve(batch: EntryBatch): Promise<void>;
}

function hasPointer(batch: EntryBatch): boolean {
  const kinds = batch.kinds;
  for (let index = 0; index < kinds.length; index++) if (kinds[index] === ValueKind.PutPointer) return true;
  return false;
}

/** Entries fetched from the tree per refill: amortises the copies and the bookkeeping. */
const ITERATOR_BATCH_ENTRIES = 256;

/**
 * An iterator over `[key, value]` pairs in key order (or reverse), both sync- and
 * async-iterable. Keys and values are copies the caller owns (NB: packed into shared 16 KiB
 * slabs, so a kept key may keep its slab alive). Close it (or run it to the end) to unpin the
 * tables it reads.
 */
export class DbIterator implements Iterable<[Uint8Array, Uint8Array]>, AsyncIterable<[Uint8Array, Uint8Array]> {
  private readonly inner: UserIterator;
  private readonly onClose: (returned: number) => void;
  private readonly resolver: PointerResolver | null;
  private batch: EntryBatch = { keys: [], values: [], kinds: [] };
  private index = 0;
  /** Entries handed to the caller (what `limit` counts across seeks). */
  private returned = 0;
  private closed = false;

  /** @internal `resolver` turns value pointers into values (null: values are not wanted). */
  constructor(inner: UserIterator, onClose: (returned: number) => void, resolver: PointerResolver | null) {
    this.inner = inner;
    this.onClose = onClose;
    this.resolver = resolver;
  }

  /** The next entry, or undefined at the end (then the iterator is closed). */
  nextSync(): [Uint8Array, Uint8Array] | undefined {
    if (this.index >= this.batch.keys.length) {
      if (!this.refill()) return undefined;
      if (this.resolver !== null && hasPointer(this.batch)) this.resolver.resolveSync(this.batch);
    }
    const index = this.index++;
    this.returned++;
    return [this.batch.keys[index]!, this.batch.values[index]!];
  }

  /** The next entry; separated values of a batch are read together, without blocking. */
  async next(): Promise<[Uint8Array, Uint8Array] | undefined> {
    if (this.index >= this.batch.keys.length) {
      if (!this.refill()) return undefined;
      if (this.resolver !== null && hasPointer(this.batch)) await this.resolver.resolve(this.batch);
    }
    const index = this.index++;
    this.returned++;
    return [this.batch.keys[index]!, this.batch.values[index]!];
  }

  /** Fetches the next batch of entries; false (and closed) at the end. */
  private refill(): boolean {
    if (this.closed) return false;
    this.batch = this.inner.nextBatch(ITERATOR_BATCH_ENTRIES, this.batch);
    this.index = 0;
    if (this.batch.keys.length === 0) {
      this.close();
      return false;
    }
    return true;
  }

  /**
   * Moves to the first entry at or after `target` (at or before it, for a reverse iterator),
   * within the iterator's bounds. Entries already returned still count against `limit` (entries
   * read ahead and not returned do not).
   */
  seek(target: Bytes): void {
    if (this.closed) throw new ClosedError("auradb: the iterator is closed");
    // NB: entries read ahead into the batch and dropped here do not count against `limit`.
    this.inner.seek(toBytes(target, "a seek target"), this.returned);
    this.batch.keys.length = 0;
    this.index = 0;
  }

  /** Releases what the iterator pins. A second call is a no-op. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batch = { keys: [], values: [], kinds: [] };
    this.inner.close();
    this.onClose(this.returned);
  }

  [Symbol.iterator](): Iterator<[Uint8Array, Uint8Array]> {
    return {
      next: (): IteratorResult<[Uint8Array, Uint8Array]> => {
        const entry = this.nextSync();
        return entry === undefined ? { done: true, value: undefined } : { done: false, value: entry };
      },
      return: (): IteratorResult<[Uint8Array, Uint8Array]> => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * NB: a plain object rather than an async generator: a generator costs extra Promises per
   * entry (measured 2.3× slower on Node, 4.9× on Deno).
   */
  [Symbol.asyncIterator](): AsyncIterator<[Uint8Array, Uint8Array]> {
    const iterator = this[Symbol.iterator]();
    return {
      next: () => {
        try {
          // NB: only a batch with separated values needs a Promise beyond the result's.
          if (this.index < this.batch.keys.length || this.resolver === null) return Promise.resolve(iterator.next());
          return this.next().then((entry) => (entry === undefined ? { done: true, value: undefined } : { done: false, value: entry }));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      return: () => Promise.resolve(iterator.return!()),
    };
  }
}

/**
 * An embedded LSM key-value store.
 *
 * ```ts
 * const db = await AuraDB.open("./data");
 * await db.put("hello", "world");
 * db.getSync("hello"); // Uint8Array of "world"
 * await db.close();
 * ```
 */
export class AuraDB {
  readonly path: string;
  readonly fs: FileSystem;
  private readonly options: ResolvedOptions;
  private readonly lock: FsLock;
  private readonly wal: Wal;
  private readonly versions: VersionSet;
  private readonly cache: BlockCache;
  private readonly tables = new Map<number, OpenTable>();
  /** LevelDB's picker, for `compaction: 'leveled'` while every level holds one run; else null. */
  private readonly policy: LeveledPolicy | null;
  /** The `@auradb/compactor` policy: tiered, lazy leveling, the agent; for 'leveled', the fallback that merges extra runs. */
  private shapePolicy: ShapePolicy;
  /** `compaction: 'learned'`: the agent (also `shapePolicy`) and the window it is fed. */
  private agent: CompactionAgent | null = null;
  private readonly recorder: WindowRecorder | null;
  private agentStateFile: { status: "fresh" | "restored" | "reset"; error: string | null; saves: number; saveError: string | null } = {
    status: "fresh",
    error: null,
    saves: 0,
    saveError: null,
  };
  private agentSaving: Promise<void> = Promise.resolve();
  /** The last error of the agent's `observe` (that window was dropped), or null. */
  private agentError: string | null = null;
  private windowsSinceSave = 0;
  /** Operations since the last latency sample. */
  private sampleTick = 0;
  /** L0 tables at which writes slow down and stop: the shape's (they follow the agent's L0 trigger). */
  private l0SlowdownFiles: number;
  private l0StopFiles: number;
  /** compactRange calls running: background compaction waits (both would reshape the same levels). */
  private manualCompactions = 0;
  private lastCompactionReason: string | null = null;
  private memtable: Memtable;
  private activeLastLsn: number;
  /** Oldest first. */
  private immutables: FrozenMemtable[] = [];
  private nextSeq: number;
  private visibleSeq: number;
  private readonly snapshots = new Map<Snapshot, number>();
  /** What the last open found in the log. */
  recovery: RecoveryReport = { replayedRecords: 0, cut: null };
  /** Open iterators and their read sequence numbers (they may read value-log files). */
  private readonly readers = new Map<object, number>();
  private readonly vlog: ValueLog;
  /** Values appended to the value log without a sync since the last synced append or sync. */
  private vlogDirty = false;
  /** Writes that took sequence numbers and have not reached the memtable (or failed). */
  private writesInFlight = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set while an exclusive write (GC relocation) waits for in-flight writes to drain. */
  private writeBarrier: Promise<void> | null = null;
  /** Writes between their value-log append and their WAL append. */
  private vlogInFlight = 0;
  /** Resolves when the last write that waited for the value log has issued its WAL append. */
  private walTurn: Promise<void> = Promise.resolve();
  /** The adaptive separation threshold (option `valueThreshold: 'auto'`), else null. */
  private readonly autoThreshold: AutoThreshold | null;
  /** Which new tables get a learned index (`learnedIndex` option). */
  private readonly learned: LearnedAdvisor;
  /** Bytes of separated values the active memtable points to. */
  private activeSeparatedBytes = 0;
  /** Value-log files collected by GC, deleted once no reader older than `afterSeq` remains. */
  private pendingVlogDeletes: { fileNumber: number; afterSeq: number }[] = [];
  /** Collected value-log files being deleted now. */
  private readonly vlogDeleting = new Set<number>();
  private gcRunning: Promise<GcResult> | null = null;
  /**
   * True while background value-log GC runs and the value log's closed files are mostly garbage
   * (share >= GC_SLOWDOWN_GARBAGE_SHARE): user writes then yield to the event loop once each, so
   * that GC, which shares the thread, keeps up with a sustained overwrite load (the soak found it
   * collecting at a fifteenth of its idle speed under 8 busy writers, the log growing unbounded).
   */
  private gcBehind = false;
  /** The last write waiting in `admit` (later writes queue behind it), or null. */
  private admission: Promise<void> | null = null;
  /** User writes since the last one that yielded to a running GC. */
  private writesSinceGcYield = 0;
  private readonly resolver: PointerResolver = {
    resolveSync: (batch) => {
      const { slots, pointers, keys } = this.pointersOf(batch);
      const values = this.vlog.readManySync(pointers, keys);
      for (let index = 0; index < slots.length; index++) batch.values[slots[index]!] = values[index]!;
    },
    resolve: async (batch) => {
      const { slots, pointers, keys } = this.pointersOf(batch);
      let bytes = 0;
      for (const pointer of pointers) bytes += pointer.size;
      // NB: small reads go synchronously even here: a positional read from the page cache costs a
      // few µs, a thread-pool round trip 30+ µs (measured: async readseq of 4 KiB values 35 k/s,
      // sync 90 k/s); only batches over SYNC_BATCH_READ_BYTES_MAX avoid blocking the thread.
      const values = bytes <= SYNC_BATCH_READ_BYTES_MAX ? this.vlog.readManySync(pointers, keys) : await this.vlog.readMany(pointers, keys);
      for (let index = 0; index < slots.length; index++) batch.values[slots[index]!] = values[index]!;
    },
  };
  private readonly busy = new Set<number>();
  private closed = false;
  private closing = false;
  private backgroundError: unknown = null;
  private flushing: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  /** Writers waiting for room (a flush or compaction to finish). */
  private roomWaiters: (() => void)[] = [];
  private readonly counters = {
    userBytes: 0,
    walBytes: 0,
    flushBytes: 0,
    compactionRead: 0,
    compactionWritten: 0,
    flushes: 0,
    compactions: 0,
    stallMs: 0,
    reads: 0,
    readMisses: 0,
    tableProbes: 0,
    writeOperations: 0,
    scans: 0,
    scannedEntries: 0,
    separatedBytes: 0,
    gcRuns: 0,
    gcFilesCollected: 0,
    gcEntriesRelocated: 0,
    gcBytesRelocated: 0,
  };

  private constructor(init: {
    path: string;
    fs: FileSystem;
    options: ResolvedOptions;
    lock: FsLock;
    wal: Wal;
    vlog: ValueLog;
    versions: VersionSet;
    cache: BlockCache;
    memtable: Memtable;
    lastLsn: number;
    lastSeq: number;
  }) {
    this.path = init.path;
    this.fs = init.fs;
    this.options = init.options;
    this.lock = init.lock;
    this.wal = init.wal;
    this.vlog = init.vlog;
    this.autoThreshold = init.options.valueThreshold === "auto" ? new AutoThreshold() : null;
    this.learned = new LearnedAdvisor(init.options.learnedIndex);
    this.versions = init.versions;
    this.cache = init.cache;
    this.memtable = init.memtable;
    this.activeLastLsn = init.lastLsn;
    this.nextSeq = init.lastSeq + 1;
    this.visibleSeq = init.lastSeq;
    const options = init.options;
    this.policy =
      options.compaction === "leveled"
        ? new LeveledPolicy({
            l0CompactionTrigger: options.l0CompactionTrigger,
            level1Bytes: options.level1Bytes,
            sizeRatio: options.sizeRatio,
            targetFileBytes: options.targetFileBytes,
          })
        : null;
    if (options.compactionAgent !== null) {
      this.agent = new CompactionAgent(options.compactionAgent.agent);
      this.shapePolicy = this.agent;
    } else {
      this.shapePolicy = fixedPolicy(options.compaction === "learned" ? "leveled" : options.compaction, options, LEVEL_COUNT);
    }
    this.recorder = this.agent === null ? null : new WindowRecorder(0);
    this.l0SlowdownFiles = options.l0SlowdownFiles;
    this.l0StopFiles = options.l0StopFiles;
    this.followShape();
  }

  /** Back-pressure follows the policy's L0 triggers ('leveled': the options', as before). */
  private followShape(): void {
    if (this.policy !== null) return;
    const shape = this.shapePolicy.shape();
    this.l0SlowdownFiles = shape.l0SlowdownTrigger;
    this.l0StopFiles = shape.l0StopTrigger;
  }

  /**
   * Opens (or creates) the database in directory `path`. Recovery replays the WAL into a
   * memtable: the result is the state after a prefix of the acknowledged writes that includes
   * every write acknowledged with sync. Throws `LockedError` when another process has it open,
   * `NotFoundError` when it is missing and `createIfMissing` is false, `InvalidArgumentError`
   * for a directory that holds something else, `CorruptionError` for damaged metadata.
   */
  static async open(path: string, options: AuraDBOptions = {}): Promise<AuraDB> {
    if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError("auradb: open takes a directory path");
    let resolved = resolveOptions(options);
    let fs = options.fs ?? nodeFs();
    if (resolved.readOnly) {
      // NB: recovery runs unchanged on a copy-on-write overlay: whatever it writes stays in memory.
      if (!(await VersionSet.exists(fs, path))) throw new NotFoundError(`auradb: no database at ${path} (a read-only open creates none)`, { path });
      fs = new ReadOnlyOverlayFs(fs);
      // NB: the agent's state is still read (stats show what it learned), never saved.
      resolved = { ...resolved, createIfMissing: false, autoCompaction: false, valueLogGcRatio: 0 };
    }
    const existed = await fs.exists(path);
    if (!existed && !resolved.createIfMissing) throw new NotFoundError(`auradb: no database at ${path}`, { path });
    await mkdirDurable(fs, path);
    const lock = await fs.lock(joinPath(path, LOCK_FILE));
    try {
      const hasDatabase = await VersionSet.exists(fs, path);
      if (hasDatabase && resolved.errorIfExists) throw new InvalidArgumentError(`auradb: a database exists at ${path}`, { path });
      if (!hasDatabase) {
        if (!resolved.createIfMissing) throw new NotFoundError(`auradb: no database at ${path}`, { path });
        const names = (await fs.list(path)).filter((name) => name !== LOCK_FILE);
        // A creation that failed before CURRENT was written leaves a manifest or a temporary
        // file and nothing else (no write was ever acknowledged): start it over.
        const leftovers = names.filter((name) => {
          const parsed = parseFileName(name);
          return parsed !== null && (parsed.kind === FileKind.Manifest || parsed.kind === FileKind.Temporary);
        });
        const foreign = names.filter((name) => !leftovers.includes(name));
        if (foreign.length > 0) {
          throw new InvalidArgumentError(`auradb: ${path} is not empty and holds no database (found ${foreign.slice(0, 3).join(", ")})`, { path });
        }
        for (const name of leftovers) await fs.remove(joinPath(path, name));
        // NB: the directory's entry in its parent must be durable before any write in it is
        // acknowledged; a sync that failed in an earlier attempt at creating it is retried here.
        if (dirname(path) !== path) await fs.syncDir(dirname(path));
      }
      return await AuraDB.recover(path, fs, resolved, lock);
    } catch (error) {
      await lock.release().catch(() => {});
      throw error;
    }
  }

  private static async recover(path: string, fs: FileSystem, options: ResolvedOptions, lock: FsLock): Promise<AuraDB> {
    // NB: tables become obsolete only through compactions, which start after `db` exists.
    let removeTables: (fileNumbers: number[]) => void = () => {};
    const versions = await VersionSet.open(fs, path, { onObsolete: (numbers) => removeTables(numbers) });
    const cache = new BlockCache(options.cacheBytes);
    const tables = new Map<number, OpenTable>();
    try {
      for (const level of versions.current.levels) {
        for (const table of level) tables.set(table.fileNumber, await openTable(fs, path, table, cache, options.learnedIndex !== false));
      }
      const wal = await Wal.open({
        dir: joinPath(path, WAL_DIRECTORY),
        fs,
        sync: options.sync,
        segmentBytes: options.walSegmentBytes,
        recordBytesMax: options.batchBytesMax,
      });
      let vlog: ValueLog;
      try {
        vlog = await ValueLog.open({
          dir: joinPath(path, VLOG_DIRECTORY),
          fs,
          fileBytes: options.valueLogFileBytes,
          keyBytesMax: options.keyBytesMax,
          valueBytesMax: Math.min(options.valueBytesMax, VLOG_VALUE_BYTES_MAX),
          // NB: older files were synced whole before their successors started: only the newest
          // of each partition can have a torn tail.
          recoveryScan: "newest",
        });
      } catch (error) {
        await wal.close().catch(() => {});
        throw error;
      }
      if (options.paranoidChecks) {
        try {
          await verifyEverything(tables, vlog);
        } catch (error) {
          await wal.close().catch(() => {});
          await vlog.close().catch(() => {});
          throw error;
        }
      }
      const memtable = new Memtable();
      let lastSeq = versions.lastSequence;
      let lastLsn = versions.logLsn - 1;
      let cut: RecoveryReport["cut"] = null;
      let replayed = 0;
      let separatedBytes = 0;
      try {
        replay: for await (const record of wal.replay({ from: versions.logLsn })) {
          if (replayed === 0 && record.lsn !== versions.logLsn) throw missingLog(path, versions.logLsn, record.lsn);
          const batch = decodeBatch(record.data, joinPath(path, WAL_DIRECTORY));
          // Values before pointers (invariant 9): a record whose separated value did not survive
          // the crash ends the recovered prefix; it and every later record are dropped.
          for (const operation of batch.operations) {
            if (operation.kind !== ValueKind.PutPointer) continue;
            const reason = verifyPointer(vlog, operation.key, operation.value, path);
            if (reason !== null) {
              cut = { lsn: record.lsn, reason };
              break replay;
            }
            separatedBytes += decodePointer(operation.value, path).size;
          }
          batch.operations.forEach((operation, index) => memtable.add(operation.key, batch.baseSeq + index, operation.kind, operation.value));
          lastSeq = Math.max(lastSeq, batch.baseSeq + batch.operations.length - 1);
          lastLsn = record.lsn;
          replayed++;
        }
      } catch (error) {
        await wal.close().catch(() => {});
        await vlog.close().catch(() => {});
        throw error;
      }
      if (replayed === 0 && cut === null && wal.nextLsn > versions.logLsn) {
        await wal.close().catch(() => {});
        await vlog.close().catch(() => {});
        throw missingLog(path, versions.logLsn, wal.nextLsn);
      }
      const db = new AuraDB({ path, fs, options, lock, wal, vlog, versions, cache, memtable, lastLsn, lastSeq });
      db.recovery = { replayedRecords: replayed, cut };
      db.activeSeparatedBytes = separatedBytes;
      for (const [number, table] of tables) db.tables.set(number, table);
      tables.clear(); // NB: the database owns them now
      removeTables = (numbers) => void db.removeTables(numbers);
      try {
        // NB: orphans first: a table written before the crash but never recorded in the manifest
        // has a number the version set hands out again, and the checkpoint below may write it.
        await db.deleteUnreferencedFiles();
        if (cut !== null) {
          // NB: the dropped records must never be replayed again (later writes follow them in
          // the log): checkpoint the recovered prefix and move the log's start past them all.
          await db.checkpointAfterCut();
        }
      } catch (error) {
        await db.close().catch(() => {});
        throw error;
      }
      // NB: a read-only database keeps what the log held in its memtable, whatever its size.
      if (memtable.approximateBytes >= options.memtableBytes && !options.readOnly) db.freezeMemtable();
      await db.loadAgent();
      db.scheduleCompaction();
      return db;
    } catch (error) {
      for (const table of tables.values()) await table.file.close().catch(() => {});
      await versions.close().catch(() => {});
      throw error;
    }
  }

  /**
   * After recovery cut the log (a separated value that did not survive): flushes the recovered
   * memtable and records a log position past every record in the WAL, so the dropped records are
   * never replayed (the log holds later writes after them from now on).
   */
  private async checkpointAfterCut(): Promise<void> {
    const endLsn = this.wal.nextLsn;
    await this.wal.roll();
    if (this.memtable.entryCount > 0) {
      this.immutables.push({ memtable: this.memtable, lastLsn: endLsn - 1 });
      this.memtable = new Memtable();
      this.activeSeparatedBytes = 0;
      await this.flushOldest();
    } else {
      await this.versions.logAndApply({ logLsn: endLsn });
      await this.wal.removeBefore(endLsn);
    }
    this.activeLastLsn = endLsn - 1;
  }

  // --- writes ---

  /** Stores `value` under `key`. Resolves once acknowledged per the sync policy (or `sync`). */
  put(key: Bytes, value: Bytes, options?: WriteOptions): Promise<void> {
    try {
      return this.timed(this.write([this.operation(ValueKind.Put, key, value)], options?.sync));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes `key` (a no-op for an absent key). */
  delete(key: Bytes, options?: WriteOptions): Promise<void> {
    try {
      return this.timed(this.write([this.operation(ValueKind.Delete, key, EMPTY)], options?.sync));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Applies all operations atomically: after a crash, all or none are there. */
  batch(operations: readonly BatchOperation[], options?: WriteOptions): Promise<void> {
    try {
      if (!Array.isArray(operations)) throw new InvalidArgumentError("auradb: batch takes an array of operations");
      const converted: Operation[] = new Array(operations.length);
      for (let index = 0; index < operations.length; index++) {
        const operation = operations[index]!;
        if (operation === null || typeof operation !== "object") throw new InvalidArgumentError(`auradb: batch operation ${index} is not an object`);
        if (operation.type === "put") converted[index] = this.operation(ValueKind.Put, operation.key, operation.value);
        else if (operation.type === "del") converted[index] = this.operation(ValueKind.Delete, operation.key, EMPTY);
        else throw new InvalidArgumentError(`auradb: batch operation ${index} has type ${String((operation as { type: unknown }).type)}`);
      }
      if (converted.length === 0) return Promise.resolve();
      return this.timed(this.write(converted, options?.sync));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** For the agent's window: times one write in LATENCY_SAMPLE_EVERY, call to acknowledgment. */
  private timed(written: Promise<void>): Promise<void> {
    const recorder = this.recorder;
    if (recorder === null || ++this.sampleTick < LATENCY_SAMPLE_EVERY) return written;
    this.sampleTick = 0;
    const started = performance.now();
    return written.then(() => recorder.latency(performance.now() - started));
  }

  /** One user operation into the agent's window; the window ends when full or old enough. */
  private tick(): void {
    const recorder = this.recorder!;
    const settings = this.options.compactionAgent!;
    const operations = ++recorder.operations;
    if (operations >= settings.windowOperations || ((operations & 63) === 0 && performance.now() - recorder.startedMs >= settings.windowMs)) this.endWindow();
  }

  /** Device bytes so far: WAL, flush, compaction (both ways), value log (both ways), block reads. */
  private ioBytes(): number {
    const counters = this.counters;
    const vlog = this.vlog.stats;
    return (
      counters.walBytes +
      counters.flushBytes +
      counters.compactionWritten +
      counters.compactionRead +
      vlog.bytesWritten +
      vlog.bytesRead +
      this.cache.stats().misses * this.options.blockBytes
    );
  }

  /**
   * Ends the agent's window: the agent learns from it and may re-shape the tree; back-pressure and
   * compaction follow the new shape. The agent's own errors never reach the operation that ended
   * the window: the window is dropped and the error shown in stats.
   */
  private endWindow(): void {
    const recorder = this.recorder!;
    const agent = this.agent!;
    const io = this.ioBytes();
    const window = recorder.window(io);
    recorder.reset(io);
    let record: DecisionRecord | null;
    try {
      record = agent.observe(window, treeViewOf(this.versions.current, this.busy, LEVEL_COUNT));
    } catch (error) {
      this.agentError = (error as Error).message;
      return;
    }
    if (record === null) return;
    this.followShape();
    if (++this.windowsSinceSave >= this.options.compactionAgent!.persistEveryWindows) {
      this.windowsSinceSave = 0;
      void this.saveAgent();
    }
    this.scheduleCompaction();
    // NB: a higher stop trigger may free waiting writers at once.
    this.wakeWriters();
  }

  /** Reads the agent's state file; anything wrong with it starts a fresh agent (reported in stats), never a failed open. */
  private async loadAgent(): Promise<void> {
    const settings = this.options.compactionAgent;
    if (settings === null || !settings.persist) return;
    const path = joinPath(this.path, AGENT_STATE_FILE);
    try {
      const bytes = await readFile(this.fs, path);
      if (bytes.length > AGENT_STATE_BYTES_MAX) throw new CorruptionError(`auradb: ${AGENT_STATE_FILE} holds ${bytes.length} bytes, more than any agent state`, { path });
      this.agent = CompactionAgent.deserialize(bytes, settings.agent);
      this.shapePolicy = this.agent;
      this.agentStateFile.status = "restored";
      this.followShape();
    } catch (error) {
      if (isNotFound(error)) return;
      this.agentStateFile.status = "reset";
      this.agentStateFile.error = (error as Error).message;
    }
  }

  /** Writes the agent's state file (atomically); saves run one at a time; a failure is reported in stats. */
  private saveAgent(): Promise<void> {
    const agent = this.agent;
    if (agent === null || !this.options.compactionAgent!.persist || this.options.readOnly) return this.agentSaving;
    const bytes = agent.serialize();
    const path = joinPath(this.path, AGENT_STATE_FILE);
    this.agentSaving = this.agentSaving.then(() =>
      writeFileAtomic(this.fs, path, bytes).then(
        () => {
          this.agentStateFile.saves++;
          this.agentStateFile.saveError = null;
        },
        (error: unknown) => {
          this.agentStateFile.saveError = (error as Error).message;
        },
      ),
    );
    return this.agentSaving;
  }

  private operation(kind: ValueKind, key: Bytes, value: Bytes): Operation {
    const keyBytes = toBytes(key, "a key");
    if (keyBytes.length === 0) throw new InvalidArgumentError("auradb: keys must not be empty");
    if (keyBytes.length > this.options.keyBytesMax) {
      throw new InvalidArgumentError(`auradb: key of ${keyBytes.length} bytes exceeds keyBytesMax ${this.options.keyBytesMax}`);
    }
    const valueBytes = toBytes(value, "a value");
    if (valueBytes.length > this.options.valueBytesMax) {
      throw new InvalidArgumentError(`auradb: value of ${valueBytes.length} bytes exceeds valueBytesMax ${this.options.valueBytesMax}`);
    }
    return { kind, key: keyBytes, value: valueBytes };
  }

  /** Tells the `onEvent` listener; what it throws is ignored (a listener cannot fail the engine). */
  private emit(event: AuraEvent): void {
    const listener = this.options.onEvent;
    if (listener === null) return;
    try {
      listener(event);
    } catch {
      // NB: ignored, as documented.
    }
  }

  private checkWritable(): void {
    if (this.closed || this.closing) throw new ClosedError("auradb: the database is closed");
    if (this.options.readOnly) throw new ReadOnlyError("auradb: the database was opened read-only (option readOnly)", { path: this.path });
    if (this.backgroundError !== null) {
      throw new ReadOnlyError("auradb: a write to the value log, a flush, a compaction or value-log GC failed; the database is read-only until reopened", {
        cause: this.backgroundError,
      });
    }
  }

  private needsRoom(): boolean {
    return this.immutables.length >= this.options.maxImmutableMemtables || this.level0Count() >= this.l0StopFiles;
  }

  private level0Count(): number {
    return this.versions.current.levels[0]?.length ?? 0;
  }

  /**
   * The write path. Sequence numbers are assigned, and WAL appends issued, in call order. A write
   * with values at or above `valueThreshold` first appends them to the value log (pointers are
   * final at once; the WAL record is issued once their bytes are written, and synced when the
   * write is durable: values before pointers, ARCHITECTURE invariant 9). Writes issued while one
   * waits for the value log queue behind it, so the WAL keeps sequence order.
   *
   * `recheck`, when given, runs synchronously just before the sequence numbers are assigned (after
   * any back-pressure wait) and returns the operations to write (value-log GC uses it so that a
   * relocation never overwrites a newer write).
   */
  private async write(operations: Operation[], sync: boolean | undefined, recheck?: (operations: Operation[]) => Operation[]): Promise<void> {
    this.checkWritable();
    if (recheck === undefined) {
      this.counters.writeOperations += operations.length;
      if (this.recorder !== null) {
        const recorder = this.recorder;
        recorder.writes += operations.length;
        for (const operation of operations) recorder.bytesWritten += operation.key.length + operation.value.length;
        this.tick();
      }
    }
    const gcYieldDue = recheck === undefined && this.gcRunning !== null && (this.gcBehind || this.writesSinceGcYield + 1 >= GC_YIELD_EVERY_WRITES);
    if (recheck === undefined && this.gcRunning !== null) this.writesSinceGcYield++;
    if (
      this.admission !== null ||
      gcYieldDue ||
      this.writeBarrier !== null ||
      this.needsRoom() ||
      this.level0Count() >= this.l0SlowdownFiles
    ) {
      // NB: the admission is released only once this write has taken its sequence numbers.
      const release = await this.admit(gcYieldDue);
      try {
        return this.writeAdmitted(operations, sync, recheck);
      } finally {
        release();
      }
    }
    return this.writeAdmitted(operations, sync, recheck);
  }

  private writeAdmitted(operations: Operation[], sync: boolean | undefined, recheck: ((operations: Operation[]) => Operation[]) | undefined): Promise<void> {
    this.checkWritable();
    if (recheck === undefined) return this.writeNow(operations, sync);
    return this.writeExclusive(operations, sync, recheck);
  }

  private async writeExclusive(operations: Operation[], sync: boolean | undefined, recheck: (operations: Operation[]) => Operation[]): Promise<void> {
    // An exclusive write: no write may be between taking its sequence numbers and reaching the
    // memtable while `recheck` looks at the memtable, or it would miss that write (and a GC
    // relocation would overwrite it). New writes wait at the barrier; in-flight ones drain.
    let release!: () => void;
    this.writeBarrier = new Promise<void>((resolve) => (release = resolve));
    let written: Promise<void>;
    try {
      while (this.writesInFlight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      this.checkWritable();
      operations = recheck(operations);
      if (operations.length === 0) return;
      // NB: takes the sequence numbers (and queues the WAL append) before the barrier goes.
      written = this.writeNow(operations, sync);
    } finally {
      this.writeBarrier = null;
      release();
    }
    return written;
  }

  /**
   * The waits a write may owe before it takes its sequence numbers (back-pressure, a yield to a
   * running GC, an exclusive write's barrier), in call order: a write that arrives while an
   * earlier one waits queues behind it, so that sequence numbers follow call order even when
   * only the earlier write had to wait (a later write overtaking it would make a crash leave a
   * state that is no prefix of the issued writes: the kill -9 test found it). Resolves, when the
   * write may proceed, to the function that lets the next one in: call it once this write has
   * taken its sequence numbers.
   */
  private async admit(gcYieldDue: boolean): Promise<() => void> {
    const earlier = this.admission;
    let admitted!: () => void;
    const mine = new Promise<void>((resolve) => (admitted = resolve));
    this.admission = mine;
    const release = () => {
      if (this.admission === mine) this.admission = null;
      admitted();
    };
    try {
      if (earlier !== null) await earlier;
      if (this.needsRoom() || this.level0Count() >= this.l0SlowdownFiles) await this.makeRoom();
      if (gcYieldDue) {
        // NB: writes that never wait for I/O (group commit, synchronous appends) run on microtasks
        // only, and would starve the GC's asynchronous reads (macrotasks) for as long as they come.
        this.writesSinceGcYield = 0;
        const started = performance.now();
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.counters.stallMs += performance.now() - started;
      }
      while (this.writeBarrier !== null) await this.writeBarrier;
      return release;
    } catch (error) {
      release();
      throw error;
    }
  }

  private async writeNow(operations: Operation[], sync: boolean | undefined): Promise<void> {
    const auto = this.autoThreshold;
    const threshold = auto === null ? (this.options.valueThreshold as number) : auto.current;
    let separated = 0;
    let separatedBytes = 0;
    for (let index = 0; index < operations.length; index++) {
      const operation = operations[index]!;
      if (operation.kind !== ValueKind.Put) continue;
      const size = operation.value.length;
      if (auto !== null) auto.observe(size);
      if (size >= threshold) {
        separated++;
        separatedBytes += size;
      }
    }
    const durable = sync === true || this.options.sync === "always";
    if (separated === 0 && this.vlogInFlight === 0 && !(durable && this.vlogDirty)) {
      // Fast path: nothing waits for the value log.
      const baseSeq = this.nextSeq;
      const record = this.encodeRecord(baseSeq, operations);
      this.writesInFlight++;
      try {
        const lsn = await this.wal.append(record, sync === true ? SYNC : undefined);
        this.apply(operations, baseSeq, lsn, record.length, operations, 0);
      } finally {
        this.writeLanded();
      }
      return;
    }
    const baseSeq = this.nextSeq;
    this.nextSeq += operations.length;
    this.writesInFlight++;
    try {
      await this.writeSeparated(operations, sync, durable, baseSeq, threshold, separated, separatedBytes);
    } finally {
      this.writeLanded();
    }
  }

  /** A write left the in-flight state (applied or failed). */
  private writeLanded(): void {
    if (--this.writesInFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private async writeSeparated(
    operations: Operation[],
    sync: boolean | undefined,
    durable: boolean,
    baseSeq: number,
    threshold: number,
    separated: number,
    separatedBytes: number,
  ): Promise<void> {
    const previous = this.walTurn;
    let passTurn!: () => void;
    this.walTurn = new Promise<void>((resolve) => (passTurn = resolve));
    this.vlogInFlight++;
    let appended: Promise<number>;
    let logged = operations;
    let record: Uint8Array;
    try {
      if (separated > 0) {
        const entries: { key: Uint8Array; value: Uint8Array; seq: number }[] = [];
        for (let index = 0; index < operations.length; index++) {
          const operation = operations[index]!;
          if (operation.kind === ValueKind.Put && operation.value.length >= threshold) entries.push({ key: operation.key, value: operation.value, seq: baseSeq + index });
        }
        if (!durable) this.vlogDirty = true;
        else this.vlogDirty = false; // NB: a synced group commit covers every earlier append
        const pointers = await this.vlog.append(entries, { sync: durable });
        logged = new Array(operations.length);
        let next = 0;
        for (let index = 0; index < operations.length; index++) {
          const operation = operations[index]!;
          if (operation.kind === ValueKind.Put && operation.value.length >= threshold) {
            logged[index] = { kind: ValueKind.PutPointer, key: operation.key, value: encodePointer(pointers[next++]!) };
          } else {
            logged[index] = operation;
          }
        }
      } else if (durable && this.vlogDirty) {
        this.vlogDirty = false;
        await this.vlog.sync();
      }
      await previous;
      this.checkWritable();
      record = encodeBatch(baseSeq, logged);
      if (record.length > this.options.batchBytesMax) {
        throw new InvalidArgumentError(`auradb: batch of ${record.length} bytes exceeds batchBytesMax ${this.options.batchBytesMax}`);
      }
      appended = this.wal.append(record, sync === true ? SYNC : undefined);
    } catch (error) {
      // NB: a value-log failure leaves values of unknown fate: stop writing until reopened.
      if (!(error instanceof InvalidArgumentError) && !(AuraError.isInstance(error) && error.code === ErrorCode.Closed)) this.failBackground(error);
      throw error;
    } finally {
      this.vlogInFlight--;
      passTurn();
    }
    const lsn = await appended;
    this.counters.separatedBytes += separatedBytes;
    this.apply(logged, baseSeq, lsn, record.length, operations, separatedBytes);
  }

  /** Assigns the sequence numbers of `operations` and encodes their WAL record (fast path). */
  private encodeRecord(baseSeq: number, operations: Operation[]): Uint8Array {
    this.nextSeq += operations.length;
    const record = encodeBatch(baseSeq, operations);
    if (record.length > this.options.batchBytesMax) {
      this.nextSeq -= operations.length; // nothing was logged: the numbers are free again
      throw new InvalidArgumentError(`auradb: batch of ${record.length} bytes exceeds batchBytesMax ${this.options.batchBytesMax}`);
    }
    return record;
  }

  /**
   * Applies a logged batch to the memtable. NB: group commits resolve in LSN order, so memtable
   * application (and visibility) follows the log's order, and a read never sees a write before it
   * was acknowledged. `original` holds the user's values when `logged` carries pointers.
   */
  private apply(logged: Operation[], baseSeq: number, lsn: number, recordBytes: number, original: Operation[], separatedBytes: number): void {
    const memtable = this.memtable;
    let userBytes = 0;
    for (let index = 0; index < logged.length; index++) {
      const operation = logged[index]!;
      memtable.add(operation.key, baseSeq + index, operation.kind, operation.value);
      userBytes += operation.key.length + original[index]!.value.length;
    }
    this.activeSeparatedBytes += separatedBytes;
    this.counters.userBytes += userBytes;
    this.counters.walBytes += recordBytes;
    this.visibleSeq = baseSeq + logged.length - 1;
    this.activeLastLsn = lsn;
    if (memtable.approximateBytes >= this.options.memtableBytes || this.activeSeparatedBytes >= SEPARATED_BYTES_PER_MEMTABLE_FACTOR * this.options.memtableBytes) {
      this.freezeMemtable();
    }
  }

  /** Back-pressure (docs/rfcs/20261124_engine.md): wait for a flush or compaction. */
  private async makeRoom(): Promise<void> {
    const started = performance.now();
    if (!this.needsRoom()) {
      // Slowdown: yield once, so background work gets the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    while (this.needsRoom()) {
      this.checkWritable();
      this.scheduleFlush();
      this.scheduleCompaction();
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.counters.stallMs += performance.now() - started;
    this.checkWritable();
  }

  private wakeWriters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  private freezeMemtable(): void {
    if (this.memtable.entryCount === 0) return;
    this.immutables.push({ memtable: this.memtable, lastLsn: this.activeLastLsn });
    this.memtable = new Memtable();
    this.activeSeparatedBytes = 0;
    // NB: a new WAL segment per memtable, so that the flush can delete the log it checkpoints
    // (otherwise the log is trimmed a whole segment at a time: twice the disk use after a fill,
    // and a reopen reads it all). A failure here fails the next append, which reports it.
    this.wal.roll().catch(() => {});
    this.emit({ kind: "wal-roll" });
    this.scheduleFlush();
  }

  // --- reads ---

  /** The pointer entries of an iterator batch: their slots, decoded pointers and keys. */
  private pointersOf(batch: EntryBatch): { slots: number[]; pointers: ValuePointer[]; keys: Uint8Array[] } {
    const slots: number[] = [];
    const pointers: ValuePointer[] = [];
    const keys: Uint8Array[] = [];
    for (let index = 0; index < batch.kinds.length; index++) {
      if (batch.kinds[index] !== ValueKind.PutPointer) continue;
      slots.push(index);
      pointers.push(this.pointerOf(batch.values[index]!));
      keys.push(batch.keys[index]!);
    }
    return { slots, pointers, keys };
  }

  /** The value of `key`, or undefined. Synchronous: no Promise, even for a cold table block. */
  getSync(key: Bytes, options?: ReadOptions): Uint8Array | undefined {
    const keyBytes = toBytes(key, "a key");
    const started = this.recorder !== null && ++this.sampleTick >= LATENCY_SAMPLE_EVERY ? performance.now() : -1;
    const found = this.lookup(keyBytes, options);
    let value: Uint8Array | undefined;
    if (found === undefined || found.kind === ValueKind.Delete) value = undefined;
    else if (found.kind === ValueKind.PutPointer) value = this.vlog.readSync(this.pointerOf(found.value), keyBytes);
    // NB: a copy (the source is a cached block or the memtable's arena) carved from a shared slab.
    else value = copyBytes(found.value);
    this.readDone(value, started);
    return value;
  }

  /** Counts a get (and, for the agent, its bytes and sampled latency). */
  private readDone(value: Uint8Array | undefined, startedMs: number): void {
    this.counters.reads++;
    if (value === undefined) this.counters.readMisses++;
    const recorder = this.recorder;
    if (recorder === null) return;
    recorder.reads++;
    if (value === undefined) recorder.readMisses++;
    else recorder.bytesRead += value.length;
    if (startedMs >= 0) {
      this.sampleTick = 0;
      recorder.latency(performance.now() - startedMs);
    }
    this.tick();
  }

  /** The value of `key`, or undefined. A separated value over 1 MiB is read without blocking the thread. */
  get(key: Bytes, options?: ReadOptions): Promise<Uint8Array | undefined> {
    try {
      const keyBytes = toBytes(key, "a key");
      const started = this.recorder !== null && ++this.sampleTick >= LATENCY_SAMPLE_EVERY ? performance.now() : -1;
      const found = this.lookup(keyBytes, options);
      if (found === undefined || found.kind === ValueKind.Delete) {
        this.readDone(undefined, started);
        return Promise.resolve(undefined);
      }
      if (found.kind === ValueKind.PutPointer) {
        const pointer = this.pointerOf(found.value);
        // NB: see SYNC_READ_BYTES_MAX: a small value is read synchronously.
        if (pointer.size > SYNC_READ_BYTES_MAX) {
          return this.vlog.read(pointer, keyBytes).then((value) => {
            this.readDone(value, started);
            return value;
          });
        }
        const value = this.vlog.readSync(pointer, keyBytes);
        this.readDone(value, started);
        return Promise.resolve(value);
      }
      const value = copyBytes(found.value);
      this.readDone(value, started);
      return Promise.resolve(value);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The newest version of `key` visible at the read's sequence. NB: the result may be reused by the next lookup. */
  private lookup(keyBytes: Uint8Array, options: ReadOptions | undefined): { kind: ValueKind; value: Uint8Array } | undefined {
    if (this.closed) throw new ClosedError("auradb: the database is closed");
    const seq = this.readSeq(options);
    let found = this.memtable.get(keyBytes, seq);
    for (let index = this.immutables.length - 1; found === undefined && index >= 0; index--) {
      found = this.immutables[index]!.memtable.get(keyBytes, seq);
    }
    if (found === undefined) found = this.getFromTables(this.versions.current, keyBytes, seq);
    return found;
  }

  /** Decodes a pointer read from the memtable or a table (a malformed one is a CorruptionError). */
  private pointerOf(bytes: Uint8Array): ValuePointer {
    return decodePointer(bytes, this.path);
  }

  private readSeq(options: ReadOptions | undefined): number {
    const snapshot = options?.snapshot;
    if (snapshot === undefined) return this.visibleSeq;
    if (!(snapshot instanceof Snapshot) || snapshot.isReleased) throw new InvalidArgumentError("auradb: the snapshot is released or not a snapshot");
    return snapshot.seq;
  }

  private getFromTables(version: Version, key: Uint8Array, seq: number): { kind: ValueKind; seq: number; value: Uint8Array } | undefined {
    const levels = version.levels;
    for (const table of levels[0] ?? []) {
      if (compareBytes(key, table.smallestKey) < 0 || compareBytes(key, table.largestKey) > 0) continue;
      this.counters.tableProbes++;
      const found = this.reader(table.fileNumber).get(key, seq);
      if (found !== undefined) return found;
    }
    // NB: in a level L1+, the runs newest first: the first version found is the newest.
    for (let level = 1; level < levels.length; level++) {
      for (const run of version.runs(level)) {
        const table = tableHolding(run.tables, key);
        if (table === undefined) continue;
        this.counters.tableProbes++;
        const found = this.reader(table.fileNumber).get(key, seq);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  private reader(fileNumber: number): TableReader {
    const table = this.tables.get(fileNumber);
    if (table === undefined) throw new CorruptionError(`auradb: table ${fileNumber} is not open`, { path: this.tablePath(fileNumber) });
    return table.reader;
  }

  /** Entries in key order (or reverse) within the bounds, as of now or a snapshot. */
  iterator(options: RangeOptions = {}): DbIterator {
    return this.openIterator(options, true);
  }

  private openIterator(options: RangeOptions, withValues: boolean): DbIterator {
    if (this.closed) throw new ClosedError("auradb: the database is closed");
    const seq = this.readSeq(options);
    const bound = (value: Bytes | undefined, name: string) => (value === undefined ? undefined : toBytes(value, `option ${name}`));
    const limit = options.limit ?? -1;
    if (!Number.isInteger(limit)) throw new InvalidArgumentError("auradb: limit must be an integer");
    const version = this.versions.acquire();
    const children: InternalIterator[] = [this.memtable.iterator()];
    for (let index = this.immutables.length - 1; index >= 0; index--) children.push(this.immutables[index]!.memtable.iterator());
    for (const table of version.levels[0] ?? []) children.push(this.reader(table.fileNumber).iterator());
    for (let level = 1; level < version.levels.length; level++) {
      for (const run of version.runs(level)) children.push(new LevelIterator(run.tables, (meta: TableMeta) => this.reader(meta.fileNumber).iterator()));
    }
    const inner = new UserIterator(new MergingIterator(children), {
      seq,
      gt: bound(options.gt, "gt"),
      gte: bound(options.gte, "gte"),
      lt: bound(options.lt, "lt"),
      lte: bound(options.lte, "lte"),
      reverse: options.reverse === true,
      limit: limit < 0 ? undefined : limit,
    });
    // NB: registered like a snapshot: value-log files it may read stay until it is closed.
    const token = {};
    this.readers.set(token, seq);
    this.counters.scans++;
    const recorder = this.recorder;
    const started = recorder !== null && ++this.sampleTick >= LATENCY_SAMPLE_EVERY ? performance.now() : -1;
    if (recorder !== null) {
      recorder.scans++;
      if (started >= 0) this.sampleTick = 0;
      this.tick();
    }
    const onClose = (returned: number) => {
      this.counters.scannedEntries += returned;
      if (recorder !== null) {
        recorder.scannedEntries += returned;
        if (started >= 0) recorder.latency(performance.now() - started);
      }
      this.readers.delete(token);
      this.versions.release(version);
      if (this.pendingVlogDeletes.length > 0) void this.deleteCollectedVlogFiles().catch((error) => this.failBackground(error));
    };
    return new DbIterator(inner, onClose, withValues ? this.resolver : null);
  }

  /** Keys only (copies), in order. Separated values are not read. */
  *keys(options: RangeOptions = {}): Generator<Uint8Array> {
    for (const [key] of this.openIterator(options, false)) yield key;
  }

  /** Values only (copies), in key order. */
  *values(options: RangeOptions = {}): Generator<Uint8Array> {
    for (const [, value] of this.iterator(options)) yield value;
  }

  /** A consistent view of the database until released. */
  snapshot(): Snapshot {
    if (this.closed) throw new ClosedError("auradb: the database is closed");
    const snapshot = new Snapshot(this, this.visibleSeq);
    this.snapshots.set(snapshot, snapshot.seq);
    return snapshot;
  }

  /** @internal */
  _releaseSnapshot(snapshot: Snapshot): void {
    this.snapshots.delete(snapshot);
    if (this.pendingVlogDeletes.length > 0) void this.deleteCollectedVlogFiles().catch((error) => this.failBackground(error));
  }

  // --- value-log garbage collection ---

  /**
   * Collects value-log files whose garbage (values overwritten or deleted, as counted by flushes
   * and compactions) is at least `ratio` of their size, default the `valueLogGcRatio` option (0.5
   * when that is 0): their live values are appended to the GC partition of the value log and
   * their pointers updated through the normal write path (durably; a value overwritten meanwhile
   * is left alone). A collected file is deleted once no snapshot or iterator that could read it
   * remains. Runs one collection at a time.
   */
  gcValueLog(options: { ratio?: number } = {}): Promise<GcResult> {
    try {
      this.checkWritable();
      const ratio = options.ratio ?? (this.options.valueLogGcRatio > 0 ? this.options.valueLogGcRatio : 0.5);
      if (typeof ratio !== "number" || !(ratio >= 0 && ratio <= 1)) throw new InvalidArgumentError("auradb: gcValueLog ratio must be a number from 0 to 1");
      const previous = this.gcRunning ?? Promise.resolve();
      const run = previous.then(
        () => this.collectValueLog(ratio, Infinity),
        () => this.collectValueLog(ratio, Infinity),
      );
      this.gcRunning = run;
      void run.finally(() => {
        if (this.gcRunning === run) this.gcRunning = null;
      }).catch(() => {});
      return run;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Starts a background collection when some file is over the ratio (and none is running). */
  private scheduleValueLogGc(): void {
    const ratio = this.options.valueLogGcRatio;
    this.gcBehind = ratio > 0 && this.closedFilesGarbageShare() >= GC_SLOWDOWN_GARBAGE_SHARE;
    if (ratio === 0 || this.gcRunning !== null || this.closing || this.closed || this.backgroundError !== null) return;
    if (this.gcCandidates(ratio).length === 0) return;
    const run = this.collectValueLog(ratio, GC_BACKGROUND_BYTES_PER_SECOND);
    this.gcRunning = run;
    run
      .catch((error) => {
        if (!this.closed && !this.closing) this.failBackground(error);
        return null;
      })
      .finally(() => {
        if (this.gcRunning === run) this.gcRunning = null;
        // More files may have crossed the ratio while this run worked (and the slowdown ends here).
        this.scheduleValueLogGc();
      });
  }

  /** Garbage bytes / bytes over the value log's closed (not active) files. */
  private closedFilesGarbageShare(): number {
    const garbage = this.versions.valueLogGarbage;
    let bytes = 0;
    let dead = 0;
    for (const file of this.vlog.files()) {
      if (file.active) continue;
      bytes += file.bytes;
      dead += Math.min(file.bytes, garbage.get(file.fileNumber) ?? 0);
    }
    return bytes === 0 ? 0 : dead / bytes;
  }

  private gcCandidates(ratio: number): { fileNumber: number; bytes: number }[] {
    const pending = new Set([...this.pendingVlogDeletes.map((entry) => entry.fileNumber), ...this.vlogDeleting]);
    const garbage = this.versions.valueLogGarbage;
    return this.vlog
      .files()
      .filter((file) => !file.active && !pending.has(file.fileNumber) && file.bytes > 0)
      .map((file) => ({ fileNumber: file.fileNumber, bytes: file.bytes, share: (garbage.get(file.fileNumber) ?? 0) / file.bytes }))
      .filter((file) => file.share >= ratio && file.share > 0)
      .sort((a, b) => b.share - a.share);
  }

  private async collectValueLog(ratio: number, bytesPerSecond: number): Promise<GcResult> {
    this.emit({ kind: "gc-start" });
    let filesCollected = 0;
    let entriesRelocated = 0;
    let bytesRelocated = 0;
    let bytesReclaimed = 0;
    const started = performance.now();
    let scanned = 0;
    // One file at a time, the most garbage first, chosen again after each: a run may last long
    // under writes, and each collected file is freed as soon as it can be (not at the end of the
    // run, which a close would cut short: the soak lost every run that way).
    for (;;) {
      if (this.closing || this.closed) break;
      const candidate = this.gcCandidates(ratio)[0];
      if (candidate === undefined) break;
      let batch: VlogEntry[] = [];
      let batchBytes = 0;
      const relocate = async () => {
        if (batch.length === 0) return;
        const moved = await this.relocate(batch);
        entriesRelocated += moved.entries;
        bytesRelocated += moved.bytes;
        batch = [];
        batchBytes = 0;
      };
      for await (const entry of this.vlog.scan(candidate.fileNumber)) {
        scanned += entry.pointer.size;
        if (this.isLive(entry.key, entry.pointer)) {
          batch.push(entry);
          batchBytes += entry.pointer.size;
          if (batch.length >= GC_BATCH_ENTRIES || batchBytes >= GC_BATCH_BYTES) await relocate();
        }
        // NB: no rate limit while the log is mostly garbage (`gcBehind`): the limit would let
        // a sustained overwrite load outgrow GC (the soak: 45 MB/s appended vs 40 MB/s reclaimed).
        if (Number.isFinite(bytesPerSecond) && !this.gcBehind) {
          // Rate limit: stay under bytesPerSecond of scanning, averaged over the run.
          const ahead = scanned / bytesPerSecond - (performance.now() - started) / 1000;
          if (ahead > 0.01) await new Promise<void>((resolve) => setTimeout(resolve, ahead * 1000));
        }
      }
      await relocate();
      this.pendingVlogDeletes.push({ fileNumber: candidate.fileNumber, afterSeq: this.visibleSeq });
      filesCollected++;
      bytesReclaimed += candidate.bytes;
      this.counters.gcFilesCollected++;
      if (this.closing || this.closed) break;
      // NB: a collected file may go only once no WAL record that recovery replays points into
      // it (recovery checks every pointer it replays): flush the relocations into a table.
      this.freezeMemtable();
      while (this.immutables.length > 0 && this.backgroundError === null && !this.closing) {
        this.scheduleFlush();
        await this.flushing;
      }
      await this.deleteCollectedVlogFiles();
    }
    this.counters.gcRuns++;
    this.counters.gcEntriesRelocated += entriesRelocated;
    this.counters.gcBytesRelocated += bytesRelocated;
    await this.deleteCollectedVlogFiles();
    this.emit({ kind: "gc-end" });
    return { filesCollected, entriesRelocated, bytesRelocated, bytesReclaimed };
  }

  /** True when the newest visible version of `key` is a pointer to exactly this entry. */
  private isLive(key: Uint8Array, pointer: ValuePointer): boolean {
    const found = this.lookup(key, undefined);
    if (found === undefined || found.kind !== ValueKind.PutPointer) return false;
    const current = this.pointerOf(found.value);
    return current.fileNumber === pointer.fileNumber && current.offset === pointer.offset;
  }

  /** Moves live entries to the GC partition and points their keys there (durably). */
  private async relocate(entries: VlogEntry[]): Promise<{ entries: number; bytes: number }> {
    const pointers = await this.vlog.append(
      entries.map((entry) => ({ key: entry.key, value: entry.value, seq: entry.seq })),
      { partition: "gc", sync: true },
    );
    const moved = new Map<Operation, VlogEntry>();
    const operations = entries.map((entry, index) => {
      const operation: Operation = { kind: ValueKind.PutPointer, key: entry.key, value: encodePointer(pointers[index]!) };
      moved.set(operation, entry);
      return operation;
    });
    let kept: Operation[] = [];
    // NB: the liveness check runs again right before the write takes its sequence numbers, in
    // the same turn: a user write that overwrote the key meanwhile wins.
    await this.write(operations, true, (candidates) => {
      kept = candidates.filter((operation) => this.isLive(operation.key, moved.get(operation)!.pointer));
      return kept;
    });
    let bytes = 0;
    for (const operation of kept) bytes += moved.get(operation)!.value.length;
    return { entries: kept.length, bytes };
  }

  /** Deletes collected value-log files that no snapshot or iterator can read any more. */
  private async deleteCollectedVlogFiles(): Promise<void> {
    if (this.pendingVlogDeletes.length === 0 || this.closed) return;
    let oldest = Infinity;
    for (const seq of this.snapshots.values()) oldest = Math.min(oldest, seq);
    for (const seq of this.readers.values()) oldest = Math.min(oldest, seq);
    // NB: and once the relocations are in tables: the log that recovery replays (from the last
    // flush on) may hold older records pointing into the file, and recovery verifies each.
    const flushed = this.versions.lastSequence;
    const isReady = (entry: { afterSeq: number }) => entry.afterSeq <= oldest && entry.afterSeq <= flushed;
    const ready = this.pendingVlogDeletes.filter(isReady);
    if (ready.length === 0) return;
    this.pendingVlogDeletes = this.pendingVlogDeletes.filter((entry) => !isReady(entry));
    // NB: the relocations are durable (synced writes), so no recovery can need these files.
    for (const entry of ready) this.vlogDeleting.add(entry.fileNumber);
    try {
      for (const entry of ready) await this.vlog.removeFile(entry.fileNumber);
    } finally {
      for (const entry of ready) this.vlogDeleting.delete(entry.fileNumber);
    }
    await this.versions.logAndApply({ valueLogRemoved: ready.map((entry) => entry.fileNumber) });
  }

  private snapshotSeqs(): number[] {
    return [...new Set(this.snapshots.values())].sort((a, b) => a - b);
  }

  // --- background work ---

  /** Freezes the memtable and waits until every frozen memtable is in a table. */
  async flush(): Promise<void> {
    this.checkWritable();
    this.freezeMemtable();
    while (this.immutables.length > 0) {
      this.scheduleFlush();
      await this.flushing;
      if (this.backgroundError !== null) this.checkWritable();
    }
  }

  private scheduleFlush(): void {
    if (this.flushing !== null || this.closed || this.backgroundError !== null || this.immutables.length === 0) return;
    const run = async () => {
      try {
        while (this.immutables.length > 0 && this.backgroundError === null) {
          await this.flushOldest();
          this.wakeWriters();
          this.scheduleCompaction();
        }
      } catch (error) {
        this.failBackground(error);
      }
    };
    // NB: `.finally` runs after the assignment even when `run` finishes synchronously.
    this.flushing = run().finally(() => {
      this.flushing = null;
    });
  }

  private failBackground(error: unknown): void {
    if (this.backgroundError === null) this.backgroundError = error;
    this.wakeWriters();
  }

  private async flushOldest(): Promise<void> {
    this.emit({ kind: "flush-start" });
    const frozen = this.immutables[0]!;
    const iterator = frozen.memtable.iterator();
    iterator.seekToFirst();
    const garbage = new GarbageTally(this.path);
    const filtered = new CompactionIterator(iterator, { snapshots: this.snapshotSeqs(), bottommost: false, onDropPointer: garbage.onDropPointer });
    const outputs = await this.writeTables(filtered, Number.MAX_SAFE_INTEGER, 0);
    for (const output of outputs) this.counters.flushBytes += output.fileBytes;
    // NB: the WAL must stay ahead of the manifest's log position: if unsynced WAL records up to
    // `lastLsn` were lost in a crash, recovery would hand out LSNs below the one the manifest
    // replays from, and later writes would be skipped by the next recovery. Likewise the values
    // the new tables point to must be durable before the log that could vouch for them goes.
    await this.vlog.sync();
    await this.wal.sync();
    await this.versions.logAndApply({
      addedTables: outputs.map((table) => ({ level: 0, table })),
      logLsn: frozen.lastLsn + 1,
      lastSequence: frozen.memtable.maxSeq,
      valueLogGarbage: garbage.entries(),
    });
    this.immutables.shift();
    this.counters.flushes++;
    await this.wal.removeBefore(this.versions.logLsn);
    if (this.pendingVlogDeletes.length > 0) await this.deleteCollectedVlogFiles();
    this.emit({ kind: "flush-end" });
  }

  /**
   * Writes the entries of `source` into new tables cut at `targetBytes` (never splitting one
   * user key's versions), each synced; then syncs the directory. Opens a reader for each.
   */
  private async writeTables(source: InternalIterator, targetBytes: number, level: number): Promise<TableMeta[]> {
    const outputs: TableMeta[] = [];
    let builder: TableBuilder | null = null;
    let file: File | null = null;
    let fileNumber = 0;
    let lastKey: Uint8Array | null = null;
    let sinceYield = 0;
    const finish = async () => {
      if (builder === null || file === null) return;
      const built = await builder.finish();
      this.learned.recordFit(built.learnedKeys, built.learnedFitNanos);
      const meta: TableMeta = {
        fileNumber: built.fileNumber,
        fileBytes: built.fileBytes,
        smallestKey: built.smallestKey,
        smallestSeq: built.smallestSeq,
        largestKey: built.largestKey,
        largestSeq: built.largestSeq,
        entryCount: built.entryCount,
        deleteCount: built.deleteCount,
        minSeq: built.minSeq,
        maxSeq: built.maxSeq,
      };
      outputs.push(meta);
      this.tables.set(fileNumber, { file, reader: TableReader.open(file, fileNumber, this.cache, { fileBytes: meta.fileBytes, learnedIndex: this.learned.readersUseModels }) });
      builder = null;
      file = null;
    };
    try {
      for (; source.valid(); source.next()) {
        const key = source.key();
        if (builder !== null && lastKey !== null && (builder as TableBuilder).estimatedBytes >= targetBytes && compareBytes(key, lastKey) !== 0) {
          await finish();
        }
        if (builder === null) {
          fileNumber = this.versions.newFileNumber();
          file = await this.fs.open(this.tablePath(fileNumber), { create: true, exclusive: true });
          builder = new TableBuilder(file, fileNumber, {
            blockBytes: this.options.blockBytes,
            bloomBitsPerKey: this.options.bloomBitsPerKey,
            compression: this.options.compression,
            learnedIndex: this.learned.builderOption(level),
          });
        }
        (builder as TableBuilder).add(key, source.seq(), source.kind(), source.value());
        lastKey = lastKey !== null && compareBytes(lastKey, key) === 0 ? lastKey : key.slice();
        if (++sinceYield >= 4096) {
          sinceYield = 0;
          // NB: merging is CPU work on the event loop; let foreground requests in between slices.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      await finish();
    } catch (error) {
      if (file !== null) await (file as File).close().catch(() => {});
      throw error;
    } finally {
      source.close();
    }
    if (outputs.length > 0) await this.fs.syncDir(this.path);
    this.emit({ kind: "tables-written", level, tables: outputs.length });
    return outputs;
  }

  private scheduleCompaction(): void {
    if (this.compacting !== null || this.closed || this.closing || !this.options.autoCompaction || this.backgroundError !== null || this.manualCompactions > 0) return;
    const run = async () => {
      try {
        for (;;) {
          if (this.closing || this.backgroundError !== null || this.manualCompactions > 0) break;
          const job = this.pickCompaction();
          if (job === null) break;
          await this.runCompaction(job);
          this.wakeWriters();
          // NB: compactions are what find garbage (dropped pointers); under steady writes this
          // loop may not end for long, so GC is considered after each one, not only at the end.
          this.scheduleValueLogGc();
        }
      } catch (error) {
        this.failBackground(error);
      }
    };
    this.compacting = run().finally(() => {
      this.compacting = null;
      // NB: compactions are what find garbage (dropped pointers).
      this.scheduleValueLogGc();
    });
  }

  /**
   * The next compaction: LevelDB's picker for 'leveled' while every level holds one run (it knows
   * trivial moves and L0's transitive overlaps), else the `@auradb/compactor` policy's decision,
   * checked by `jobFromDecision` (a decision that would break the read order is refused: a bug,
   * reported as the background error rather than run).
   */
  private pickCompaction(): CompactionJob | null {
    const version = this.versions.current;
    if (this.policy !== null && version.oneRunPerLevel()) {
      const plan = this.policy.pick({ levels: version.levels, busy: this.busy });
      if (plan === null) return null;
      this.lastCompactionReason = plan.reason;
      return {
        inputs: [...plan.inputs.map((table) => ({ level: plan.level, table })), ...plan.overlapping.map((table) => ({ level: plan.outputLevel, table }))],
        outputLevel: plan.outputLevel,
        outputRun: version.runs(plan.outputLevel)[0]?.id ?? 0,
        trivialMove: plan.trivialMove,
        reason: plan.reason,
      };
    }
    const decision = this.shapePolicy.pick(treeViewOf(version, this.busy, LEVEL_COUNT));
    if (decision === null) return null;
    this.lastCompactionReason = decision.reason;
    return jobFromDecision(version, decision);
  }

  /**
   * Runs `job`: merges its inputs (any runs, any of two levels) through the compaction filter and
   * writes the output as tables of one run of the output level; one manifest edit swaps inputs for
   * outputs. REQUIRES: no other compaction runs (flushes may: they only add L0 tables, newer than
   * everything a job reads).
   */
  private async runCompaction(job: CompactionJob): Promise<void> {
    const all = job.inputs.map((input) => input.table);
    for (const table of all) this.busy.add(table.fileNumber);
    const event = { outputLevel: job.outputLevel, trivialMove: job.trivialMove === true };
    this.emit({ kind: "compaction-start", ...event });
    try {
      // NB: a new run numbers above every run of its level (drawn from the file-number counter).
      const outputRun = job.outputRun === "new" ? this.versions.newFileNumber() : job.outputRun;
      if (job.trivialMove) {
        // Trivial move: the table's bytes stay; only the manifest changes.
        const { level, table } = job.inputs[0]!;
        await this.versions.logAndApply({
          deletedTables: [{ level, fileNumber: table.fileNumber }],
          addedTables: [{ level: job.outputLevel, table: withRun(table, outputRun) }],
        });
        this.counters.compactions++;
        this.emit({ kind: "compaction-end", ...event });
        return;
      }
      const version = this.versions.acquire();
      try {
        // NB: a compaction reads each block once: keep it out of the cache.
        const children = all.map((table) => this.reader(table.fileNumber).iterator({ fillCache: false }));
        for (const table of all) this.counters.compactionRead += table.fileBytes;
        const merged = new MergingIterator(children);
        merged.seekToFirst();
        const inputNumbers = new Set(all.map((table) => table.fileNumber));
        const garbage = new GarbageTally(this.path);
        const filtered = new CompactionIterator(merged, {
          snapshots: this.snapshotSeqs(),
          bottommost: false,
          // A tombstone goes only when no table outside the inputs, in the output level or below
          // (any run), may hold an older version of its key.
          keyMayExistBelow: (key: Uint8Array) => keyMayExistOutside(version, key, job.outputLevel, inputNumbers),
          onDropPointer: garbage.onDropPointer,
        });
        const outputs = await this.writeTables(filtered, this.options.targetFileBytes, job.outputLevel);
        for (const output of outputs) this.counters.compactionWritten += output.fileBytes;
        // The inputs' lookups over their lives: the history of the learned-index rule.
        for (const { level, table } of job.inputs) this.learned.tableDied(level, this.reader(table.fileNumber).stats().lookups);
        await this.versions.logAndApply({
          deletedTables: job.inputs.map(({ level, table }) => ({ level, fileNumber: table.fileNumber })),
          addedTables: outputs.map((table) => ({ level: job.outputLevel, table: withRun(table, outputRun) })),
          valueLogGarbage: garbage.entries(),
        });
        this.counters.compactions++;
        this.emit({ kind: "compaction-end", ...event });
      } finally {
        this.versions.release(version);
      }
    } finally {
      for (const table of all) this.busy.delete(table.fileNumber);
    }
  }

  /**
   * Flushes, then compacts every level that holds keys in the range into the next, down to the
   * last level holding data (with every overlapping table of the next level, in all its runs).
   * Background compaction waits meanwhile.
   */
  async compactRange(range: { gte?: Bytes; lte?: Bytes } = {}): Promise<void> {
    await this.flush();
    const low = range.gte === undefined ? undefined : toBytes(range.gte, "option gte");
    const high = range.lte === undefined ? undefined : toBytes(range.lte, "option lte");
    this.manualCompactions++;
    try {
      while (this.compacting !== null) await this.compacting;
      let lastLevel = 0;
      this.versions.current.levels.forEach((tables, level) => {
        if (tables.length > 0) lastLevel = level;
      });
      for (let level = 0; level < Math.max(lastLevel, 1); level++) {
        this.checkWritable();
        const job = rangeJob(this.versions.current, level, low, high);
        if (job === null) continue;
        this.lastCompactionReason = job.reason;
        await this.runCompaction(job);
        this.wakeWriters();
      }
      // A tiered last level may hold several runs over the range: merge them too.
      this.checkWritable();
      const merge = mergeRunsJob(this.versions.current, Math.max(lastLevel, 1), low, high);
      if (merge !== null) {
        this.lastCompactionReason = merge.reason;
        await this.runCompaction(merge);
      }
    } finally {
      this.manualCompactions--;
    }
    this.scheduleCompaction();
  }

  // --- files ---

  private tablePath(fileNumber: number): string {
    return joinPath(this.path, tableFileName(fileNumber));
  }

  private async deleteUnreferencedFiles(): Promise<void> {
    const live = this.versions.liveFileNumbers();
    for (const name of await this.fs.list(this.path)) {
      const parsed = parseFileName(name);
      if (parsed === null) continue;
      const stale =
        (parsed.kind === FileKind.Table && !live.has(parsed.number)) ||
        (parsed.kind === FileKind.Manifest && parsed.number !== this.versions.currentManifestNumber) ||
        parsed.kind === FileKind.Temporary;
      if (stale) await this.fs.remove(joinPath(this.path, name));
    }
  }

  /** Called by the version set: tables no version references any more. */
  private async removeTables(fileNumbers: number[]): Promise<void> {
    for (const fileNumber of fileNumbers) {
      const table = this.tables.get(fileNumber);
      this.tables.delete(fileNumber);
      this.cache.evictFile(fileNumber);
      if (table !== undefined) await table.file.close().catch(() => {});
      await this.fs.remove(this.tablePath(fileNumber)).catch(() => {}); // NB: swept again at the next open
    }
  }

  // --- stats, close ---

  /**
   * The agent's whole decision log since the open, oldest first (`compaction: 'learned'`; at most
   * `compactionAgent.decisionLogCapacity` records, default 256), or an empty list for the other
   * policies. `stats().compaction.agent.decisions` holds the last 20 of it.
   */
  compactionDecisions(): DecisionRecord[] {
    return this.agent === null ? [] : this.agent.decisions();
  }

  stats(): DbStats {
    const version = this.versions.current;
    const levels = version.levels.map((tables, level) => ({ level, files: tables.length, bytes: version.levelBytes(level), runs: version.runs(level).length }));
    const cache = this.cache.stats();
    let checks = 0;
    let useful = 0;
    let falsePositives = 0;
    const tables: DbStats["tables"] = [];
    const tablesByStatus: Record<string, number> = {};
    let learnedLookups = 0;
    let learnedDirect = 0;
    let windowSum = 0;
    let modelBytes = 0;
    version.levels.forEach((levelTables, level) => {
      for (const meta of levelTables) {
        const counters = this.reader(meta.fileNumber).stats();
        checks += counters.bloomChecks;
        useful += counters.bloomNegatives;
        falsePositives += counters.bloomFalsePositives;
        const learned = counters.learned;
        tablesByStatus[learned.status] = (tablesByStatus[learned.status] ?? 0) + 1;
        learnedLookups += learned.lookups;
        learnedDirect += learned.direct;
        windowSum += learned.averageWindow * learned.lookups;
        modelBytes += learned.modelBytes;
        tables.push({ level, fileNumber: meta.fileNumber, bytes: meta.fileBytes, entries: meta.entryCount, lookups: counters.lookups, learned });
      }
    });
    const counters = this.counters;
    const vlogStats = this.vlog.stats;
    const written = counters.walBytes + counters.flushBytes + counters.compactionWritten + vlogStats.bytesWritten;
    const garbage = this.versions.valueLogGarbage;
    let vlogFiles = 0;
    let vlogBytes = 0;
    let vlogGarbage = 0;
    for (const file of this.vlog.files()) {
      vlogFiles++;
      vlogBytes += file.bytes;
      vlogGarbage += Math.min(file.bytes, garbage.get(file.fileNumber) ?? 0);
    }
    return {
      levels,
      operations: {
        reads: counters.reads,
        readMisses: counters.readMisses,
        tableProbes: counters.tableProbes,
        tableProbesPerRead: counters.reads === 0 ? 0 : counters.tableProbes / counters.reads,
        writes: counters.writeOperations,
        scans: counters.scans,
        scannedEntries: counters.scannedEntries,
      },
      compaction: this.compactionStats(version),
      memtableBytes: this.memtable.approximateBytes,
      immutableMemtables: this.immutables.length,
      sequence: this.visibleSeq,
      userBytesWritten: counters.userBytes,
      walBytesWritten: counters.walBytes,
      flushBytesWritten: counters.flushBytes,
      compactionBytesRead: counters.compactionRead,
      compactionBytesWritten: counters.compactionWritten,
      writeAmplification: counters.userBytes === 0 ? 0 : written / counters.userBytes,
      flushes: counters.flushes,
      compactions: counters.compactions,
      cache: {
        hits: cache.hits,
        misses: cache.misses,
        bytes: cache.bytes,
        capacityBytes: this.options.cacheBytes,
        hitRate: cache.hits + cache.misses === 0 ? 0 : cache.hits / (cache.hits + cache.misses),
      },
      bloom: { checks, useful, falsePositives },
      stallMs: counters.stallMs,
      valueLog: {
        threshold: this.autoThreshold === null ? (this.options.valueThreshold as number) : this.autoThreshold.current,
        files: vlogFiles,
        bytes: vlogBytes,
        garbageBytes: vlogGarbage,
        bytesWritten: vlogStats.bytesWritten,
        separatedValueBytes: counters.separatedBytes,
        reads: vlogStats.reads,
        bytesRead: vlogStats.bytesRead,
        gcRuns: counters.gcRuns,
        gcFilesCollected: counters.gcFilesCollected,
        gcEntriesRelocated: counters.gcEntriesRelocated,
        gcBytesRelocated: counters.gcBytesRelocated,
        filesAwaitingDelete: this.pendingVlogDeletes.length,
      },
      learnedIndex: {
        mode: this.learned.mode,
        tablesByStatus,
        lookups: learnedLookups,
        direct: learnedDirect,
        hitRate: learnedLookups === 0 ? 0 : learnedDirect / learnedLookups,
        averageWindow: learnedLookups === 0 ? 0 : windowSum / learnedLookups,
        modelBytes,
        fitNanosPerKey: this.learned.fitNanosPerKey,
        levels: this.learned.stats(),
      },
      tables,
      backgroundError: this.backgroundError === null ? null : String((this.backgroundError as Error).message ?? this.backgroundError),
    };
  }

  private compactionStats(version: Version): CompactionStats {
    const shape = this.policy !== null ? leveledShape(this.options, LEVEL_COUNT) : this.shapePolicy.shape();
    let runsPerRead = 0;
    const levels = version.levels.map((tables, level) => {
      const runs = version.runs(level).length;
      runsPerRead += runs;
      return { level, runs, tables: tables.length, bytes: version.levelBytes(level), targetBytes: level === 0 ? 0 : levelTargetBytes(shape, level) };
    });
    let agent: AgentReport | null = null;
    if (this.agent !== null) {
      const stats = this.agent.stats();
      const decisions = this.agent.decisions();
      const last = decisions[decisions.length - 1];
      const bucket = last === undefined ? undefined : stats.buckets.find((entry) => entry.bucket === last.bucket);
      agent = {
        state: last?.bucketName ?? null,
        config: stats.config,
        lastAction: last?.action ?? null,
        lastKind: last?.kind ?? null,
        recentRewards: decisions.slice(-AGENT_DECISIONS_SHOWN).map((record) => record.reward),
        explorationRate: bucket?.epsilon ?? this.agent.options.explorationStart,
        windows: stats.steps,
        explorations: stats.explorations,
        rollbacks: stats.rollbacks,
        recalls: stats.recalls,
        stateFile: { ...this.agentStateFile },
        lastError: this.agentError,
        decisions: decisions.slice(-AGENT_DECISIONS_SHOWN),
      };
    }
    return { policy: this.options.compaction, shape, levels, runsPerRead, lastReason: this.lastCompactionReason, agent };
  }

  /**
   * Waits for background work, closes the WAL (syncing it) and every file, releases the lock.
   * The memtable is not flushed: the WAL holds it. Later calls throw `ClosedError`.
   */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    let failure: unknown = null;
    const attempt = async (step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        failure ??= error;
      }
    };
    await attempt(async () => this.flushing);
    await attempt(async () => this.compacting);
    // NB: a GC run stops at its next write once closing is set; its ClosedError is no failure.
    await this.gcRunning?.catch(() => {});
    // NB: what the agent learned survives the close (a failure shows in stats, never fails the close).
    if (this.backgroundError === null) await this.saveAgent();
    await this.agentSaving;
    this.closed = true;
    this.wakeWriters();
    // NB: values before the records that point to them.
    await attempt(() => this.vlog.close());
    await attempt(() => this.wal.close());
    await attempt(() => this.versions.close());
    for (const table of this.tables.values()) await attempt(() => table.file.close());
    this.tables.clear();
    await attempt(() => this.lock.release());
    if (failure !== null && !(AuraError.isInstance(failure) && failure.code === "AURADB_SIMULATED_CRASH")) throw failure;
  }
}

/** `table` as a member of run `run` (run 0 carries no field: the manifest then needs no run tag). */
function withRun(table: TableMeta, run: number): TableMeta {
  if (run !== 0) return table.run === run ? table : { ...table, run };
  if (table.run === undefined) return table;
  const { run: _dropped, ...rest } = table;
  return rest;
}

/**
 * The manifest asks recovery to replay the log from `from`, but the log's records start later
 * (they were trimmed after a checkpoint the manifest no longer records: a damaged or older
 * manifest). Opening would silently lose what those records and the checkpoints held.
 */
function missingLog(path: string, from: number, found: number): CorruptionError {
  return new CorruptionError(
    `auradb: the manifest replays the log from record ${from}, but the log starts at ${found}: the manifest is damaged or older than the log`,
    { path: joinPath(path, WAL_DIRECTORY), offset: 0 },
  );
}

/**
 * `paranoidChecks`: checks every table's size against the manifest, reads every block of every
 * table (not into the cache) and every entry of every value-log file, so that any damage fails the
 * open with the `CorruptionError` naming it.
 */
async function verifyEverything(tables: ReadonlyMap<number, OpenTable>, vlog: ValueLog): Promise<void> {
  for (const { file, reader } of tables.values()) {
    // The manifest records each table's size; a table that grew was not written as it is.
    const size = await file.size();
    if (size !== reader.fileBytes) {
      throw new CorruptionError(`auradb: table ${reader.fileNumber} holds ${size} bytes, the manifest says ${reader.fileBytes}`, { path: file.path, offset: reader.fileBytes });
    }
    const cursor = reader.iterator({ fillCache: false });
    try {
      for (cursor.seekToFirst(); cursor.valid(); cursor.next()) {
        // every entry visited: every data block read and checked
      }
    } finally {
      cursor.close();
    }
  }
  for (const file of vlog.files()) {
    for await (const _entry of vlog.scan(file.fileNumber)) {
      // every entry checked by the scan
    }
  }
}

async function openTable(fs: FileSystem, dir: string, meta: TableMeta, cache: BlockCache, useModels: boolean): Promise<OpenTable> {
  const path = joinPath(dir, tableFileName(meta.fileNumber));
  let file: File;
  try {
    file = await fs.open(path, { readOnly: true });
  } catch (error) {
    // A table the manifest names must exist: its absence is damage (a lost file, or a manifest
    // whose last edits were damaged and dropped), never a reason to open without it.
    if (AuraError.isInstance(error) && error.code === ErrorCode.NotFound) {
      throw new CorruptionError(`auradb: table ${meta.fileNumber} named by the manifest is missing`, { path, offset: 0 });
    }
    throw error;
  }
  try {
    return { file, reader: TableReader.open(file, meta.fileNumber, cache, { fileBytes: meta.fileBytes, learnedIndex: useModels }) };
  } catch (error) {
    await file.close().catch(() => {});
    throw error;
  }
}
