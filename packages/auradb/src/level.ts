/**
 * @module
 * `auradb/level`: AuraDB behind the `abstract-level` interface, a drop-in for `classic-level`.
 *
 * ```ts
 * import { AuraLevel } from "auradb/level";
 *
 * const db = new AuraLevel("./data", { valueEncoding: "json" });
 * await db.put("user:1", { name: "Ada" });
 * await db.get("user:1");                        // { name: "Ada" }
 * for await (const [key, value] of db.iterator({ gte: "user:" })) console.log(key, value);
 * await db.close();
 * ```
 *
 * Only this subpath loads `abstract-level`; `import { AuraDB } from "auradb"` does not.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractLevel, AbstractSnapshot, AbstractValueIterator } from "abstract-level";
import type {
  AbstractBatchOperation,
  AbstractBatchOptions,
  AbstractChainedBatch,
  AbstractDatabaseOptions,
  AbstractDelOptions,
  AbstractPutOptions,
} from "abstract-level";
import { AuraError, ErrorCode, NotFoundError } from "@auradb/fs";
import { compareBytes } from "@auradb/lsm";
import { AuraDB, type BatchOperation, type DbIterator, type RangeOptions, type Snapshot } from "./db.ts";
import type { AuraDBOptions } from "./options.ts";

/**
 * Options of `new AuraLevel(location, options)`: abstract-level's (`keyEncoding`,
 * `valueEncoding`, `createIfMissing`, `errorIfExists`, `passive`) and every `AuraDB.open` option
 * (`fs`, `sync`, `memtableBytes`, `valueThreshold`, `learnedIndex`, …), which are passed through
 * when the database opens.
 */
export interface AuraLevelOptions<K = string, V = string> extends AbstractDatabaseOptions<K, V>, Omit<AuraDBOptions, "createIfMissing" | "errorIfExists"> {}

/**
 * `sync: true`, as in classic-level: the write resolves once fdatasync'd (survives power loss).
 * Without it the database's `sync` policy applies (default: once the OS has the bytes).
 */
export interface AuraLevelWriteOptions {
  readonly sync?: boolean;
}

/**
 * The write methods with `sync` in their options (abstract-level's typings have no place for
 * an implementation's own write options). NB: declaration merging adds only types.
 */
export interface AuraLevel<K = string, V = string> {
  put(key: K, value: V): Promise<void>;
  put<KPut = K, VPut = V>(key: KPut, value: VPut, options: AbstractPutOptions<KPut, VPut> & AuraLevelWriteOptions): Promise<void>;
  del(key: K): Promise<void>;
  del<KDel = K>(key: KDel, options: AbstractDelOptions<KDel> & AuraLevelWriteOptions): Promise<void>;
  batch(operations: AbstractBatchOperation<this, K, V>[]): Promise<void>;
  batch<KBatch = K, VBatch = V>(operations: AbstractBatchOperation<this, KBatch, VBatch>[], options: AbstractBatchOptions<KBatch, VBatch> & AuraLevelWriteOptions): Promise<void>;
  batch(): AbstractChainedBatch<this, K, V>;
}

/** Options every private read receives (encodings are always 'view' here, so unused). */
interface ReadOptions {
  readonly snapshot?: AbstractSnapshot;
}

/** A batch operation as the private `_batch` receives it: already encoded. */
interface EncodedOperation {
  readonly type: "put" | "del";
  readonly key: ArrayBufferView;
  readonly value?: ArrayBufferView;
}

/** Range options as private methods receive them: encoded bounds, `limit` -1 for none. */
interface EncodedRange extends ReadOptions {
  readonly gt?: ArrayBufferView;
  readonly gte?: ArrayBufferView;
  readonly lt?: ArrayBufferView;
  readonly lte?: ArrayBufferView;
  readonly reverse: boolean;
  readonly limit: number;
}

interface IteratorOptions extends EncodedRange {
  readonly signal?: AbortSignal;
  readonly keys?: boolean;
  readonly values?: boolean;
  readonly keyEncoding: string;
  readonly valueEncoding: string;
}

