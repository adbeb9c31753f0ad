/**
 * A copy-on-write overlay over a real file system: every read goes to the disk, every change
 * (new file, write, truncate, rename, remove, mkdir) stays in memory and disappears at exit.
 *
 * Why: the engine's read-only open (`AuraDB.open(dir, { readOnly: true })`) runs on it. An open
 * takes a lock file, writes a fresh manifest and switches CURRENT, may cut a torn log tail and
 * sweeps unreferenced files; on this overlay all of that stays in memory, so a read-only open
 * sees exactly what recovery would see and cannot change a byte of the database, whatever the
 * engine does at open. The CLI's repair salvages through it too.
 *
 * NB: the lock is in memory only: a read-only open does not take the database's LOCK file, so it
 * can read a database that another process has open (it may then see files change under it and
 * fail with an error; it never damages anything).
 */
import { ClosedError, IOError, LockedError, NotFoundError, ReadOnlyError } from "./errors.ts";
import { readAt, readAtSync } from "./io.ts";
import type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "./types.ts";

/** The contents of a path once it lives in memory (copied from disk on its first change). */
interface MemoryData {
  bytes: Uint8Array;
  size: number;
}

/** One path seen by open handles: on disk until changed, then in memory for every handle. */
class Node {
  memory: MemoryData | null = null;
  lower: File | null = null;
  handles = 0;
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

function normalize(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return trimmed.replace(/\/{2,}/g, "/");
}

function parentOf(path: string): string {
  const index = path.lastIndexOf("/");
  if (index <= 0) return index === 0 ? "/" : ".";
  return path.slice(0, index);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A `FileSystem` that reads `lower` and keeps every change in memory. */
export class ReadOnlyOverlayFs implements FileSystem {
  readonly name: string;
  readonly supports: FsSupports;
  private readonly lower: FileSystem;
  /** Paths whose contents live in memory (created, or copied from disk when first changed). */
  private readonly memory = new Map<string, MemoryData>();
  /** Disk paths removed or renamed away (hidden, with everything under them). */
  private readonly hidden = new Set<string>();
  /** Directories that exist only in memory. */
  private readonly directories = new Set<string>();
  private readonly nodes = new Map<string, Node>();
  private readonly locks = new Set<string>();

  constructor(lower: FileSystem) {
    this.lower = lower;
    this.name = `readonly(${lower.name})`;
    this.supports = { ...lower.supports, positionalWrite: true, syncIO: true, crossProcessLock: false };
  }

  /** True when nothing was changed through this overlay (for tests and reports). */
  get untouched(): boolean {
    return this.memory.size === 0 && this.hidden.size === 0 && this.directories.size === 0;
  }

  private isHidden(path: string): boolean {
    for (let current = path; ; current = parentOf(current)) {
      if (this.hidden.has(current)) return true;
      if (current === "/" || current === "." || parentOf(current) === current) return false;
    }
  }

  private async lowerExists(path: string): Promise<boolean> {
    return !this.isHidden(path) && (await this.lower.exists(path));
  }

  async exists(path: string): Promise<boolean> {
    const normal = normalize(path);
    return this.memory.has(normal) || this.directories.has(normal) || (await this.lowerExists(normal));
  }

  async stat(path: string): Promise<FileStat> {
    const normal = normalize(path);
    const data = this.memory.get(normal);
    if (data !== undefined) return { size: data.size, isFile: true, isDirectory: false, mtimeMs: 0 };
    if (this.directories.has(normal)) return { size: 0, isFile: false, isDirectory: true, mtimeMs: 0 };
    if (this.isHidden(normal)) throw new NotFoundError(`auradb/fs: no such file: ${path}`, { path });
    return this.lower.stat(normal);
  }

  async list(dir: string): Promise<string[]> {
    const normal = normalize(dir);
    const names = new Set<string>();
    let found = this.directories.has(normal);
    if (await this.lowerExists(normal)) {
      found = true;
      for (const name of await this.lower.list(normal)) if (!this.hidden.has(`${normal}/${name}`)) names.add(name);
    }
    for (const path of [...this.memory.keys(), ...this.directories]) if (parentOf(path) === normal) names.add(nameOf(path));
    if (!found) throw new NotFoundError(`auradb/fs: no such directory: ${dir}`, { path: dir });
    return [...names].sort();
  }

  async mkdir(dir: string): Promise<void> {
    const normal = normalize(dir);
    if (await this.exists(normal)) {
      if ((await this.stat(normal)).isDirectory) return;
      throw new IOError(`auradb/fs: ${dir} exists and is not a directory`, { path: dir, op: "mkdir", systemCode: "EEXIST" });
    }
    await this.mkdir(parentOf(normal));
    this.directories.add(normal);
    this.hidden.delete(normal);
  }

  /** Nothing to make durable; a missing directory is still a `NotFoundError`, as the contract says. */
  async syncDir(dir: string): Promise<void> {
    if (!(await this.exists(normalize(dir)))) throw new NotFoundError(`auradb/fs: no such directory: ${dir}`, { path: dir });
  }

  /** A lock of this process only, with its lock file in memory (see the module's NB). */
  async lock(path: string): Promise<FsLock> {
    const normal = normalize(path);
    if (this.locks.has(normal)) throw new LockedError(`auradb/fs: ${path} is locked`, { path });
    // NB: taken before the first await, so that of two concurrent calls exactly one wins.
    this.locks.add(normal);
    if (!(await this.exists(parentOf(normal)))) {
      this.locks.delete(normal);
      throw new NotFoundError(`auradb/fs: no such directory: ${parentOf(normal)}`, { path });
    }
    const created = !(await this.exists(normal));
    if (created) this.memory.set(normal, { bytes: new Uint8Array(64), size: 0 });
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        this.locks.delete(normal);
        if (created) this.memory.delete(normal);
      },
    };
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const normal = normalize(path);
    if (!(await this.exists(normal))) throw new NotFoundError(`auradb/fs: no such file: ${path}`, { path });
    if (options.recursive === true) {
      for (const key of [...this.memory.keys()]) if (key.startsWith(`${normal}/`)) this.memory.delete(key);
      for (const key of [...this.directories]) if (key.startsWith(`${normal}/`)) this.directories.delete(key);
    }
    this.memory.delete(normal);
    this.directories.delete(normal);
    this.hidden.add(normal);
    // NB: open handles keep what they see (POSIX unlink); a new open of the path starts afresh.
    this.nodes.delete(normal);
  }

