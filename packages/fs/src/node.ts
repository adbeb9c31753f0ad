/**
 * @module
 * `@auradb/fs/node`: the `FileSystem` adapter over `node:fs`.
 *
 * ```ts
 * import { nodeFs } from "@auradb/fs/node";
 *
 * const fs = nodeFs();
 * const lock = await fs.lock("/data/db/LOCK");   // LockedError if another process holds it
 * const file = await fs.open("/data/db/000001.log", { create: true });
 * await file.write(new TextEncoder().encode("record"), 0);
 * await file.datasync();
 * await file.close();
 * await lock.release();
 * ```
 *
 * This is the default adapter on every runtime: `TOOLCHAIN.md` section 5 found that `node:fs`
 * issues the same system calls (`pwrite`, `pread`, `fdatasync`, `fsync` of a directory) on Node,
 * Bun and Deno, while the native Bun and Deno file APIs lack positional writes. Files are raw file
 * descriptors: async calls use the callback API (cheaper than `FileHandle`), sync calls use
 * `readSync`/`writeSync` on the same descriptor.
 */
import * as nodeFileSystem from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import {
  AuraError,
  ClosedError,
  type FsOp,
  InvalidArgumentError,
  IOError,
  isNotFound,
  LockedError,
  NotFoundError,
} from "./errors.ts";
import type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "./types.ts";

const { constants } = nodeFileSystem;

/** System codes after which the same call may succeed if repeated. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(["EAGAIN", "EBUSY", "EINTR", "EMFILE", "ENFILE", "ETIMEDOUT"]);

/**
 * Turns any error a runtime throws into an AuraDB error: `ENOENT` is a `NotFoundError`, anything
 * else an `IOError` carrying the system code. AuraDB errors pass through unchanged.
 */
function toFsError(error: unknown, op: FsOp, path: string): AuraError {
  if (AuraError.isInstance(error)) return error;
  const systemCode = systemCodeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (systemCode === "ENOENT") {
    return new NotFoundError(`auradb/fs: ${op}: no such file or directory (${detail})`, { path, cause: error });
  }
  return new IOError(`auradb/fs: ${op} failed: ${detail}`, {
    op,
    path,
    systemCode,
    cause: error,
    retryable: systemCode !== undefined && RETRYABLE_CODES.has(systemCode),
    // NB: after a failed fsync the kernel may have dropped the dirty pages (fsyncgate), so the
    // bytes written since the last good sync must be presumed lost.
    dataLoss: op === "sync" || op === "datasync",
  });
}

/** The `E…` code of a system error (Node, Bun and Deno all set `code`), else undefined. */
function systemCodeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** Throws `RangeError` unless `position` is a byte offset (async callers turn it into a rejection). */
function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`auradb/fs: position must be a non-negative safe integer, got ${position}`);
  }
}

/** The error for a write, truncate or sync of a file opened `readOnly` (what the OS says for a write). */
function readOnlyError(op: FsOp, path: string): IOError {
  return new IOError(`auradb/fs: ${op}: the file was opened readOnly`, { op, path, systemCode: "EBADF" });
}

/**
 * An open file: a raw file descriptor of `node:fs`.
 *
 * Concurrency: calls may overlap. `close` refuses new calls at once but waits for the calls in
 * flight before it releases the descriptor, because the OS reuses descriptor numbers: a read
 * still queued in the thread pool would otherwise read whatever file is opened next.
 */
class NodeFile implements File {
  /** The path this file was opened with. */
  readonly path: string;
  #descriptor: number;
  readonly #readOnly: boolean;
  #closing: Promise<void> | undefined;
  #pendingCount = 0;
  #onDrained: (() => void) | undefined;

  /**
   * Wraps an open descriptor; the file owns it from now on.
   * REQUIRES: `descriptor` is open, for reading and writing unless `readOnly`.
   */
  constructor(path: string, descriptor: number, readOnly: boolean) {
    this.path = path;
    this.#descriptor = descriptor;
    this.#readOnly = readOnly;
  }

