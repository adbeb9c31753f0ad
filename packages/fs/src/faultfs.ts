/**
 * `FaultFs`: wraps any {@link FileSystem} and injects I/O faults on a seeded, countable schedule
 * (SQLite's k-th-call loops, Pebble's errorfs, RocksDB's `SetFilesystemActive(false)`).
 */
import { IOError, SimulatedCrash } from "./errors.ts";
import type { FsOp } from "./errors.ts";
import { createSeededRandom, MemFs, randomInteger } from "./memfs.ts";
import type { CrashOptions } from "./memfs.ts";
import type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "./types.ts";

/**
 * What an injected fault does:
 * - `EIO`: the call is not performed and throws `IOError { systemCode: "EIO" }` (any op);
 * - `ENOSPC`: on `write`, a seeded prefix (possibly empty, never all) of the data is written, then
 *   `IOError { systemCode: "ENOSPC" }`; on other ops, like `EIO` with `ENOSPC`;
 * - `short-write`: `write` writes a seeded prefix (at least 1 byte, fewer than asked) and returns
 *   its length, without error (not injected on writes of 0 or 1 byte);
 * - `fsync-fail`: `sync`, `datasync` or `syncDir` is not performed and throws `EIO`; for a file on a
 *   `MemFs`, its unsynced writes are also forgotten (fsyncgate): reads still see them, but no crash
 *   image keeps them, even after a later successful sync;
 * - `bitflip-read`: `read` succeeds but one seeded bit of the bytes read is flipped (not injected
 *   on a read of 0 bytes).
 */
export type FaultKind = "EIO" | "ENOSPC" | "short-write" | "fsync-fail" | "bitflip-read";

/** The kind of a counted call: the `FsOp`s, plus `exists` (reported as `stat` in an `IOError`). */
export type FaultOp = FsOp | "exists";

/**
 * When to inject a fault. The conditions combine: a call matches when its op is in `ops` and one
 * of its paths matches `path`; each rule counts its own matching calls. A matching call fires
 * the rule when it is the `onCall`-th (if set), comes after the `after`-th (if set), and passes
 * the seeded `probability` draw (if set). When two rules fire on one call, the first added wins.
 */
export interface FaultRule {
  readonly kind: FaultKind;
  /**
   * The ops to count. Default: every op for `EIO`; `write` for `ENOSPC` and `short-write`; `sync`,
   * `datasync`, `syncDir` for `fsync-fail`; `read` for `bitflip-read`. The last three kinds accept
   * only those ops. `lock` also counts `FsLock.release`; a rename matches by either path.
   */
  readonly ops?: readonly FaultOp[];
  /** A substring of the path, or a pattern it must match. Default: every path. */
  readonly path?: string | RegExp;
  /** Fire at the k-th matching call only (1-based). */
  readonly onCall?: number;
  /** Fire at every matching call after the n-th. */
  readonly after?: number;
  /** Fire with this probability (seeded per rule). */
  readonly probability?: number;
  /**
   * `once`: fire at most once, then never again. `sticky`: after firing once, fire on every
   * later matching call, whatever the other conditions say. Default: fire whenever the
   * conditions hold.
   */
  readonly persistence?: "once" | "sticky";
}

/** Options of {@link FaultFs}. */
export interface FaultFsOptions {
  /** Seed of every random choice (probabilities, prefix lengths, flipped bits). Default 1. */
  readonly seed?: number;
  /** Rules to start with (same as calling `addRule` for each). */
  readonly rules?: readonly FaultRule[];
}

const ALL_OPS: readonly FaultOp[] = [
  "open", "read", "write", "sync", "datasync", "truncate", "size", "close",
  "list", "mkdir", "rename", "remove", "stat", "exists", "syncDir", "lock",
];

