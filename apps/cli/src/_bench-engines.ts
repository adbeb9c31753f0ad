/**
 * The engines `auradb bench` drives: AuraDB itself and the optional peers (classic-level, lmdb,
 * rocksdb-native, better-sqlite3), each behind the same small {@link BenchStore} interface.
 *
 * The peers are optional peer dependencies of @auradb/cli: nothing installs them for you, so
 * each is imported dynamically, and a missing one is reported, not fatal. Each peer is described
 * by the few members of its API we call (the `*Module` interfaces below), so the compiler
 * checks our calls without the peers' own type packages being installed.
 *
 * Settings follow what a user of each package gets by default, with durability off for every
 * engine (no fsync per write): AuraDB's default sync policy `'none'`, LevelDB's `sync: false`,
 * RocksDB's default (no WAL sync), LMDB's `noSync`, SQLite's `synchronous = NORMAL` in WAL mode.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { AuraDB, type DbStats } from "auradb";

/** One write of a batch. */
export type BenchOperation = { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly type: "del"; readonly key: Uint8Array };

/** The bounds of a scan. */
export interface ScanOptions {
  readonly gte?: Uint8Array;
  readonly limit?: number;
}

/** A value or the promise of one: engines with a synchronous API answer at once. */
export type MaybePromise<T> = T | Promise<T>;

/** An open store, as the workloads see it. Keys and values are bytes. */
export interface BenchStore {
  put(key: Uint8Array, value: Uint8Array): MaybePromise<void>;
  /** The value, or undefined/null when the key is absent. */
  get(key: Uint8Array): MaybePromise<Uint8Array | undefined | null>;
  del(key: Uint8Array): MaybePromise<void>;
  batch(operations: readonly BenchOperation[]): MaybePromise<void>;
  /**
   * Visits entries in key order from `gte` (or the first), at most `limit` (or all); the number
   * visited. The bytes passed to `visit` may be reused after it returns.
   */
  scan(options: ScanOptions, visit: (key: Uint8Array, value: Uint8Array) => void): MaybePromise<number>;
  /**
   * Bytes the engine itself counted as written, for its write amplification: null when the
   * engine does not say (then the bench reports bytes on disk / user bytes instead).
   */
  writtenBytes(): { userBytes: number; engineBytes: number } | null;
  close(): Promise<void>;
}

/** An engine: its name, the packages it needs, and how to open a store in a directory. */
export interface BenchEngine {
  readonly name: string;
  /** The npm package to install (null: built in). */
  readonly packageName: string | null;
  /** One line on the settings used, for the report. */
  readonly notes: string;
  /** Loads the engine's code; throws {@link PeerMissingError} when it is not installed. */
  load(): Promise<{ version: string | null; open(dir: string): Promise<BenchStore> }>;
}

/** A peer engine that is not installed. */
export class PeerMissingError extends Error {
  override readonly name = "PeerMissingError";
  readonly packageName: string;
  constructor(packageName: string, cause: unknown) {
    super(`${packageName} not installed: npm install ${packageName}`, { cause });
    this.packageName = packageName;
  }
}

/**
 * Imports an optional package: first as the CLI would any dependency (from its own
 * node_modules up), then with `require.resolve` from the current directory and NODE_PATH,
 * which ESM `import` ignores: so a peer installed in the project you run the bench from, or in
 * a folder named by NODE_PATH, is found too.
 */
async function importOptional(packageName: string): Promise<{ module: unknown; version: string | null }> {
  let module: unknown;
  let resolvedPath: string | null = null;
  try {
    module = await import(packageName);
  } catch (firstError) {
    try {
      const require = createRequire(join(process.cwd(), "noop.js"));
      resolvedPath = require.resolve(packageName);
      module = await import(pathToFileURL(resolvedPath).href);
    } catch {
      throw new PeerMissingError(packageName, firstError);
    }
  }
  return { module, version: packageVersion(packageName, resolvedPath) };
}

/** The installed version of a package, found next to its resolved entry (null when unknown). */
function packageVersion(packageName: string, resolvedPath: string | null): string | null {
  try {
    const require = createRequire(resolvedPath ?? join(process.cwd(), "noop.js"));
    const entry = resolvedPath ?? require.resolve(packageName);
    // Walk up from the entry to the package.json that names the package (many do not export it).
    for (let dir = dirname(entry), step = 0; step < 6; step++, dir = dirname(dir)) {
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (manifest.name === packageName) return manifest.version ?? null;
    }
  } catch {
    // The version is for the report only.
  }
  return null;
}

/** The named export, or the same name on a CommonJS module's default export. */
function member<T>(module: unknown, name: string): T {
  const record = module as Record<string, unknown>;
  const value = record[name] ?? (record.default as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) throw new Error(`the installed package has no export "${name}" (an unsupported version?)`);
  return value as T;
}

function defaultExport<T>(module: unknown): T {
  const record = module as Record<string, unknown>;
  return (record.default ?? module) as T;
}

