/**
 * `MemFs`: an in-memory {@link FileSystem} that knows what a power cut would keep.
 *
 * The state model (RELIABILITY-PLAN §3a), close to POSIX:
 * - a file inode has `visible` bytes (what reads see, like the page cache), `durable` bytes (what
 *   is on the simulated disk) and `pending`: the writes and truncates issued since its last
 *   `sync`/`datasync`, in issue order, each with a global sequence number;
 * - a directory inode has `visible` and `durable` entries (name → inode) and `pending`: the
 *   entry operations (link, unlink, rename) issued since its last `syncDir`;
 * - `sync`/`datasync` apply the file's pending writes to `durable` (size changes count as data);
 *   `syncDir` makes the directory's durable entries equal its visible ones.
 *
 * `crash()` turns that state into the image a power cut (or a process kill) could leave, as a new
 * `MemFs`, and kills this one. Everything is synchronous inside and seeded: the same operations
 * and the same seed give the same image on every runtime.
 */
import { ClosedError, IOError, LockedError, NotFoundError, SimulatedCrash } from "./errors.ts";
import type { FsOp } from "./errors.ts";
import type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "./types.ts";

/**
 * What survives of the unsynced state in a {@link MemFs.crash} image:
 * - `synced-only`: nothing (strict power loss);
 * - `process`: everything visible, data and directory entries (kill -9: the page cache survives);
 * - `per-file-prefix`: each file independently keeps a prefix of its own pending writes, the next
 *   one torn (cross-file reordering);
 * - `global-prefix`: a prefix of all files' pending writes in issue order, the next one torn;
 * - `subset`: each 4 KiB page piece of each pending write is kept independently (out-of-order
 *   write-back, holes);
 * - `trash`: like `subset`, and a dropped piece may be overwritten with random bytes instead.
 */
export type CrashMode = "synced-only" | "process" | "per-file-prefix" | "global-prefix" | "subset" | "trash";

/** Options of {@link MemFs.crash}. Every random choice comes from `seed`. */
export interface CrashOptions {
  /** Seed of the choices (default 1): the same state and seed always give the same image. */
  readonly seed?: number;
  /** What survives of unsynced data. Default `per-file-prefix`. */
  readonly mode?: CrashMode;
  /**
   * Prefix modes: how the first write after the kept prefix is cut. `none`: it is lost whole;
   * `byte`: a prefix of any length (possibly empty) is kept; `512` / `4096`: it is cut at a sector
   * boundary of the file (so a write within one sector is all or nothing). Default `byte`.
   */
  readonly torn?: "none" | "byte" | 512 | 4096;
  /** `subset` and `trash`: probability that a 4 KiB page piece of a pending write is kept. Default 0.5. */
  readonly keepProbability?: number;
  /** `trash`: probability that a dropped piece is overwritten with random bytes. Default 0.25. */
  readonly trashProbability?: number;
  /**
   * Space a file grew into but whose data was lost. Omitted: the image's size follows the kept
   * data, and a gap left by a write past the end reads as zeros. `zeros` / `random`: the size
   * reached the disk before the data (as SQLite assumes), so the file is at least as long as its
   * visible size, and that space (and any gap) holds zeros or seeded random bytes. Ignored in
   * `process` mode.
   */
  readonly growthFill?: "zeros" | "random";
  /**
   * What survives of unsynced directory operations (creates, mkdirs, renames, removes).
   * `synced-only`: only durable entries. `keep`: every visible entry. `random` (default): each
   * pending operation is kept with probability 0.5, and the kept ones are applied in issue order
   * onto the durable entries, each only if it still applies there (a rename or remove whose source
   * is not there, or a create whose name is taken, is skipped), so renames stay atomic. `process`
   * mode always keeps every visible entry.
   */
  readonly dir?: "synced-only" | "random" | "keep";
}

const CRASH_MODES: readonly CrashMode[] = ["synced-only", "process", "per-file-prefix", "global-prefix", "subset", "trash"];
const PAGE_BYTES = 4096;
const DEFAULT_SEED = 1;

/**
 * A seeded PRNG (mulberry32) returning numbers in [0, 1). Shared with `FaultFs` and exported from
 * `@auradb/fs/testing` for tests. Not `Math.random`, so that a seed replays on every runtime.
 */
