/**
 * `auradb repair <dir>`: salvages every record that can still be read from a damaged database
 * into a new, consistent one, and reports what was lost.
 *
 * The damaged files are never modified: everything is read through the copy-on-write overlay
 * (recovery work the packages do while opening, such as cutting a torn tail, stays in memory),
 * the survivors are written to a new database beside `<dir>` (`<dir>.repair-<timestamp>`), and
 * only at the end is `<dir>` renamed `<dir>.broken-<timestamp>` and the new one renamed `<dir>`.
 * A failure before that leaves `<dir>` as it was.
 *
 * What is read, and how damage is contained:
 * - Tables: `TableReader` (header, footer, index and filter must be readable, or the whole table
 *   is lost), iterated block by block: when a data block fails its checksum or does not decode,
 *   the iterator seeks just past that block's last key (the index key, from `describeTable`) and
 *   goes on. A block's entries are lost; the table's other blocks are not.
 * - WAL segments: `LogFile.read` per segment; a segment with damage is read chunk by chunk
 *   instead (see `salvageSegment`), keeping every valid record before and after the damage (the
 *   rest of a damaged chunk's block is skipped, as the format requires). Each record is decoded
 *   with `decodeBatch`; a record that does not decode is lost.
 * - Value log: `ValueLog.open` on the overlay (see `openValueLogForSalvage` for why its torn-tail
 *   cut is sidestepped) and `readSync` per pointer that survives the merge; a value that fails
 *   its check loses its key (an older version is not resurrected).
 * - Manifest and CURRENT are not needed. When they are readable, only the tables the manifest
 *   lists are used: the others are leftovers of compactions that the next open would delete,
 *   and reading them could bring back keys whose deletes were already compacted away.
 *
 * Versions are merged by sequence number: the newest version of each key wins, and a delete
 * hides every older put. NB: with the manifest unreadable, a key deleted long ago may reappear
 * if a leftover table still holds an old put of it and the tombstone was compacted away; the
 * report says when the manifest could not be used.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { AuraDB, decodeBatch } from "auradb";
import { AuraError, CorruptionError, type FileSystem, readVarint } from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { BlockCache, describeTable, parseFileName, SEQUENCE_MAX, TableReader, ValueKind, VersionSet } from "@auradb/lsm";
import { decodePointer, parseVlogFileName, ValueLog } from "@auradb/vlog";
import { describeSegment, LogFile } from "@auradb/wal";
import { booleanFlag, expectPositionals, parseArgs } from "../_args.ts";
import { lockHolder } from "../_db.ts";
import { colors, CommandError, formatBytes, formatCount, print } from "../_output.ts";
import { ReadOnlyOverlayFs } from "@auradb/fs";
import type { CommandContext } from "../cli.ts";
import { SEGMENT_NAME } from "./verify.ts";

/** One thing that could not be salvaged. */
export interface Loss {
  /** The file, relative to the database directory. */
  readonly file: string;
  /** Byte offset of the damage in `file`; null when it cannot be told. */
  readonly offset: number | null;
  readonly kind: "table" | "block" | "segment" | "record" | "value";
  /** Entries (tables, blocks) or operations (records) lost, when known. */
  readonly entries: number | null;
  readonly message: string;
}

/** What `auradb repair --json` prints. */
export interface RepairReport {
  readonly path: string;
  /** Where the damaged original now is (null with --dry-run or when nothing was renamed). */
  readonly brokenPath: string | null;
  readonly dryRun: boolean;
  readonly manifest: { readonly used: boolean; readonly message: string };
  readonly scanned: { readonly tables: number; readonly segments: number; readonly vlogFiles: number; readonly tableEntries: number; readonly walRecords: number };
  readonly salvaged: { readonly keys: number; readonly bytes: number; readonly versionsRead: number; readonly deletesApplied: number };
  readonly lost: { readonly tables: number; readonly blocks: number; readonly records: number; readonly values: number; readonly details: Loss[] };
}

/** The newest version of a key seen so far. */
interface Version {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  /** The value, or the encoded value pointer for `PutPointer`. */
  readonly value: Uint8Array;
}

const TRAILER_BYTES = 5;
const WRITE_BATCH_OPERATIONS = 1000;

function messageOf(error: unknown): string {
  return AuraError.isInstance(error) || error instanceof Error ? error.message : String(error);
}