/**
 * An error with one of abstract-level's codes (`LEVEL_LOCKED`, `LEVEL_CORRUPTION`…), wrapping
 * the engine's `AuraError` as `cause` (which keeps the AuraDB code, `path` and `offset`).
 */
export class LevelError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "LevelError";
    this.code = code;
  }
}

/**
 * Engine codes that have an abstract-level counterpart. Others (`AURADB_INVALID_ARGUMENT` for an
 * oversized key, say) reach the caller as the engine's `AuraError`, whose code is stable too.
 */
const LEVEL_CODES: Partial<Record<string, string>> = {
  [ErrorCode.Locked]: "LEVEL_LOCKED",
  [ErrorCode.Corruption]: "LEVEL_CORRUPTION",
  [ErrorCode.IO]: "LEVEL_IO_ERROR",
  [ErrorCode.ReadOnly]: "LEVEL_READONLY",
  [ErrorCode.Closed]: "LEVEL_DATABASE_NOT_OPEN",
  [ErrorCode.NotSupported]: "LEVEL_NOT_SUPPORTED",
};

/** An iterator read stopped by its `signal` (named `AbortError`, as the web platform's). */
function abortError(signal: AbortSignal): LevelError {
  const error = new LevelError("LEVEL_ABORTED", "Operation has been aborted", signal.reason);
  error.name = "AbortError";
  return error;
}

function toLevelError(error: unknown): unknown {
  if (!AuraError.isInstance(error)) return error;
  const code = LEVEL_CODES[error.code];
  return code === undefined ? error : new LevelError(code, error.message, error);
}

function rethrow(error: unknown): never {
  throw toLevelError(error);
}

/**
 * NB: LevelDB stores the empty key, AuraDB refuses it (`AURADB_INVALID_ARGUMENT`). Checked here
 * so that the caller gets abstract-level's code for an invalid key, and a batch fails before any
 * of it is written. A sublevel's keys carry its prefix, so they are never empty.
 */
function checkKey(key: ArrayBufferView): Uint8Array {
  const bytes = asBytes(key);
  if (bytes.length === 0) throw new LevelError("LEVEL_INVALID_KEY", "auradb/level: keys must not be empty (AuraDB does not store the empty key)");
  return bytes;
}

/**
 * NB: abstract-level's 'view' encoding passes any ArrayBufferView through (an Int32Array, a
 * DataView); the engine takes Uint8Arrays, so others are viewed as bytes (no copy).
 */
