/**
 * The write-ahead log: segments of checksummed chunks, group commit, recovery.
 */
import {
  BackgroundSync,
  dropUnsyncedTail,
  isFailedDataSync,
  ClosedError,
  CorruptionError,
  dirname,
  type File,
  type FileSystem,
  type FsLock,
  InvalidArgumentError,
  joinPath,
  mkdirDurable,
  readAt,
  ReadOnlyError,
  writeAll,
  writeAllSync,
  writeFileAtomic,
} from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { setInterval, clearInterval } from "node:timers";
import { ChunkEncoder } from "./encoder.ts";
import { parseSegmentFileName, segmentFileName } from "./filenames.ts";
import {
  DEFAULT_BLOCK_BYTES,
  decodeSegmentHeader,
  encodeSegmentHeader,
  isValidBlockBytes,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
} from "./format.ts";
import { type InvalidChunk, readWindow, SegmentParser, skipInvalid, syncPromiseBeyond, type WalRecord } from "./reader.ts";

/**
 * When an append is acknowledged:
 * - `'always'`: after an fdatasync covered it (survives power loss). The default.
 * - `'none'`: after its bytes were handed to the OS (survives a process crash, not a power loss).
 * - `{ intervalMs }`: at once, from memory; written and synced every `intervalMs`. A crash of any
 *   kind may lose the last `intervalMs` of acknowledged appends.
 * - `{ bytes }`: at once, from memory; written and synced when `bytes` have accumulated. A crash
 *   may lose up to `bytes` of acknowledged appends.
 * An append with `{ sync: true }` is always acknowledged only after an fdatasync, whatever the
 * policy; `{ sync: false }` under `'always'` is acknowledged once written.
 */
export type SyncPolicy = "always" | "none" | { readonly intervalMs: number } | { readonly bytes: number };

/**
 * What to do with damage found when the log is opened (docs/format/wal.md, "Recovery"):
 * - `'tolerate-tail'` (default): cut a torn tail of the last segment; any other damage is a
 *   `CorruptionError`.
 * - `'absolute'`: any invalid byte is a `CorruptionError`.
 * - `'point-in-time'`: keep the records before the first damage, drop everything after it.
 * - `'skip-corrupt'`: skip damaged regions, keep every valid record after them.
 */
export type RecoveryMode = "tolerate-tail" | "absolute" | "point-in-time" | "skip-corrupt";

export interface WalOptions {
  /** The log's directory (created if missing). One log per directory: it is locked. */
  readonly dir: string;
  /** The file system. Default: `@auradb/fs/node`. */
  readonly fs?: FileSystem;
  /** Default `'always'`. */
  readonly sync?: SyncPolicy;
  /** A segment is closed and a new one started once it holds this much. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Block size of new segments (power of two, 256 B … 64 KiB). Default 32 KiB. */
  readonly blockBytes?: number;
  /** Default `'tolerate-tail'`. */
  readonly recovery?: RecoveryMode;
  /** Largest record accepted (and believed when read back). Default 64 MiB. */
  readonly recordBytesMax?: number;
  /** Encoded bytes that may wait for a write before appends wait too. Default 64 MiB. */
  readonly pendingBytesMax?: number;
  /** Called for each recovery action taken at open (also listed in `wal.recovery`). */
  readonly onRecovery?: (event: RecoveryEvent) => void;
}

/** One thing recovery did to the files. */
export interface RecoveryEvent {
  readonly kind: "torn-tail" | "corruption-skipped" | "corruption-truncated" | "segment-dropped" | "torn-segment";
  /** The segment file concerned. */
  readonly path: string;
  /** Where the dropped bytes started. */
  readonly offset: number;
  readonly bytesDropped: number;
  /** Where the dropped bytes were copied before they were cut, if they were. */
  readonly backupPath?: string;
  readonly reason: string;
}

/** What `Wal.open` found and did. */
export interface RecoveryReport {
  readonly mode: RecoveryMode;
  readonly segmentCount: number;
  /** LSN of the last record in the log after recovery (0 when empty). */
  readonly lastLsn: number;
  readonly events: readonly RecoveryEvent[];
}

export interface AppendOptions {
  /** Wait for an fdatasync before acknowledging. Default: per the log's policy. */
  readonly sync?: boolean;
}

export interface ReplayOptions {
  /** First LSN to yield. Default 1. */
  readonly from?: number;
}

export interface TailOptions extends ReplayOptions {
  /** Ends the iteration when it fires. */
  readonly signal?: AbortSignal;
}

