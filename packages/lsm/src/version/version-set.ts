/**
 * Versions (immutable sets of live tables per level) and the MANIFEST that records how they
 * change. The set of live files changes only through `logAndApply`: edit durable in the manifest
 * first, then installed (ARCHITECTURE invariant 5).
 */
import {
  CorruptionError,
  crc32c,
  type FileSystem,
  InvalidArgumentError,
  isNotFound,
  joinPath,
  readFile,
  writeFileAtomic,
} from "@auradb/fs";
import { LogFile } from "@auradb/wal";
import { compareBytes } from "../compare.ts";
import { CURRENT_FILE, manifestFileName } from "../filenames.ts";
import type { TableMeta } from "../types.ts";
import { decodeEdit, encodeEdit, type VersionEdit } from "./edit.ts";

/** One sorted run of a level: tables sorted by key and disjoint. */
export interface Run {
  /** The run number (`TableMeta.run`, 0 when absent); in L0, the table's file number. Higher is newer. */
  readonly id: number;
  readonly tables: readonly TableMeta[];
}

/**
 * An immutable picture of the tree. L0: every table a run of its own, newest (highest file number)
 * first. L1+: one or more sorted runs (a leveled level has one, a tiered level several), newest
 * first; a point read probes one table per run, newest run first.
 */
export class Version {
  /**
   * Every level's tables as one flat list (for callers that want them all): L0 newest first,
   * deeper levels by smallest key. NB: a deeper level is sorted and disjoint only when it holds one
   * run; read through `runs(level)` to find a key.
   */
  readonly levels: readonly (readonly TableMeta[])[];
  readonly #runs: readonly (readonly Run[])[];
  /** Readers (iterators, snapshots) holding this version: its tables stay on disk while > 0. */
  refs = 0;

  /** @throws CorruptionError when a run of a level L1+ is not sorted and disjoint. */
  constructor(levels: readonly (readonly TableMeta[])[]) {
    this.levels = levels;
    this.#runs = levels.map((tables, level) => (level === 0 ? tables.map((table) => ({ id: table.fileNumber, tables: [table] })) : groupRuns(level, tables)));
  }

  /** The runs of `level`, newest first (empty for a missing level). */
  runs(level: number): readonly Run[] {
    return this.#runs[level] ?? [];
  }