function offsetOf(error: unknown): number | null {
  return typeof error === "object" && error !== null && "offset" in error && typeof error.offset === "number" ? error.offset : null;
}

/** Damage (a checksum, a structure): what per-block and per-record salvage skips. Anything else is a real failure. */
function isDamage(error: unknown): boolean {
  return AuraError.isInstance(error) && (error.code === "AURADB_CORRUPTION" || error.code === "AURADB_NOT_SUPPORTED");
}

/** Keeps the newest version of each key (by sequence number). Keys and values are copied. */
class VersionMerger {
  readonly versions = new Map<string, Version>();
  versionsRead = 0;

  offer(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    this.versionsRead++;
    const id = Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
    const known = this.versions.get(id);
    // NB: the same version may come from a table and from a WAL record not yet trimmed: equal seqs hold equal data.
    if (known !== undefined && known.seq >= seq) return;
    this.versions.set(id, { key: key.slice(), seq, kind, value: value.slice() });
  }
}

/** One data block as `describeTable` lists it: where it is, and its last key (the index key). */
interface DataBlock {
  readonly number: number;
  readonly offset: number;
  readonly size: number;
  readonly lastKey: Uint8Array;
  readonly lastSeq: number;
  /** Entries, when the block decodes (even with a bad checksum); null otherwise. */
  entries: number | null;
}

/** Decodes a `"…"` string of `describeTable` (printable ASCII, other bytes as `\xNN`). */
function parseQuoted(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let index = 1; index < text.length - 1; index++) {
    if (text[index] === "\\" && text[index + 1] === "x") {
      bytes.push(Number.parseInt(text.slice(index + 2, index + 4), 16));
      index += 3;
    } else {
      bytes.push(text.charCodeAt(index));
    }
  }
  return Uint8Array.from(bytes);
}

/**
 * The data blocks of a table, from its `describeTable` dump. NB: `@auradb/lsm` exports no block
 * iterator or index reader, so the dump's index lines (`n: "key" seq S Kind -> @offset+size`) are
 * the only public way to learn where each block is and which key ends it.
 */
function dataBlocksOf(bytes: Uint8Array): DataBlock[] {
  const blocks: DataBlock[] = [];
  let inIndex = false;
  for (const line of describeTable(bytes, { entries: false }).split("\n")) {
    if (line.startsWith("index @")) {
      inIndex = true;
      continue;
    }
    if (!line.startsWith("  ")) inIndex = false;
    if (inIndex) {
      const match = /^ {2}(\d+): (".*") seq (\d+) \S+ -> @(\d+)\+(\d+)$/.exec(line);
      if (match !== null) {
        blocks.push({ number: Number(match[1]), lastKey: parseQuoted(match[2]!), lastSeq: Number(match[3]), offset: Number(match[4]), size: Number(match[5]), entries: null });
      }
      continue;
    }
    const data = /^data (\d+) @\d+\+\d+: .* entries (\d+)$/.exec(line);
    if (data !== null) {
      const block = blocks[Number(data[1])];
      if (block !== undefined) block.entries = Number(data[2]);
    }
  }
  return blocks;
}

/** The smallest internal key after every entry of `block` (where the next block starts). */
function pastBlock(block: DataBlock): { key: Uint8Array; seq: number } {
  // Entries sort by key, then by seq descending: (key, seq - 1) follows (key, seq). At seq 0,
  // the next possible key is key + 0x00 at the highest seq.
  if (block.lastSeq > 0) return { key: block.lastKey, seq: block.lastSeq - 1 };
  const key = new Uint8Array(block.lastKey.length + 1);
  key.set(block.lastKey);
  return { key, seq: SEQUENCE_MAX };
}