export function createSeededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`auradb/fs: seed must be a finite number, got ${seed}`);
  let state = Math.floor(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded integer in [0, bound). */
export function randomInteger(random: () => number, bound: number): number {
  return Math.floor(random() * bound);
}

function fillRandom(target: Uint8Array, random: () => number): void {
  for (let index = 0; index < target.length; index++) target[index] = randomInteger(random, 256);
}

/** Bytes with spare capacity, so that many small appends cost O(1) amortised. */
class ByteBuffer {
  #bytes: Uint8Array;
  #length = 0;

  constructor(capacityBytes = 0) {
    this.#bytes = new Uint8Array(capacityBytes);
  }

  static from(source: Uint8Array): ByteBuffer {
    const buffer = new ByteBuffer(source.length);
    buffer.#bytes.set(source);
    buffer.#length = source.length;
    return buffer;
  }

  get length(): number {
    return this.#length;
  }

  /** The content; valid until the next change. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Writes `data` at `offset`; a gap past the end is zeroed, or filled by `fillGap`. */
  write(offset: number, data: Uint8Array, fillGap?: (gap: Uint8Array) => void): void {
    const end = offset + data.length;
    this.#reserve(end);
    if (offset > this.#length) this.#fill(this.#length, offset, fillGap);
    this.#bytes.set(data, offset);
    if (end > this.#length) this.#length = end;
  }

  /** Sets the length; new space is zeroed, or filled by `fillGap`. */
  resize(size: number, fillGap?: (gap: Uint8Array) => void): void {
    if (size > this.#length) {
      this.#reserve(size);
      this.#fill(this.#length, size, fillGap);
    }
    this.#length = size;
  }

  #fill(start: number, end: number, fillGap: ((gap: Uint8Array) => void) | undefined): void {
    // NB: bytes past the length may hold old data (after a shrink): always overwrite them.
    const gap = this.#bytes.subarray(start, end);
    if (fillGap === undefined) gap.fill(0);
    else fillGap(gap);
  }

  #reserve(capacityBytes: number): void {
    if (capacityBytes <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(capacityBytes, this.#bytes.length * 2, 64));
    grown.set(this.view());
    this.#bytes = grown;
  }
}

/** A write or truncate issued since the file's last sync. `bytes` is a private copy. */
type PendingWrite =
  | { readonly kind: "write"; readonly seq: number; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly kind: "truncate"; readonly seq: number; readonly size: number };

interface FileNode {
  readonly kind: "file";
  readonly id: number;
  visible: ByteBuffer;
  durable: ByteBuffer;
  pending: PendingWrite[];
  mtimeMs: number;
}

interface DirectoryNode {
  readonly kind: "directory";
  readonly id: number;
  readonly visible: Map<string, Node>;
  durable: Map<string, Node>;
  pending: DirectoryOp[];
  mtimeMs: number;
}

type Node = FileNode | DirectoryNode;

/**
 * An entry operation since the last `syncDir` of its directory. A cross-directory rename is in
 * the pending lists of both directories (the same object).
 */
type DirectoryOp =
  | { readonly kind: "link"; readonly seq: number; readonly directory: DirectoryNode; readonly name: string; readonly node: Node }
  | { readonly kind: "unlink"; readonly seq: number; readonly directory: DirectoryNode; readonly name: string; readonly node: Node }
  | {
      readonly kind: "rename";
      readonly seq: number;
      readonly sourceDirectory: DirectoryNode;
      readonly sourceName: string;
      readonly targetDirectory: DirectoryNode;
      readonly targetName: string;
      readonly node: Node;
    };

/** Everything a `MemFs` and its open files share. */
interface Volume {
  readonly root: DirectoryNode;
  seq: number;
  nodeCount: number;
  /** Files with pending writes, in the order they became dirty. */
  readonly dirtyFiles: Set<FileNode>;
  /** Directories with pending entry operations. */
  readonly dirtyDirectories: Set<DirectoryNode>;
  readonly openFiles: Set<MemFile>;
  readonly locks: Set<string>;
  crashed: boolean;
}

function createVolume(): Volume {
  return {
    root: createDirectory(0),
    seq: 0,
    nodeCount: 1,
    dirtyFiles: new Set(),
    dirtyDirectories: new Set(),
    openFiles: new Set(),
    locks: new Set(),
    crashed: false,
  };
}

function createDirectory(id: number): DirectoryNode {
  return { kind: "directory", id, visible: new Map(), durable: new Map(), pending: [], mtimeMs: Date.now() };
}

function createFile(id: number, content: Uint8Array): FileNode {
  return { kind: "file", id, visible: ByteBuffer.from(content), durable: ByteBuffer.from(content), pending: [], mtimeMs: Date.now() };
}

function notFound(path: string): NotFoundError {
  return new NotFoundError("auradb/fs: no such file or directory", { path });
}

function ioError(op: FsOp, path: string, systemCode: string, message: string): IOError {
  return new IOError(`auradb/fs: ${message}`, { op, path, systemCode });
}

/** Splits a path into names: `//` and trailing slashes collapse, `.` and `..` resolve; relative paths start at the root. */
function splitPath(path: string): string[] {
  if (typeof path !== "string" || path.length === 0) throw new TypeError("auradb/fs: path must be a non-empty string");
  const names: string[] = [];
  for (const name of path.split("/")) {
    if (name === "" || name === ".") continue;
    if (name === "..") names.pop();
    else names.push(name);
  }
  return names;
}

function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`auradb/fs: position must be a non-negative safe integer, got ${position}`);
  }
}