  /** True when every level L1+ holds at most one run (the shape LevelDB's picker understands). */
  oneRunPerLevel(): boolean {
    for (let level = 1; level < this.#runs.length; level++) if (this.#runs[level]!.length > 1) return false;
    return true;
  }

  /** Every file number this version names. */
  fileNumbers(): number[] {
    const out: number[] = [];
    for (const level of this.levels) for (const table of level) out.push(table.fileNumber);
    return out;
  }

  /** Total bytes of the tables of `level`. */
  levelBytes(level: number): number {
    let bytes = 0;
    for (const table of this.levels[level] ?? []) bytes += table.fileBytes;
    return bytes;
  }

  /** The largest run number in any level L1+ (0 when none): a new run must be numbered above it. */
  largestRun(): number {
    let largest = 0;
    for (let level = 1; level < this.#runs.length; level++) for (const run of this.#runs[level]!) largest = Math.max(largest, run.id);
    return largest;
  }

  /** This version with `edit`'s tables removed and added (counters are the set's business). */
  apply(edit: VersionEdit): Version {
    const levels = this.levels.map((level) => level.slice());
    for (const deleted of edit.deletedTables ?? []) {
      const level = levels[deleted.level];
      const index = level?.findIndex((table) => table.fileNumber === deleted.fileNumber) ?? -1;
      if (level === undefined || index < 0) {
        throw new CorruptionError(`auradb/lsm: edit deletes table ${deleted.fileNumber} not in level ${deleted.level}`);
      }
      level.splice(index, 1);
    }
    for (const { level, table } of edit.addedTables ?? []) {
      while (levels.length <= level) levels.push([]);
      levels[level]!.push(table);
    }
    // L0: newest first (higher file number = written later); deeper levels: by smallest key.
    levels[0]?.sort((a, b) => b.fileNumber - a.fileNumber);
    for (let index = 1; index < levels.length; index++) {
      levels[index]!.sort((a, b) => compareBytes(a.smallestKey, b.smallestKey));
    }
    return new Version(levels);
  }
}

/** The runs of a level L1+ (tables sorted by smallest key), newest first; checks each is disjoint. */
function groupRuns(level: number, tables: readonly TableMeta[]): Run[] {
  const byRun = new Map<number, TableMeta[]>();
  for (const table of tables) {
    const id = table.run ?? 0;
    let run = byRun.get(id);
    if (run === undefined) byRun.set(id, (run = []));
    run.push(table);
  }
  const runs = [...byRun].map(([id, runTables]) => ({ id, tables: runTables })).sort((a, b) => b.id - a.id);
  for (const run of runs) {
    for (let index = 1; index < run.tables.length; index++) {
      const previous = run.tables[index - 1]!;
      const table = run.tables[index]!;
      // Invariant: a run is sorted and disjoint (a shared boundary key ordered by sequence).
      const byKey = compareBytes(previous.largestKey, table.smallestKey);
      if (byKey > 0 || (byKey === 0 && previous.largestSeq <= table.smallestSeq)) {
        throw new CorruptionError(`auradb/lsm: L${level} run ${run.id}: tables ${previous.fileNumber} and ${table.fileNumber} overlap`);
      }
    }
  }
  return runs;
}

export interface VersionSetOptions {
  readonly levelCount?: number;
  /** Start a new manifest (with a snapshot edit) when the current one exceeds this. */
  readonly manifestBytesMax?: number;
  /** Called with the numbers of tables no version references any more. */
  readonly onObsolete?: (fileNumbers: number[]) => void;
}

const CURRENT_PREFIX = "AURADB-CURRENT 1 ";

/**
 * The current version, every version still referenced, the counters, and the manifest.
 * REQUIRES: one VersionSet per directory (the engine holds the lock).
 */
export class VersionSet {
  readonly fs: FileSystem;
  readonly dir: string;
  current: Version;
  /** WAL records below this LSN are in tables. */
  logLsn: number;
  /** The highest sequence number in a table or recorded by an edit. */
  lastSequence: number;
  private nextFile: number;
  private manifest: LogFile;
  private manifestNumber: number;
  private readonly manifestBytesMax: number;
  private readonly onObsolete: (fileNumbers: number[]) => void;
  /** Versions still referenced (by readers) other than `current`. */
  private readonly retained = new Set<Version>();
  private applying: Promise<void> = Promise.resolve();

  /**
   * Garbage bytes per value-log file (from dropped pointers), as recorded by edits: advisory, for
   * choosing which value-log file to collect. Updated by `logAndApply`.
   */
  readonly valueLogGarbage: Map<number, number>;

  private constructor(init: {
    fs: FileSystem;
    dir: string;
    version: Version;
    logLsn: number;
    lastSequence: number;
    nextFile: number;
    manifest: LogFile;
    manifestNumber: number;
    options: VersionSetOptions;
    valueLogGarbage: Map<number, number>;
  }) {
    this.valueLogGarbage = init.valueLogGarbage;
    this.fs = init.fs;
    this.dir = init.dir;
    this.current = init.version;
    this.logLsn = init.logLsn;
    this.lastSequence = init.lastSequence;
    this.nextFile = init.nextFile;
    this.manifest = init.manifest;
    this.manifestNumber = init.manifestNumber;
    this.manifestBytesMax = init.options.manifestBytesMax ?? 4 * 1024 * 1024;
    this.onObsolete = init.options.onObsolete ?? (() => {});
  }

  /** True when `dir` holds a database (a CURRENT file). */
  static async exists(fs: FileSystem, dir: string): Promise<boolean> {
    return fs.exists(joinPath(dir, CURRENT_FILE));
  }

  /**
   * Creates the manifest of a new, empty database, or recovers an existing one: reads CURRENT,
   * replays its manifest, then starts a fresh manifest holding one snapshot edit and switches
   * CURRENT to it (so manifests never grow across opens).
   */
  static async open(fs: FileSystem, dir: string, options: VersionSetOptions = {}): Promise<VersionSet> {
    const levelCount = options.levelCount ?? 7;
    let version = new Version(Array.from({ length: levelCount }, () => []));
    let logLsn = 1;
    let lastSequence = 0;
    let nextFile = 1;
    let oldManifest: string | null = null;
    const valueLogGarbage = new Map<number, number>();
    if (await VersionSet.exists(fs, dir)) {
      const manifestName = await readCurrent(fs, dir);
      const manifestNumber = Number(manifestName.slice("MANIFEST-".length));
      oldManifest = joinPath(dir, manifestName);
      let contents;
      try {
        contents = await LogFile.read(fs, oldManifest, { id: manifestNumber });
      } catch (error) {
        if (isNotFound(error)) throw new CorruptionError(`auradb/lsm: CURRENT names ${manifestName}, which is missing`, { path: oldManifest, cause: error });
        throw error;
      }
      if (contents.records.length === 0) throw new CorruptionError("auradb/lsm: the manifest holds no edit", { path: oldManifest });
      for (const record of contents.records) {
        const edit = decodeEdit(record, oldManifest);
        version = version.apply(edit);
        if (edit.logLsn !== undefined) logLsn = edit.logLsn;
        if (edit.lastSequence !== undefined) lastSequence = Math.max(lastSequence, edit.lastSequence);
        if (edit.nextFileNumber !== undefined) nextFile = Math.max(nextFile, edit.nextFileNumber);
        applyValueLogGarbage(valueLogGarbage, edit);
      }
      for (const fileNumber of version.fileNumbers()) nextFile = Math.max(nextFile, fileNumber + 1);
      // NB: run numbers come from the file-number counter, so a new run always numbers above them.
      nextFile = Math.max(nextFile, version.largestRun() + 1);
      nextFile = Math.max(nextFile, manifestNumber + 1);
      while (version.levels.length < levelCount) version = new Version([...version.levels, []]);
    }
    const manifestNumber = nextFile++;
    const manifest = await writeSnapshotManifest(fs, dir, manifestNumber, version, { logLsn, lastSequence, nextFileNumber: nextFile }, valueLogGarbage);
    await writeCurrent(fs, dir, manifestNumber);
    if (oldManifest !== null) await fs.remove(oldManifest).catch(() => {}); // NB: stale, unreferenced
    return new VersionSet({ fs, dir, version, logLsn, lastSequence, nextFile, manifest, manifestNumber, options, valueLogGarbage });
  }

  /** A new, unused file number (for a table). */
  newFileNumber(): number {
    return this.nextFile++;
  }

  /** The manifest file's number (it is live, never deleted as obsolete). */
  get currentManifestNumber(): number {
    return this.manifestNumber;
  }

  /**
   * Makes `edit` durable in the manifest, then installs the version it produces. Serialised:
   * concurrent calls apply in call order. `logLsn`/`lastSequence` in the edit raise the set's
   * counters; the next file number is recorded with every edit.
   */
  logAndApply(edit: VersionEdit): Promise<Version> {
    const run = this.applying.then(() => this.applyNow(edit));
    this.applying = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async applyNow(edit: VersionEdit): Promise<Version> {
    const next = this.current.apply(edit);
    const full: VersionEdit = {
      ...edit,
      nextFileNumber: this.nextFile,
      lastSequence: Math.max(this.lastSequence, edit.lastSequence ?? 0),
    };
    if (this.manifest.sizeBytes > this.manifestBytesMax) {
      // A fresh manifest holding the new version whole, then the CURRENT switch.
      const number = this.nextFile++;
      const garbage = new Map(this.valueLogGarbage);
      applyValueLogGarbage(garbage, edit);
      const manifest = await writeSnapshotManifest(
        this.fs,
        this.dir,
        number,
        next,
        { logLsn: edit.logLsn ?? this.logLsn, lastSequence: full.lastSequence!, nextFileNumber: this.nextFile },
        garbage,
      );
      await writeCurrent(this.fs, this.dir, number);
      const old = joinPath(this.dir, manifestFileName(this.manifestNumber));
      await this.manifest.close().catch(() => {});
      this.manifest = manifest;
      this.manifestNumber = number;
      await this.fs.remove(old).catch(() => {});
    } else {
      await this.manifest.append([encodeEdit(full)]);
    }
    if (edit.logLsn !== undefined) this.logLsn = Math.max(this.logLsn, edit.logLsn);
    this.lastSequence = full.lastSequence!;
    applyValueLogGarbage(this.valueLogGarbage, edit);
    this.install(next);
    return next;
  }

  /** Pins the current version for a reader; pair with `release`. */
  acquire(): Version {
    const version = this.current;
    version.refs++;
    return version;
  }

  /** Unpins a version; its tables become obsolete once no version names them. */
  release(version: Version): void {
    if (version.refs <= 0) throw new InvalidArgumentError("auradb/lsm: version released more often than acquired");
    version.refs--;
    if (version.refs === 0 && version !== this.current && this.retained.delete(version)) this.collect(version);
  }

  /** Every table number some live version (current or pinned) names. */
  liveFileNumbers(): Set<number> {
    const live = new Set<number>(this.current.fileNumbers());
    for (const version of this.retained) for (const number of version.fileNumbers()) live.add(number);
    return live;
  }

  async close(): Promise<void> {
    await this.applying;
    await this.manifest.close();
  }

  private install(next: Version): void {
    const previous = this.current;
    this.current = next;
    if (previous.refs > 0) this.retained.add(previous);
    else this.collect(previous);
  }

  private collect(gone: Version): void {
    const live = this.liveFileNumbers();
    const obsolete = gone.fileNumbers().filter((number) => !live.has(number));
    if (obsolete.length > 0) this.onObsolete(obsolete);
  }
}

/** Adds an edit's value-log garbage to `totals` and forgets removed files. */
function applyValueLogGarbage(totals: Map<number, number>, edit: VersionEdit): void {
  for (const { fileNumber, bytes } of edit.valueLogGarbage ?? []) totals.set(fileNumber, (totals.get(fileNumber) ?? 0) + bytes);
  for (const fileNumber of edit.valueLogRemoved ?? []) totals.delete(fileNumber);
}

async function writeSnapshotManifest(
  fs: FileSystem,
  dir: string,
  number: number,
  version: Version,
  counters: { logLsn: number; lastSequence: number; nextFileNumber: number },
  valueLogGarbage: ReadonlyMap<number, number>,
): Promise<LogFile> {
  const path = joinPath(dir, manifestFileName(number));
  // NB: a file left by a crash between create and CURRENT switch carries an unused number.
  if (await fs.exists(path)) await fs.remove(path);
  const manifest = await LogFile.create(fs, path, { id: number });
  const addedTables: { level: number; table: TableMeta }[] = [];
  version.levels.forEach((level, index) => level.forEach((table) => addedTables.push({ level: index, table })));
  const garbage = [...valueLogGarbage].map(([fileNumber, bytes]) => ({ fileNumber, bytes }));
  await manifest.append([encodeEdit({ ...counters, addedTables, valueLogGarbage: garbage })]);
  return manifest;
}

async function writeCurrent(fs: FileSystem, dir: string, manifestNumber: number): Promise<void> {
  const body = `${CURRENT_PREFIX}${manifestFileName(manifestNumber)}`;
  const text = `${body} ${crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0")}\n`;
  await writeFileAtomic(fs, joinPath(dir, CURRENT_FILE), new TextEncoder().encode(text));
}

/** Reads and checks CURRENT; returns the manifest's file name. */
async function readCurrent(fs: FileSystem, dir: string): Promise<string> {
  const path = joinPath(dir, CURRENT_FILE);
  const bytes = await readFile(fs, path);
  if (bytes.length > 256) throw new CorruptionError("auradb/lsm: CURRENT is too long", { path });
  const text = new TextDecoder().decode(bytes);
  const match = /^AURADB-CURRENT (\d+) (MANIFEST-\d{6,16}) ([0-9a-f]{8})\n$/.exec(text);
  if (match === null) throw new CorruptionError("auradb/lsm: CURRENT is malformed", { path, offset: 0 });
  if (match[1] !== "1") throw new CorruptionError(`auradb/lsm: CURRENT format version ${match[1]} is newer than this code`, { path, offset: 0 });
  const body = `${CURRENT_PREFIX}${match[2]}`;
  if (crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0") !== match[3]) {
    throw new CorruptionError("auradb/lsm: CURRENT checksum mismatch", { path, offset: body.length + 1 });
  }
  return match[2]!;
}
