/**
 * Version edits: the records of the MANIFEST (docs/format/manifest.md).
 *
 * edit := version(u8 = 1) field*
 * field := tag(varint) payload
 * Tags below 64 are required: a reader that does not know one refuses the manifest. Tags from 64
 * up are safe to ignore: their payload is length-prefixed so an older reader skips them.
 */
import { CorruptionError, readVarint, type VarintResult, varintLength, writeVarint } from "@auradb/fs";
import type { TableMeta } from "../types.ts";

export const EDIT_FORMAT_VERSION = 1;

/** Field tags. Written to disk: never renumber; retired numbers stay reserved. */
export const EditTag = {
  LogLsn: 1,
  NextFileNumber: 2,
  LastSequence: 3,
  DeletedTable: 4,
  AddedTable: 5,
  /**
   * The run (in its level) of a table the same edit adds: fileNumber, run. Required, not optional:
   * a reader that ignored it would take the overlapping runs of a tiered level for one sorted run
   * and answer reads wrongly. Written only for runs other than 0, so a database kept at one run per
   * level never carries it and older readers still open it.
   */
  TableRun: 6,
} as const;
export const SAFE_TO_IGNORE_TAG_MIN = 64;
/**
 * Optional fields (safe to ignore: advisory). `ValueLogGarbage` payload: count, then count pairs
 * (value-log file number, bytes that became garbage); `ValueLogRemoved` payload: count, then file
 * numbers of value-log files deleted by garbage collection (their garbage entries end).
 */
export const OptionalTag = {
  ValueLogGarbage: 64,
  ValueLogRemoved: 65,
} as const;

/** One change to the set of live tables and counters. */
export interface VersionEdit {
  /** WAL records below this LSN are in tables: replay starts here. */
  logLsn?: number;
  nextFileNumber?: number;
  lastSequence?: number;
  deletedTables?: { level: number; fileNumber: number }[];
  addedTables?: { level: number; table: TableMeta }[];
  /** Bytes of value-log files that became garbage (dropped pointers), to add to the totals. */
  valueLogGarbage?: { fileNumber: number; bytes: number }[];
  /** Value-log files deleted by garbage collection. */
  valueLogRemoved?: number[];
}

const LEVEL_MAX = 64;

export function encodeEdit(edit: VersionEdit): Uint8Array {
  const parts: (number | Uint8Array)[] = [];
  const number = (tag: number, value: number) => parts.push(tag, value);
  if (edit.logLsn !== undefined) number(EditTag.LogLsn, edit.logLsn);
  if (edit.nextFileNumber !== undefined) number(EditTag.NextFileNumber, edit.nextFileNumber);
  if (edit.lastSequence !== undefined) number(EditTag.LastSequence, edit.lastSequence);
  for (const deleted of edit.deletedTables ?? []) parts.push(EditTag.DeletedTable, deleted.level, deleted.fileNumber);
  for (const { level, table } of edit.addedTables ?? []) {
    parts.push(EditTag.AddedTable, level, table.fileNumber, table.fileBytes, table.entryCount, table.deleteCount, table.minSeq, table.maxSeq);
    parts.push(table.smallestKey.length, table.smallestKey, table.smallestSeq, table.largestKey.length, table.largestKey, table.largestSeq);
  }
  for (const { level, table } of edit.addedTables ?? []) {
    if (level > 0 && table.run !== undefined && table.run !== 0) parts.push(EditTag.TableRun, table.fileNumber, table.run);
  }
  const optional = (tag: number, numbers: number[]) => {
    let length = 0;
    for (const number of numbers) length += varintLength(number);
    parts.push(tag, length);
    for (const number of numbers) parts.push(number);
  };
  if (edit.valueLogGarbage !== undefined && edit.valueLogGarbage.length > 0) {
    optional(OptionalTag.ValueLogGarbage, [edit.valueLogGarbage.length, ...edit.valueLogGarbage.flatMap((entry) => [entry.fileNumber, entry.bytes])]);
  }
  if (edit.valueLogRemoved !== undefined && edit.valueLogRemoved.length > 0) {
    optional(OptionalTag.ValueLogRemoved, [edit.valueLogRemoved.length, ...edit.valueLogRemoved]);
  }
  let bytes = 1;
  for (const part of parts) bytes += typeof part === "number" ? varintLength(part) : part.length;
  const out = new Uint8Array(bytes);
  out[0] = EDIT_FORMAT_VERSION;
  let offset = 1;
  for (const part of parts) {
    if (typeof part === "number") offset = writeVarint(out, offset, part);
    else {
      out.set(part, offset);
      offset += part.length;
    }
  }
  return out;
}