/** A segment with a file on disk (or about to get one). */
interface Segment {
  readonly id: number;
  readonly path: string;
  readonly firstLsn: number;
  readonly blockBytes: number;
  /** The write handle; only the segment being written has one. */
  file: File | null;
  /** Encoder of bytes not yet written; only for the segment(s) being written. */
  encoder: ChunkEncoder | null;
  /** Bytes of the file that hold whole chunks (written by us, or found valid at open). */
  writtenOffset: number;
  /** Offset covered by the last successful fdatasync. */
  syncedOffset: number;
  /** Offset up to which every record belongs to a completed group (readers stop here). */
  visibleOffset: number;
  /** False until the file exists with its header durable. */
  created: boolean;
  /** True once no more records will be added. */
  sealed: boolean;
}

interface Waiter {
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface BlockedAppend {
  readonly records: readonly Uint8Array[];
  readonly sync: boolean;
  readonly resolve: (firstLsn: number) => void;
  readonly reject: (error: unknown) => void;
}

const MIB = 1024 * 1024;
const LOCK_NAME = "LOCK";
/**
 * Unsynced bytes after which a background fdatasync starts (RocksDB's `wal_bytes_per_sync`): the
 * sync a segment roll requires (L1) then finds little left to write, instead of stalling appends
 * for the whole segment (measured: ~45 % of a 4 KiB append run was spent in roll syncs).
 */
const BACKGROUND_SYNC_BYTES = 8 * MIB;

/**
 * Groups up to this size are written with a synchronous `write` (where the file system has one):
 * a small write to the page cache costs a few µs, while an asynchronous one waits a thread-pool
 * round trip (measured on Node: 3.4 µs vs 34 µs per 100-byte record), which is most of the cost
 * of a single awaited append. Larger groups go asynchronously, so the event loop is not blocked.
 */
const SYNC_WRITE_BYTES_MAX = 64 * 1024;

/**
 * A segmented write-ahead log of opaque records, numbered by LSN from 1.
 *
 * Appends from the same tick (and those made while a write is in flight) share one write and one
 * fdatasync: group commit. After a write or sync fails, the log refuses every later append with
 * `ReadOnlyError` until it is reopened: the kernel may have dropped the unsynced pages, and a
 * later fsync could report success over lost data (fsyncgate).
 */
export class Wal {
  readonly dir: string;
  readonly fs: FileSystem;
  /** What recovery found and did when this log was opened. */
  readonly recovery: RecoveryReport;
  private readonly policy: SyncPolicy;
  private readonly defaultSync: boolean;
  private readonly buffered: boolean;
  private readonly syncWrites: boolean;
  private readonly segmentBytes: number;
  private readonly blockBytes: number;
  private readonly recordBytesMax: number;
  private readonly pendingBytesMax: number;
  private readonly mode: RecoveryMode;
  private readonly lock: FsLock;
  /** Segments with files, oldest first; the last one is being written. */
  private readonly segments: Segment[];
  /** Segments with encoded bytes not yet written, in order; the last one takes new records. */
  private writeQueue: Segment[];
  private nextLsnValue: number;
  private unwrittenBytes = 0;
  private waiters: Waiter[] = [];
  private blocked: BlockedAppend[] = [];
  private syncRequested = false;
  private flushing: Promise<void> | null = null;
  private flushQueued = false;
  private failure: unknown = null;
  private closed = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly backgroundSync = new BackgroundSync(BACKGROUND_SYNC_BYTES, (error) => {
    this.failure ??= error;
  });
  private changed: { promise: Promise<void>; resolve: () => void };

  private constructor(init: {
    options: WalOptions;
    fs: FileSystem;
    lock: FsLock;
    segments: Segment[];
    nextLsn: number;
    recovery: RecoveryReport;
  }) {
    const options = init.options;
    this.dir = options.dir;
    this.fs = init.fs;
    this.lock = init.lock;
    this.recovery = init.recovery;
    this.policy = options.sync ?? "always";
    this.defaultSync = this.policy === "always";
    this.buffered = typeof this.policy === "object";
    this.syncWrites = init.fs.supports.syncIO;
    this.segmentBytes = options.segmentBytes ?? 64 * MIB;
    this.blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    this.recordBytesMax = options.recordBytesMax ?? 64 * MIB;
    this.pendingBytesMax = options.pendingBytesMax ?? 64 * MIB;
    this.mode = options.recovery ?? "tolerate-tail";
    this.segments = init.segments;
    this.writeQueue = [init.segments[init.segments.length - 1]!];
    this.nextLsnValue = init.nextLsn;
    this.changed = deferred();
    if (typeof this.policy === "object" && "intervalMs" in this.policy) {
      this.timer = setInterval(() => this.requestSyncFlush(), this.policy.intervalMs);
      // NB: a pending interval must not keep the process alive.
      this.timer.unref?.();
    }
  }

