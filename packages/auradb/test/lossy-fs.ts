/**
 * `LossyFs`: the file system of the crash test's "lossy" flavour (RELIABILITY-PLAN §3c). It wraps
 * a real file system so that a kill -9 of the process behaves like a power cut:
 *
 * - **File data** written and not yet synced stays in this process's memory (reads through any
 *   handle see it, as they would see the page cache); `sync`/`datasync` hands it to the real file,
 *   in the order it was written. A kill loses every unsynced byte, as a power cut may.
 * - **Directory operations** (create, rename, remove) happen on the real directory at once, and
 *   each is appended to a side journal (a plain write: a process kill keeps it), with a hard link
 *   to any file a rename replaced or a remove dropped. `syncDir` appends a mark saying which
 *   entries it covers (those journaled before it began). After the kill, `undoUnsyncedDirOps`
 *   (called by the parent, before it reopens) undoes a random suffix of the entries no mark
 *   covers, newest first: the directory as a power cut would leave it on a file system that
 *   commits directory operations in order (ext4's and XFS's journals do).
 *
 * A test helper, not a product: it uses `node:fs` for the journal and the links (Node, Bun and
 * Deno all have it), and it skips the real fsyncs (a process kill keeps what reached the OS).
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { type File, type FileStat, type FileSystem, type FsLock, type OpenOptions, writeAll } from "@auradb/fs";

/** An unsynced change of a file's bytes, in the order it was made. */
type PendingOp = { readonly at: number; readonly bytes: Uint8Array } | { readonly size: number };

/** One file (inode): its unsynced changes and the length of its real (synced) bytes. */
interface Inode {
  readonly ops: PendingOp[];
  realSize: number;
  /** The syncs of this file, one after another (two at once would both apply the same changes). */
  syncs: Promise<void>;
}

/** A journal entry: ["c", path] created; ["r", from, to, trash | ""] renamed; ["d", path, trash] removed; ["s", dir, entries before the sync began]. */
type JournalEntry = ["c", string] | ["r", string, string, string] | ["d", string, string] | ["s", string, number];

const JOURNAL = "journal";

/** The size after `ops`, from `realSize`. */
function logicalSize(inode: Pick<Inode, "ops" | "realSize">): number {
  let size = inode.realSize;
  for (const op of inode.ops) size = "size" in op ? op.size : Math.max(size, op.at + op.bytes.length);
  return size;
}

/** The bytes a read of `length` at `position` sees: up to the file's logical end. */
function readable(inode: Inode, position: number, length: number): number {
  return Math.max(0, Math.min(length, logicalSize(inode) - position));
}

/** Overlays the unsynced changes on `view` (a read's bytes from `position`), which holds `realRead` real bytes. */
function overlay(inode: Inode, view: Uint8Array, position: number, realRead: number): number {
  view.fill(0, realRead);
  const end = position + view.length;
  for (const op of inode.ops) {
    if ("size" in op) {
      if (op.size < end) view.fill(0, Math.max(0, op.size - position));
      continue;
    }
    const from = Math.max(position, op.at);
    const to = Math.min(end, op.at + op.bytes.length);
    if (from < to) view.set(op.bytes.subarray(from - op.at, to - op.at), from - position);
  }
  return view.length;
}

class LossyFile implements File {
  readonly path: string;
  readonly #real: File;
  readonly #inode: Inode;
  readonly #readOnly: boolean;
  #closed = false;

  constructor(path: string, real: File, inode: Inode, readOnly: boolean) {
    this.path = path;
    this.#real = real;
    this.#inode = inode;
    this.#readOnly = readOnly;
  }