/** The ops each kind may act on, and its default ops. */
const KIND_OPS: Readonly<Record<FaultKind, { readonly allowed: readonly FaultOp[]; readonly defaults: readonly FaultOp[] }>> = {
  EIO: { allowed: ALL_OPS, defaults: ALL_OPS },
  ENOSPC: { allowed: ALL_OPS, defaults: ["write"] },
  "short-write": { allowed: ["write"], defaults: ["write"] },
  "fsync-fail": { allowed: ["sync", "datasync", "syncDir"], defaults: ["sync", "datasync", "syncDir"] },
  "bitflip-read": { allowed: ["read"], defaults: ["read"] },
};

interface ArmedRule {
  readonly rule: FaultRule;
  readonly ops: ReadonlySet<FaultOp>;
  readonly random: () => number;
  matchCount: number;
  spent: boolean;
  stuck: boolean;
}

/** How much of a write to pass on, and the error to throw after it, if any. */
interface WriteShape {
  readonly prefixBytes: number;
  readonly error: IOError | undefined;
}

/** The state a `FaultFs` and its open files share. */
class FaultController {
  readonly inner: FileSystem;
  readonly #seed: number;
  readonly #random: () => number;
  #rules: ArmedRule[] = [];
  #ruleCount = 0;
  callCount = 0;
  /** Calls counted per op kind. */
  readonly opCounts = new Map<FaultOp, number>();
  injectedCount = 0;
  crashAtCall: number | undefined;
  crashOptions: CrashOptions | undefined;
  crashed = false;
  crashImage: MemFs | undefined;

  constructor(inner: FileSystem, seed: number) {
    this.inner = inner;
    this.#seed = seed;
    this.#random = createSeededRandom(seed);
  }

  /** The `MemFs` at the bottom of a stack of `FaultFs`, if any. */
  get base(): MemFs | undefined {
    let fs: FileSystem = this.inner;
    while (fs instanceof FaultFs) fs = fs.unwrap();
    return fs instanceof MemFs ? fs : undefined;
  }