function applyPending(buffer: ByteBuffer, write: PendingWrite, fillGap?: (gap: Uint8Array) => void): void {
  // A truncate that grows makes a real hole (zeros) on disk, so only write gaps use `fillGap`.
  if (write.kind === "write") buffer.write(write.offset, write.bytes, fillGap);
  else buffer.resize(write.size);
}

function recordDirectoryOp(volume: Volume, op: DirectoryOp): void {
  const directories = op.kind === "rename" ? [op.sourceDirectory, op.targetDirectory] : [op.directory];
  for (const directory of new Set(directories)) {
    directory.pending.push(op);
    directory.mtimeMs = Date.now();
    volume.dirtyDirectories.add(directory);
  }
}

function syncDirectory(volume: Volume, directory: DirectoryNode): void {
  for (const op of directory.pending) {
    if (op.kind !== "rename" || op.sourceDirectory === op.targetDirectory) continue;
    // A rename is one transaction on a real file system: making one side durable makes the other
    // durable too, so that no crash keeps both names or neither.
    if (op.targetDirectory === directory) {
      if (op.sourceDirectory.durable.get(op.sourceName) === op.node) op.sourceDirectory.durable.delete(op.sourceName);
    } else {
      op.targetDirectory.durable.set(op.targetName, op.node);
    }
    // Dropped from the other side too: replaying it later could undo what this sync made durable.
    const other = op.targetDirectory === directory ? op.sourceDirectory : op.targetDirectory;
    other.pending = other.pending.filter((candidate) => candidate !== op);
    if (other.pending.length === 0) volume.dirtyDirectories.delete(other);
  }
  directory.durable = new Map(directory.visible);
  directory.pending = [];
  volume.dirtyDirectories.delete(directory);
}

function syncFile(volume: Volume, node: FileNode): void {
  // Pending writes are applied to `durable` rather than copying `visible`: after a failed fsync
  // dropped some writes (`_dropPending`), a later sync must not bring them back (fsyncgate).
  for (const write of node.pending) applyPending(node.durable, write);
  node.pending = [];
  volume.dirtyFiles.delete(node);
}

/**
 * An in-memory file system with power-cut simulation, for tests. Implements the whole
 * {@link FileSystem} contract (`name` "mem", every `supports` flag true); `lock` excludes other
 * locks of the same instance, which is every user a `MemFs` has.
 *
 * Paths: `/`-separated; `//`, trailing slashes, `.` and `..` are normalised, and a relative path
 * starts at the root `/`, which always exists. Directories are inodes, so renaming one works.
 *
 * After {@link MemFs.crash}, every call on this instance or its open files throws
 * `SimulatedCrash`.
 *
 * @example
 * ```ts
 * const fs = new MemFs();
 * const file = await fs.open("/log", { create: true });
 * await file.write(bytes, 0);
 * await file.datasync();
 * await fs.syncDir("/");
 * const image = fs.crash({ mode: "synced-only" });   // `fs` is dead from here on
 * ```
 */
export class MemFs implements FileSystem {
  readonly name: string = "mem";
  readonly supports: FsSupports = { positionalWrite: true, datasync: true, dirSync: true, crossProcessLock: true, syncIO: true };
  #volume: Volume = createVolume();