  async rename(from: string, to: string): Promise<void> {
    const source = normalize(from);
    const target = normalize(to);
    const data = await this.materialize(source);
    this.memory.delete(source);
    this.hidden.add(source);
    this.memory.set(target, data);
    this.hidden.delete(target);
    // NB: open handles of the source keep its contents (as on POSIX); those of a replaced target
    // keep the old contents too, so the target's next open starts a new node.
    const sourceNode = this.nodes.get(source);
    if (sourceNode !== undefined) sourceNode.memory = data;
    this.nodes.delete(source);
    this.nodes.delete(target);
  }

  /** The contents of `path` in memory, copied from disk if it was not there yet. */
  private async materialize(path: string): Promise<MemoryData> {
    const existing = this.memory.get(path);
    if (existing !== undefined) return existing;
    if (this.isHidden(path)) throw new NotFoundError(`auradb/fs: no such file: ${path}`, { path });
    const file = await this.lower.open(path, { readOnly: true });
    try {
      const bytes = await readAt(file, 0, await file.size());
      const data = { bytes, size: bytes.length };
      this.memory.set(path, data);
      return data;
    } finally {
      await file.close();
    }
  }

  async open(path: string, options: OpenOptions = {}): Promise<File> {
    const normal = normalize(path);
    const exists = await this.exists(normal);
    if (exists && options.create === true && options.exclusive === true) {
      throw new IOError(`auradb/fs: ${path} exists`, { path, op: "open", systemCode: "EEXIST" });
    }
    if (!exists) {
      if (options.create !== true || options.readOnly === true) throw new NotFoundError(`auradb/fs: no such file: ${path}`, { path });
      if (!(await this.exists(parentOf(normal)))) throw new NotFoundError(`auradb/fs: no such directory: ${parentOf(normal)}`, { path });
      this.memory.set(normal, { bytes: new Uint8Array(256), size: 0 });
    }
    let node = this.nodes.get(normal);
    if (node === undefined) {
      node = new Node(normal);
      this.nodes.set(normal, node);
    }
    node.memory = this.memory.get(normal) ?? null;
    if (node.memory === null && node.lower === null) node.lower = await this.lower.open(normal, { readOnly: true });
    node.handles++;
    const file = new OverlayFile(this, node, path, options.readOnly === true);
    if (options.truncate === true && options.readOnly !== true) await file.truncate(0);
    return file;
  }