  addRule(rule: FaultRule): void {
    const kindOps = KIND_OPS[rule.kind];
    if (kindOps === undefined) throw new TypeError(`auradb/fs: unknown fault kind ${String(rule.kind)}`);
    const ops = rule.ops ?? kindOps.defaults;
    for (const op of ops) {
      if (!kindOps.allowed.includes(op)) throw new TypeError(`auradb/fs: fault ${rule.kind} cannot act on ${String(op)}`);
    }
    if (rule.onCall !== undefined && !(Number.isSafeInteger(rule.onCall) && rule.onCall >= 1)) {
      throw new RangeError(`auradb/fs: onCall must be an integer >= 1, got ${rule.onCall}`);
    }
    if (rule.after !== undefined && !(Number.isSafeInteger(rule.after) && rule.after >= 0)) {
      throw new RangeError(`auradb/fs: after must be an integer >= 0, got ${rule.after}`);
    }
    if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
      throw new RangeError(`auradb/fs: probability must be in [0, 1], got ${rule.probability}`);
    }
    if (rule.persistence !== undefined && rule.persistence !== "once" && rule.persistence !== "sticky") {
      throw new TypeError(`auradb/fs: unknown persistence ${String(rule.persistence)}`);
    }
    // Each rule draws from its own stream (seeded by its rank), so a rule added later does not
    // change when the earlier ones fire.
    const ruleSeed = (Math.floor(this.#seed) ^ Math.imul(++this.#ruleCount, 0x9e3779b9)) >>> 0;
    this.#rules.push({ rule, ops: new Set(ops), random: createSeededRandom(ruleSeed), matchCount: 0, spent: false, stuck: false });
  }

  clearRules(): void {
    this.#rules = [];
  }

  /**
   * Counts a call and decides its fault. Throws `SimulatedCrash` after a crash, and at the call
   * armed by `crashAt` (taking the crash image first).
   */
  enter(op: FaultOp, paths: readonly string[]): ArmedRule | undefined {
    this.callCount += 1;
    this.opCounts.set(op, (this.opCounts.get(op) ?? 0) + 1);
    if (this.crashed) throw new SimulatedCrash();
    if (this.callCount === this.crashAtCall) {
      this.crashed = true;
      this.crashImage = this.base?.crash(this.crashOptions);
      throw new SimulatedCrash();
    }
    let firing: ArmedRule | undefined;
    for (const armed of this.#rules) {
      if (!armed.ops.has(op) || !matchesPath(armed.rule.path, paths)) continue;
      armed.matchCount += 1;
      if (armed.spent) continue;
      const rule = armed.rule;
      let fires = armed.stuck;
      if (!fires) {
        fires = (rule.onCall === undefined || armed.matchCount === rule.onCall) && (rule.after === undefined || armed.matchCount > rule.after);
        // Drawn even when an earlier rule already fires, so that each rule's stream stays its own.
        if (fires && rule.probability !== undefined) fires = armed.random() < rule.probability;
      }
      if (fires && firing === undefined) firing = armed;
    }
    return firing;
  }

  /** Records that `armed` was applied. */
  injected(armed: ArmedRule): void {
    this.injectedCount += 1;
    if (armed.rule.persistence === "once") armed.spent = true;
    else if (armed.rule.persistence === "sticky") armed.stuck = true;
  }

  /** The error of an `EIO` or `ENOSPC` fault (or of `fsync-fail`), recorded as injected. */
  error(armed: ArmedRule, op: FaultOp, path: string): IOError {
    this.injected(armed);
    const kind = armed.rule.kind;
    return new IOError(`auradb/fs: injected ${kind}`, {
      op: op === "exists" ? "stat" : op,
      path,
      systemCode: kind === "ENOSPC" ? "ENOSPC" : "EIO",
      // After a failed fsync the unsynced writes may be gone for good (fsyncgate).
      dataLoss: kind === "fsync-fail",
    });
  }

  /** Throws the fault of an op that has no partial outcome (everything but read, write, sync). */
  fail(armed: ArmedRule | undefined, op: FaultOp, path: string): void {
    if (armed !== undefined) throw this.error(armed, op, path);
  }

  writeShape(armed: ArmedRule, path: string, length: number): WriteShape | undefined {
    const kind = armed.rule.kind;
    if (kind === "ENOSPC") {
      const prefixBytes = randomInteger(this.#random, length);
      return { prefixBytes, error: this.error(armed, "write", path) };
    }
    if (kind === "short-write") {
      // One byte cannot be split: writing nothing would read as "no progress", a different fault.
      if (length <= 1) return undefined;
      this.injected(armed);
      return { prefixBytes: 1 + randomInteger(this.#random, length - 1), error: undefined };
    }
    throw this.error(armed, "write", path);
  }

  /** The fault of a `sync` or `datasync` of `file` (the inner handle). Always throws. */
  failSync(armed: ArmedRule, op: "sync" | "datasync", file: File): never {
    if (armed.rule.kind === "fsync-fail") {
      const base = this.base;
      let target: File = file;
      while (target instanceof FaultFile) target = target.inner;
      // The kernel marks the failed pages clean: the writes stay visible but will never be synced.
      if (base !== undefined && !base.crashed) base._dropPending(target);
    }
    throw this.error(armed, op, file.path);
  }

  flipBit(armed: ArmedRule, buffer: Uint8Array, count: number): void {
    if (count <= 0) return;
    const bit = randomInteger(this.#random, count * 8);
    const index = bit >>> 3;
    buffer[index] = (buffer[index] as number) ^ (1 << (bit & 7));
    this.injected(armed);
  }
}

function matchesPath(pattern: string | RegExp | undefined, paths: readonly string[]): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === "string") return paths.some((path) => path.includes(pattern));
  return paths.some((path) => {
    // A global or sticky pattern keeps state between calls: start each test afresh.
    pattern.lastIndex = 0;
    return pattern.test(path);
  });
}

/**
 * A {@link FileSystem} that forwards every call to `inner` and injects faults by rules. Every call,
 * on the file system and on the files it opened, counts as one op (see {@link FaultOp}); `name` is
 * `fault(<inner name>)` and `supports` is the inner one's. Faults are typed `IOError`s with `op`,
 * `path` and `systemCode`; every choice is seeded.
 *
 * @example
 * ```ts
 * const fs = new FaultFs(new MemFs(), { seed: 7, rules: [{ kind: "fsync-fail", onCall: 2 }] });
 * // ...run a workload; the second sync fails and forgets that file's unsynced writes.
 * fs.crashAt(fs.callCount + 10);          // power cut just before the 10th call from now
 * // ...after it: fs.crashImage holds the disk image; every call throws SimulatedCrash.
 * ```
 */
export class FaultFs implements FileSystem {
  readonly name: string;
  readonly supports: FsSupports;
  readonly #controller: FaultController;

  constructor(inner: FileSystem, options: FaultFsOptions = {}) {
    this.name = `fault(${inner.name})`;
    this.supports = inner.supports;
    this.#controller = new FaultController(inner, options.seed ?? 1);
    for (const rule of options.rules ?? []) this.#controller.addRule(rule);
  }

  /** Calls counted so far (file-system and file calls, including those that threw). */
  get callCount(): number {
    return this.#controller.callCount;
  }

  /** Calls of one op kind counted so far (e.g. how many `datasync` calls a workload made). */
  opCount(op: FaultOp): number {
    return this.#controller.opCounts.get(op) ?? 0;
  }

  /** Faults injected so far. */
  get injectedCount(): number {
    return this.#controller.injectedCount;
  }

  /** The image taken by `crashAt` when the inner file system is a `MemFs`; undefined before. */
  get crashImage(): MemFs | undefined {
    return this.#controller.crashImage;
  }

  /** True once the call armed by `crashAt` was reached. */
  get crashed(): boolean {
    return this.#controller.crashed;
  }

  /** The wrapped file system. */
  unwrap(): FileSystem {
    return this.#controller.inner;
  }

  /** Adds a rule; it counts matching calls from now on. @throws TypeError, RangeError on an invalid rule. */
  addRule(rule: FaultRule): void {
    this.#controller.addRule(rule);
  }

  /** Removes every rule (counters included). */
  clearRules(): void {
    this.#controller.clearRules();
  }

  /**
   * Arms a crash just before call `call` (1-based, as {@link FaultFs.callCount} counts): that call
   * is not performed; if a `MemFs` is at the bottom, its `crash(options)` image is stored in
   * {@link FaultFs.crashImage}; then that call and every later one, here or on any file opened
   * here, throws `SimulatedCrash`.
   *
   * @throws RangeError when `call` is not after the calls already made.
   */
  crashAt(call: number, options?: CrashOptions): void {
    if (!Number.isSafeInteger(call) || call <= this.#controller.callCount) {
      throw new RangeError(`auradb/fs: crashAt needs a call after ${this.#controller.callCount}, got ${call}`);
    }
    this.#controller.crashAtCall = call;
    this.#controller.crashOptions = options;
  }

  async open(path: string, options?: OpenOptions): Promise<File> {
    const controller = this.#controller;
    controller.fail(controller.enter("open", [path]), "open", path);
    return new FaultFile(controller, await controller.inner.open(path, options));
  }

  async list(dir: string): Promise<string[]> {
    const controller = this.#controller;
    controller.fail(controller.enter("list", [dir]), "list", dir);
    return controller.inner.list(dir);
  }

  async mkdir(dir: string): Promise<void> {
    const controller = this.#controller;
    controller.fail(controller.enter("mkdir", [dir]), "mkdir", dir);
    return controller.inner.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    const controller = this.#controller;
    controller.fail(controller.enter("rename", [from, to]), "rename", from);
    return controller.inner.rename(from, to);
  }

  async remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    const controller = this.#controller;
    controller.fail(controller.enter("remove", [path]), "remove", path);
    return controller.inner.remove(path, options);
  }

  async stat(path: string): Promise<FileStat> {
    const controller = this.#controller;
    controller.fail(controller.enter("stat", [path]), "stat", path);
    return controller.inner.stat(path);
  }

  async exists(path: string): Promise<boolean> {
    const controller = this.#controller;
    controller.fail(controller.enter("exists", [path]), "exists", path);
    return controller.inner.exists(path);
  }

  async syncDir(dir: string): Promise<void> {
    const controller = this.#controller;
    // NB: a failed directory sync leaves the entries non-durable, which the inner state already says.
    controller.fail(controller.enter("syncDir", [dir]), "syncDir", dir);
    return controller.inner.syncDir(dir);
  }

  async lock(path: string): Promise<FsLock> {
    const controller = this.#controller;
    controller.fail(controller.enter("lock", [path]), "lock", path);
    const inner = await controller.inner.lock(path);
    return {
      path: inner.path,
      release: async () => {
        controller.fail(controller.enter("lock", [path]), "lock", path);
        return inner.release();
      },
    };
  }
}

/** A file opened through a `FaultFs`: every call is counted and may fault. */
class FaultFile implements File {
  readonly path: string;
  readonly inner: File;
  readonly #controller: FaultController;

  constructor(controller: FaultController, inner: File) {
    this.#controller = controller;
    this.inner = inner;
    this.path = inner.path;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    const armed = this.#beforeRead();
    const count = await this.inner.read(buffer, position);
    if (armed !== undefined) this.#controller.flipBit(armed, buffer, count);
    return count;
  }

  readSync(buffer: Uint8Array, position: number): number {
    const armed = this.#beforeRead();
    const count = this.inner.readSync(buffer, position);
    if (armed !== undefined) this.#controller.flipBit(armed, buffer, count);
    return count;
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    const shape = this.#beforeWrite(data);
    if (shape === undefined) return this.inner.write(data, position);
    const written = shape.prefixBytes > 0 ? await this.inner.write(data.subarray(0, shape.prefixBytes), position) : 0;
    if (shape.error !== undefined) throw shape.error;
    return written;
  }

  writeSync(data: Uint8Array, position: number): number {
    const shape = this.#beforeWrite(data);
    if (shape === undefined) return this.inner.writeSync(data, position);
    const written = shape.prefixBytes > 0 ? this.inner.writeSync(data.subarray(0, shape.prefixBytes), position) : 0;
    if (shape.error !== undefined) throw shape.error;
    return written;
  }

  async sync(): Promise<void> {
    const armed = this.#controller.enter("sync", [this.path]);
    if (armed !== undefined) this.#controller.failSync(armed, "sync", this.inner);
    return this.inner.sync();
  }

  async datasync(): Promise<void> {
    const armed = this.#controller.enter("datasync", [this.path]);
    if (armed !== undefined) this.#controller.failSync(armed, "datasync", this.inner);
    return this.inner.datasync();
  }

  async truncate(size: number): Promise<void> {
    const controller = this.#controller;
    controller.fail(controller.enter("truncate", [this.path]), "truncate", this.path);
    return this.inner.truncate(size);
  }

  async size(): Promise<number> {
    const controller = this.#controller;
    controller.fail(controller.enter("size", [this.path]), "size", this.path);
    return this.inner.size();
  }

  async close(): Promise<void> {
    const controller = this.#controller;
    const armed = controller.enter("close", [this.path]);
    // Like close(2): the handle is released even when the call reports an error.
    await this.inner.close();
    controller.fail(armed, "close", this.path);
  }

  /** Counts a read; throws unless its fault (if any) is a bit flip. */
  #beforeRead(): ArmedRule | undefined {
    const armed = this.#controller.enter("read", [this.path]);
    if (armed !== undefined && armed.rule.kind !== "bitflip-read") throw this.#controller.error(armed, "read", this.path);
    return armed;
  }

  #beforeWrite(data: Uint8Array): WriteShape | undefined {
    const armed = this.#controller.enter("write", [this.path]);
    return armed === undefined ? undefined : this.#controller.writeShape(armed, this.path, data.length);
  }
}