  /** True once {@link MemFs.crash} was called: every other call then throws `SimulatedCrash`. */
  get crashed(): boolean {
    return this.#volume.crashed;
  }

  async open(path: string, options: OpenOptions = {}): Promise<File> {
    return this.#open(path, options);
  }

  async list(dir: string): Promise<string[]> {
    this.#alive();
    const directory = this.#directory(dir, "list");
    return [...directory.visible.keys()].sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.#alive();
    const volume = this.#volume;
    let current = volume.root;
    for (const name of splitPath(dir)) {
      const child = current.visible.get(name);
      if (child === undefined) {
        const created = createDirectory(volume.nodeCount++);
        current.visible.set(name, created);
        recordDirectoryOp(volume, { kind: "link", seq: ++volume.seq, directory: current, name, node: created });
        current = created;
      } else if (child.kind === "file") {
        throw ioError("mkdir", dir, "EEXIST", "a file exists where a directory is wanted");
      } else {
        current = child;
      }
    }
  }

  async rename(from: string, to: string): Promise<void> {
    this.#alive();
    const sourceNames = splitPath(from);
    const targetNames = splitPath(to);
    if (sourceNames.length === 0 || targetNames.length === 0) throw ioError("rename", from, "EBUSY", "cannot rename the root");
    const sourceDirectory = this.#parent(sourceNames, from, "rename");
    const sourceName = sourceNames[sourceNames.length - 1] as string;
    const node = sourceDirectory.visible.get(sourceName);
    if (node === undefined) throw notFound(from);
    const targetDirectory = this.#parent(targetNames, to, "rename");
    const targetName = targetNames[targetNames.length - 1] as string;
    if (sourceDirectory === targetDirectory && sourceName === targetName) return;
    const replaced = targetDirectory.visible.get(targetName);
    if (node.kind === "directory") {
      const isInside = targetNames.length > sourceNames.length && sourceNames.every((name, index) => targetNames[index] === name);
      if (isInside) throw ioError("rename", from, "EINVAL", "cannot move a directory into itself");
      if (replaced?.kind === "file") throw ioError("rename", to, "ENOTDIR", "cannot replace a file with a directory");
    } else if (replaced?.kind === "directory") {
      throw ioError("rename", to, "EISDIR", "cannot replace a directory with a file");
    }
    if (replaced?.kind === "directory" && replaced.visible.size > 0) throw ioError("rename", to, "ENOTEMPTY", "directory not empty");
    const volume = this.#volume;
    sourceDirectory.visible.delete(sourceName);
    targetDirectory.visible.set(targetName, node);
    recordDirectoryOp(volume, { kind: "rename", seq: ++volume.seq, sourceDirectory, sourceName, targetDirectory, targetName, node });
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    this.#alive();
    const names = splitPath(path);
    if (names.length === 0) throw ioError("remove", path, "EBUSY", "cannot remove the root");
    const directory = this.#parent(names, path, "remove");
    const name = names[names.length - 1] as string;
    const node = directory.visible.get(name);
    if (node === undefined) throw notFound(path);
    if (node.kind === "directory" && node.visible.size > 0 && options.recursive !== true) {
      throw ioError("remove", path, "ENOTEMPTY", "directory not empty");
    }
    // NB: a recursive remove is one unlink of the subtree, so a crash keeps all of it or none.
    const volume = this.#volume;
    directory.visible.delete(name);
    recordDirectoryOp(volume, { kind: "unlink", seq: ++volume.seq, directory, name, node });
  }

  async stat(path: string): Promise<FileStat> {
    this.#alive();
    const node = this.#resolve(path);
    if (node === undefined) throw notFound(path);
    if (node.kind === "directory") return { size: 0, isFile: false, isDirectory: true, mtimeMs: node.mtimeMs };
    return { size: node.visible.length, isFile: true, isDirectory: false, mtimeMs: node.mtimeMs };
  }

  async exists(path: string): Promise<boolean> {
    this.#alive();
    return this.#resolve(path) !== undefined;
  }