  /**
   * Opens (or creates) the log in `options.dir`, recovering it per `options.recovery`.
   * Throws `LockedError` when another process (or another open here) has it, `CorruptionError`
   * when the recovery mode does not accept what it found, `InvalidArgumentError` on bad options.
   */
  static async open(options: WalOptions): Promise<Wal> {
    validateOptions(options);
    const fs = options.fs ?? nodeFs();
    await mkdirDurable(fs, options.dir);
    const lock = await fs.lock(joinPath(options.dir, LOCK_NAME));
    try {
      const { segments, nextLsn, recovery } = await recover(fs, options);
      return new Wal({ options, fs, lock, segments, nextLsn, recovery });
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The LSN the next appended record will get. */
  get nextLsn(): number {
    return this.nextLsnValue;
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends one record; resolves with its LSN once it is acknowledged per the sync policy (or
   * `options.sync`). Records are numbered in call order.
   */
  append(data: Uint8Array, options?: AppendOptions): Promise<number> {
    return this.enqueue([data], options?.sync ?? this.defaultSync);
  }

  /**
   * Appends records in order with consecutive LSNs, in one group commit. Resolves with the first
   * and last LSN. NB: not atomic across a crash (a prefix may survive); to make several changes
   * atomic, put them in one record.
   */
  async appendBatch(records: readonly Uint8Array[], options?: AppendOptions): Promise<{ firstLsn: number; lastLsn: number }> {
    if (!Array.isArray(records)) throw new InvalidArgumentError("auradb/wal: appendBatch takes an array of Uint8Array");
    const firstLsn = await this.enqueue(records, options?.sync ?? this.defaultSync);
    return { firstLsn, lastLsn: firstLsn + records.length - 1 };
  }

  /** Makes every record appended so far durable (one fdatasync, shared with concurrent calls). */
  sync(): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ sync: true, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Reads the log's records from LSN `from`, oldest first. Records appended while the replay runs
   * are included up to the moment it reaches the end. Throws `CorruptionError` on damage the
   * recovery mode does not accept.
   */
  replay(options: ReplayOptions = {}): AsyncIterable<WalRecord> {
    return this.follow(options.from ?? 1, null, false);
  }

  /**
   * Like `replay`, then keeps yielding new records as their group commits complete, until
   * `options.signal` fires or the log is closed.
   */
  tail(options: TailOptions = {}): AsyncIterable<WalRecord> {
    return this.follow(options.from ?? 1, options.signal ?? null, true);
  }

  /**
   * Seals the segment being written (if it holds a record) so that later appends go to a new
   * one, and resolves with the LSN that new segment starts at once its file exists and the sealed
   * one is durable. The boundary is set synchronously, at the call: records appended after the
   * call are in the new segment. An owner that trims its log at checkpoints (a flushed memtable)
   * rolls at each checkpoint, so that `removeBefore` drops the older records at once instead of a
   * whole `segmentBytes` segment at a time.
   */
  roll(): Promise<number> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    const target = this.writeQueue[this.writeQueue.length - 1]!;
    if (this.nextLsnValue > target.firstLsn) this.startSegment(target);
    const lsn = this.nextLsnValue;
    return this.sync().then(() => lsn);
  }

  /**
   * Deletes whole segments all of whose records have LSNs below `lsn` (never the segment being
   * written), oldest first, each removal made durable (a directory sync) before the next: a crash
   * midway leaves the newer segments contiguous. Two removals under one sync could survive in
   * either order, and a kept older segment before a removed newer one is a gap, which recovery
   * must refuse as a missing segment. Resolves with the number of segments removed.
   */
  async removeBefore(lsn: number): Promise<number> {
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    if (!Number.isSafeInteger(lsn)) throw new InvalidArgumentError("auradb/wal: removeBefore takes an integer LSN");
    let removed = 0;
    while (this.segments.length > 1) {
      const next = this.segments[1]!;
      if (!next.created || next.firstLsn > lsn) break;
      const oldest = this.segments.shift()!;
      await this.fs.remove(oldest.path);
      await this.fs.syncDir(this.dir);
      removed++;
    }
    return removed;
  }

  /**
   * Writes and syncs what is pending, then releases the files and the lock. Appends made after
   * `close` was called reject with `ClosedError`. A second call is a no-op.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    let error: unknown = null;
    try {
      if (this.failure === null && (this.unwrittenBytes > 0 || this.waiters.length > 0)) {
        await new Promise<void>((resolve, reject) => {
          this.waiters.push({ sync: true, resolve, reject });
          this.scheduleFlush();
        });
      }
      if (this.flushing !== null) await this.flushing;
      if (this.backgroundSync.inFlight !== null) await this.backgroundSync.inFlight;
      const active = this.segments[this.segments.length - 1];
      if (this.failure === null && active !== undefined && active.file !== null && active.syncedOffset < active.writtenOffset) {
        await active.file.datasync();
      }
    } catch (closeError) {
      error = closeError;
    }
    for (const blocked of this.blocked.splice(0)) blocked.reject(new ClosedError("auradb/wal: closed"));
    for (const segment of this.segments) {
      if (segment.file !== null) {
        const file = segment.file;
        segment.file = null;
        try {
          await file.close();
        } catch (closeError) {
          error ??= closeError; // NB: reported, but everything else is still released
        }
      }
    }
    try {
      await this.lock.release();
    } catch (releaseError) {
      error ??= releaseError;
    }
    this.notifyReaders();
    if (error !== null) throw error;
  }

  // --- write path ---

  private refusal(): Error | null {
    if (this.closed) return new ClosedError("auradb/wal: the log is closed");
    if (this.failure !== null) {
      return new ReadOnlyError("auradb/wal: an earlier write or sync failed; reopen the log", { cause: this.failure, dataLoss: true });
    }
    return null;
  }

  private enqueue(records: readonly Uint8Array[], sync: boolean): Promise<number> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    for (const record of records) {
      if (!(record instanceof Uint8Array)) {
        return Promise.reject(new InvalidArgumentError("auradb/wal: a record must be a Uint8Array"));
      }
      if (record.length > this.recordBytesMax) {
        return Promise.reject(
          new InvalidArgumentError(`auradb/wal: record of ${record.length} bytes exceeds recordBytesMax ${this.recordBytesMax}`),
        );
      }
    }
    if (this.blocked.length > 0 || this.unwrittenBytes > this.pendingBytesMax) {
      // Back-pressure: wait for earlier groups to be written (FIFO, so LSNs stay in call order).
      return new Promise<number>((resolve, reject) => {
        this.blocked.push({ records, sync, resolve, reject });
        this.scheduleFlush();
      });
    }
    const firstLsn = this.encodeRecords(records);
    if (this.buffered && !sync) {
      if ("bytes" in (this.policy as object) && this.unwrittenBytes >= (this.policy as { bytes: number }).bytes) {
        this.requestSyncFlush();
      }
      return Promise.resolve(firstLsn);
    }
    return new Promise<number>((resolve, reject) => {
      this.waiters.push({ sync, resolve: () => resolve(firstLsn), reject });
      this.scheduleFlush();
    });
  }

  /** Encodes records into the pending group, rolling to a new segment when the current is full. */
  private encodeRecords(records: readonly Uint8Array[]): number {
    const firstLsn = this.nextLsnValue;
    for (const record of records) {
      let target = this.writeQueue[this.writeQueue.length - 1]!;
      let encoder = target.encoder!;
      if (encoder.endOffset >= this.segmentBytes && this.nextLsnValue > target.firstLsn) {
        target = this.startSegment(target);
        encoder = target.encoder!;
      }
      const before = encoder.pendingBytes;
      encoder.encode(record, this.nextLsnValue, target.syncedOffset);
      this.unwrittenBytes += encoder.pendingBytes - before;
      this.nextLsnValue++;
    }
    return firstLsn;
  }

  /** Queues a new segment after `previous`; its file is created by the flush, in order. */
  private startSegment(previous: Segment): Segment {
    previous.sealed = true;
    const id = previous.id + 1;
    const segment: Segment = {
      id,
      path: joinPath(this.dir, segmentFileName(id)),
      firstLsn: this.nextLsnValue,
      blockBytes: this.blockBytes,
      file: null,
      encoder: new ChunkEncoder(id, this.nextLsnValue, this.blockBytes, SEGMENT_HEADER_BYTES),
      writtenOffset: SEGMENT_HEADER_BYTES,
      syncedOffset: SEGMENT_HEADER_BYTES,
      visibleOffset: SEGMENT_HEADER_BYTES,
      created: false,
      sealed: false,
    };
    this.writeQueue.push(segment);
    return segment;
  }

  private requestSyncFlush(): void {
    if (this.closed || this.failure !== null) return;
    if (this.unwrittenBytes === 0 && this.waiters.length === 0) return;
    this.syncRequested = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing !== null || this.flushQueued) return;
    this.flushQueued = true;
    // NB: a microtask, so that every append made in this tick joins the same group.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.startFlush();
    });
  }