  /** Reads up to `buffer.length` bytes at `position`; fewer only at the end of the file. */
  read(buffer: Uint8Array, position: number): Promise<number> {
    try {
      checkPosition(position);
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (buffer.length === 0) return Promise.resolve(0);
    const descriptor = this.#descriptor;
    this.#pendingCount++;
    return new Promise<number>((resolvePromise, rejectPromise) => {
      let done = 0;
      // pread may return fewer bytes than asked before the end of the file (a signal, a
      // network file system): loop so callers only see short reads at the end.
      const step = (): void => {
        nodeFileSystem.read(descriptor, buffer, done, buffer.length - done, position + done, (error, bytesRead) => {
          if (error) {
            this.#settle();
            rejectPromise(toFsError(error, "read", this.path));
          } else if (bytesRead === 0 || done + bytesRead >= buffer.length) {
            this.#settle();
            resolvePromise(done + bytesRead);
          } else {
            done += bytesRead;
            step();
          }
        });
      };
      step();
    });
  }

  /** Synchronous `read`. */
  readSync(buffer: Uint8Array, position: number): number {
    checkPosition(position);
    this.#checkOpen();
    let done = 0;
    try {
      while (done < buffer.length) {
        const bytesRead = nodeFileSystem.readSync(this.#descriptor, buffer, done, buffer.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (error) {
      throw toFsError(error, "read", this.path);
    }
    return done;
  }

  /** Writes `data` at `position` with one `pwrite`; returns the bytes written (may be short). */
  write(data: Uint8Array, position: number): Promise<number> {
    try {
      checkPosition(position);
      this.#checkOpen();
      if (this.#readOnly) throw readOnlyError("write", this.path);
    } catch (error) {
      return Promise.reject(error);
    }
    if (data.length === 0) return Promise.resolve(0);
    const descriptor = this.#descriptor;
    this.#pendingCount++;
    return new Promise<number>((resolvePromise, rejectPromise) => {
      nodeFileSystem.write(descriptor, data, 0, data.length, position, (error, bytesWritten) => {
        this.#settle();
        if (error) rejectPromise(toFsError(error, "write", this.path));
        else resolvePromise(bytesWritten);
      });
    });
  }

  /** Synchronous `write`. */
  writeSync(data: Uint8Array, position: number): number {
    checkPosition(position);
    this.#checkOpen();
    if (this.#readOnly) throw readOnlyError("write", this.path);
    if (data.length === 0) return 0;
    try {
      return nodeFileSystem.writeSync(this.#descriptor, data, 0, data.length, position);
    } catch (error) {
      throw toFsError(error, "write", this.path);
    }
  }

  /** fsync: data and metadata durable. A failure is an `IOError` with `dataLoss: true`. */
  sync(): Promise<void> {
    return this.#call("sync", (descriptor, callback) => nodeFileSystem.fsync(descriptor, callback));
  }

  /** fdatasync: data (and the size) durable. A failure is an `IOError` with `dataLoss: true`. */
  datasync(): Promise<void> {
    return this.#call("datasync", (descriptor, callback) => nodeFileSystem.fdatasync(descriptor, callback));
  }

  /** Sets the length (ftruncate); new bytes read as zeros. */
  truncate(size: number): Promise<void> {
    try {
      checkPosition(size);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call("truncate", (descriptor, callback) => nodeFileSystem.ftruncate(descriptor, size, callback));
  }

  /** The current length in bytes (fstat). */
  size(): Promise<number> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const descriptor = this.#descriptor;
    this.#pendingCount++;
    return new Promise<number>((resolvePromise, rejectPromise) => {
      nodeFileSystem.fstat(descriptor, (error, stats) => {
        this.#settle();
        if (error) rejectPromise(toFsError(error, "size", this.path));
        else resolvePromise(stats.size);
      });
    });
  }

  /**
   * Closes the descriptor once the calls in flight have settled. Calls made after `close` throw
   * `ClosedError`; a second `close` is a no-op that resolves when the first one is done.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing.then(noop, noop);
    this.#closing = (async () => {
      if (this.#pendingCount > 0) {
        await new Promise<void>((resolvePromise) => {
          this.#onDrained = resolvePromise;
        });
      }
      const descriptor = this.#descriptor;
      this.#descriptor = -1;
      await new Promise<void>((resolvePromise, rejectPromise) => {
        nodeFileSystem.close(descriptor, (error) => {
          if (error) rejectPromise(toFsError(error, "close", this.path));
          else resolvePromise();
        });
      });
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError("auradb/fs: the file is closed", { path: this.path });
  }

  #settle(): void {
    this.#pendingCount--;
    if (this.#pendingCount === 0 && this.#onDrained !== undefined) {
      const onDrained = this.#onDrained;
      this.#onDrained = undefined;
      onDrained();
    }
  }

  /** Runs a mutating call without a result (sync, datasync, truncate) on the descriptor. */
  #call(op: FsOp, start: (descriptor: number, callback: (error: Error | null) => void) => void): Promise<void> {
    try {
      this.#checkOpen();
      // A read-only descriptor would accept fsync on Linux; the contract refuses it anyway so
      // that code which syncs a file it cannot have written is caught on every adapter.
      if (this.#readOnly) throw readOnlyError(op, this.path);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#pendingCount++;
    return new Promise<void>((resolvePromise, rejectPromise) => {
      start(this.#descriptor, (error) => {
        this.#settle();
        if (error) rejectPromise(toFsError(error, op, this.path));
        else resolvePromise();
      });
    });
  }
}

function noop(): void {}

/** Promisifies a `node:fs` callback call, mapping its error. */
function callback<T>(op: FsOp, path: string, start: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolvePromise, rejectPromise) => {
    start((error, value) => {
      if (error) rejectPromise(toFsError(error, op, path));
      else resolvePromise(value);
    });
  });
}

/**
 * The `FileSystem` over `node:fs`. Use {@link nodeFs} to get one; the class is exported so that
 * the Bun and Deno adapters can reuse it where their native APIs measured no faster.
 *
 * Errors: a missing path is a `NotFoundError`; any other failure an `IOError` with the system
 * code (`EEXIST`, `EACCES`, `EIO`, `ENOSPC`…). Raw runtime errors never escape; they are the
 * `cause`.
 */
export class NodeFs implements FileSystem {
  /** `"node"`. */
  readonly name: string = "node";
  /**
   * Everything is supported, except directory sync on Windows, where a directory cannot be
   * opened for fsync and `syncDir` is a documented no-op.
   */
  readonly supports: FsSupports = {
    positionalWrite: true,
    datasync: true,
    dirSync: process.platform !== "win32",
    crossProcessLock: true,
    syncIO: true,
  };

  /**
   * Opens a regular file. Throws `InvalidArgumentError` for `exclusive` without `create` or
   * `truncate` with `readOnly` (contradictory requests the OS would answer differently per
   * platform).
   */
  async open(path: string, options: OpenOptions = {}): Promise<File> {
    const readOnly = options.readOnly === true;
    if (options.exclusive === true && options.create !== true) {
      throw new InvalidArgumentError("auradb/fs: open: exclusive requires create", { path });
    }
    if (readOnly && options.truncate === true) {
      throw new InvalidArgumentError("auradb/fs: open: truncate contradicts readOnly", { path });
    }
    // Numeric flags: no string flag means "read-write, create if missing, keep the content"
    // ('a+' would make every write ignore its position).
    let flags = readOnly ? constants.O_RDONLY : constants.O_RDWR;
    if (options.create === true) flags |= constants.O_CREAT;
    if (options.exclusive === true) flags |= constants.O_EXCL;
    if (options.truncate === true) flags |= constants.O_TRUNC;
    const descriptor = await callback<number>("open", path, (done) => nodeFileSystem.open(path, flags, 0o666, done));
    return new NodeFile(path, descriptor, readOnly);
  }

  /** The entry names of `dir`, sorted by UTF-16 code unit order (`Array.prototype.sort`). */
  async list(dir: string): Promise<string[]> {
    const names = await callback<string[]>("list", dir, (done) => nodeFileSystem.readdir(dir, done));
    return names.sort();
  }

  /** mkdir -p; an existing directory is fine, an existing file is an `IOError` (`EEXIST`). */
  async mkdir(dir: string): Promise<void> {
    await callback<string | undefined>("mkdir", dir, (done) => nodeFileSystem.mkdir(dir, { recursive: true }, done));
  }

  /** rename(2): atomic, replaces `to`. Errors name `from` as the path. */
  rename(from: string, to: string): Promise<void> {
    return callback<void>("rename", from, (done) => nodeFileSystem.rename(from, to, (error) => done(error, undefined)));
  }

  /**
   * Removes a file or an empty directory; with `recursive`, a directory and all it holds. A
   * non-empty directory without `recursive` is an `IOError` (`ENOTEMPTY`).
   */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    if (options.recursive === true) {
      await callback<void>("remove", path, (done) =>
        nodeFileSystem.rm(path, { recursive: true }, (error) => done(error, undefined)),
      );
      return;
    }
    try {
      await callback<void>("remove", path, (done) => nodeFileSystem.unlink(path, (error) => done(error, undefined)));
    } catch (error) {
      // unlink(2) of a directory is EISDIR on Linux and EPERM on macOS: try it as a directory.
      const code = (error as IOError).systemCode;
      if (code !== "EISDIR" && code !== "EPERM") throw error;
      try {
        await callback<void>("remove", path, (done) => nodeFileSystem.rmdir(path, (inner) => done(inner, undefined)));
      } catch (directoryError) {
        // Not a directory after all: the EPERM was a real permission problem.
        if ((directoryError as IOError).systemCode === "ENOTDIR") throw error;
        throw directoryError;
      }
    }
  }

  /** stat(2), following symbolic links. */
  async stat(path: string): Promise<FileStat> {
    const stats = await callback<nodeFileSystem.Stats>("stat", path, (done) => nodeFileSystem.stat(path, done));
    return { size: stats.size, isFile: stats.isFile(), isDirectory: stats.isDirectory(), mtimeMs: stats.mtimeMs };
  }

  /** True when `path` exists; a failure other than "missing" (EACCES, EIO) is an `IOError`. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (error) {
      if (isNotFound(error) || isSystemCode(error, ["ENOTDIR"])) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Opens the directory read-only and fsyncs it. Where the platform cannot (Windows refuses to
   * open a directory; some file systems answer EINVAL or EPERM to fsync of one), this is a
   * no-op, as `supports.dirSync` says.
   */
  async syncDir(dir: string): Promise<void> {
    let descriptor: number;
    try {
      descriptor = await callback<number>("syncDir", dir, (done) => nodeFileSystem.open(dir, constants.O_RDONLY, done));
    } catch (error) {
      if (process.platform === "win32" && isSystemCode(error, ["EISDIR", "EPERM", "EACCES"])) return;
      throw error;
    }
    try {
      await callback<void>("syncDir", dir, (done) => nodeFileSystem.fsync(descriptor, (error) => done(error, undefined)));
    } catch (error) {
      if (!isSystemCode(error, ["EPERM", "EINVAL", "EISDIR", "ENOTSUP", "EBADF"])) throw error;
    } finally {
      await callback<void>("syncDir", dir, (done) => nodeFileSystem.close(descriptor, (error) => done(error, undefined)));
    }
  }

  /**
   * Maps an error thrown by a runtime API to the typed errors of the contract (for adapters that
   * extend this class with native calls): `ENOENT` → `NotFoundError`, other → `IOError`.
   */
  protected toError(error: unknown, op: FsOp, path: string): AuraError {
    return toFsError(error, op, path);
  }

  /**
   * Takes an exclusive lock on `path` (the lock file itself; its directory must exist).
   *
   * 1. An in-process registry refuses a second lock of the same absolute path (`LockedError`).
   * 2. The lock file is created with `O_EXCL` and holds JSON: `{ pid, hostname, token,
   *    startedAt }`, plus `bootId` and `processStart` on Linux.
   * 3. If it exists, it is read. A holder on this host that is alive (`process.kill(pid, 0)`
   *    succeeds or says EPERM; on Linux also the same boot and the same process start time, so
   *    a reused pid does not count) means `LockedError` with `holderPid`. A holder on another
   *    host is assumed alive. A dead holder, or content that is not a record and older than
   *    5 s, is stale: the file is renamed to a unique name, checked to still be the file
   *    inspected (a live lock created meanwhile is put back), removed, and the create retried,
   *    at most 5 times.
   *
   * `release` removes the file only if it still holds this lock's token.
   */
  lock(path: string): Promise<FsLock> {
    return lockFile(path);
  }
}

function isSystemCode(error: unknown, codes: readonly string[]): boolean {
  const code = (error as { systemCode?: unknown }).systemCode;
  return typeof code === "string" && codes.includes(code);
}

/**
 * Returns a `FileSystem` over `node:fs`. It runs unchanged on Node, Bun and Deno (where it needs
 * `--allow-read --allow-write`, plus `--allow-sys` for the hostname recorded in lock files).
 */
export function nodeFs(): FileSystem {
  return new NodeFs();
}

// ---------------------------------------------------------------------------------------------
// Locking

/**
 * What a lock file holds (JSON). `bootId` and `processStart` exist on Linux only; they let a
 * lock outlive a reused pid without being mistaken for a live one.
 */
interface LockRecord {
  /** The holder's process id. */
  readonly pid: number;
  /** `os.hostname()` of the holder: a pid means nothing on another machine. */
  readonly hostname: string;
  /** Random; release removes the file only if it still holds this token. */
  readonly token: string;
  /** When the lock was taken, ms since the epoch (for people reading the file). */
  readonly startedAt: number;
  /** `/proc/sys/kernel/random/boot_id`: a different boot means the holder is gone. */
  readonly bootId?: string;
  /** Start time of the holder in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  readonly processStart?: number;
}

/** A lock file whose content is not a `LockRecord` is stale only once this old (ms). */
const GARBAGE_STALE_MS = 5_000;
/** Attempts to create the lock file, each after removing a stale one. */
const LOCK_ATTEMPTS_MAX = 5;
/** Lock files are tiny; more than this is not ours. */
const LOCK_FILE_BYTES_MAX = 4096;

/**
 * Locks held by this process, by absolute path → token. On `globalThis` under a `Symbol.for`
 * key so that two copies of this module (two installed versions, a bundled and an unbundled one)
 * refuse each other's locks.
 */
const registry: Map<string, string> = (() => {
  const key = Symbol.for("auradb.fs.locks");
  const holder = globalThis as unknown as Record<symbol, Map<string, string> | undefined>;
  let map = holder[key];
  if (map === undefined) {
    map = new Map<string, string>();
    holder[key] = map;
  }
  return map;
})();

/** A lock file as read: its text, the inode it was read from, its modification time. */
interface LockInspection {
  readonly text: string;
  readonly inode: number;
  readonly mtimeMs: number;
  readonly record: LockRecord | undefined;
}

/**
 * The lock protocol of {@link NodeFs.lock}.
 *
 * NB: the put-back of a live lock moved by mistake uses `link`, which fails rather than replace
 * a third lock created in the same instant; that three-way race is the one window this scheme
 * leaves open.
 */
async function lockFile(path: string): Promise<FsLock> {
  const absolutePath = resolve(path);
  if (registry.has(absolutePath)) {
    throw new LockedError("auradb/fs: lock: already held by this process", { path, holderPid: process.pid });
  }
  const token = globalThis.crypto.randomUUID();
  // Reserve before the first await so that two concurrent calls in this process cannot both pass.
  registry.set(absolutePath, token);
  try {
    const record = ownRecord(token);
    const text = JSON.stringify(record);
    for (let attempt = 0; attempt < LOCK_ATTEMPTS_MAX; attempt++) {
      if (await createLockFile(path, text)) return new NodeLock(path, absolutePath, token);
      const inspection = await inspectLockFile(path);
      if (inspection === undefined) continue; // released between our create and our read
      const holderPid = inspection.record?.pid;
      if (!(await isStale(inspection))) {
        throw new LockedError(
          holderPid === undefined
            ? "auradb/fs: lock: held (the lock file is being written or is not AuraDB's)"
            : `auradb/fs: lock: held by process ${holderPid} on ${inspection.record?.hostname}`,
          { path, holderPid },
        );
      }
      await removeStaleLockFile(path, inspection, `${path}.stale-${token}-${attempt}`);
    }
    throw new LockedError("auradb/fs: lock: still contended after removing stale lock files", { path });
  } catch (error) {
    registry.delete(absolutePath);
    throw toFsError(error, "lock", path);
  }
}

/** A held lock. */
class NodeLock implements FsLock {
  readonly path: string;
  readonly #absolutePath: string;
  readonly #token: string;
  #released: Promise<void> | undefined;

  constructor(path: string, absolutePath: string, token: string) {
    this.path = path;
    this.#absolutePath = absolutePath;
    this.#token = token;
  }

  /** Removes the lock file if it still holds our token, and forgets the lock. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      try {
        const inspection = await inspectLockFile(this.path);
        // Someone removed or replaced our file (by hand, or took it over believing us dead):
        // the file is theirs now, leave it.
        if (inspection?.record?.token !== this.#token) return;
        await callback<void>("lock", this.path, (done) => nodeFileSystem.unlink(this.path, (error) => done(error, undefined)));
      } catch (error) {
        if (!isNotFound(error)) throw toFsError(error, "lock", this.path);
      } finally {
        if (registry.get(this.#absolutePath) === this.#token) registry.delete(this.#absolutePath);
      }
    })();
    return this.#released;
  }
}

/** Creates the lock file with O_EXCL; false when it exists. */
async function createLockFile(path: string, text: string): Promise<boolean> {
  let descriptor: number;
  try {
    descriptor = await callback<number>("lock", path, (done) => nodeFileSystem.open(path, "wx", 0o644, done));
  } catch (error) {
    if (isSystemCode(error, ["EEXIST"])) return false;
    throw error;
  }
  try {
    const bytes = new TextEncoder().encode(text);
    // NB: between the create and this write the file is empty; readers treat fresh garbage as
    // held (GARBAGE_STALE_MS), so the window is harmless.
    let done = 0;
    while (done < bytes.length) {
      done += await callback<number>("lock", path, (finish) =>
        nodeFileSystem.write(descriptor, bytes, done, bytes.length - done, done, finish),
      );
    }
  } catch (error) {
    await callback<void>("lock", path, (finish) => nodeFileSystem.close(descriptor, (inner) => finish(inner, undefined))).catch(noop);
    await callback<void>("lock", path, (finish) => nodeFileSystem.unlink(path, (inner) => finish(inner, undefined))).catch(noop);
    throw error;
  }
  await callback<void>("lock", path, (finish) => nodeFileSystem.close(descriptor, (error) => finish(error, undefined)));
  return true;
}

/** Reads a lock file; undefined when it does not exist. */
async function inspectLockFile(path: string): Promise<LockInspection | undefined> {
  let descriptor: number;
  try {
    descriptor = await callback<number>("lock", path, (done) => nodeFileSystem.open(path, "r", done));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    // fstat and read the same descriptor: the inode then names exactly the bytes we read.
    const stats = await callback<nodeFileSystem.Stats>("lock", path, (done) => nodeFileSystem.fstat(descriptor, done));
    const buffer = new Uint8Array(Math.min(stats.size, LOCK_FILE_BYTES_MAX));
    let done = 0;
    while (done < buffer.length) {
      const bytesRead = await callback<number>("lock", path, (finish) =>
        nodeFileSystem.read(descriptor, buffer, done, buffer.length - done, done, finish),
      );
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const text = new TextDecoder().decode(buffer.subarray(0, done));
    return { text, inode: stats.ino, mtimeMs: stats.mtimeMs, record: parseLockRecord(text) };
  } finally {
    await callback<void>("lock", path, (done) => nodeFileSystem.close(descriptor, (error) => done(error, undefined)));
  }
}

function parseLockRecord(text: string): LockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  // pid 0 and negative pids address process groups in kill(2): never accept them.
  if (typeof record.pid !== "number" || !Number.isSafeInteger(record.pid) || record.pid <= 0) return undefined;
  if (typeof record.hostname !== "string" || typeof record.token !== "string") return undefined;
  if (typeof record.startedAt !== "number") return undefined;
  return {
    pid: record.pid,
    hostname: record.hostname,
    token: record.token,
    startedAt: record.startedAt,
    bootId: typeof record.bootId === "string" ? record.bootId : undefined,
    processStart: typeof record.processStart === "number" ? record.processStart : undefined,
  };
}

/** Decides whether an inspected lock file was left by a holder that no longer runs. */
async function isStale(inspection: LockInspection): Promise<boolean> {
  const record = inspection.record;
  if (record === undefined) {
    // Not a record: a holder died between create and write, or is writing right now.
    return Date.now() - inspection.mtimeMs > GARBAGE_STALE_MS;
  }
  // Another machine on a shared file system: its pids mean nothing here, so assume it runs.
  if (record.hostname !== currentHostname()) return false;
  const bootId = currentBootId();
  if (record.bootId !== undefined && bootId !== undefined && record.bootId !== bootId) return true;
  if (!isProcessAlive(record.pid)) return true;
  const stat = await readProcessStat(record.pid);
  if (stat === undefined) return false;
  // kill(pid, 0) succeeds on a zombie: a holder killed but not yet reaped by its parent.
  if (stat.state === "Z" || stat.state === "X") return true;
  // The pid runs, but pids are reused (after a reboot, or in a restarted container where the
  // database process gets the same pid as before, even ours): the start time tells.
  return record.processStart !== undefined && stat.start !== undefined && stat.start !== record.processStart;
}

/**
 * `process.kill(pid, 0)` checks existence without sending a signal on Node, Bun and Deno alike
 * (verified: each throws an error with code ESRCH for a missing pid). EPERM means it exists but
 * belongs to another user; any other failure is treated as alive, the safe side.
 */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return systemCodeOf(error) !== "ESRCH";
  }
}

function ownRecord(token: string): LockRecord {
  const bootId = currentBootId();
  const processStart = readProcessStartSync(process.pid);
  return {
    pid: process.pid,
    hostname: currentHostname(),
    token,
    startedAt: Date.now(),
    ...(bootId === undefined ? {} : { bootId }),
    ...(processStart === undefined ? {} : { processStart }),
  };
}

function currentHostname(): string {
  try {
    return hostname();
  } catch {
    // Deno without --allow-sys: an empty name still matches our own lock files.
    return "";
  }
}

let bootIdCache: string | null | undefined;

/** The Linux boot id; undefined elsewhere (or when /proc is not readable). */
function currentBootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = process.platform === "linux" ? nodeFileSystem.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() : null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

/** What `/proc/<pid>/stat` says about a process. */
interface ProcessStat {
  /** Field 3: `R`, `S`, `D`… `Z` for a zombie (dead, not yet reaped), `X` for dead. */
  readonly state: string;
  /** Field 22: start time in clock ticks since boot. */
  readonly start: number | undefined;
}

function parseProcessStat(text: string): ProcessStat {
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return { state: fields[0] ?? "", start: Number.isSafeInteger(start) ? start : undefined };
}

function readProcessStartSync(pid: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return parseProcessStat(nodeFileSystem.readFileSync(`/proc/${pid}/stat`, "utf8")).start;
  } catch {
    return undefined;
  }
}

async function readProcessStat(pid: number): Promise<ProcessStat | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    return parseProcessStat(await nodeFileSystem.promises.readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    // hidepid, or gone this instant: unknown, and the caller then keeps the safe answer.
    return undefined;
  }
}

/**
 * Moves a stale lock file out of the way, checks that what moved is the file inspected, and
 * removes it. If a live lock was created between the inspection and the rename, it is put back.
 */
async function removeStaleLockFile(path: string, inspection: LockInspection, movedPath: string): Promise<void> {
  try {
    await callback<void>("lock", path, (done) => nodeFileSystem.rename(path, movedPath, (error) => done(error, undefined)));
  } catch (error) {
    if (isNotFound(error)) return; // another process removed it first
    throw error;
  }
  const moved = await inspectLockFile(movedPath);
  const same =
    moved !== undefined &&
    moved.text === inspection.text &&
    // Windows may report inode 0: then the content (with its random token) must do.
    (moved.inode === inspection.inode || moved.inode === 0 || inspection.inode === 0);
  if (same || moved === undefined) {
    await callback<void>("lock", movedPath, (done) => nodeFileSystem.unlink(movedPath, (error) => done(error, undefined))).catch(
      (error: unknown) => {
        if (!isNotFound(error)) throw error;
      },
    );
    return;
  }
  // We moved a fresh, live lock: put it back without replacing anything created since.
  try {
    await callback<void>("lock", path, (done) => nodeFileSystem.link(movedPath, path, (error) => done(error, undefined)));
  } catch (error) {
    if (!isSystemCode(error, ["EEXIST"])) {
      // No hard links on this file system: rename back (may replace a lock created this instant).
      await callback<void>("lock", path, (done) => nodeFileSystem.rename(movedPath, path, (inner) => done(inner, undefined)));
      return;
    }
  }
  await callback<void>("lock", movedPath, (done) => nodeFileSystem.unlink(movedPath, (error) => done(error, undefined)));
}