/** Decodes an edit; any malformed byte is a `CorruptionError` naming `path`. */
export function decodeEdit(bytes: Uint8Array, path: string): VersionEdit {
  const fail = (what: string): never => {
    throw new CorruptionError(`auradb/lsm: manifest edit: ${what}`, { path });
  };
  if (bytes.length === 0) fail("empty");
  if (bytes[0] !== EDIT_FORMAT_VERSION) fail(`unsupported edit version ${bytes[0]}`);
  const varint: VarintResult = { value: 0, next: 0 };
  let offset = 1;
  const read = (): number => {
    readVarint(bytes, offset, bytes.length, varint);
    if (varint.next < 0) fail("truncated number");
    offset = varint.next;
    return varint.value;
  };
  const readBytes = (): Uint8Array => {
    const length = read();
    if (length > bytes.length - offset) fail("length past the end");
    const out = bytes.slice(offset, offset + length);
    offset += length;
    return out;
  };
  const readLevel = (): number => {
    const level = read();
    if (level >= LEVEL_MAX) fail(`level ${level} out of range`);
    return level;
  };
  const edit: VersionEdit = {};
  const runs: { fileNumber: number; run: number }[] = [];
  while (offset < bytes.length) {
    const tag = read();
    switch (tag) {
      case EditTag.LogLsn:
        edit.logLsn = read();
        break;
      case EditTag.NextFileNumber:
        edit.nextFileNumber = read();
        break;
      case EditTag.LastSequence:
        edit.lastSequence = read();
        break;
      case EditTag.DeletedTable:
        (edit.deletedTables ??= []).push({ level: readLevel(), fileNumber: read() });
        break;
      case EditTag.AddedTable: {
        const level = readLevel();
        const table: TableMeta = {
          fileNumber: read(),
          fileBytes: read(),
          entryCount: read(),
          deleteCount: read(),
          minSeq: read(),
          maxSeq: read(),
          smallestKey: readBytes(),
          smallestSeq: read(),
          largestKey: readBytes(),
          largestSeq: read(),
        };
        (edit.addedTables ??= []).push({ level, table });
        break;
      }
      case EditTag.TableRun:
        runs.push({ fileNumber: read(), run: read() });
        break;
      case OptionalTag.ValueLogGarbage:
      case OptionalTag.ValueLogRemoved: {
        const length = read();
        const end = offset + length;
        if (length > bytes.length - offset) fail("length past the end");
        const count = read();
        if (count > length) fail(`count ${count} exceeds the field`);
        for (let index = 0; index < count; index++) {
          if (tag === OptionalTag.ValueLogGarbage) (edit.valueLogGarbage ??= []).push({ fileNumber: read(), bytes: read() });
          else (edit.valueLogRemoved ??= []).push(read());
        }
        if (offset !== end) fail("value-log field length mismatch");
        break;
      }
      default:
        if (tag < SAFE_TO_IGNORE_TAG_MIN) fail(`unknown required tag ${tag}`);
        readBytes(); // a newer writer's optional field
    }
  }
  for (const { fileNumber, run } of runs) {
    const added = edit.addedTables?.find((entry) => entry.table.fileNumber === fileNumber && entry.level > 0);
    if (added === undefined) fail(`run ${run} given for table ${fileNumber}, which the edit does not add below L0`);
    added!.table = { ...added!.table, run };
  }
  return edit;
}