function asBytes(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The engine snapshot behind each snapshot this module created (kept off the public surface). */
const engineSnapshots = new WeakMap<object, Snapshot>();

/** The engine snapshot of an explicit snapshot option, if any. */
function engineSnapshotOf(snapshot: AbstractSnapshot | undefined): Snapshot | undefined {
  if (snapshot === undefined || snapshot === null) return undefined;
  const engine = engineSnapshots.get(snapshot);
  if (engine === undefined) throw new LevelError("LEVEL_NOT_SUPPORTED", "auradb/level: the snapshot option must come from db.snapshot() of this database");
  return engine;
}

/** NB: abstract-level's typings declare no constructor for AbstractSnapshot; it takes `{ owner }`. */
const SnapshotBase = AbstractSnapshot as unknown as new (options: { owner: object }) => AbstractSnapshot;

/** An explicit snapshot (`db.snapshot()`): an engine snapshot, released on close. */
class AuraLevelSnapshot extends SnapshotBase {
  private readonly engine: Snapshot;

  constructor(options: { owner: object }, engine: Snapshot) {
    super(options);
    this.engine = engine;
    engineSnapshots.set(this, engine);
  }

  async _close(): Promise<void> {
    this.engine.release();
  }
}

/**
 * The bounds of a scan that resumes at `target` after a seek: `target` replaces the lower bound
 * (the upper one, in reverse) when it is past it, so a seek never widens the original range.
 */
function seekRange(range: RangeOptions, target: Uint8Array, reverse: boolean): RangeOptions {
  if (reverse) {
    const upper = (range.lt ?? range.lte) as Uint8Array | undefined;
    if (upper !== undefined && compareBytes(target, upper) >= 0) return range;
    return { gt: range.gt, gte: range.gte, lte: target };
  }
  const lower = (range.gt ?? range.gte) as Uint8Array | undefined;
  if (lower !== undefined && compareBytes(target, lower) <= 0) return range;
  return { gte: target, lt: range.lt, lte: range.lte };
}

/**
 * The engine's bounds for abstract-level's: there, `gte` wins over `gt` and `lte` over `lt` when
 * both are given; the engine would take the stricter of the two.
 */
function engineRange(options: EncodedRange): RangeOptions {
  const bound = (view: ArrayBufferView | undefined) => (view === undefined ? undefined : asBytes(view));
  return {
    gt: options.gte === undefined ? bound(options.gt) : undefined,
    gte: bound(options.gte),
    lt: options.lte === undefined ? bound(options.lt) : undefined,
    lte: bound(options.lte),
  };
}

/**
 * What every iterator of this module reads through: the engine's entries (or keys only, which
 * reads no separated value) within the bounds, as of one engine snapshot.
 *
 * NB: the engine's iterator already reads a consistent view from the moment it is created (its
 * sequence number), which is what abstract-level's implicit snapshots ask for. The snapshot here
 * is for what an engine iterator cannot do, where a new one is opened at the seek target and
 * must read the same view: resume after its end (abstract-level lets `seek()` resume an ended
 * iterator; the engine's closes at its end), seek a keys-only scan (a generator), and seek with
 * a limit (the engine counts entries it has fetched ahead against the limit, so a seek after
 * them would end early; abstract-level counts those returned, and enforces the limit itself).
 */
class Cursor {
  private readonly db: AuraDB;
  private readonly range: RangeOptions;
  private readonly reverse: boolean;
  private readonly limit: number;
  private readonly withValues: boolean;
  private readonly snapshot: Snapshot;
  /** True when `snapshot` was taken here (implicit), so it is released on close. */
  private readonly ownsSnapshot: boolean;
  private readonly signal: AbortSignal | null;
  private entries: DbIterator | null = null;
  private keys: Generator<Uint8Array> | null = null;
  private ended = false;

  constructor(db: AuraDB, options: IteratorOptions, withValues: boolean) {
    this.db = db;
    this.signal = options.signal ?? null;
    this.range = engineRange(options);
    this.reverse = options.reverse;
    this.limit = options.limit;
    this.withValues = withValues;
    const explicit = engineSnapshotOf(options.snapshot);
    this.snapshot = explicit ?? db.snapshot();
    this.ownsSnapshot = explicit === undefined;
    // NB: a snapshot closed before the iterator was made: abstract-level rejects every read
    // with LEVEL_SNAPSHOT_NOT_OPEN, so there is nothing to open (and opening would throw here).
    if (this.snapshot.isReleased) this.ended = true;
    else this.open(this.range, this.limit);
  }

  private open(range: RangeOptions, limit: number): void {
    const options: RangeOptions = { ...range, reverse: this.reverse, limit, snapshot: this.snapshot };
    if (this.withValues) {
      this.entries = this.db.iterator(options);
      this.keys = null;
    } else {
      this.keys = this.db.keys(options);
      this.entries = null;
    }
    this.ended = false;
  }

  /**
   * The next entry. NB: abstract-level checks the signal before a read starts; a read under way
   * when it fires (the await here always yields once) rejects with LEVEL_ABORTED.
   */
  async next(): Promise<[Uint8Array, Uint8Array | undefined] | undefined> {
    const entry = await this.read();
    if (this.signal?.aborted === true) throw abortError(this.signal);
    return entry;
  }

  private async read(): Promise<[Uint8Array, Uint8Array | undefined] | undefined> {
    if (this.ended) return undefined;
    try {
      if (this.entries !== null) {
        const entry = await this.entries.next();
        if (entry === undefined) this.ended = true;
        return entry;
      }
      const result = this.keys!.next();
      if (result.done === true) {
        this.ended = true;
        return undefined;
      }
      return [result.value, undefined];
    } catch (error) {
      return rethrow(error);
    }
  }

  /** `returned`: entries the iterator returned so far (they count against the limit). */
  seek(target: Uint8Array, returned: number): void {
    if (this.snapshot.isReleased) return;
    try {
      if (this.entries !== null && !this.ended && this.limit < 0) {
        this.entries.seek(target);
        return;
      }
      this.closeSource();
      this.open(seekRange(this.range, target, this.reverse), this.limit < 0 ? -1 : Math.max(0, this.limit - returned));
    } catch (error) {
      rethrow(error);
    }
  }

  private closeSource(): void {
    this.entries?.close();
    this.keys?.return(undefined);
    this.entries = null;
    this.keys = null;
  }

  close(): void {
    this.closeSource();
    if (this.ownsSnapshot) this.snapshot.release();
  }
}

class AuraIterator extends AbstractIterator<AuraLevel<unknown, unknown>, ArrayBufferView, Uint8Array> {
  private readonly cursor: Cursor;
  private readonly withKeys: boolean;

  constructor(db: AuraLevel<unknown, unknown>, engine: AuraDB, options: IteratorOptions) {
    super(db, options);
    this.withKeys = options.keys !== false;
    // NB: `values: false` reads keys only, so no separated value is read for nothing.
    this.cursor = new Cursor(engine, options, options.values !== false);
  }

  async _next(): Promise<[Uint8Array | undefined, Uint8Array | undefined] | undefined> {
    const entry = await this.cursor.next();
    if (entry === undefined) return undefined;
    return [this.withKeys ? entry[0] : undefined, entry[1]];
  }

  async _nextv(size: number): Promise<[Uint8Array | undefined, Uint8Array | undefined][]> {
    const entries: [Uint8Array | undefined, Uint8Array | undefined][] = [];
    while (entries.length < size) {
      const entry = await this._next();
      if (entry === undefined) break;
      entries.push(entry);
    }
    return entries;
  }

  _seek(target: ArrayBufferView): void {
    this.cursor.seek(asBytes(target), this.count);
  }

  async _close(): Promise<void> {
    this.cursor.close();
  }
}

class AuraKeyIterator extends AbstractKeyIterator<AuraLevel<unknown, unknown>, ArrayBufferView> {
  private readonly cursor: Cursor;

  constructor(db: AuraLevel<unknown, unknown>, engine: AuraDB, options: IteratorOptions) {
    super(db, options);
    this.cursor = new Cursor(engine, options, false);
  }

  async _next(): Promise<Uint8Array | undefined> {
    return (await this.cursor.next())?.[0];
  }

  async _nextv(size: number): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    while (keys.length < size) {
      const entry = await this.cursor.next();
      if (entry === undefined) break;
      keys.push(entry[0]);
    }
    return keys;
  }

  _seek(target: ArrayBufferView): void {
    this.cursor.seek(asBytes(target), this.count);
  }

  async _close(): Promise<void> {
    this.cursor.close();
  }
}

