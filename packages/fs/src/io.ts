/**
 * Helpers over the `File` and `FileSystem` contract that every package needs.
 */
import { IOError } from "./errors.ts";
import { dirname } from "./path.ts";
import type { File, FileSystem } from "./types.ts";

/**
 * Writes all of `data` at `position`, looping over short writes. A write that makes no progress
 * is an `IOError` (a device that accepts nothing must not spin forever).
 */
export async function writeAll(file: File, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const written = await file.write(done === 0 ? data : data.subarray(done), position + done);
    if (written <= 0) {
      throw new IOError("auradb/fs: write made no progress", { op: "write", path: file.path, offset: position + done });
    }
    done += written;
  }
}

/** Synchronous `writeAll`. */
export function writeAllSync(file: File, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    const written = file.writeSync(done === 0 ? data : data.subarray(done), position + done);
    if (written <= 0) {
      throw new IOError("auradb/fs: write made no progress", { op: "write", path: file.path, offset: position + done });
    }
    done += written;
  }
}

/**
 * Reads exactly `length` bytes at `position` (fewer only at the end of the file). Returns a new
 * buffer of the bytes read.
 */
export async function readAt(file: File, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const read = await file.read(buffer.subarray(done), position + done);
    if (read <= 0) break;
    done += read;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/** Synchronous `readAt`. */
export function readAtSync(file: File, position: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const read = file.readSync(buffer.subarray(done), position + done);
    if (read <= 0) break;
    done += read;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/** Reads a whole file. */
export async function readFile(fs: FileSystem, path: string): Promise<Uint8Array> {
  const file = await fs.open(path, { readOnly: true });
  try {
    return await readAt(file, 0, await file.size());
  } finally {
    await file.close();
  }
}

/**
 * Replaces `path` with `data` atomically and durably: writes a temporary file, syncs it, renames
 * it over `path` and syncs the directory (the order LevelDB's CURRENT update lacked).
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await fs.open(temporary, { create: true, truncate: true });
  try {
    await writeAll(file, data, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temporary, path);
  await fs.syncDir(dirname(path));
}

/**
 * Creates `dir` and any missing parents, and makes each new directory entry durable (fsync of
 * each created directory's parent, top down): a crash after this resolves cannot lose the path.
 */
export async function mkdirDurable(fs: FileSystem, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = dir; !(await fs.exists(path)); path = dirname(path)) {
    missing.push(path);
    if (dirname(path) === path) break;
  }
  if (missing.length === 0) return;
  await fs.mkdir(dir);
  for (const created of missing.reverse()) {
    const parent = dirname(created);
    if (parent !== created) await fs.syncDir(parent);
  }
}

/** How far an append-only file has been written and made durable. */
export interface SyncProgress {
  writtenOffset: number;
  syncedOffset: number;
}

/**
 * True for a failed fsync/fdatasync of a file: after one, the kernel may have marked the unsynced
 * pages clean without writing them (fsyncgate), so they may never reach the disk, whatever later
 * syncs report, yet reads still see them until they are evicted.
 */
export function isFailedDataSync(error: unknown): boolean {
  return error instanceof IOError && (error.op === "datasync" || error.op === "sync");
}

/**
 * After a failed data sync of an append-only file: cuts it back to what was durable, so that no
 * reader (this process, or a reopen in it) trusts bytes that may never reach the disk; recovery
 * then sees the same file a power cut would leave. Best effort (the truncate may fail too: the
 * log stays failed either way). Updates `progress.writtenOffset`.
 */
export async function dropUnsyncedTail(file: File, progress: SyncProgress): Promise<void> {
  if (progress.writtenOffset <= progress.syncedOffset) return;
  try {
    await file.truncate(progress.syncedOffset);
    progress.writtenOffset = progress.syncedOffset;
  } catch {
    // NB: the failure that brought us here is what the caller reports.
  }
}

/**
 * Background fdatasync for append-only logs (RocksDB's `wal_bytes_per_sync`): once a file holds
 * `thresholdBytes` written but unsynced, one fdatasync starts without anyone waiting for it, so
 * the sync a later roll or durable append needs finds little left to write. At most one runs at
 * a time. A failure goes to `onError` (a log must then stop: the kernel may have dropped the
 * pages, whatever later syncs report).
 */
export class BackgroundSync {
  readonly #thresholdBytes: number;
  readonly #onError: (error: unknown) => void;
  #inFlight: Promise<void> | null = null;

  constructor(thresholdBytes: number, onError: (error: unknown) => void) {
    this.#thresholdBytes = thresholdBytes;
    this.#onError = onError;
  }

  /** The sync in flight, if any: await it before a sync or close that must come after it. */
  get inFlight(): Promise<void> | null {
    return this.#inFlight;
  }

  /** Starts a sync of `file` when none runs and `progress` has enough unsynced bytes. */
  maybeStart(file: File | null, progress: SyncProgress): void {
    if (file === null || this.#inFlight !== null || progress.writtenOffset - progress.syncedOffset < this.#thresholdBytes) return;
    const target = progress.writtenOffset;
    this.#inFlight = file
      .datasync()
      .then(
        () => {
          if (progress.syncedOffset < target) progress.syncedOffset = target;
        },
        (error: unknown) => this.#onError(error),
      )
      .finally(() => {
        this.#inFlight = null;
      });
  }
}
