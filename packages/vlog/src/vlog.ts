/**
 * The value log: files of checksummed entries in two partitions, group commit, reads by pointer,
 * recovery (docs/format/vlog.md).
 */
import {
  BackgroundSync,
  dropUnsyncedTail,
  isFailedDataSync,
  ClosedError,
  CorruptionError,
  type File,
  type FileSystem,
  InvalidArgumentError,
  joinPath,
  mkdirDurable,
  NotFoundError,
  NotSupportedError,
  readAt,
  readAtSync,
  ReadOnlyError,
  writeAll,
  writeAllSync,
} from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { assert } from "./_assert.ts";
import { EntryEncoder } from "./encoder.ts";
import { parseVlogFileName, vlogFileName } from "./filenames.ts";
import {
  checkFileHeader,
  encodeFileHeader,
  ENTRY_HEADER_BYTES,
  fileCrcSeed,
  HEADER_BYTES,
  KEY_BYTES_LIMIT,
  type Partition,
  VALUE_BYTES_LIMIT,
} from "./format.ts";
import { pointerProblem, type ValuePointer } from "./pointer.ts";
import { EntryScanner, verifyEntry, type VlogEntry } from "./reader.ts";

export interface ValueLogOptions {
  /** The log's directory (created if missing). Not locked: its owner keeps it to one writer. */
  readonly dir: string;
  /** The file system. Default: `@auradb/fs/node`. */
  readonly fs?: FileSystem;
  /**
   * Allocates file numbers (the engine passes its manifest's allocator). Called synchronously,
   * inside `append`, each time a partition starts a file; must return a positive safe integer no
   * file of this log has. Default: 1 + the largest number found in `dir` at open, then counting up.
   */
  readonly newFileNumber?: () => number;
  /**
   * A file is sealed and a new one started once the next entry would take it past this many
   * bytes (a file holds at least one entry, so one larger entry makes a larger file).
   * Default 256 MiB; 1 KiB … 1 TiB.
   */
  readonly fileBytes?: number;
  /** The longest key `append` accepts. Default 64 KiB; at most 16 MiB (`KEY_BYTES_LIMIT`). */
  readonly keyBytesMax?: number;
  /** The longest value `append` accepts. Default and maximum 256 MiB (`VALUE_BYTES_LIMIT`). */
  readonly valueBytesMax?: number;
  /**
   * Which files `open` scans entry by entry: `'all'` (default) or `'newest'`, the newest file of
   * each partition only. Only those can hold a torn tail (a file is synced whole before its
   * successor is started); `'newest'` opens a large log without reading all of it, and leaves
   * damage in older files to be found by the reads (and scans) that meet it.
   */
  readonly recoveryScan?: "all" | "newest";
}

/** One value to append: stored with its key (checked on reads) and sequence number (for GC). */
export interface VlogEntryInput {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** A safe integer ≥ 0. */
  readonly seq: number;
}

export interface VlogAppendOptions {
  /** `'fresh'` (default) for new writes, `'gc'` for values relocated by garbage collection. */
  readonly partition?: Partition;
  /** Resolve only after an fdatasync covered the entries (and every earlier append). Default false. */
  readonly sync?: boolean;
}

/** A file of the log, as `files()` lists it. */
export interface VlogFileInfo {
  readonly fileNumber: number;
  readonly partition: Partition;
  /** The file's length, header included, counting entries appended but not yet written. */
  readonly bytes: number;
  /** True for the file its partition appends to (it cannot be removed). */
  readonly active: boolean;
}

/** What `ValueLog.open` found and did. */
export interface VlogRecovery {
  /** Files cut back to the end of their last valid entry (a torn tail: a crash mid-write). */
  readonly truncated: readonly { readonly fileNumber: number; readonly validBytes: number; readonly fileBytes: number }[];
  /** Files deleted because their header was incomplete and they held nothing else (a crash while creating them). */
  readonly removed: readonly number[];
  /**
   * Files that are not the newest of their partition (so were synced whole before it was
   * started) and hold an invalid entry: damage, not a torn tail. They are kept as they are:
   * entries before `offset` read and scan normally, and so do entries after it that a pointer
   * names; a scan of the file throws at `offset`.
   */
  readonly corrupted: readonly { readonly fileNumber: number; readonly offset: number; readonly reason: string }[];
}

/** Counters since open (for write-amplification and read statistics). */
export interface VlogStats {
  /** Bytes handed to the OS: entries and file headers. */
  readonly bytesWritten: number;
  /** Bytes read from files by reads by pointer and by scans. */
  readonly bytesRead: number;
  /** Values read by pointer (`read`, `readSync`, `readMany`, `readManySync`). */
  readonly reads: number;
  /** Positional reads issued for them and for scans (`readMany` joins neighbours into one). */
  readonly readOps: number;
}

