/**
 * The file-system contract of AuraDB: what a storage engine needs and no more.
 *
 * This file is a spec. Every adapter (node, bun, deno), `MemFs` and `FaultFs` implement it and
 * pass the same conformance suite (`@auradb/fs/testing`). A change here is a change to every
 * consumer: give it a changeset and say why.
 *
 * Paths are strings with `/` separators. Errors are typed: a missing path is a `NotFoundError`,
 * a path that already exists where it must not is an `IOError` with `systemCode: "EEXIST"`, any
 * other failure of the OS is an `IOError { path, op, systemCode }`. Adapters never throw raw
 * runtime errors.
 */

/** What an adapter can do. Engines read this instead of sniffing the runtime. */
export interface FsSupports {
  /** `File.write` at an arbitrary position (not only the end). */
  readonly positionalWrite: boolean;
  /** `File.datasync` is a real fdatasync (not a full fsync or a no-op). */
  readonly datasync: boolean;
  /** `FileSystem.syncDir` makes directory entries durable (false: a documented no-op). */
  readonly dirSync: boolean;
  /** `FileSystem.lock` excludes other processes (not only other opens in this process). */
  readonly crossProcessLock: boolean;
  /** The `*Sync` methods of `File` are implemented (no Promise per call). */
  readonly syncIO: boolean;
}

export interface OpenOptions {
  /** Create the file when it does not exist. Default false: a missing file is a `NotFoundError`. */
  readonly create?: boolean;
  /** With `create`: fail with `IOError { systemCode: "EEXIST" }` when it exists. */
  readonly exclusive?: boolean;
  /** Cut the file to zero length on open. */
  readonly truncate?: boolean;
  /** Open for reading only; every write, truncate and sync then throws. */
  readonly readOnly?: boolean;
}

export interface FileStat {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  /** Last modification, milliseconds since the epoch (0 where unknown). */
  readonly mtimeMs: number;
}

/**
 * An open file.
 *
 * Concurrency: calls may overlap; overlapping writes to the same bytes have an undefined order.
 * Durability: bytes written are visible to reads at once (as the page cache makes them), but they
 * survive a power cut only after `sync` or `datasync` resolved. A failed `sync` means the unsynced
 * bytes may be gone even if a later `sync` succeeds (fsyncgate): callers must fail-stop.
 */
export interface File {
  /** The path this file was opened with. */
  readonly path: string;

  /**
   * Reads up to `buffer.length` bytes at `position` into `buffer`. Returns the number of bytes
   * read; fewer than asked only when the end of the file was reached.
   */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Synchronous `read` (requires `supports.syncIO`). */
  readSync(buffer: Uint8Array, position: number): number;

  /**
   * Writes `data` at `position`, extending the file (a gap reads as zeros). Returns the number of
   * bytes written: it may be fewer than `data.length` (a short write); use `writeAll` to loop.
   */
  write(data: Uint8Array, position: number): Promise<number>;
  /** Synchronous `write` (requires `supports.syncIO`). */
  writeSync(data: Uint8Array, position: number): number;

  /** Makes the file's data and metadata durable (fsync). */
  sync(): Promise<void>;
  /** Makes the file's data (and its size) durable (fdatasync). */
  datasync(): Promise<void>;
  /** Sets the file's length; bytes past it are gone, new bytes read as zeros. */
  truncate(size: number): Promise<void>;
  /** The file's current length in bytes (what reads see, synced or not). */
  size(): Promise<number>;
  /** Releases the handle. Further calls throw `ClosedError`; a second close is a no-op. */
  close(): Promise<void>;
}

/** A held lock; `release` is idempotent. */
export interface FsLock {
  readonly path: string;
  release(): Promise<void>;
}

/** A file system, real or simulated. */
export interface FileSystem {
  /** A short name for reports ("node", "bun", "deno", "mem", "fault(mem)"). */
  readonly name: string;
  readonly supports: FsSupports;

  /** Opens (or creates, per `options`) a regular file. The parent directory must exist. */
  open(path: string, options?: OpenOptions): Promise<File>;
  /** The names (not paths) of the entries of a directory, sorted by UTF-16 code unit order. */
  list(dir: string): Promise<string[]>;
  /** Creates a directory and any missing parents; an existing directory is fine. */
  mkdir(dir: string): Promise<void>;
  /**
   * Atomically renames `from` to `to`, replacing `to` if it exists: after a crash, `to` is either
   * the old or the new file, never missing or partial. Durable only after `syncDir` of both
   * parents.
   */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file, or a directory with `recursive`. A missing path is a `NotFoundError`. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Facts about a path; a missing path is a `NotFoundError`. */
  stat(path: string): Promise<FileStat>;
  /** True when `path` exists (file or directory). */
  exists(path: string): Promise<boolean>;
  /** Makes the directory's entries (creates, renames, removes) durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes an exclusive lock on `path` (a lock file is created there). A second lock of the same
   * path, from this process or another, fails with `LockedError`. A lock left by a process that
   * no longer runs is taken over, not waited for.
   */
  lock(path: string): Promise<FsLock>;
}