/** Reads every readable entry of one table into `merger`; losses into `losses`. The number of entries read. */
async function salvageTable(fs: FileSystem, dir: string, name: string, fileNumber: number, merger: VersionMerger, losses: Loss[]): Promise<number> {
  const path = join(dir, name);
  const bytes = new Uint8Array(readFileSync(path));
  const file = await fs.open(path, { readOnly: true });
  let reader: TableReader;
  try {
    reader = TableReader.open(file, fileNumber, new BlockCache(0), { learnedIndex: false, fileBytes: bytes.length });
  } catch (error) {
    await file.close();
    if (!isDamage(error)) throw error;
    losses.push({ file: name, offset: offsetOf(error), kind: "table", entries: null, message: `unreadable (${messageOf(error)}): every entry lost` });
    return 0;
  }
  const blocks = dataBlocksOf(bytes);
  const iterator = reader.iterator({ fillCache: false });
  const skipped = new Set<number>();
  let read = 0;
  let position: { key: Uint8Array; seq: number } | null = null;
  try {
    for (;;) {
      try {
        if (position === null) iterator.seekToFirst();
        else iterator.seek(position.key, position.seq);
        while (iterator.valid()) {
          merger.offer(iterator.key(), iterator.seq(), iterator.kind(), iterator.value());
          read++;
          iterator.next();
        }
        break;
      } catch (error) {
        if (!isDamage(error)) throw error;
        const offset = offsetOf(error);
        const block = offset === null ? undefined : blocks.find((candidate) => offset >= candidate.offset && offset < candidate.offset + candidate.size + TRAILER_BYTES);
        if (block === undefined || skipped.has(block.number)) {
          // Damage we cannot place in a block: the rest of the table is out of reach.
          losses.push({ file: name, offset, kind: "block", entries: null, message: `${messageOf(error)}; the rest of the table is lost` });
          break;
        }
        skipped.add(block.number);
        const entries = block.entries === null ? "its entries" : `${formatCount(block.entries)} entries`;
        losses.push({ file: name, offset: block.offset, kind: "block", entries: block.entries, message: `data block ${block.number} (${block.size} bytes): ${messageOf(error)}; ${entries} lost` });
        if (block.number + 1 >= blocks.length) break;
        position = pastBlock(block);
      }
    }
  } finally {
    iterator.close();
    reader.close();
    await file.close();
  }
  const missing = reader.properties.entryCount - read;
  const counted = losses.filter((loss) => loss.file === name && loss.kind === "block").reduce((sum, loss) => sum + (loss.entries ?? 0), 0);
  // NB: when a block's entries could not be counted, the table's properties still say how many are gone.
  if (missing > counted && losses.some((loss) => loss.file === name && loss.entries === null)) {
    losses.push({ file: name, offset: null, kind: "block", entries: missing - counted, message: `${formatCount(missing)} of the table's ${formatCount(reader.properties.entryCount)} entries lost in all` });
  }
  return read;
}

/** Applies one WAL record (a batch) to `merger`; a record that does not decode is a loss. */
function applyRecord(record: Uint8Array, file: string, merger: VersionMerger, losses: Loss[], where: string): void {
  try {
    const batch = decodeBatch(record);
    batch.operations.forEach((operation, index) => merger.offer(operation.key, batch.baseSeq + index, operation.kind, operation.value));
  } catch (error) {
    if (!isDamage(error)) throw error;
    losses.push({ file, offset: null, kind: "record", entries: null, message: `${where}: ${messageOf(error)}` });
  }
}

/** Chunk header: crc u32, length u16, type u8, synced-offset u32 (docs/format/wal.md). */
const CHUNK_HEADER_BYTES = 11;

/**
 * The records of a damaged segment, around the damage. NB: `@auradb/wal` has no lenient
 * reader for one segment: `LogFile.read` stops at the first bad chunk, and `Wal.open` in
 * `'skip-corrupt'` mode still takes damage in the last segment, when no later chunk promises a
 * sync, for a torn tail and drops everything after it. So this reads the chunk list of
 * `describeSegment` (which checks every chunk's checksum and resumes at the next block after a
 * bad one) and reassembles the records from the chunks it found valid: FULL, or FIRST
 * MIDDLE* LAST; the payload of FULL and FIRST starts with the LSN delta (a varint). A record with
 * a missing piece is lost.
 */