  async syncDir(dir: string): Promise<void> {
    this.#alive();
    syncDirectory(this.#volume, this.#directory(dir, "syncDir"));
  }

  async lock(path: string): Promise<FsLock> {
    this.#alive();
    const volume = this.#volume;
    const key = `/${splitPath(path).join("/")}`;
    if (volume.locks.has(key)) throw new LockedError("auradb/fs: the lock is held", { path });
    // Claimed and created with no await in between, so that of two concurrent calls one wins.
    this.#open(path, { create: true }).closeSync();
    volume.locks.add(key);
    let released = false;
    return {
      path,
      release: async () => {
        if (volume.crashed) throw new SimulatedCrash();
        if (released) return;
        released = true;
        volume.locks.delete(key);
      },
    };
  }

  /**
   * Returns the image a crash now would leave on the simulated disk, as a new `MemFs`, and marks
   * this instance crashed: from here on every call on it, or on any file it opened, throws
   * `SimulatedCrash`, so an abandoned engine cannot change the image.
   *
   * In the image every file holds its durable content with the kept pending writes applied (see
   * {@link CrashMode}), every directory its durable entries with the kept pending operations
   * applied (see {@link CrashOptions.dir}); nothing is pending, no file is open, no lock is held.
   * Entries whose parent directory did not survive are gone. Synced data in synced directory
   * entries always survives.
   *
   * @throws RangeError on an invalid option; `SimulatedCrash` when already crashed.
   */
  crash(options: CrashOptions = {}): MemFs {
    this.#alive();
    const mode = options.mode ?? "per-file-prefix";
    if (!CRASH_MODES.includes(mode)) throw new RangeError(`auradb/fs: unknown crash mode ${String(mode)}`);
    const torn = options.torn ?? "byte";
    if (torn !== "none" && torn !== "byte" && torn !== 512 && torn !== 4096) throw new RangeError(`auradb/fs: unknown torn ${String(torn)}`);
    const keepProbability = checkProbability(options.keepProbability ?? 0.5, "keepProbability");
    const trashProbability = checkProbability(options.trashProbability ?? 0.25, "trashProbability");
    const directoryMode = mode === "process" ? "keep" : (options.dir ?? "random");
    if (directoryMode !== "keep" && directoryMode !== "random" && directoryMode !== "synced-only") {
      throw new RangeError(`auradb/fs: unknown dir ${String(directoryMode)}`);
    }
    const growthFill = mode === "process" ? undefined : options.growthFill;
    if (growthFill !== undefined && growthFill !== "zeros" && growthFill !== "random") {
      throw new RangeError(`auradb/fs: unknown growthFill ${String(growthFill)}`);
    }
    const random = createSeededRandom(options.seed ?? DEFAULT_SEED);
    const volume = this.#volume;
    volume.crashed = true;

    const keptWrites = chooseKeptWrites(volume, mode, torn, keepProbability, trashProbability, random);
    const fillGap = growthFill === "random" ? (gap: Uint8Array) => fillRandom(gap, random) : undefined;
    const contentOf = (node: FileNode): Uint8Array => {
      if (mode === "process") return node.visible.view();
      const kept = keptWrites.get(node) ?? [];
      if (kept.length === 0 && growthFill === undefined) return node.durable.view();
      const buffer = ByteBuffer.from(node.durable.view());
      for (const write of kept) applyPending(buffer, write, fillGap);
      if (growthFill !== undefined && buffer.length < node.visible.length) buffer.resize(node.visible.length, fillGap);
      return buffer.view();
    };
    const entriesOf = chooseEntries(volume, directoryMode, random);

    const image = new MemFs();
    const imageVolume = image.#volume;
    const copies = new Map<Node, Node>([[volume.root, imageVolume.root]]);
    const copyEntries = (source: DirectoryNode, target: DirectoryNode): void => {
      for (const [name, node] of [...entriesOf(source)].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))) {
        const known = copies.get(node);
        if (known !== undefined) {
          // A node reached twice (a directory cycle left by replayed renames, or a hard link):
          // files are shared, directories are cut to keep the tree finite.
          if (known.kind === "file") target.visible.set(name, known);
          continue;
        }
        let copy: Node;
        if (node.kind === "file") {
          copy = createFile(imageVolume.nodeCount++, contentOf(node));
          copy.mtimeMs = node.mtimeMs;
          copies.set(node, copy);
        } else {
          copy = createDirectory(imageVolume.nodeCount++);
          copy.mtimeMs = node.mtimeMs;
          copies.set(node, copy);
          copyEntries(node, copy);
        }
        target.visible.set(name, copy);
      }
      target.durable = new Map(target.visible);
    };
    copyEntries(volume.root, imageVolume.root);
    return image;
  }

  /** The number of pending (unsynced) writes and truncates over all files. For tests. */
  pendingWriteCount(): number {
    this.#alive();
    let count = 0;
    for (const node of this.#volume.dirtyFiles) count += node.pending.length;
    return count;
  }

  /** The number of files opened and not yet closed, for leak checks. */
  openHandleCount(): number {
    this.#alive();
    return this.#volume.openFiles.size;
  }

  /**
   * Replaces a file's content with `mutate(copy of its content)` on disk and in the page cache at
   * once (the result is durable, nothing is pending): for tests that flip bits or cut files.
   * Open handles see the new content.
   */
  tamper(path: string, mutate: (content: Uint8Array) => Uint8Array): void {
    this.#alive();
    const node = this.#resolve(path);
    if (node === undefined) throw notFound(path);
    if (node.kind !== "file") throw ioError("open", path, "EISDIR", "is a directory");
    const content = mutate(node.visible.view().slice());
    node.visible = ByteBuffer.from(content);
    node.durable = ByteBuffer.from(content);
    node.pending = [];
    this.#volume.dirtyFiles.delete(node);
  }

  /**
   * For `FaultFs` (a failed fsync): forgets the file's pending writes as the kernel does after a
   * failed fsync (fsyncgate). Reads still see them, but no crash image keeps them, and a later
   * successful sync does not write them. `target` is a file opened on this `MemFs`, or a path.
   */
  _dropPending(target: File | string): void {
    this.#alive();
    let node: Node | undefined;
    if (target instanceof MemFile && target.volume === this.#volume) node = target.node;
    else if (typeof target === "string") node = this.#resolve(target);
    else throw new TypeError("auradb/fs: _dropPending needs a path or a file of this MemFs");
    if (node === undefined) throw notFound(target as string);
    if (node.kind !== "file") throw ioError("sync", target as string, "EISDIR", "is a directory");
    node.pending = [];
    this.#volume.dirtyFiles.delete(node);
  }

  #alive(): void {
    if (this.#volume.crashed) throw new SimulatedCrash();
  }

  #open(path: string, options: OpenOptions): MemFile {
    this.#alive();
    if (options.truncate === true && options.readOnly === true) throw new TypeError("auradb/fs: truncate and readOnly exclude each other");
    const volume = this.#volume;
    const names = splitPath(path);
    if (names.length === 0) throw ioError("open", path, "EISDIR", "is a directory");
    const directory = this.#parent(names, path, "open");
    const name = names[names.length - 1] as string;
    let node = directory.visible.get(name);
    if (node?.kind === "directory") throw ioError("open", path, "EISDIR", "is a directory");
    if (node === undefined) {
      if (options.create !== true) throw notFound(path);
      node = createFile(volume.nodeCount++, new Uint8Array(0));
      directory.visible.set(name, node);
      recordDirectoryOp(volume, { kind: "link", seq: ++volume.seq, directory, name, node });
    } else if (options.create === true && options.exclusive === true) {
      throw ioError("open", path, "EEXIST", "file exists");
    }
    const file = new MemFile(path, volume, node, options.readOnly === true);
    // Recorded even when the file is already empty: after a dropped fsync, durable may not be.
    if (options.truncate === true) file.truncateSync(0);
    volume.openFiles.add(file);
    return file;
  }

  /** The visible node at `path`, or undefined (also when a parent is a file). */
  #resolve(path: string): Node | undefined {
    let node: Node = this.#volume.root;
    for (const name of splitPath(path)) {
      if (node.kind !== "directory") return undefined;
      const child: Node | undefined = node.visible.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  #directory(path: string, op: FsOp): DirectoryNode {
    const node = this.#resolve(path);
    if (node === undefined) throw notFound(path);
    if (node.kind !== "directory") throw ioError(op, path, "ENOTDIR", "not a directory");
    return node;
  }

  /** The directory that holds the last name of `names`. */
  #parent(names: readonly string[], path: string, op: FsOp): DirectoryNode {
    let directory = this.#volume.root;
    for (const name of names.slice(0, -1)) {
      const child = directory.visible.get(name);
      if (child === undefined) throw notFound(path);
      if (child.kind !== "directory") throw ioError(op, path, "ENOTDIR", "not a directory");
      directory = child;
    }
    return directory;
  }
}