class AuraValueIterator extends AbstractValueIterator<AuraLevel<unknown, unknown>, ArrayBufferView, Uint8Array> {
  private readonly cursor: Cursor;

  constructor(db: AuraLevel<unknown, unknown>, engine: AuraDB, options: IteratorOptions) {
    super(db, options);
    this.cursor = new Cursor(engine, options, true);
  }

  async _next(): Promise<Uint8Array | undefined> {
    return (await this.cursor.next())?.[1];
  }

  async _nextv(size: number): Promise<Uint8Array[]> {
    const values: Uint8Array[] = [];
    while (values.length < size) {
      const entry = await this.cursor.next();
      if (entry === undefined) break;
      values.push(entry[1]!);
    }
    return values;
  }

  _seek(target: ArrayBufferView): void {
    this.cursor.seek(asBytes(target), this.count);
  }

  async _close(): Promise<void> {
    this.cursor.close();
  }
}

/** Keys deleted per engine batch by `clear()`: bounds the memory of a large clear. */
const CLEAR_BATCH_KEYS = 1024;

/**
 * What the private API supports. NB: `getSync` is abstract-level's opt-in for `db.getSync()`
 * (its suite runs those tests only then); level-supports' typings do not list it yet, hence a
 * function rather than an object literal in the constructor.
 */