function salvageSegment(bytes: Uint8Array, file: string, losses: Loss[]): Uint8Array[] {
  const records: Uint8Array[] = [];
  let pieces: Uint8Array[] | null = null;
  let pieceStart = 0;
  const dropPartial = (reason: string): void => {
    if (pieces === null) return;
    losses.push({ file, offset: pieceStart, kind: "record", entries: null, message: `a record split over chunks lost its ${reason}` });
    pieces = null;
  };
  const lines = describeSegment(bytes, file).trimEnd().split("\n");
  if (!lines[0]!.startsWith("segment ")) {
    losses.push({ file, offset: 0, kind: "segment", entries: null, message: `${lines[0]}: every record lost` });
    return records;
  }
  for (const line of lines.slice(1)) {
    const match = /^(\d+): (.*)$/.exec(line);
    if (match === null) continue;
    const offset = Number(match[1]);
    const text = match[2]!;
    if (text.startsWith("padding")) continue;
    const chunk = /^(FULL|FIRST|MIDDLE|LAST) len=(\d+) synced=\d+(?: lsn=\d+)?$/.exec(text);
    if (chunk === null) {
      dropPartial("end");
      const bad = text.includes("CHECKSUM MISMATCH") || text.startsWith("bad chunk");
      losses.push({ file, offset, kind: "record", entries: null, message: bad ? `damaged chunk (${text}): the rest of its block is skipped` : `${text}: the tail is lost` });
      continue;
    }
    const payload = bytes.subarray(offset + CHUNK_HEADER_BYTES, offset + CHUNK_HEADER_BYTES + Number(chunk[2]));
    const type = chunk[1]!;
    if (type === "FULL" || type === "FIRST") {
      dropPartial("end");
      const varint = { value: 0, next: 0 };
      readVarint(payload, 0, payload.length, varint);
      if (varint.next < 0) {
        losses.push({ file, offset, kind: "record", entries: null, message: "a chunk's LSN does not decode" });
        continue;
      }
      if (type === "FULL") records.push(payload.subarray(varint.next));
      else {
        pieces = [payload.subarray(varint.next)];
        pieceStart = offset;
      }
    } else if (pieces === null) {
      losses.push({ file, offset, kind: "record", entries: null, message: `a ${type} chunk without its start (the record's beginning is lost)` });
    } else {
      pieces.push(payload);
      if (type === "LAST") {
        records.push(Buffer.concat(pieces));
        pieces = null;
      }
    }
  }
  dropPartial("end (torn)");
  return records;
}

/** Reads every valid WAL record of every segment into `merger`. */
async function salvageWal(fs: FileSystem, dir: string, merger: VersionMerger, losses: Loss[]): Promise<{ segments: number; records: number }> {
  const walDir = join(dir, "wal");
  const segments = existsSync(walDir) ? readdirSync(walDir).filter((name) => SEGMENT_NAME.test(name)).sort() : [];
  let records = 0;
  for (const name of segments) {
    const path = join(walDir, name);
    const file = `wal/${name}`;
    let found: Uint8Array[];
    try {
      const contents = await LogFile.read(fs, path, { id: Number(SEGMENT_NAME.exec(name)![1]), recordBytesMax: 1024 * 1024 * 1024 });
      if (contents.tornBytes > 0) throw new CorruptionError("auradb/cli: torn tail", { path });
      found = contents.records;
    } catch (error) {
      if (!isDamage(error)) throw error;
      found = salvageSegment(new Uint8Array(readFileSync(path)), file, losses);
    }
    found.forEach((record, index) => applyRecord(record, file, merger, losses, `record ${index + 1}`));
    records += found.length;
  }
  return { segments: segments.length, records };
}

/**
 * Opens the value log for reading without its torn-tail recovery. NB: `ValueLog.open` takes
 * damage in the newest file of a partition for a torn write and cuts the file there, which would
 * lose every value after one flipped byte; there is no option to only report it. Damage in an
 * older file is only recorded, and reads of the entries around it still work. So, on the
 * overlay (in memory, nothing on disk changes), an empty-but-valid newer file is added to each
 * partition first, made by a scratch `ValueLog` with `newFileNumber`: every real file is then
 * an "older" one.
 */
async function openValueLogForSalvage(overlay: ReadOnlyOverlayFs, vlogDir: string): Promise<ValueLog> {
  const numbers = (await overlay.list(vlogDir)).map((name) => parseVlogFileName(name)).filter((number) => number !== undefined);
  let next = Math.max(0, ...numbers) + 1;
  const scratchDir = `${vlogDir}.repair-scratch`;
  const scratch = await ValueLog.open({ dir: scratchDir, fs: overlay, newFileNumber: () => next++ });
  const entry = { key: new Uint8Array([0]), value: new Uint8Array([0]), seq: 0 };
  await scratch.append([entry], { partition: "fresh" });
  await scratch.append([entry], { partition: "gc" });
  await scratch.close();
  for (const name of await overlay.list(scratchDir)) {
    if (parseVlogFileName(name) !== undefined) await overlay.rename(join(scratchDir, name), join(vlogDir, name));
  }
  return ValueLog.open({ dir: vlogDir, fs: overlay });
}