function checkProbability(value: number, name: string): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`auradb/fs: ${name} must be in [0, 1], got ${value}`);
  return value;
}

/** The prefix of `write` a torn write leaves, or undefined when nothing of it is kept. */
function tear(write: PendingWrite, torn: "none" | "byte" | 512 | 4096, random: () => number): PendingWrite | undefined {
  // A truncate is a metadata change: it happens whole or not at all.
  if (write.kind !== "write" || torn === "none") return undefined;
  let keptBytes: number;
  if (torn === "byte") {
    keptBytes = randomInteger(random, write.bytes.length);
  } else {
    // Cut points: the write's start, or a sector boundary of the file strictly inside the write.
    const end = write.offset + write.bytes.length;
    const firstBoundary = (Math.floor(write.offset / torn) + 1) * torn;
    const boundaryCount = firstBoundary < end ? Math.floor((end - 1 - firstBoundary) / torn) + 1 : 0;
    const choice = randomInteger(random, boundaryCount + 1);
    keptBytes = choice === 0 ? 0 : firstBoundary + (choice - 1) * torn - write.offset;
  }
  if (keptBytes === 0) return undefined;
  return { kind: "write", seq: write.seq, offset: write.offset, bytes: write.bytes.subarray(0, keptBytes) };
}

/** Per dirty file, the pending writes (whole, torn, or garbage) the crash image applies, in order. */
function chooseKeptWrites(
  volume: Volume,
  mode: CrashMode,
  torn: "none" | "byte" | 512 | 4096,
  keepProbability: number,
  trashProbability: number,
  random: () => number,
): Map<FileNode, PendingWrite[]> {
  const kept = new Map<FileNode, PendingWrite[]>();
  if (mode === "synced-only" || mode === "process") return kept;
  // Sorted by inode number so that the draws do not depend on the order files became dirty.
  const files = [...volume.dirtyFiles].sort((left, right) => left.id - right.id);
  if (mode === "per-file-prefix") {
    for (const node of files) {
      const keptCount = randomInteger(random, node.pending.length + 1);
      const writes = node.pending.slice(0, keptCount);
      const next = node.pending[keptCount];
      const tornWrite = next === undefined ? undefined : tear(next, torn, random);
      if (tornWrite !== undefined) writes.push(tornWrite);
      kept.set(node, writes);
    }
  } else if (mode === "global-prefix") {
    const all: { node: FileNode; write: PendingWrite }[] = [];
    for (const node of files) for (const write of node.pending) all.push({ node, write });
    all.sort((left, right) => left.write.seq - right.write.seq);
    const keptCount = randomInteger(random, all.length + 1);
    for (const { node, write } of all.slice(0, keptCount)) {
      const writes = kept.get(node) ?? [];
      writes.push(write);
      kept.set(node, writes);
    }
    const next = all[keptCount];
    const tornWrite = next === undefined ? undefined : tear(next.write, torn, random);
    if (next !== undefined && tornWrite !== undefined) {
      const writes = kept.get(next.node) ?? [];
      writes.push(tornWrite);
      kept.set(next.node, writes);
    }
  } else {
    for (const node of files) {
      const writes: PendingWrite[] = [];
      for (const write of node.pending) {
        if (write.kind === "truncate") {
          if (random() < keepProbability) writes.push(write);
          continue;
        }
        // Pieces end at page boundaries of the file: write-back happens a page at a time.
        let start = 0;
        while (start < write.bytes.length) {
          const offset = write.offset + start;
          const end = Math.min(write.bytes.length, (Math.floor(offset / PAGE_BYTES) + 1) * PAGE_BYTES - write.offset);
          const piece = write.bytes.subarray(start, end);
          if (random() < keepProbability) {
            writes.push({ kind: "write", seq: write.seq, offset, bytes: piece });
          } else if (mode === "trash" && random() < trashProbability) {
            const garbage = new Uint8Array(piece.length);
            fillRandom(garbage, random);
            writes.push({ kind: "write", seq: write.seq, offset, bytes: garbage });
          }
          start = end;
        }
      }
      kept.set(node, writes);
    }
  }
  return kept;
}