/** A file of the log (on disk, or about to be created). */
interface FileState {
  readonly fileNumber: number;
  readonly path: string;
  readonly partition: Partition;
  readonly crcSeed: number;
  /** Open from creation (or open) to removal or close; null until the file is created. */
  handle: File | null;
  /** True once the file exists with its header durable (file and directory entry). */
  created: boolean;
  /** Entries encoded but not yet written; null once the file is sealed, written and synced. */
  encoder: EntryEncoder | null;
  /** The file holds whole entries up to here (written by us, or found valid at open). */
  writtenOffset: number;
  /** Offset covered by the last successful fdatasync. */
  syncedOffset: number;
  /** True once no more entries will be encoded into it. */
  sealed: boolean;
}

interface Waiter {
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const DEFAULT_FILE_BYTES = 256 * MIB;
const DEFAULT_KEY_BYTES_MAX = 64 * KIB;
const FILE_BYTES_MIN = KIB;
const FILE_BYTES_MAX = 2 ** 40;
/**
 * Groups up to this size are written with a synchronous `write` where the file system has one:
 * a small write to the page cache costs a few µs, an asynchronous one a thread-pool round trip
 * (the WAL's measurement). Larger groups (large values) go asynchronously, so the event loop is
 * not blocked.
 */
const SYNC_WRITE_BYTES_MAX = MIB;
/**
 * Unsynced bytes of a file after which a background fdatasync starts (as in the WAL): the sync a
 * file roll requires then finds little left to write, instead of stalling appends for the whole
 * file (measured: 64 KiB puts spent ~60 % of their time idle in the roll of a 256 MiB file).
 */
const BACKGROUND_SYNC_BYTES = 8 * MIB;
/** `readMany` joins entries of one file separated by at most this many bytes into one read. */
const READ_GAP_BYTES_MAX = 16 * KIB;
/** …as long as the joined read stays under this size (one larger entry is read alone). */
const READ_RUN_BYTES_MAX = MIB;
/** Positional reads `readMany` keeps in flight at once. */
const READ_CONCURRENCY = 8;

/**
 * An append-only value log for key-value separation: large values are written once, here, and
 * the engine keeps a {@link ValuePointer} to each.
 *
 * Two partitions, each with its own active file: `'fresh'` (new writes) and `'gc'` (values
 * relocated by garbage collection). Appends from the same tick (and those made while a write is
 * in flight) share one write and one fdatasync: group commit. After a write or sync fails, every
 * later append and `sync` rejects with `ReadOnlyError` until the log is reopened (the kernel may
 * have dropped the unsynced pages: fsyncgate). Reads keep working.
 *
 * Every read is verified against the pointer (checksum, size, type, key): a damaged, missing or
 * misdirected value is a `CorruptionError` naming the file and offset, never a wrong value.
 */
export class ValueLog {
  readonly dir: string;
  readonly fs: FileSystem;
  /** What recovery found and did when this log was opened. */
  readonly recovery: VlogRecovery;
  private readonly fileBytes: number;
  private readonly keyBytesMax: number;
  private readonly valueBytesMax: number;
  private readonly allocate: () => number;
  private readonly syncWrites: boolean;
  /** Every file of the log, by number. */
  private readonly fileStates = new Map<number, FileState>();
  private readonly active: Record<Partition, FileState | null> = { fresh: null, gc: null };
  /** Files with an encoder (active, or sealed and not yet synced), in the order they were started. */
  private writeQueue: FileState[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private flushQueued = false;
  private failure: unknown = null;
  private closed = false;
  private readonly backgroundSync = new BackgroundSync(BACKGROUND_SYNC_BYTES, (error) => {
    // Fail-stop, as for a foreground sync: the next group reports it.
    this.failure ??= error;
  });
  private readonly counters = { bytesWritten: 0, bytesRead: 0, reads: 0, readOps: 0 };

  private constructor(init: { options: ValueLogOptions; fs: FileSystem; files: FileState[]; recovery: VlogRecovery; largestNumber: number }) {
    const options = init.options;
    this.dir = options.dir;
    this.fs = init.fs;
    this.recovery = init.recovery;
    this.fileBytes = options.fileBytes ?? DEFAULT_FILE_BYTES;
    this.keyBytesMax = options.keyBytesMax ?? DEFAULT_KEY_BYTES_MAX;
    this.valueBytesMax = options.valueBytesMax ?? VALUE_BYTES_LIMIT;
    this.syncWrites = init.fs.supports.syncIO;
    let next = init.largestNumber + 1;
    this.allocate = options.newFileNumber ?? (() => next++);
    for (const state of init.files) this.fileStates.set(state.fileNumber, state);
  }

  /**
   * Opens (or creates) the log in `options.dir` and recovers it: removes the remnants of a crash
   * during a file's creation, and cuts every torn tail back to the last valid entry, durably,
   * before it resolves (see `recovery`). Existing files are never appended to: each partition
   * starts a new file on its first append.
   *
   * Throws `InvalidArgumentError` on bad options, `CorruptionError` on a damaged file header (in a
   * file that holds entries), `NotSupportedError` on a file written in a newer format, `IOError`
   * when the file system fails.
   */
  static async open(options: ValueLogOptions): Promise<ValueLog> {
    validateOptions(options);
    const fs = options.fs ?? nodeFs();
    await mkdirDurable(fs, options.dir);
    const { files, recovery, largestNumber } = await recover(fs, options);
    return new ValueLog({ options, fs, files, recovery, largestNumber });
  }

  /** Counters since open (a snapshot: each access returns a new object). */
  get stats(): VlogStats {
    return { ...this.counters };
  }

  /**
   * Encodes the entries synchronously into the partition's active file (pointers are final at
   * the call, in call order), then resolves with their pointers once their bytes were handed to
   * the OS (written): they survive a process crash. With `sync: true`, resolves only once an
   * fdatasync made them (and every earlier append) durable: they survive a power cut.
   *
   * Concurrent appends share one write and one fdatasync (group commit). A file is sealed when
   * the next entry would take it past `fileBytes`; it is synced before anything is written to
   * the next one. The keys and values are copied at the call: the caller may reuse them at once.
   *
   * An empty `entries` resolves with `[]` at once. Rejects with `InvalidArgumentError` (nothing
   * appended) on a bad entry, `IOError` when the write or sync fails, `ReadOnlyError` after any
   * earlier failure, `ClosedError` after `close`.
   */
  append(entries: readonly VlogEntryInput[], options?: VlogAppendOptions): Promise<ValuePointer[]> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    let partition: Partition;
    let sync: boolean;
    try {
      ({ partition, sync } = this.checkAppend(entries, options));
    } catch (error) {
      return Promise.reject(error);
    }
    if (entries.length === 0) return Promise.resolve([]);
    const pointers: ValuePointer[] = new Array(entries.length);
    try {
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index]!;
        const size = ENTRY_HEADER_BYTES + entry.key.length + entry.value.length;
        let target = this.active[partition];
        if (target === null) {
          target = this.startFile(partition);
        } else {
          const end = target.encoder!.endOffset;
          if (end > HEADER_BYTES && end + size > this.fileBytes) target = this.startFile(partition);
        }
        pointers[index] = target.encoder!.encode(entry.key, entry.value, entry.seq);
      }
    } catch (error) {
      // NB: only a failing `newFileNumber` gets here; entries encoded before it are written with
      // the next group, unreferenced (garbage for GC).
      return Promise.reject(error);
    }
    return new Promise<ValuePointer[]>((resolve, reject) => {
      this.waiters.push({ sync, resolve: () => resolve(pointers), reject });
      this.scheduleFlush();
    });
  }

  /** Makes everything appended so far durable (one fdatasync per file written to, shared with concurrent calls). */
  sync(): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ sync: true, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Reads and verifies one value (docs/format/vlog.md, "Reading by pointer"); `key`, when given,
   * must be the entry's key. Returns the value: a view of a fresh buffer the caller owns.
   *
   * Throws `CorruptionError { path, offset }` when the entry is missing, damaged or not the one
   * the pointer names; `NotSupportedError` when the file system has no synchronous I/O;
   * `IOError` when the read fails; `ClosedError` after `close`.
   */
  readSync(pointer: ValuePointer, key?: Uint8Array): Uint8Array {
    this.checkRead(key);
    if (!this.fs.supports.syncIO) throw new NotSupportedError(`auradb/vlog: readSync needs a file system with synchronous I/O (${this.fs.name} has none)`);
    const state = this.locate(pointer);
    const bytes = this.readFromFileSync(state, pointer.offset, pointer.size);
    this.counters.reads++;
    return verifyEntry(bytes, 0, pointer, key, state.crcSeed, state.path);
  }

  /** Asynchronous {@link ValueLog.readSync} (works on every file system). */
  async read(pointer: ValuePointer, key?: Uint8Array): Promise<Uint8Array> {
    this.checkRead(key);
    const state = this.locate(pointer);
    const bytes = await this.readFromFile(state, pointer.offset, pointer.size);
    this.counters.reads++;
    return verifyEntry(bytes, 0, pointer, key, state.crcSeed, state.path);
  }

  /**
   * Reads and verifies many values; `keys[i]`, when `keys` is given, must be the key of
   * `pointers[i]`. The pointers are sorted internally by (file, offset), and entries of one file
   * that are adjacent or near (a gap of at most 16 KiB, a read of at most 1 MiB) are fetched
   * with one positional read. Results are in the callers' order.
   *
   * NB: values fetched by one read are views of one buffer (the caller's): keeping one value
   * alive keeps its neighbours' bytes too; `slice()` a value you keep for long if memory matters.
   * Throws as `readSync` does, for a pointer that fails (every pointer is checked for range and
   * file before anything is read).
   */
  readManySync(pointers: readonly ValuePointer[], keys?: readonly Uint8Array[]): Uint8Array[] {
    this.checkReadMany(pointers, keys);
    if (!this.fs.supports.syncIO) throw new NotSupportedError(`auradb/vlog: readManySync needs a file system with synchronous I/O (${this.fs.name} has none)`);
    const results: Uint8Array[] = new Array(pointers.length);
    for (const run of this.planReads(pointers)) {
      const bytes = this.readFromFileSync(run.state, run.start, run.end - run.start);
      this.settleRun(run, bytes, pointers, keys, results);
    }
    return results;
  }

  /** Asynchronous {@link ValueLog.readManySync} (works on every file system; up to 8 reads in flight). */
  async readMany(pointers: readonly ValuePointer[], keys?: readonly Uint8Array[]): Promise<Uint8Array[]> {
    this.checkReadMany(pointers, keys);
    const results: Uint8Array[] = new Array(pointers.length);
    const runs = this.planReads(pointers);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < runs.length && !failed) {
        const run = runs[next++]!;
        try {
          const bytes = await this.readFromFile(run.state, run.start, run.end - run.start);
          this.settleRun(run, bytes, pointers, keys, results);
        } catch (error) {
          failed = true; // NB: the other workers stop at their next run
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, runs.length) }, worker));
    return results;
  }

  /**
   * The entries of one file, in order (for garbage collection and verification), read in 1 MiB
   * windows. Each entry is checked in full (lengths, checksum); an invalid one is a
   * `CorruptionError` naming the file and its offset: a sealed file must be valid to its end. For
   * an active file, the scan ends at the last entry written when it gets there.
   *
   * NB: keys and values are views into the window they were read in (up to 1 MiB, shared with
   * their neighbours); they are the caller's. Throws `NotFoundError` for a file the log does not
   * have, `ClosedError` after `close`.
   */
  async *scan(fileNumber: number): AsyncGenerator<VlogEntry, void, undefined> {
    if (this.closed) throw new ClosedError("auradb/vlog: the log is closed");
    const state = this.fileStates.get(fileNumber);
    if (state === undefined) throw new NotFoundError(`auradb/vlog: no value-log file ${fileNumber}`, { path: joinPath(this.dir, vlogFileNameOrNumber(fileNumber)) });
    if (!state.created) return;
    const scanner = new EntryScanner({ file: state.handle!, fileNumber, crcSeed: state.crcSeed });
    for (;;) {
      const limit = state.writtenOffset;
      const window = await scanner.next(limit, true);
      this.counters.bytesRead += window.bytesRead;
      if (window.bytesRead > 0) this.counters.readOps++;
      yield* window.entries;
      if (window.invalid !== null) {
        throw new CorruptionError(`auradb/vlog: invalid entry in file ${fileNumber} (${window.invalid.reason})`, { path: state.path, offset: window.invalid.offset });
      }
      if (window.done) {
        if (scanner.position < limit) {
          throw new CorruptionError(`auradb/vlog: file ${fileNumber} ends at ${scanner.position}, before its last entry (${limit})`, {
            path: state.path,
            offset: scanner.position,
          });
        }
        if (scanner.position >= state.writtenOffset) return;
      }
    }
  }

  /** The log's files, by number. */
  files(): VlogFileInfo[] {
    const infos: VlogFileInfo[] = [];
    for (const state of this.fileStates.values()) {
      infos.push({ fileNumber: state.fileNumber, partition: state.partition, bytes: endOffset(state), active: this.active[state.partition] === state });
    }
    return infos.sort((a, b) => a.fileNumber - b.fileNumber);
  }

  /**
   * Deletes a file that is not active, and syncs the directory. A sealed file whose last
   * entries are still being written is written and synced first. REQUIRES: no read or scan of
   * the file is in progress (they would fail) and no pointer to it is still needed (reads of one
   * are a `CorruptionError` from now on).
   *
   * Throws `NotFoundError` for a file the log does not have, `InvalidArgumentError` for an active
   * file, `IOError` when the file system fails.
   */
  async removeFile(fileNumber: number): Promise<void> {
    if (this.closed) throw new ClosedError("auradb/vlog: the log is closed");
    const state = this.fileStates.get(fileNumber);
    if (state === undefined) throw new NotFoundError(`auradb/vlog: no value-log file ${fileNumber}`, { path: joinPath(this.dir, vlogFileNameOrNumber(fileNumber)) });
    if (this.active[state.partition] === state) {
      throw new InvalidArgumentError(`auradb/vlog: file ${fileNumber} is the active file of partition '${state.partition}'`, { path: state.path });
    }
    // NB: a sealed file leaves the write queue once written and synced; its deletion waits for that.
    if (state.encoder !== null) await this.sync();
    if (this.fileStates.get(fileNumber) !== state) return; // removed meanwhile by another call
    this.fileStates.delete(fileNumber);
    const handle = state.handle;
    state.handle = null;
    if (handle !== null) await handle.close();
    if (state.created) {
      await this.fs.remove(state.path);
      await this.fs.syncDir(this.dir);
    }
  }

  /**
   * Writes and syncs what is pending, then closes the files. Appends and reads made after
   * `close` was called reject with `ClosedError`. A second call is a no-op. After a failure
   * (fail-stop) it only closes the files.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let error: unknown = null;
    try {
      if (this.failure === null) {
        await new Promise<void>((resolve, reject) => {
          this.waiters.push({ sync: true, resolve, reject });
          this.scheduleFlush();
        });
      }
      if (this.flushing !== null) await this.flushing;
    } catch (closeError) {
      error = closeError;
    }
    if (this.backgroundSync.inFlight !== null) await this.backgroundSync.inFlight;
    for (const state of this.fileStates.values()) {
      const handle = state.handle;
      if (handle === null) continue;
      state.handle = null;
      try {
        await handle.close();
      } catch (closeError) {
        error ??= closeError; // NB: reported, but every other file is still released
      }
    }
    if (error !== null) throw error;
  }

  // --- write path ---

  private refusal(): Error | null {
    if (this.closed) return new ClosedError("auradb/vlog: the log is closed");
    if (this.failure !== null) {
      return new ReadOnlyError("auradb/vlog: an earlier write or sync failed; reopen the log", { cause: this.failure, dataLoss: true });
    }
    return null;
  }

  private checkAppend(entries: readonly VlogEntryInput[], options: VlogAppendOptions | undefined): { partition: Partition; sync: boolean } {
    if (!Array.isArray(entries)) throw new InvalidArgumentError("auradb/vlog: append takes an array of { key, value, seq }");
    const partition = options?.partition ?? "fresh";
    if (partition !== "fresh" && partition !== "gc") throw new InvalidArgumentError("auradb/vlog: options.partition must be 'fresh' or 'gc'");
    const sync = options?.sync ?? false;
    if (typeof sync !== "boolean") throw new InvalidArgumentError("auradb/vlog: options.sync must be a boolean");
    for (const entry of entries) {
      if (entry === null || typeof entry !== "object") throw new InvalidArgumentError("auradb/vlog: an entry must be { key, value, seq }");
      if (!(entry.key instanceof Uint8Array) || !(entry.value instanceof Uint8Array)) {
        throw new InvalidArgumentError("auradb/vlog: an entry's key and value must be Uint8Arrays");
      }
      if (entry.key.length > this.keyBytesMax) {
        throw new InvalidArgumentError(`auradb/vlog: key of ${entry.key.length} bytes exceeds keyBytesMax ${this.keyBytesMax}`);
      }
      if (entry.value.length > this.valueBytesMax) {
        throw new InvalidArgumentError(`auradb/vlog: value of ${entry.value.length} bytes exceeds valueBytesMax ${this.valueBytesMax}`);
      }
      if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) throw new InvalidArgumentError(`auradb/vlog: seq must be a safe integer >= 0, got ${entry.seq}`);
    }
    return { partition, sync };
  }

  /** Seals the partition's active file (if any) and queues a new one; its file is created by the flush, in order. */
  private startFile(partition: Partition): FileState {
    const fileNumber = this.allocate();
    if (!Number.isSafeInteger(fileNumber) || fileNumber < 1) {
      throw new InvalidArgumentError(`auradb/vlog: newFileNumber returned ${fileNumber}, not a positive safe integer`);
    }
    if (this.fileStates.has(fileNumber)) throw new InvalidArgumentError(`auradb/vlog: newFileNumber returned ${fileNumber}, a number in use`);
    const previous = this.active[partition];
    if (previous !== null) previous.sealed = true;
    const state: FileState = {
      fileNumber,
      path: joinPath(this.dir, vlogFileName(fileNumber)),
      partition,
      crcSeed: fileCrcSeed(fileNumber),
      handle: null,
      created: false,
      encoder: new EntryEncoder(fileNumber, HEADER_BYTES),
      writtenOffset: HEADER_BYTES,
      syncedOffset: HEADER_BYTES,
      sealed: false,
    };
    this.fileStates.set(fileNumber, state);
    this.writeQueue.push(state);
    this.active[partition] = state;
    return state;
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
      if (this.waiters.length > 0) this.scheduleFlush();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.failure === null && this.waiters.length > 0) await this.flushGroup();
    if (this.failure !== null) {
      const refusal = new ReadOnlyError("auradb/vlog: an earlier write or sync failed; reopen the log", { cause: this.failure, dataLoss: true });
      for (const waiter of this.waiters.splice(0)) waiter.reject(refusal);
    }
  }

  /** One group commit: write everything encoded so far, sync if anyone asked, acknowledge. */
  private async flushGroup(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    let needSync = false;
    for (const waiter of waiters) needSync ||= waiter.sync;
    try {
      // NB: a snapshot: a file started while this group writes is left to the next group, after
      // its predecessor (which the queue order guarantees).
      for (const state of [...this.writeQueue]) {
        // Sealed before its bytes are taken: nothing more will be encoded into it.
        const sealed = state.sealed;
        if (!state.created) await this.createFile(state);
        const encoder = state.encoder!;
        const bytes = encoder.take();
        if (bytes.length > 0) {
          const handle = state.handle!;
          if (this.syncWrites && bytes.length <= SYNC_WRITE_BYTES_MAX) writeAllSync(handle, bytes, state.writtenOffset);
          else await writeAll(handle, bytes, state.writtenOffset);
          state.writtenOffset += bytes.length;
          encoder.written();
          this.counters.bytesWritten += bytes.length;
        }
        if (sealed) {
          // A sealed file is complete and durable before anything is written to its successor.
          if (this.backgroundSync.inFlight !== null) await this.backgroundSync.inFlight;
          if (state.syncedOffset < state.writtenOffset) await state.handle!.datasync();
          state.syncedOffset = state.writtenOffset;
          state.encoder = null;
          this.writeQueue = this.writeQueue.filter((queued) => queued !== state);
        }
      }
      if (needSync) {
        for (const state of this.writeQueue) {
          if (!state.created || state.syncedOffset >= state.writtenOffset) continue;
          const target = state.writtenOffset;
          await state.handle!.datasync();
          state.syncedOffset = Math.max(state.syncedOffset, target);
        }
      } else {
        for (const state of this.writeQueue) this.backgroundSync.maybeStart(state.created ? state.handle : null, state);
      }
      // NB: a failed background sync means bytes may be gone whatever later syncs say.
      if (this.failure !== null) throw this.failure;
    } catch (error) {
      this.failure = error;
      // NB: after a failed data sync the unsynced tail may never reach the disk (fsyncgate):
      // drop it, so that neither this log nor a reopen in this process reads it as data.
      if (isFailedDataSync(error)) {
        for (const state of this.fileStates.values()) {
          if (state.created && state.handle !== null) await dropUnsyncedTail(state.handle, state);
        }
      }
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  /** Creates a file with its header durable (data and directory entry) before any entry is written to it. */
  private async createFile(state: FileState): Promise<void> {
    const handle = await this.fs.open(state.path, { create: true, exclusive: true });
    state.handle = handle;
    await writeAll(handle, encodeFileHeader({ fileNumber: state.fileNumber, partition: state.partition }), 0);
    this.counters.bytesWritten += HEADER_BYTES;
    await handle.datasync();
    await this.fs.syncDir(this.dir);
    state.created = true;
  }

  // --- read path ---

  private checkRead(key: Uint8Array | undefined): void {
    if (this.closed) throw new ClosedError("auradb/vlog: the log is closed");
    if (key !== undefined && !(key instanceof Uint8Array)) throw new InvalidArgumentError("auradb/vlog: key must be a Uint8Array");
  }

  private checkReadMany(pointers: readonly ValuePointer[], keys: readonly Uint8Array[] | undefined): void {
    if (this.closed) throw new ClosedError("auradb/vlog: the log is closed");
    if (!Array.isArray(pointers)) throw new InvalidArgumentError("auradb/vlog: readMany takes an array of pointers");
    if (keys !== undefined) {
      if (!Array.isArray(keys) || keys.length !== pointers.length) throw new InvalidArgumentError("auradb/vlog: keys must be an array as long as pointers");
      for (const key of keys) if (!(key instanceof Uint8Array)) throw new InvalidArgumentError("auradb/vlog: keys must be Uint8Arrays");
    }
  }

  /**
   * The file `pointer` names, once its fields are in range and the entry lies within the bytes
   * written to it. Throws `CorruptionError` when the pointer cannot name an entry of this log.
   * NB: `append` delivers pointers only once their bytes are written, so a valid pointer is
   * always within `writtenOffset`.
   */
  private locate(pointer: ValuePointer): FileState {
    if (pointer === null || typeof pointer !== "object") throw new InvalidArgumentError("auradb/vlog: a pointer must be { fileNumber, offset, size, crc }");
    const problem = pointerProblem(pointer);
    if (problem !== null) {
      throw new CorruptionError(`auradb/vlog: invalid value pointer (${problem})`, {
        path: joinPath(this.dir, vlogFileNameOrNumber(pointer.fileNumber)),
        ...(Number.isSafeInteger(pointer.offset) ? { offset: pointer.offset } : {}),
      });
    }
    const state = this.fileStates.get(pointer.fileNumber);
    if (state === undefined) {
      throw new CorruptionError(`auradb/vlog: value-log file ${pointer.fileNumber} does not exist`, {
        path: joinPath(this.dir, vlogFileName(pointer.fileNumber)),
        offset: pointer.offset,
      });
    }
    if (!state.created || pointer.offset + pointer.size > state.writtenOffset) {
      throw new CorruptionError(
        `auradb/vlog: value at offset ${pointer.offset} of file ${pointer.fileNumber} runs past the end of the file (${state.writtenOffset} bytes written)`,
        { path: state.path, offset: pointer.offset },
      );
    }
    return state;
  }

  private readFromFileSync(state: FileState, offset: number, length: number): Uint8Array {
    const handle = this.handleOf(state);
    const bytes = readAtSync(handle, offset, length);
    this.counters.bytesRead += bytes.length;
    this.counters.readOps++;
    return bytes;
  }

  private async readFromFile(state: FileState, offset: number, length: number): Promise<Uint8Array> {
    const handle = this.handleOf(state);
    const bytes = await readAt(handle, offset, length);
    this.counters.bytesRead += bytes.length;
    this.counters.readOps++;
    return bytes;
  }

  private handleOf(state: FileState): File {
    const handle = state.handle;
    if (handle === null) throw new CorruptionError(`auradb/vlog: value-log file ${state.fileNumber} was removed`, { path: state.path });
    return handle;
  }

  /**
   * Groups the pointers into reads: sorted by (file, offset), neighbours of one file joined.
   * Checks every pointer first.
   */
  private planReads(pointers: readonly ValuePointer[]): ReadRun[] {
    const states = pointers.map((pointer) => this.locate(pointer));
    const order = Array.from(pointers.keys()).sort((a, b) => pointers[a]!.fileNumber - pointers[b]!.fileNumber || pointers[a]!.offset - pointers[b]!.offset || a - b);
    const runs: ReadRun[] = [];
    let run: ReadRun | null = null;
    for (const index of order) {
      const pointer = pointers[index]!;
      const state = states[index]!;
      const end = pointer.offset + pointer.size;
      if (run !== null && run.state === state && pointer.offset <= run.end + READ_GAP_BYTES_MAX && Math.max(run.end, end) - run.start <= READ_RUN_BYTES_MAX) {
        run.end = Math.max(run.end, end);
        run.members.push(index);
        continue;
      }
      run = { state, start: pointer.offset, end, members: [index] };
      runs.push(run);
    }
    return runs;
  }

  /** Verifies the entries of one run and stores their values. */
  private settleRun(run: ReadRun, bytes: Uint8Array, pointers: readonly ValuePointer[], keys: readonly Uint8Array[] | undefined, results: Uint8Array[]): void {
    let previous: ValuePointer | null = null;
    let previousValue: Uint8Array | null = null;
    for (const index of run.members) {
      const pointer = pointers[index]!;
      const at = pointer.offset - run.start;
      // Bytes short of the run's end make the entry fail its size check (the file is shorter).
      const view = bytes.subarray(0, Math.min(bytes.length, at + pointer.size));
      let value = verifyEntry(view, at, pointer, keys?.[index], run.state.crcSeed, run.state.path);
      // NB: the same entry asked twice gets two buffers, so that the caller's values never alias.
      if (previous !== null && previousValue !== null && previous.offset === pointer.offset) value = previousValue.slice();
      this.counters.reads++;
      results[index] = value;
      previous = pointer;
      previousValue = value;
    }
  }
}

/** One positional read of `readMany`: file bytes `[start, end)` holding the entries of `members`. */
interface ReadRun {
  readonly state: FileState;
  readonly start: number;
  end: number;
  /** Indices into the caller's pointers, in file order. */
  readonly members: number[];
}

function endOffset(state: FileState): number {
  return state.encoder?.endOffset ?? state.writtenOffset;
}

/** A file's name for an error message, even for a number out of range. */
function vlogFileNameOrNumber(fileNumber: number): string {
  return Number.isSafeInteger(fileNumber) && fileNumber >= 1 ? vlogFileName(fileNumber) : `${String(fileNumber)}.vlog`;
}

function validateOptions(options: ValueLogOptions): void {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb/vlog: ValueLog.open takes an options object");
  if (typeof options.dir !== "string" || options.dir.length === 0) throw new InvalidArgumentError("auradb/vlog: options.dir must be a path");
  if (options.newFileNumber !== undefined && typeof options.newFileNumber !== "function") {
    throw new InvalidArgumentError("auradb/vlog: options.newFileNumber must be a function");
  }
  const integerIn = (name: string, value: number | undefined, min: number, max: number, text: string) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
      throw new InvalidArgumentError(`auradb/vlog: options.${name} must be an integer from ${text}`);
    }
  };
  integerIn("fileBytes", options.fileBytes, FILE_BYTES_MIN, FILE_BYTES_MAX, "1 KiB to 1 TiB");
  integerIn("keyBytesMax", options.keyBytesMax, 0, KEY_BYTES_LIMIT, "0 to 16 MiB");
  integerIn("valueBytesMax", options.valueBytesMax, 0, VALUE_BYTES_LIMIT, "0 to 256 MiB");
  if (options.recoveryScan !== undefined && options.recoveryScan !== "all" && options.recoveryScan !== "newest") {
    throw new InvalidArgumentError("auradb/vlog: options.recoveryScan must be 'all' or 'newest'");
  }
}