/** The tables the manifest lists, or null (with why) when CURRENT or the manifest cannot be read. */
async function liveTables(overlay: FileSystem, dir: string): Promise<{ tables: Set<number> | null; message: string }> {
  if (!existsSync(join(dir, "CURRENT"))) return { tables: null, message: "no CURRENT file: every table in the directory was read" };
  try {
    const versions = await VersionSet.open(overlay, dir);
    const tables = new Set<number>();
    for (const level of versions.current.levels) for (const table of level) tables.add(table.fileNumber);
    await versions.close();
    return { tables, message: `the manifest lists ${formatCount(tables.size)} tables: only those were read` };
  } catch (error) {
    if (!isDamage(error)) throw error;
    return { tables: null, message: `the manifest is unreadable (${messageOf(error)}): every table in the directory was read` };
  }
}

/** A timestamp for file names: 20250131T235959Z. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Salvages `dir` into a new database and swaps it in (unless `dryRun`). */
export async function repairDatabase(dir: string, dryRun: boolean): Promise<RepairReport> {
  const fs = nodeFs();
  const overlay = new ReadOnlyOverlayFs(fs);
  const losses: Loss[] = [];
  const merger = new VersionMerger();

  const manifest = await liveTables(overlay, dir);
  let tables = 0;
  let tableEntries = 0;
  const listed = new Set(manifest.tables ?? []);
  for (const name of readdirSync(dir).sort()) {
    const parsed = parseFileName(name);
    if (parsed === null || parsed.kind !== "table" || !statSync(join(dir, name)).isFile()) continue;
    if (manifest.tables !== null && !manifest.tables.has(parsed.number)) continue;
    listed.delete(parsed.number);
    tables++;
    tableEntries += await salvageTable(fs, dir, name, parsed.number, merger, losses);
  }
  for (const fileNumber of listed) {
    losses.push({ file: `${String(fileNumber).padStart(6, "0")}.sst`, offset: null, kind: "table", entries: null, message: "listed by the manifest but missing: every entry lost" });
  }
  const wal = await salvageWal(fs, dir, merger, losses);

  // Resolve the surviving pointers (only the newest version of each key is read).
  const vlogDir = join(dir, "vlog");
  const vlogFiles = existsSync(vlogDir) ? readdirSync(vlogDir).filter((name) => parseVlogFileName(name) !== undefined).length : 0;
  const pointers = [...merger.versions.values()].filter((version) => version.kind === ValueKind.PutPointer);
  const values = new Map<Version, Uint8Array>();
  if (pointers.length > 0) {
    let vlog: ValueLog | null = null;
    try {
      vlog = await openValueLogForSalvage(overlay, vlogDir);
    } catch (error) {
      if (!isDamage(error)) throw error;
      losses.push({ file: "vlog", offset: offsetOf(error), kind: "value", entries: pointers.length, message: `the value log could not be opened (${messageOf(error)}): ${formatCount(pointers.length)} values lost` });
    }
    if (vlog !== null) {
      try {
        for (const version of pointers) {
          let pointer: ReturnType<typeof decodePointer> | null = null;
          try {
            pointer = decodePointer(version.value);
            values.set(version, vlog.readSync(pointer, version.key));
          } catch (error) {
            if (!isDamage(error)) throw error;
            const file = pointer === null ? "vlog" : `vlog/${readdirSync(vlogDir).find((name) => parseVlogFileName(name) === pointer!.fileNumber) ?? `file ${pointer.fileNumber}`}`;
            losses.push({ file, offset: pointer?.offset ?? null, kind: "value", entries: 1, message: `the value of key ${JSON.stringify(Buffer.from(version.key).toString("latin1"))}: ${messageOf(error)}` });
          }
        }
      } finally {
        await vlog.close();
      }
    }
  }

  // The survivors, in key order.
  const survivors: { key: Uint8Array; value: Uint8Array }[] = [];
  let deletesApplied = 0;
  for (const version of merger.versions.values()) {
    if (version.kind === ValueKind.Delete) {
      deletesApplied++;
      continue;
    }
    const value = version.kind === ValueKind.PutPointer ? values.get(version) : version.value;
    if (value !== undefined) survivors.push({ key: version.key, value });
  }
  survivors.sort((left, right) => Buffer.compare(left.key, right.key));
  const salvagedBytes = survivors.reduce((sum, entry) => sum + entry.key.length + entry.value.length, 0);

  let brokenPath: string | null = null;
  if (!dryRun) {
    const now = new Date();
    const target = `${dir}.repair-${stamp(now)}`;
    if (existsSync(target)) throw new CommandError(`${target} already exists`);
    try {
      const db = await AuraDB.open(target, { createIfMissing: true });
      try {
        for (let start = 0; start < survivors.length; start += WRITE_BATCH_OPERATIONS) {
          await db.batch(survivors.slice(start, start + WRITE_BATCH_OPERATIONS).map((entry) => ({ type: "put" as const, key: entry.key, value: entry.value })));
        }
        await db.flush();
      } finally {
        await db.close();
      }
    } catch (error) {
      rmSync(target, { recursive: true, force: true });
      throw error;
    }
    brokenPath = `${dir}.broken-${stamp(now)}`;
    // The swap: two renames in the same parent directory. Between them <dir> does not exist;
    // if the second fails, the first is undone.
    renameSync(dir, brokenPath);
    try {
      renameSync(target, dir);
    } catch (error) {
      renameSync(brokenPath, dir);
      throw error;
    }
  }

  const count = (kind: Loss["kind"]): number => losses.filter((loss) => loss.kind === kind).length;
  return {
    path: dir,
    brokenPath,
    dryRun,
    manifest: { used: manifest.tables !== null, message: manifest.message },
    scanned: { tables, segments: wal.segments, vlogFiles, tableEntries, walRecords: wal.records },
    salvaged: { keys: survivors.length, bytes: salvagedBytes, versionsRead: merger.versionsRead, deletesApplied },
    lost: {
      tables: count("table"),
      blocks: count("block"),
      records: count("record") + count("segment"),
      values: losses.filter((loss) => loss.kind === "value").reduce((sum, loss) => sum + (loss.entries ?? 1), 0),
      details: losses,
    },
  };
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { json: { type: "boolean" }, "dry-run": { type: "boolean" } });
  const [given] = expectPositionals(positionals, ["dir"]);
  const dir = resolve(given!);
  if (!existsSync(dir)) throw new CommandError(`no database at ${given} (the directory does not exist)`);
  if (!statSync(dir).isDirectory()) throw new CommandError(`${given} is not a directory`);
  const hasFiles = readdirSync(dir).some((name) => parseFileName(name)?.kind === "table" || name === "wal" || name === "vlog");
  if (!hasFiles) throw new CommandError(`no database at ${given} (no tables, no wal/ and no vlog/ directory)`);
  const holder = lockHolder(dir);
  if (holder !== null && holder !== process.pid && isAlive(holder)) {
    throw new CommandError(`process ${holder} has this database open: close it first (repair replaces the directory)`);
  }
  const dryRun = booleanFlag(values, "dry-run");
  const report = await repairDatabase(dir, dryRun);
  if (booleanFlag(values, "json")) {
    print(JSON.stringify(report, null, 2));
    return 0;
  }
  const { scanned, salvaged, lost } = report;
  print(`read ${formatCount(scanned.tables)} tables (${formatCount(scanned.tableEntries)} entries), ${formatCount(scanned.segments)} WAL segments (${formatCount(scanned.walRecords)} records), ${formatCount(scanned.vlogFiles)} value-log files`);
  print(colors.dim(report.manifest.message));
  for (const loss of lost.details) {
    const where = loss.offset === null ? "" : ` offset ${loss.offset}`;
    print(`${colors.red("lost")} ${loss.kind.padEnd(7)} ${loss.file}${where}: ${loss.message}`);
  }
  const lostLine = `${formatCount(lost.tables)} tables, ${formatCount(lost.blocks)} blocks, ${formatCount(lost.records)} WAL regions/records, ${formatCount(lost.values)} values`;
  print(
    `${lost.details.length === 0 ? colors.green("nothing lost") : colors.yellow(`lost: ${lostLine}`)}; ` +
      `salvaged ${formatCount(salvaged.keys)} keys (${formatBytes(salvaged.bytes)}) from ${formatCount(salvaged.versionsRead)} versions read, ${formatCount(salvaged.deletesApplied)} deleted keys`,
  );
  if (report.dryRun) {
    print(colors.dim("dry run: nothing was written"));
  } else {
    print(colors.green(`repaired: ${dir} now holds the salvaged database; the damaged original is ${report.brokenPath}`));
    print(colors.dim(`check it: auradb verify ${given}`));
  }
  return 0;
}