/** The entries each directory has in the crash image. */
function chooseEntries(
  volume: Volume,
  directoryMode: "synced-only" | "random" | "keep",
  random: () => number,
): (directory: DirectoryNode) => ReadonlyMap<string, Node> {
  if (directoryMode === "keep") return (directory) => directory.visible;
  if (directoryMode === "synced-only") return (directory) => directory.durable;
  const image = new Map<DirectoryNode, Map<string, Node>>();
  const entriesOf = (directory: DirectoryNode): Map<string, Node> => {
    let entries = image.get(directory);
    if (entries === undefined) {
      entries = new Map(directory.durable);
      image.set(directory, entries);
    }
    return entries;
  };
  const ops = new Set<DirectoryOp>();
  for (const directory of volume.dirtyDirectories) for (const op of directory.pending) ops.add(op);
  for (const op of [...ops].sort((left, right) => left.seq - right.seq)) {
    if (random() >= 0.5) continue;
    // Each kept operation applies only where its precondition still holds in the image, so the
    // image is always the result of some subsequence of the operations, each one whole.
    if (op.kind === "link") {
      const entries = entriesOf(op.directory);
      if (!entries.has(op.name)) entries.set(op.name, op.node);
    } else if (op.kind === "unlink") {
      const entries = entriesOf(op.directory);
      if (entries.get(op.name) === op.node) entries.delete(op.name);
    } else {
      const source = entriesOf(op.sourceDirectory);
      if (source.get(op.sourceName) !== op.node) continue;
      source.delete(op.sourceName);
      entriesOf(op.targetDirectory).set(op.targetName, op.node);
    }
  }
  return (directory) => image.get(directory) ?? directory.durable;
}