function manifest(): { encodings: { view: true } } & Record<string, unknown> {
  return {
    encodings: { view: true },
    implicitSnapshots: true,
    explicitSnapshots: true,
    permanence: true,
    createIfMissing: true,
    errorIfExists: true,
    has: true,
    getSync: true,
    seek: true,
    signals: { iterators: true },
  };
}

/**
 * An `abstract-level` database backed by AuraDB: the API of `classic-level` (get, getMany, has,
 * getSync, put, del, batch and chained batch, iterators with seek, keys, values, clear,
 * sublevels, encodings, explicit and implicit snapshots, hooks and events).
 *
 * Keys and values reach the engine as `Uint8Array`s (the 'view' encoding); every other encoding
 * is transcoded by abstract-level. Differences from classic-level: the empty key is refused
 * (`LEVEL_INVALID_KEY`); write options take `{ sync: true }` (wait for fdatasync) like
 * classic-level, and the database-wide `sync` policy is an open option.
 *
 * Errors: the engine's errors map to `LEVEL_LOCKED`, `LEVEL_CORRUPTION`, `LEVEL_IO_ERROR`,
 * `LEVEL_READONLY`, `LEVEL_DATABASE_NOT_OPEN`, with the `AuraError` as `cause`.
 */
export class AuraLevel<K = string, V = string> extends AbstractLevel<Uint8Array, K, V> {
  /** The directory of the database. */
  readonly location: string;
  private engine: AuraDB | null = null;

  constructor(location: string, options?: AuraLevelOptions<K, V>) {
    super(manifest(), options);
    if (typeof location !== "string" || location.length === 0) throw new TypeError("auradb/level: the first argument 'location' must be a non-empty string");
    this.location = location;
  }

  /** The engine under this database, while open: for `stats()`, `flush()`, `compactRange()`. */
  get auradb(): AuraDB {
    if (this.engine === null) throw new LevelError("LEVEL_DATABASE_NOT_OPEN", "auradb/level: the database is not open");
    return this.engine;
  }

  async _open(options: AuraDBOptions & { createIfMissing: boolean; errorIfExists: boolean }): Promise<void> {
    try {
      this.engine = await AuraDB.open(this.location, options);
    } catch (error) {
      // NB: abstract-level users (and its suite) look for "does not exist" in the cause.
      if (AuraError.isInstance(error) && error.code === ErrorCode.NotFound) {
        throw new NotFoundError(`auradb/level: the database at ${this.location} does not exist (createIfMissing is false)`, { path: this.location, cause: error });
      }
      rethrow(error);
    }
  }

  /**
   * NB: on failure the engine stays, as abstract-level then reports the database open again;
   * the engine refuses further work after any close, and a second close is a no-op for it.
   */
  async _close(): Promise<void> {
    if (this.engine === null) return;
    try {
      await this.engine.close();
    } catch (error) {
      rethrow(error);
    }
    this.engine = null;
  }

  async _get(key: ArrayBufferView, options: ReadOptions): Promise<Uint8Array | undefined> {
    try {
      return await this.auradb.get(asBytes(key), { snapshot: engineSnapshotOf(options.snapshot) });
    } catch (error) {
      return rethrow(error);
    }
  }

  _getSync(key: ArrayBufferView, options: ReadOptions): Uint8Array | undefined {
    try {
      return this.auradb.getSync(asBytes(key), { snapshot: engineSnapshotOf(options.snapshot) });
    } catch (error) {
      return rethrow(error);
    }
  }