  // NB: a read touches no byte past what it returns (the conformance suite checks it), so the
  // real read is limited to the logical length first.
  async read(buffer: Uint8Array, position: number): Promise<number> {
    if (this.#closed || this.#inode.ops.length === 0) return this.#real.read(buffer, position);
    const view = buffer.subarray(0, readable(this.#inode, position, buffer.length));
    return overlay(this.#inode, view, position, await this.#real.read(view, position));
  }

  readSync(buffer: Uint8Array, position: number): number {
    if (this.#closed || this.#inode.ops.length === 0) return this.#real.readSync(buffer, position);
    const view = buffer.subarray(0, readable(this.#inode, position, buffer.length));
    return overlay(this.#inode, view, position, this.#real.readSync(view, position));
  }

  // NB: a read-only or closed handle passes each call to the real one, which refuses it.
  async write(data: Uint8Array, position: number): Promise<number> {
    if (this.#readOnly || this.#closed) return this.#real.write(data, position);
    this.#inode.ops.push({ at: position, bytes: data.slice() });
    return data.length;
  }

  writeSync(data: Uint8Array, position: number): number {
    if (this.#readOnly || this.#closed) return this.#real.writeSync(data, position);
    this.#inode.ops.push({ at: position, bytes: data.slice() });
    return data.length;
  }

  sync(): Promise<void> {
    if (this.#readOnly || this.#closed) return this.#real.sync();
    const inode = this.#inode;
    const next = inode.syncs.then(() => this.#apply());
    inode.syncs = next.catch(() => {});
    return next;
  }

  async #apply(): Promise<void> {
    // NB: the changes stay visible to reads until applied (a read meanwhile replays them over the
    // real bytes, which gives the same view); changes made during this sync wait for the next one.
    const inode = this.#inode;
    const count = inode.ops.length;
    const size = logicalSize({ ops: inode.ops.slice(0, count), realSize: inode.realSize });
    for (let index = 0; index < count; index++) {
      const op = inode.ops[index]!;
      if ("size" in op) await this.#real.truncate(op.size);
      else await writeAll(this.#real, op.bytes, op.at);
    }
    inode.ops.splice(0, count);
    inode.realSize = size;
  }

  datasync(): Promise<void> {
    return this.sync();
  }

  async truncate(size: number): Promise<void> {
    if (this.#readOnly || this.#closed) return this.#real.truncate(size);
    this.#inode.ops.push({ size });
  }

  async size(): Promise<number> {
    if (this.#closed) return this.#real.size();
    return logicalSize(this.#inode);
  }

  close(): Promise<void> {
    // NB: unsynced changes outlive the handle (the page cache keeps them until a crash).
    this.#closed = true;
    return this.#real.close();
  }
}

export class LossyFs implements FileSystem {
  readonly name: string;
  readonly supports: FileSystem["supports"];
  readonly #inner: FileSystem;
  readonly #side: string;
  readonly #journal: number;
  readonly #inodes = new Map<string, Inode>();
  #entries = 0;
  #trash = 0;

  /** `side`: a directory of its own for the journal and the links (created, emptied first). */
  constructor(inner: FileSystem, side: string) {
    this.#inner = inner;
    this.name = `lossy(${inner.name})`;
    this.supports = inner.supports;
    this.#side = side;
    rmSync(side, { recursive: true, force: true });
    mkdirSync(side, { recursive: true });
    this.#journal = openSync(join(side, JOURNAL), "a");
  }

  #log(entry: JournalEntry): void {
    writeSync(this.#journal, `${JSON.stringify(entry)}\n`);
    this.#entries++;
  }

  /** A hard link to `path` in the side directory, to bring its file back if the operation is undone. */
  #keep(path: string): string {
    const name = join(this.#side, `t${this.#trash++}`);
    linkSync(path, name);
    return name;
  }

  async #inode(path: string, file: File): Promise<Inode> {
    let inode = this.#inodes.get(path);
    if (inode === undefined) {
      inode = { ops: [], realSize: await file.size(), syncs: Promise.resolve() };
      this.#inodes.set(path, inode);
    }
    return inode;
  }

  async open(path: string, options: OpenOptions = {}): Promise<File> {
    const created = options.create === true && !(await this.#inner.exists(path));
    const real = await this.#inner.open(path, { ...options, truncate: false });
    if (created) this.#log(["c", path]);
    const inode = await this.#inode(path, real);
    if (options.truncate === true && options.readOnly !== true) inode.ops.push({ size: 0 });
    return new LossyFile(path, real, inode, options.readOnly === true);
  }

  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir);
  }

  mkdir(dir: string): Promise<void> {
    return this.#inner.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    const replaced = existsSync(to) ? this.#keep(to) : "";
    await this.#inner.rename(from, to);
    const inode = this.#inodes.get(from);
    this.#inodes.delete(from);
    if (inode === undefined) this.#inodes.delete(to);
    else this.#inodes.set(to, inode);
    this.#log(["r", from, to, replaced]);
  }

  async remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    if (options?.recursive === true) {
      for (const key of [...this.#inodes.keys()]) if (key === path || key.startsWith(`${path}/`)) this.#inodes.delete(key);
      return this.#inner.remove(path, options);
    }
    const kept = existsSync(path) ? this.#keep(path) : null;
    await this.#inner.remove(path, options);
    this.#inodes.delete(path);
    if (kept !== null) this.#log(["d", path, kept]);
  }

  async stat(path: string): Promise<FileStat> {
    const stat = await this.#inner.stat(path);
    const inode = this.#inodes.get(path);
    return inode === undefined || inode.ops.length === 0 ? stat : { ...stat, size: logicalSize(inode) };
  }

  exists(path: string): Promise<boolean> {
    return this.#inner.exists(path);
  }

  async syncDir(dir: string): Promise<void> {
    const covered = this.#entries;
    await this.#inner.syncDir(dir);
    this.#log(["s", dir, covered]);
  }

  lock(path: string): Promise<FsLock> {
    return this.#inner.lock(path);
  }

  /** Closes the journal (the child is normally killed instead). */
  close(): void {
    closeSync(this.#journal);
  }
}

/**
 * After the kill: undoes a random suffix of the directory operations no `syncDir` covered (each
 * entry is covered by a later mark for its directory), newest first, then empties `side`.
 * `random` in [0, 1) picks how many. Returns how many were undone.
 */
export function undoUnsyncedDirOps(side: string, random: () => number): number {
  const path = join(side, JOURNAL);
  if (!existsSync(path)) return 0;
  const entries: JournalEntry[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.length === 0) continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line the kill cut short: its operation may have happened; it counts as kept.
    }
  }
  const durable = new Array<boolean>(entries.length).fill(false);
  entries.forEach((entry, index) => {
    if (entry[0] !== "s") return;
    for (let before = 0; before < Math.min(entry[2], index); before++) {
      const other = entries[before]!;
      if (other[0] !== "s" && dirname(other[0] === "r" ? other[2] : other[1]) === entry[1]) durable[before] = true;
    }
  });
  // The unsynced entries after the last durable one may be undone, newest first, as a suffix.
  let firstUnsynced = entries.length;
  for (let index = entries.length - 1; index >= 0 && !durable[index]; index--) firstUnsynced = index;
  const candidates = entries.slice(firstUnsynced).filter((entry) => entry[0] !== "s");
  const undo = Math.floor(random() * (candidates.length + 1));
  let undone = 0;
  for (let index = candidates.length - 1; index >= candidates.length - undo; index--) {
    const entry = candidates[index]!;
    // NB: an operation the kill cut between doing and journaling counts as kept; if it stands in
    // the way of undoing an older one (the file to move back is gone), the older ones are kept too.
    if (entry[0] === "c") rmSync(entry[1], { force: true });
    else if (entry[0] === "r") {
      if (!existsSync(entry[2]) || existsSync(entry[1]) || (entry[3] !== "" && !existsSync(entry[3]))) break;
      renameSync(entry[2], entry[1]);
      if (entry[3] !== "") renameSync(entry[3], entry[2]);
    } else if (entry[0] === "d") {
      if (existsSync(entry[1]) || !existsSync(entry[2])) break;
      renameSync(entry[2], entry[1]);
    }
    undone++;
  }
  rmSync(side, { recursive: true, force: true });
  return undone;
}