/** A file of a `MemFs`. Reads and writes act on the inode, so they go on after a rename or remove. */
class MemFile implements File {
  readonly path: string;
  readonly volume: Volume;
  readonly node: FileNode;
  readonly #readOnly: boolean;
  #closed = false;

  constructor(path: string, volume: Volume, node: FileNode, readOnly: boolean) {
    this.path = path;
    this.volume = volume;
    this.node = node;
    this.#readOnly = readOnly;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    return this.readSync(buffer, position);
  }

  readSync(buffer: Uint8Array, position: number): number {
    this.#check("read", false);
    checkPosition(position);
    const content = this.node.visible.view();
    if (position >= content.length) return 0;
    const count = Math.min(buffer.length, content.length - position);
    buffer.set(content.subarray(position, position + count));
    return count;
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    return this.writeSync(data, position);
  }

  writeSync(data: Uint8Array, position: number): number {
    this.#check("write", true);
    checkPosition(position);
    if (data.length === 0) return 0;
    const node = this.node;
    node.visible.write(position, data);
    node.pending.push({ kind: "write", seq: ++this.volume.seq, offset: position, bytes: data.slice() });
    node.mtimeMs = Date.now();
    this.volume.dirtyFiles.add(node);
    return data.length;
  }

  async sync(): Promise<void> {
    this.#check("sync", true);
    syncFile(this.volume, this.node);
  }

  async datasync(): Promise<void> {
    this.#check("datasync", true);
    syncFile(this.volume, this.node);
  }

  async truncate(size: number): Promise<void> {
    this.truncateSync(size);
  }

  /** Synchronous `truncate` (internal: used by `open` with `truncate`). */
  truncateSync(size: number): void {
    this.#check("truncate", true);
    checkPosition(size);
    const node = this.node;
    node.visible.resize(size);
    node.pending.push({ kind: "truncate", seq: ++this.volume.seq, size });
    node.mtimeMs = Date.now();
    this.volume.dirtyFiles.add(node);
  }

  async size(): Promise<number> {
    this.#check("size", false);
    return this.node.visible.length;
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  /** Synchronous `close` (internal: used by `lock`). */
  closeSync(): void {
    if (this.volume.crashed) throw new SimulatedCrash();
    if (this.#closed) return;
    this.#closed = true;
    this.volume.openFiles.delete(this);
  }

  #check(op: FsOp, isWrite: boolean): void {
    if (this.volume.crashed) throw new SimulatedCrash();
    if (this.#closed) throw new ClosedError("auradb/fs: file is closed", { path: this.path });
    if (isWrite && this.#readOnly) throw ioError(op, this.path, "EBADF", "file is open read-only");
  }
}