  /**
   * NB: every lookup starts synchronously in this call (the engine reads its memtables and
   * tables before returning a Promise), so all keys are read from the same state without an
   * explicit snapshot: that is the implicit snapshot abstract-level asks for.
   */
  async _getMany(keys: ArrayBufferView[], options: ReadOptions): Promise<(Uint8Array | undefined)[]> {
    try {
      const engine = this.auradb;
      const readOptions = { snapshot: engineSnapshotOf(options.snapshot) };
      return await Promise.all(keys.map((key) => engine.get(asBytes(key), readOptions)));
    } catch (error) {
      return rethrow(error);
    }
  }

  /**
   * NB: a point lookup (memtables, Bloom filters) beats a one-key scan, which would seek every
   * table; the price is that a separated value (≥ `valueThreshold`) is read to answer.
   */
  async _has(key: ArrayBufferView, options: ReadOptions): Promise<boolean> {
    return (await this._get(key, options)) !== undefined;
  }

  async _hasMany(keys: ArrayBufferView[], options: ReadOptions): Promise<boolean[]> {
    return (await this._getMany(keys, options)).map((value) => value !== undefined);
  }

  async _put(key: ArrayBufferView, value: ArrayBufferView, options: AuraLevelWriteOptions): Promise<void> {
    const keyBytes = checkKey(key);
    try {
      await this.auradb.put(keyBytes, asBytes(value), { sync: options.sync === true });
    } catch (error) {
      rethrow(error);
    }
  }

  async _del(key: ArrayBufferView, options: AuraLevelWriteOptions): Promise<void> {
    const keyBytes = checkKey(key);
    try {
      await this.auradb.delete(keyBytes, { sync: options.sync === true });
    } catch (error) {
      rethrow(error);
    }
  }

  async _batch(operations: EncodedOperation[], options: AuraLevelWriteOptions): Promise<void> {
    const converted: BatchOperation[] = new Array(operations.length);
    for (let index = 0; index < operations.length; index++) {
      const operation = operations[index]!;
      const key = checkKey(operation.key);
      converted[index] = operation.type === "put" ? { type: "put", key, value: asBytes(operation.value!) } : { type: "del", key };
    }
    try {
      await this.auradb.batch(converted, { sync: options.sync === true });
    } catch (error) {
      rethrow(error);
    }
  }

  _iterator(options: IteratorOptions): AuraIterator {
    return new AuraIterator(this as AuraLevel<unknown, unknown>, this.auradb, options);
  }

  _keys(options: IteratorOptions): AuraKeyIterator {
    return new AuraKeyIterator(this as AuraLevel<unknown, unknown>, this.auradb, options);
  }

  _values(options: IteratorOptions): AuraValueIterator {
    return new AuraValueIterator(this as AuraLevel<unknown, unknown>, this.auradb, options);
  }

  _snapshot(options: { owner: object }): AbstractSnapshot {
    return new AuraLevelSnapshot(options, this.auradb.snapshot());
  }

  /**
   * Deletes the keys in the range as of one snapshot (taken now: writes made after the call
   * starts are not touched), in batches of {@link CLEAR_BATCH_KEYS}. Not atomic as a whole, as
   * abstract-level allows; each batch is.
   */
  async _clear(options: EncodedRange): Promise<void> {
    const engine = this.auradb;
    const explicit = engineSnapshotOf(options.snapshot);
    const snapshot = explicit ?? engine.snapshot();
    try {
      const limit = options.limit;
      let operations: BatchOperation[] = [];
      for (const key of engine.keys({ ...engineRange(options), reverse: options.reverse, limit, snapshot })) {
        operations.push({ type: "del", key });
        if (operations.length === CLEAR_BATCH_KEYS) {
          await engine.batch(operations);
          operations = [];
        }
      }
      if (operations.length > 0) await engine.batch(operations);
    } catch (error) {
      rethrow(error);
    } finally {
      if (explicit === undefined) snapshot.release();
    }
  }
}