// --- recovery ---

/** A file found at open whose header is sound. */
interface FoundFile {
  readonly fileNumber: number;
  readonly path: string;
  readonly partition: Partition;
  readonly handle: File;
  readonly fileBytes: number;
}

/**
 * Reads the directory, removes the remnants of crashed creations, scans the files, cuts torn
 * tails (durably), and returns the files ready for reading, every one of them sealed.
 */
async function recover(fs: FileSystem, options: ValueLogOptions): Promise<{ files: FileState[]; recovery: VlogRecovery; largestNumber: number }> {
  const dir = options.dir;
  const numbers: number[] = [];
  for (const name of await fs.list(dir)) {
    const fileNumber = parseVlogFileName(name);
    if (fileNumber !== undefined) numbers.push(fileNumber);
  }
  numbers.sort((a, b) => a - b);
  const largestNumber = numbers.length === 0 ? 0 : numbers[numbers.length - 1]!;
  const removed: number[] = [];
  const truncated: { fileNumber: number; validBytes: number; fileBytes: number }[] = [];
  const corrupted: { fileNumber: number; offset: number; reason: string }[] = [];
  const found: FoundFile[] = [];
  const files: FileState[] = [];
  try {
    for (const fileNumber of numbers) {
      const path = joinPath(dir, vlogFileName(fileNumber));
      const handle = await fs.open(path);
      let keep = false;
      try {
        const fileBytes = await handle.size();
        const header = checkFileHeader(await readAt(handle, 0, Math.min(fileBytes, HEADER_BYTES)), path);
        if ("problem" in header) {
          // A crash while the file was being created leaves a short or torn header and nothing
          // else (no entry is written before the header is durable): remove the remnant.
          if (header.problem === "torn" && fileBytes <= HEADER_BYTES) {
            await handle.close();
            await fs.remove(path);
            removed.push(fileNumber);
            continue;
          }
          throw header.error;
        }
        if (header.fileNumber !== fileNumber) {
          throw new CorruptionError(`auradb/vlog: file ${vlogFileName(fileNumber)} holds file ${header.fileNumber}`, { path, offset: 16 });
        }
        found.push({ fileNumber, path, partition: header.partition, handle, fileBytes });
        keep = true;
      } finally {
        if (!keep) await handle.close().catch(() => {});
      }
    }
    if (removed.length > 0) await fs.syncDir(dir);

    const newest: Record<Partition, number> = { fresh: 0, gc: 0 };
    for (const file of found) newest[file.partition] = Math.max(newest[file.partition], file.fileNumber);
    const scanAll = (options.recoveryScan ?? "all") === "all";
    for (const file of found) {
      const isNewest = newest[file.partition] === file.fileNumber;
      let validBytes = file.fileBytes;
      if (scanAll || isNewest) {
        const scanner = new EntryScanner({ file: file.handle, fileNumber: file.fileNumber, crcSeed: fileCrcSeed(file.fileNumber) });
        for (;;) {
          // Check-only: recovery needs where the valid entries end, not the entries.
          const window = await scanner.next(file.fileBytes, false);
          if (window.invalid !== null) {
            if (isNewest) {
              // A torn tail: the engine guarantees that no reference survives to an entry after
              // the first invalid one (its WAL is cut at the first pointer that fails its check).
              validBytes = window.invalid.offset;
              await file.handle.truncate(validBytes);
              await file.handle.datasync();
              truncated.push({ fileNumber: file.fileNumber, validBytes, fileBytes: file.fileBytes });
            } else {
              corrupted.push({ fileNumber: file.fileNumber, offset: window.invalid.offset, reason: window.invalid.reason });
            }
            break;
          }
          if (window.done) break;
        }
      }
      if (isNewest && validBytes === file.fileBytes) {
        // NB: its valid entries may sit in the page cache only (a process crash); the engine is
        // about to rely on them (its recovered WAL records point there): make them durable.
        await file.handle.datasync();
      }
      assert(validBytes >= HEADER_BYTES, "a kept file holds its header");
      files.push({
        fileNumber: file.fileNumber,
        path: file.path,
        partition: file.partition,
        crcSeed: fileCrcSeed(file.fileNumber),
        handle: file.handle,
        created: true,
        encoder: null,
          writtenOffset: validBytes,
        syncedOffset: validBytes,
        sealed: true,
      });
    }
  } catch (error) {
    for (const file of found) await file.handle.close().catch(() => {});
    throw error;
  }
  return { files, recovery: { truncated, removed, corrupted }, largestNumber };
}