  private startFlush(): void {
    if (this.flushing !== null) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      // NB: work queued between the loop's last check and here must not be stranded.
      if (this.hasFlushWork()) this.scheduleFlush();
    });
  }

  private hasFlushWork(): boolean {
    return this.waiters.length > 0 || this.syncRequested || this.blocked.length > 0;
  }

  private async flushLoop(): Promise<void> {
    while (this.failure === null && this.hasFlushWork()) {
      await this.flushGroup();
      this.admitBlocked();
    }
    if (this.failure !== null) this.rejectAll(this.refusal()!);
  }

  /** Moves appends that waited for space into the pending group. */
  private admitBlocked(): void {
    while (this.blocked.length > 0 && this.unwrittenBytes <= this.pendingBytesMax && this.failure === null) {
      const blocked = this.blocked.shift()!;
      const firstLsn = this.encodeRecords(blocked.records);
      if (this.buffered && !blocked.sync) {
        blocked.resolve(firstLsn);
      } else {
        this.waiters.push({ sync: blocked.sync, resolve: () => blocked.resolve(firstLsn), reject: blocked.reject });
      }
    }
  }

  /** One group commit: write everything encoded so far, sync if anyone asked, acknowledge. */
  private async flushGroup(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    let needSync = this.syncRequested;
    this.syncRequested = false;
    for (const waiter of waiters) needSync ||= waiter.sync;
    try {
      const queue = this.writeQueue;
      for (let index = 0; index < queue.length; index++) {
        const segment = queue[index]!;
        if (!segment.created) await this.createSegmentFile(segment);
        const bytes = segment.encoder!.take();
        this.unwrittenBytes -= bytes.length;
        if (bytes.length > 0 && this.syncWrites && bytes.length <= SYNC_WRITE_BYTES_MAX) {
          writeAllSync(segment.file!, bytes, segment.writtenOffset);
          segment.writtenOffset += bytes.length;
        } else if (bytes.length > 0) {
          await writeAll(segment.file!, bytes, segment.writtenOffset);
          segment.writtenOffset += bytes.length;
        }
        if (index < queue.length - 1) {
          // L1: a segment is complete and durable before anything is written to the next one.
          if (this.backgroundSync.inFlight !== null) await this.backgroundSync.inFlight;
          await segment.file!.datasync();
          segment.syncedOffset = segment.writtenOffset;
          segment.visibleOffset = segment.writtenOffset;
          await segment.file!.close();
          segment.file = null;
          segment.encoder = null;
        }
      }
      this.writeQueue = [queue[queue.length - 1]!];
      const active = this.writeQueue[0]!;
      if (needSync && active.syncedOffset < active.writtenOffset) {
        await active.file!.datasync();
        active.syncedOffset = active.writtenOffset;
      } else if (!needSync) {
        this.backgroundSync.maybeStart(active.file, active);
      }
      // NB: a failed background sync means bytes may be gone whatever later syncs say.
      if (this.failure !== null) throw this.failure;
      active.visibleOffset = active.writtenOffset;
    } catch (error) {
      this.failure = error;
      // NB: after a failed data sync the unsynced tail may never reach the disk (fsyncgate):
      // drop it, so that neither a reader nor a reopen in this process replays it.
      if (isFailedDataSync(error)) {
        for (const segment of this.writeQueue) {
          if (segment.file !== null) {
            await dropUnsyncedTail(segment.file, segment);
            segment.visibleOffset = Math.min(segment.visibleOffset, segment.writtenOffset);
          }
        }
      }
      for (const waiter of waiters) waiter.reject(error);
      this.notifyReaders();
      return;
    }
    for (const waiter of waiters) waiter.resolve();
    this.notifyReaders();
  }

  /** Creates a segment's file with its header durable (file and directory entry). */
  private async createSegmentFile(segment: Segment): Promise<void> {
    const file = await this.fs.open(segment.path, { create: true, truncate: true });
    segment.file = file;
    await writeAll(file, encodeSegmentHeader({ segmentId: segment.id, firstLsn: segment.firstLsn, blockBytes: segment.blockBytes }), 0);
    await file.datasync();
    await this.fs.syncDir(this.dir);
    segment.created = true;
    this.segments.push(segment);
  }

  private rejectAll(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    for (const blocked of this.blocked.splice(0)) blocked.reject(error);
  }

  private notifyReaders(): void {
    const changed = this.changed;
    this.changed = deferred();
    changed.resolve();
  }

  // --- read path ---

  private async *follow(from: number, signal: AbortSignal | null, keepFollowing: boolean): AsyncGenerator<WalRecord> {
    if (this.closed) throw new ClosedError("auradb/wal: the log is closed");
    let index = 0;
    while (index + 1 < this.segments.length && this.segments[index + 1]!.firstLsn <= from) index++;
    const start = this.segments[index];
    if (start === undefined) return;
    let segment: Segment = start;
    let expectedLsn = segment.firstLsn;
    let parser = this.parserFor(segment, expectedLsn);
    let file: File | null = null;
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      this.notifyReaders();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (aborted || signal?.aborted) return;
        const limit = segment.visibleOffset;
        if (parser.position < limit) {
          file ??= await this.fs.open(segment.path, { readOnly: true });
          const window = await readWindow(file, parser, limit);
          for (const record of window.records) if (record.lsn >= from) yield record;
          if (window.invalid !== null) this.onReadDamage(segment, parser, window.invalid);
          continue;
        }
        if (segment.sealed && segment.created) {
          // Move on to the next segment, checking that the LSNs continue.
          const next: Segment | undefined = this.segments[this.segments.indexOf(segment) + 1];
          if (next === undefined || !next.created) {
            if (!keepFollowing || this.closed) return;
            await this.waitForChange();
            continue;
          }
          if (next.firstLsn !== parser.expectedLsn && this.mode !== "skip-corrupt") {
            throw new CorruptionError(
              `auradb/wal: segment starts at LSN ${next.firstLsn}, expected ${parser.expectedLsn}`,
              { path: next.path, offset: 16 },
            );
          }
          await file?.close();
          file = null;
          segment = next;
          expectedLsn = segment.firstLsn;
          parser = this.parserFor(segment, expectedLsn);
          continue;
        }
        if (!keepFollowing || this.closed) return;
        await this.waitForChange();
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await file?.close();
    }
  }

  private parserFor(segment: Segment, expectedLsn: number): SegmentParser {
    return new SegmentParser({
      segmentId: segment.id,
      firstLsn: segment.firstLsn,
      blockBytes: segment.blockBytes,
      recordBytesMax: this.recordBytesMax,
      expectedLsn,
    });
  }

  private onReadDamage(segment: Segment, parser: SegmentParser, invalid: InvalidChunk): void {
    if (this.mode !== "skip-corrupt") {
      throw new CorruptionError(`auradb/wal: invalid chunk (${invalid.reason})`, { path: segment.path, offset: invalid.chunkOffset });
    }
    skipInvalid(parser, invalid);
  }

  private waitForChange(): Promise<void> {
    return this.changed.promise;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

function validateOptions(options: WalOptions): void {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb/wal: Wal.open takes an options object");
  if (typeof options.dir !== "string" || options.dir.length === 0) throw new InvalidArgumentError("auradb/wal: options.dir must be a path");
  const policy = options.sync;
  if (policy !== undefined && policy !== "always" && policy !== "none") {
    const valid =
      typeof policy === "object" &&
      policy !== null &&
      (("intervalMs" in policy && Number.isFinite(policy.intervalMs) && policy.intervalMs > 0) ||
        ("bytes" in policy && Number.isSafeInteger(policy.bytes) && policy.bytes > 0));
    if (!valid) throw new InvalidArgumentError("auradb/wal: options.sync must be 'always', 'none', { intervalMs } or { bytes }");
  }
  const segmentBytes = options.segmentBytes;
  if (segmentBytes !== undefined && (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1024 || segmentBytes > 2 ** 31)) {
    throw new InvalidArgumentError("auradb/wal: options.segmentBytes must be an integer from 1 KiB to 2 GiB");
  }
  if (options.blockBytes !== undefined && !isValidBlockBytes(options.blockBytes)) {
    throw new InvalidArgumentError("auradb/wal: options.blockBytes must be a power of two from 256 B to 64 KiB");
  }
  const recordBytesMax = options.recordBytesMax;
  if (recordBytesMax !== undefined && (!Number.isSafeInteger(recordBytesMax) || recordBytesMax < 1 || recordBytesMax > 2 ** 30)) {
    throw new InvalidArgumentError("auradb/wal: options.recordBytesMax must be an integer from 1 B to 1 GiB");
  }
  const pendingBytesMax = options.pendingBytesMax;
  if (pendingBytesMax !== undefined && (!Number.isSafeInteger(pendingBytesMax) || pendingBytesMax < 1)) {
    throw new InvalidArgumentError("auradb/wal: options.pendingBytesMax must be a positive integer");
  }
  const modes: readonly string[] = ["tolerate-tail", "absolute", "point-in-time", "skip-corrupt"];
  if (options.recovery !== undefined && !modes.includes(options.recovery)) {
    throw new InvalidArgumentError(`auradb/wal: options.recovery must be one of ${modes.join(", ")}`);
  }
}

// --- recovery ---

interface FoundSegment {
  readonly id: number;
  readonly path: string;
}

/**
 * Reads the directory, checks the segments per the recovery mode, repairs what the mode allows
 * (durably), and returns the segments ready for writing.
 */
async function recover(
  fs: FileSystem,
  options: WalOptions,
): Promise<{ segments: Segment[]; nextLsn: number; recovery: RecoveryReport }> {
  const mode = options.recovery ?? "tolerate-tail";
  const recordBytesMax = options.recordBytesMax ?? 64 * MIB;
  const events: RecoveryEvent[] = [];
  const report = (event: RecoveryEvent) => {
    events.push(event);
    options.onRecovery?.(event);
  };
  let found: FoundSegment[] = [];
  for (const name of await fs.list(options.dir)) {
    const id = parseSegmentFileName(name);
    if (id !== null) found.push({ id, path: joinPath(options.dir, name) });
  }
  found.sort((a, b) => a.id - b.id);

  // A gap in segment ids means a segment is missing.
  for (let index = 1; index < found.length; index++) {
    if (found[index]!.id === found[index - 1]!.id + 1) continue;
    const missing = found[index - 1]!.id + 1;
    if (mode === "tolerate-tail" || mode === "absolute") {
      throw new CorruptionError(`auradb/wal: segment ${missing} is missing`, { path: joinPath(options.dir, segmentFileName(missing)) });
    }
    if (mode === "point-in-time") {
      for (const dropped of found.slice(index)) await setAside(fs, dropped.path, "segment-dropped", "after a missing segment", report);
      found = found.slice(0, index);
      break;
    }
  }

  const segments: Segment[] = [];
  let nextLsn = 1;
  const fullScan = mode === "point-in-time" || mode === "skip-corrupt";
  for (let index = 0; index < found.length; index++) {
    const entry = found[index]!;
    const isLast = index === found.length - 1;
    const file = await fs.open(entry.path);
    let keepFile = false;
    try {
      const fileBytes = await file.size();
      let header: SegmentHeader;
      try {
        header = decodeSegmentHeader(await readAt(file, 0, SEGMENT_HEADER_BYTES), entry.path);
      } catch (error) {
        // A crash while the last segment was being created leaves a torn header and no chunk.
        const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
        const torn = isLast && !(await syncPromiseBeyond(file, entry.id, blockBytes, -1, -1, fileBytes)) && mode !== "absolute";
        if (torn) {
          await file.close();
          await setAside(fs, entry.path, "torn-segment", "segment header incomplete", report);
          continue;
        }
        if (mode === "point-in-time") {
          await file.close();
          for (const dropped of found.slice(index)) await setAside(fs, dropped.path, "segment-dropped", "damaged segment header", report);
          break;
        }
        if (mode === "skip-corrupt") {
          await file.close();
          await setAside(fs, entry.path, "segment-dropped", "damaged segment header", report);
          continue;
        }
        throw error;
      }
      if (header.segmentId !== entry.id) {
        throw new CorruptionError(`auradb/wal: segment file holds segment ${header.segmentId}`, { path: entry.path, offset: 8 });
      }
      const segment: Segment = {
        id: entry.id,
        path: entry.path,
        firstLsn: header.firstLsn,
        blockBytes: header.blockBytes,
        file: null,
        encoder: null,
        writtenOffset: fileBytes,
        syncedOffset: fileBytes,
        visibleOffset: fileBytes,
        created: true,
        sealed: !isLast,
      };
      if (!isLast && !fullScan) {
        // Not scanned now: replay checks every chunk of it.
        segments.push(segment);
        continue;
      }
      const parser = new SegmentParser({ segmentId: entry.id, firstLsn: header.firstLsn, blockBytes: header.blockBytes, recordBytesMax });
      let stop = false;
      for (;;) {
        // Check-only: recovery needs the last LSN and the first damage, not the records.
        const window = await readWindow(file, parser, fileBytes, false);
        if (parser.expectedLsn > nextLsn) nextLsn = parser.expectedLsn;
        const invalid = window.invalid;
        if (invalid === null) {
          if (window.done) break;
          continue;
        }
        const promised = await syncPromiseBeyond(file, entry.id, header.blockBytes, invalid.chunkOffset, invalid.cut, fileBytes);
        const tornTail = isLast && !promised;
        if (mode === "absolute") {
          throw new CorruptionError(`auradb/wal: invalid chunk (${invalid.reason})`, { path: entry.path, offset: invalid.chunkOffset });
        }
        if (tornTail) {
          await cutTail(fs, file, entry.path, invalid.cut, fileBytes, "torn-tail", invalid.reason, report);
          segment.writtenOffset = segment.syncedOffset = segment.visibleOffset = invalid.cut;
          break;
        }
        if (mode === "tolerate-tail") {
          throw new CorruptionError(`auradb/wal: invalid chunk (${invalid.reason}) before synced data`, {
            path: entry.path,
            offset: invalid.chunkOffset,
          });
        }
        if (mode === "point-in-time") {
          await cutTail(fs, file, entry.path, invalid.cut, fileBytes, "corruption-truncated", invalid.reason, report);
          segment.writtenOffset = segment.syncedOffset = segment.visibleOffset = invalid.cut;
          for (const dropped of found.slice(index + 1)) await setAside(fs, dropped.path, "segment-dropped", "after corruption", report);
          stop = true;
          break;
        }
        // skip-corrupt: report the gap, resume at the next block.
        skipInvalid(parser, invalid);
        report({
          kind: "corruption-skipped",
          path: entry.path,
          offset: invalid.cut,
          bytesDropped: Math.min(parser.position, fileBytes) - invalid.cut,
          reason: invalid.reason,
        });
      }
      if (nextLsn < header.firstLsn) nextLsn = header.firstLsn;
      if (isLast || stop) {
        segment.sealed = false;
        segment.file = file;
        keepFile = true;
      }
      segments.push(segment);
      if (stop) break;
    } finally {
      if (!keepFile) await file.close();
    }
  }

  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  let active = segments[segments.length - 1];
  if (active === undefined || active.file === null) {
    // No segment, or the last one could not take writes: start a new one.
    if (active !== undefined && active.file === null) {
      // The previous last segment was never fully scanned here (its header was torn and set
      // aside, making this one last): find its last LSN.
      nextLsn = await lastLsnOf(fs, active, recordBytesMax, mode);
      active.sealed = true;
    }
    const id = active === undefined ? (found[found.length - 1]?.id ?? 0) + 1 : active.id + 1;
    const path = joinPath(options.dir, segmentFileName(id));
    const file = await fs.open(path, { create: true, truncate: true });
    await writeAll(file, encodeSegmentHeader({ segmentId: id, firstLsn: nextLsn, blockBytes }), 0);
    await file.datasync();
    await fs.syncDir(options.dir);
    active = {
      id,
      path,
      firstLsn: nextLsn,
      blockBytes,
      file,
      encoder: null,
      writtenOffset: SEGMENT_HEADER_BYTES,
      syncedOffset: SEGMENT_HEADER_BYTES,
      visibleOffset: SEGMENT_HEADER_BYTES,
      created: true,
      sealed: false,
    };
    segments.push(active);
  } else {
    // What survived is made durable before new records may promise it synced.
    await active.file!.datasync();
  }
  active.encoder = new ChunkEncoder(active.id, active.firstLsn, active.blockBytes, active.writtenOffset);
  for (const segment of segments) if (segment !== active) segment.sealed = true;
  return { segments, nextLsn, recovery: { mode, segmentCount: segments.length, lastLsn: nextLsn - 1, events } };
}

/** Scans a whole segment for its last LSN (replay rules: damage is an error unless skipping). */
async function lastLsnOf(fs: FileSystem, segment: Segment, recordBytesMax: number, mode: RecoveryMode): Promise<number> {
  const file = await fs.open(segment.path, { readOnly: true });
  try {
    const parser = new SegmentParser({ segmentId: segment.id, firstLsn: segment.firstLsn, blockBytes: segment.blockBytes, recordBytesMax });
    const fileBytes = await file.size();
    for (;;) {
      const window = await readWindow(file, parser, fileBytes, false);
      if (window.invalid !== null) {
        if (mode !== "skip-corrupt") {
          throw new CorruptionError(`auradb/wal: invalid chunk (${window.invalid.reason})`, { path: segment.path, offset: window.invalid.chunkOffset });
        }
        skipInvalid(parser, window.invalid);
        continue;
      }
      if (window.done) return parser.expectedLsn;
    }
  } finally {
    await file.close();
  }
}

/** Copies the bytes from `cut` aside, truncates the segment there and makes that durable. */
async function cutTail(
  fs: FileSystem,
  file: File,
  path: string,
  cut: number,
  fileBytes: number,
  kind: RecoveryEvent["kind"],
  reason: string,
  report: (event: RecoveryEvent) => void,
): Promise<void> {
  const dropped = await readAt(file, cut, fileBytes - cut);
  let backupPath: string | undefined;
  if (dropped.some((byte) => byte !== 0)) {
    backupPath = `${path}.${cut}.broken`;
    await writeFileAtomic(fs, backupPath, dropped);
  }
  // L3: never append after a torn tail; cut it first, durably.
  await file.truncate(cut);
  await file.datasync();
  await fs.syncDir(dirname(path));
  report({ kind, path, offset: cut, bytesDropped: fileBytes - cut, ...(backupPath === undefined ? {} : { backupPath }), reason });
}

/** Renames a segment out of the log (`<name>.broken`), durably, and reports it. */
async function setAside(
  fs: FileSystem,
  path: string,
  kind: RecoveryEvent["kind"],
  reason: string,
  report: (event: RecoveryEvent) => void,
): Promise<void> {
  const stat = await fs.stat(path);
  const backupPath = `${path}.broken`;
  await fs.rename(path, backupPath);
  await fs.syncDir(dirname(path));
  report({ kind, path, offset: 0, bytesDropped: stat.size, backupPath, reason });
}