const isPromise = <T>(value: MaybePromise<T>): value is Promise<T> => typeof (value as { then?: unknown } | null)?.then === "function";

// ---------------------------------------------------------------------------------------------
// AuraDB

function writtenOf(stats: DbStats): { userBytes: number; engineBytes: number } {
  return {
    userBytes: stats.userBytesWritten,
    engineBytes: stats.walBytesWritten + stats.valueLog.bytesWritten + stats.flushBytesWritten + stats.compactionBytesWritten,
  };
}

const auradb: BenchEngine = {
  name: "auradb",
  packageName: null,
  notes: "engine defaults (sync policy 'none', values of 4 KiB and more in the value log); reads with getSync, scans with the synchronous iterator",
  async load() {
    return {
      version: null,
      async open(dir) {
        const db = await AuraDB.open(dir);
        return {
          put: (key, value) => db.put(key, value),
          get: (key) => db.getSync(key),
          del: (key) => db.delete(key),
          batch: (operations) => db.batch(operations),
          scan({ gte, limit }, visit) {
            // NB: iterated synchronously: the async protocol would cost a promise per entry.
            let count = 0;
            for (const [key, value] of db.iterator({ gte, limit })) {
              visit(key, value);
              count++;
            }
            return count;
          },
          writtenBytes: () => writtenOf(db.stats()),
          close: () => db.close(),
        };
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// classic-level (LevelDB)

interface ClassicLevelDatabase {
  open(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getSync?: (key: Uint8Array) => Uint8Array | undefined;
  del(key: Uint8Array): Promise<void>;
  batch(operations: readonly BenchOperation[]): Promise<void>;
  iterator(options: { gte?: Uint8Array; limit?: number; highWaterMarkBytes?: number }): AsyncIterable<[Uint8Array, Uint8Array]>;
  close(): Promise<void>;
}
type ClassicLevelConstructor = new (dir: string, options: { keyEncoding: "buffer"; valueEncoding: "buffer" }) => ClassicLevelDatabase;

/** Older abstract-level versions reject a get of an absent key; newer ones resolve undefined. */
function notFoundAsUndefined(error: unknown): undefined {
  if (typeof error === "object" && error !== null && "code" in error && (error.code === "LEVEL_NOT_FOUND" || error.code === "NOT_FOUND")) return undefined;
  throw error;
}

const classicLevel: BenchEngine = {
  name: "classic-level",
  packageName: "classic-level",
  notes: "LevelDB defaults of the binding (4 MiB write buffer, 8 MiB cache, Snappy); sync: false; getSync when the version has it",
  async load() {
    const { module, version } = await importOptional("classic-level");
    const ClassicLevel = member<ClassicLevelConstructor>(module, "ClassicLevel");
    return {
      version,
      async open(dir) {
        const db = new ClassicLevel(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
        await db.open();
        const getSync = db.getSync?.bind(db);
        return {
          put: (key, value) => db.put(key, value),
          get: getSync ?? ((key) => db.get(key).catch(notFoundAsUndefined)),
          del: (key) => db.del(key),
          batch: (operations) => db.batch(operations),
          async scan({ gte, limit }, visit) {
            // An unbounded scan asks for larger native batches (the binding's default is 16 KiB).
            const bounds = { ...(gte !== undefined ? { gte } : {}), ...(limit !== undefined ? { limit } : { highWaterMarkBytes: 1 << 20 }) };
            let count = 0;
            for await (const [key, value] of db.iterator(bounds)) {
              visit(key, value);
              count++;
            }
            return count;
          },
          writtenBytes: () => null,
          close: () => db.close(),
        };
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// lmdb (lmdb-js)

interface LmdbDatabase {
  putSync(key: Uint8Array, value: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  removeSync(key: Uint8Array): void;
  transactionSync(action: () => void): void;
  getRange(options: { start?: Uint8Array; limit?: number }): Iterable<{ key: Uint8Array; value: Uint8Array }>;
  close(): Promise<void>;
}
type LmdbOpen = (options: { path: string; keyEncoding: "binary"; encoding: "binary"; compression: false; noSync: true }) => LmdbDatabase;

const lmdb: BenchEngine = {
  name: "lmdb",
  packageName: "lmdb",
  notes: "noSync environment (commits write pages, no fsync), putSync/removeSync per single write, one transactionSync per batch, no compression",
  async load() {
    const { module, version } = await importOptional("lmdb");
    const open = member<LmdbOpen>(module, "open");
    return {
      version,
      async open(dir) {
        const db = open({ path: dir, keyEncoding: "binary", encoding: "binary", compression: false, noSync: true });
        return {
          put: (key, value) => db.putSync(key, value),
          get: (key) => db.get(key),
          del: (key) => db.removeSync(key),
          batch: (operations) =>
            db.transactionSync(() => {
              for (const operation of operations) {
                if (operation.type === "put") db.putSync(operation.key, operation.value);
                else db.removeSync(operation.key);
              }
            }),
          scan({ gte, limit }, visit) {
            let count = 0;
            for (const { key, value } of db.getRange({ ...(gte !== undefined ? { start: gte } : {}), ...(limit !== undefined ? { limit } : {}) })) {
              visit(key, value);
              count++;
            }
            return count;
          },
          writtenBytes: () => null,
          close: () => db.close(),
        };
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// rocksdb-native (Holepunch's RocksDB binding)

interface RocksBatch {
  tryPut(key: Uint8Array, value: Uint8Array): void;
  tryDelete(key: Uint8Array): void;
  flush(): Promise<void>;
}
interface RocksDatabase {
  ready(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | null>;
  delete(key: Uint8Array): Promise<void>;
  write(options: { capacity: number; autoDestroy: boolean }): RocksBatch;
  iterator(options: { gte?: Uint8Array; limit?: number; capacity: number }): AsyncIterable<{ key: Uint8Array; value: Uint8Array }>;
  close(): Promise<void>;
}
type RocksConstructor = new (dir: string) => RocksDatabase;

const rocksdbNative: BenchEngine = {
  name: "rocksdb-native",
  packageName: "rocksdb-native",
  notes: "RocksDB defaults of the binding (no WAL sync); batches through write({ autoDestroy }); iterator capacity 1024 (its default 8 is ~3x slower on scans)",
  async load() {
    const { module, version } = await importOptional("rocksdb-native");
    const RocksDB = defaultExport<RocksConstructor>(module);
    return {
      version,
      async open(dir) {
        const db = new RocksDB(dir);
        await db.ready();
        return {
          put: (key, value) => db.put(key, value),
          get: (key) => db.get(key),
          del: (key) => db.delete(key),
          async batch(operations) {
            // NB: a batch that is not destroyed holds a handle and makes close() wait forever.
            const batch = db.write({ capacity: operations.length, autoDestroy: true });
            for (const operation of operations) {
              if (operation.type === "put") batch.tryPut(operation.key, operation.value);
              else batch.tryDelete(operation.key);
            }
            await batch.flush();
          },
          async scan({ gte, limit }, visit) {
            let count = 0;
            const bounds = { ...(gte !== undefined ? { gte } : {}), ...(limit !== undefined ? { limit } : {}), capacity: Math.min(limit ?? 1024, 1024) };
            for await (const { key, value } of db.iterator(bounds)) {
              visit(key, value);
              count++;
            }
            return count;
          },
          writtenBytes: () => null,
          close: () => db.close(),
        };
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// better-sqlite3 (SQLite)

interface SqliteStatement {
  run(...parameters: unknown[]): unknown;
  get(...parameters: unknown[]): unknown;
  iterate(...parameters: unknown[]): Iterable<unknown>;
  pluck(): SqliteStatement;
  raw(): SqliteStatement;
}
interface SqliteDatabase {
  pragma(text: string): unknown;
  exec(text: string): void;
  prepare(text: string): SqliteStatement;
  transaction(action: (operations: readonly BenchOperation[]) => void): (operations: readonly BenchOperation[]) => void;
  close(): void;
}
type SqliteConstructor = new (path: string) => SqliteDatabase;

const betterSqlite3: BenchEngine = {
  name: "better-sqlite3",
  packageName: "better-sqlite3",
  notes: "table kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, journal_mode=WAL, synchronous=NORMAL, one transaction per batch",
  async load() {
    const { module, version } = await importOptional("better-sqlite3");
    const Database = defaultExport<SqliteConstructor>(module);
    return {
      version,
      async open(dir) {
        const db = new Database(join(dir, "db.sqlite"));
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = NORMAL");
        db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
        const insert = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
        const select = db.prepare("SELECT v FROM kv WHERE k = ?").pluck();
        const remove = db.prepare("DELETE FROM kv WHERE k = ?");
        const rangeFrom = db.prepare("SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?").raw();
        const rangeAll = db.prepare("SELECT k, v FROM kv ORDER BY k LIMIT ?").raw();
        const many = db.transaction((operations) => {
          for (const operation of operations) {
            if (operation.type === "put") insert.run(operation.key, operation.value);
            else remove.run(operation.key);
          }
        });
        return {
          put: (key, value) => void insert.run(key, value),
          get: (key) => select.get(key) as Uint8Array | undefined,
          del: (key) => void remove.run(key),
          batch: (operations) => many(operations),
          scan({ gte, limit }, visit) {
            // LIMIT -1: no limit.
            const rows = gte !== undefined ? rangeFrom.iterate(gte, limit ?? -1) : rangeAll.iterate(limit ?? -1);
            let count = 0;
            for (const row of rows) {
              const [key, value] = row as [Uint8Array, Uint8Array];
              visit(key, value);
              count++;
            }
            return count;
          },
          writtenBytes: () => null,
          close: async () => db.close(),
        };
      },
    };
  },
};

/** Every engine, by name; AuraDB first. */
export const ENGINES: readonly BenchEngine[] = [auradb, classicLevel, lmdb, rocksdbNative, betterSqlite3];

export { isPromise };