  /** @internal Moves a node's contents to memory before its first change. */
  async writable(node: Node): Promise<MemoryData> {
    if (node.memory === null) node.memory = await this.materialize(node.path);
    return node.memory;
  }

  /** @internal The synchronous twin of `writable` (for `writeSync`). */
  writableSync(node: Node): MemoryData {
    if (node.memory !== null) return node.memory;
    const lower = node.lower!;
    const bytes = readAtSync(lower, 0, sizeSync(lower));
    node.memory = { bytes, size: bytes.length };
    this.memory.set(node.path, node.memory);
    return node.memory;
  }

  /** @internal A handle closed: the disk handle goes with the last one. */
  async release(node: Node): Promise<void> {
    node.handles--;
    if (node.handles > 0) return;
    if (this.nodes.get(node.path) === node) this.nodes.delete(node.path);
    const lower = node.lower;
    node.lower = null;
    if (lower !== null) await lower.close();
  }
}

/** The size of a disk file without a Promise: probe with one-byte reads (sizes are rarely asked). */
function sizeSync(file: File): number {
  const probe = new Uint8Array(1);
  let low = 0;
  let high = 1;
  while (file.readSync(probe, high - 1) === 1) {
    low = high;
    high *= 2;
  }
  // Invariant: a byte exists at low - 1 (or low is 0), none at high - 1.
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (file.readSync(probe, middle - 1) === 1) low = middle;
    else high = middle;
  }
  return low;
}

function grow(data: MemoryData, size: number): void {
  if (size <= data.bytes.length) return;
  const bytes = new Uint8Array(Math.max(size, data.bytes.length * 2));
  bytes.set(data.bytes.subarray(0, data.size));
  data.bytes = bytes;
}

function writeInto(data: MemoryData, bytes: Uint8Array, position: number): number {
  grow(data, position + bytes.length);
  if (position > data.size) data.bytes.fill(0, data.size, position);
  data.bytes.set(bytes, position);
  data.size = Math.max(data.size, position + bytes.length);
  return bytes.length;
}

function readFrom(data: MemoryData, buffer: Uint8Array, position: number): number {
  if (position >= data.size) return 0;
  const count = Math.min(buffer.length, data.size - position);
  buffer.set(data.bytes.subarray(position, position + count));
  return count;
}

class OverlayFile implements File {
  readonly path: string;
  private readonly fs: ReadOnlyOverlayFs;
  private readonly node: Node;
  private readonly readOnly: boolean;
  private closed = false;

  constructor(fs: ReadOnlyOverlayFs, node: Node, path: string, readOnly: boolean) {
    this.fs = fs;
    this.node = node;
    this.path = path;
    this.readOnly = readOnly;
  }

  private check(write: boolean): void {
    if (this.closed) throw new ClosedError(`auradb/fs: ${this.path} is closed`, { path: this.path });
    if (write && this.readOnly) throw new ReadOnlyError(`auradb/fs: ${this.path} was opened read-only`, { path: this.path });
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    this.check(false);
    if (this.node.memory !== null) return readFrom(this.node.memory, buffer, position);
    return this.node.lower!.read(buffer, position);
  }

  readSync(buffer: Uint8Array, position: number): number {
    this.check(false);
    if (this.node.memory !== null) return readFrom(this.node.memory, buffer, position);
    return this.node.lower!.readSync(buffer, position);
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    this.check(true);
    return writeInto(await this.fs.writable(this.node), data, position);
  }

  writeSync(data: Uint8Array, position: number): number {
    this.check(true);
    return writeInto(this.fs.writableSync(this.node), data, position);
  }

  async sync(): Promise<void> {
    this.check(true);
  }

  async datasync(): Promise<void> {
    this.check(true);
  }

  async truncate(size: number): Promise<void> {
    this.check(true);
    const data = await this.fs.writable(this.node);
    grow(data, size);
    if (size > data.size) data.bytes.fill(0, data.size, size);
    data.size = size;
  }

  async size(): Promise<number> {
    this.check(false);
    if (this.node.memory !== null) return this.node.memory.size;
    return this.node.lower!.size();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fs.release(this.node);
  }
}
