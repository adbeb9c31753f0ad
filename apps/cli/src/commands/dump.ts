/**
 * `auradb dump <file>`: one database file decoded for people, the decoder chosen from the file's
 * name. The text is the packages' own `describe*` dump (the format's authors' view, damage shown
 * inline), followed by the decoded records (WAL batches, manifest edits). Files are only read.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { decodeBatch } from "auradb";
import { AuraError } from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { BlockCache, decodeEdit, describeTable, parseFileName, TableReader, ValueKind } from "@auradb/lsm";
import { decodePointer, describeVlogFile, parseVlogFileName } from "@auradb/vlog";
import { describeSegment, LogFile } from "@auradb/wal";
import { booleanFlag, ENCODING_FLAGS, encodingsOf, expectPositionals, parseArgs, stringFlag } from "../_args.ts";
import { colors, CommandError, type Encoding, jsonBytes, print, showBytes, UsageError } from "../_output.ts";
import type { CommandContext } from "../cli.ts";
import { SEGMENT_NAME } from "./verify.ts";

type DumpKind = "wal" | "vlog" | "sst" | "manifest" | "current";
const KINDS: readonly DumpKind[] = ["wal", "vlog", "sst", "manifest", "current"];
const KIND_NAMES: Record<number, string> = { [ValueKind.Delete]: "del", [ValueKind.Put]: "put", [ValueKind.PutPointer]: "put→vlog" };

/** The kind of file and its number (segment id, table or manifest number) from its name. */
export function kindOfFile(name: string): { kind: DumpKind; number: number } | null {
  const segment = SEGMENT_NAME.exec(name);
  if (segment !== null) return { kind: "wal", number: Number(segment[1]) };
  const vlogNumber = parseVlogFileName(name);
  if (vlogNumber !== undefined) return { kind: "vlog", number: vlogNumber };
  const parsed = parseFileName(name);
  if (parsed?.kind === "table") return { kind: "sst", number: parsed.number };
  if (parsed?.kind === "manifest") return { kind: "manifest", number: parsed.number };
  if (parsed?.kind === "current") return { kind: "current", number: 0 };
  return null;
}

function messageOf(error: unknown): string {
  return AuraError.isInstance(error) || error instanceof Error ? error.message : String(error);
}

interface Dumped {
  readonly text: string[];
  readonly records: Record<string, unknown>[];
  readonly errors: string[];
}

/** A key or value as JSON-friendly fields, per the encodings. */
function entryJson(kind: number, key: Uint8Array, value: Uint8Array, keyEncoding: Encoding, valueEncoding: Encoding, path: string): Record<string, unknown> {
  const base = { op: KIND_NAMES[kind] ?? String(kind), ...jsonBytes("key", key, keyEncoding) };
  if (kind === ValueKind.Delete) return base;
  if (kind === ValueKind.PutPointer) {
    const pointer = decodePointer(value, path);
    return { ...base, pointer: { fileNumber: pointer.fileNumber, offset: pointer.offset, size: pointer.size } };
  }
  return { ...base, ...jsonBytes("value", value, valueEncoding) };
}

function entryText(kind: number, key: Uint8Array, value: Uint8Array, keyEncoding: Encoding, valueEncoding: Encoding, path: string): string {
  const name = KIND_NAMES[kind] ?? String(kind);
  const keyText = colors.cyan(JSON.stringify(showBytes(key, keyEncoding)));
  if (kind === ValueKind.Delete) return `${name} ${keyText}`;
  if (kind === ValueKind.PutPointer) {
    const pointer = decodePointer(value, path);
    return `${name} ${keyText} -> vlog file ${pointer.fileNumber} @${pointer.offset} (${pointer.size} B)`;
  }
  const shown = showBytes(value, valueEncoding);
  return `${name} ${keyText} = ${JSON.stringify(shown.length > 64 ? `${shown.slice(0, 64)}…` : shown)}${shown.length > 64 ? ` (${value.length} B)` : ""}`;
}

async function dumpLog(path: string, kind: "wal" | "manifest", id: number, keyEncoding: Encoding, valueEncoding: Encoding): Promise<Dumped> {
  const bytes = new Uint8Array(readFileSync(path));
  const text = describeSegment(bytes, basename(path)).trimEnd().split("\n");
  const records: Record<string, unknown>[] = [];
  const errors: string[] = [];
  try {
    const contents = await LogFile.read(nodeFs(), path, { id, recordBytesMax: 1024 * 1024 * 1024 });
    text.push("", colors.bold(kind === "wal" ? "records (write batches):" : "records (version edits):"));
    contents.records.forEach((data, index) => {
      try {
        if (kind === "wal") {
          const batch = decodeBatch(data, path);
          const operations = batch.operations.map((operation) => entryJson(operation.kind, operation.key, operation.value, keyEncoding, valueEncoding, path));
          records.push({ record: index + 1, baseSeq: batch.baseSeq, operations });
          batch.operations.forEach((operation, position) => {
            text.push(`  seq ${batch.baseSeq + position}: ${entryText(operation.kind, operation.key, operation.value, keyEncoding, valueEncoding, path)}`);
          });
        } else {
          const edit = decodeEdit(data, path);
          const json = JSON.parse(JSON.stringify(edit, (_key, value: unknown) => (value instanceof Uint8Array ? showBytes(value, keyEncoding) : value))) as Record<string, unknown>;
          records.push({ record: index + 1, ...json });
          text.push(`  edit ${index + 1}: ${editText(edit)}`);
        }
      } catch (error) {
        errors.push(`record ${index + 1}: ${messageOf(error)}`);
        text.push(colors.red(`  record ${index + 1}: error: ${messageOf(error)}`));
      }
    });
    if (contents.tornBytes > 0) text.push(colors.yellow(`  (the last ${contents.tornBytes} bytes are a torn tail: not decoded)`));
  } catch (error) {
    errors.push(messageOf(error));
    text.push("", colors.red(`records: error: ${messageOf(error)}`));
  }
  return { text, records, errors };
}

function editText(edit: ReturnType<typeof decodeEdit>): string {
  const parts: string[] = [];
  if (edit.logLsn !== undefined) parts.push(`logLsn=${edit.logLsn}`);
  if (edit.lastSequence !== undefined) parts.push(`lastSequence=${edit.lastSequence}`);
  if (edit.nextFileNumber !== undefined) parts.push(`nextFile=${edit.nextFileNumber}`);
  for (const { level, table } of edit.addedTables ?? []) {
    parts.push(`+L${level} #${table.fileNumber} (${table.fileBytes} B, ${table.entryCount} entries, ${JSON.stringify(showBytes(table.smallestKey, "utf8"))}..${JSON.stringify(showBytes(table.largestKey, "utf8"))})`);
  }
  for (const { level, fileNumber } of edit.deletedTables ?? []) parts.push(`-L${level} #${fileNumber}`);
  for (const { fileNumber, bytes } of edit.valueLogGarbage ?? []) parts.push(`vlog ${fileNumber} garbage +${bytes} B`);
  for (const fileNumber of edit.valueLogRemoved ?? []) parts.push(`vlog ${fileNumber} removed`);
  return parts.join(" ");
}

async function dumpTable(path: string, number: number, entries: boolean, keyEncoding: Encoding, valueEncoding: Encoding): Promise<Dumped> {
  const bytes = new Uint8Array(readFileSync(path));
  const text = describeTable(bytes, { path: basename(path), entries }).trimEnd().split("\n");
  const records: Record<string, unknown>[] = [];
  const errors: string[] = [];
  const file = await nodeFs().open(path, { readOnly: true });
  try {
    const reader = TableReader.open(file, number, new BlockCache(1024 * 1024), { fileBytes: bytes.length });
    const iterator = reader.iterator();
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      records.push({ seq: iterator.seq(), ...entryJson(iterator.kind(), iterator.key(), iterator.value(), keyEncoding, valueEncoding, path) });
    }
    reader.close();
  } catch (error) {
    errors.push(messageOf(error));
  } finally {
    await file.close();
  }
  return { text, records, errors };
}

function dumpVlog(path: string): Dumped {
  const bytes = new Uint8Array(readFileSync(path));
  const text = describeVlogFile(bytes, basename(path)).trimEnd().split("\n");
  const records: Record<string, unknown>[] = [];
  const errors: string[] = [];
  for (const line of text) {
    const match = /^(\d+): VALUE size=(\d+) key=(\d+) value=(\d+) seq=(\d+) crc=(0x[0-9a-f]+) key=(.*?)( CHECKSUM MISMATCH)?$/.exec(line);
    if (match !== null) {
      records.push({ offset: Number(match[1]), size: Number(match[2]), keyBytes: Number(match[3]), valueBytes: Number(match[4]), seq: Number(match[5]), crc: match[6], key: match[7], checksumOk: match[8] === undefined });
    }
    if (/CHECKSUM MISMATCH|invalid entry|truncated/.test(line)) errors.push(line);
  }
  return { text, records, errors };
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { ...ENCODING_FLAGS, as: { type: "string" }, "no-entries": { type: "boolean" } });
  const [path] = expectPositionals(positionals, ["file"]);
  const { keyEncoding, valueEncoding } = encodingsOf(values);
  const forced = stringFlag(values, "as");
  if (forced !== undefined && !(KINDS as readonly string[]).includes(forced)) throw new UsageError(`--as must be one of ${KINDS.join(", ")}`);
  const detected = kindOfFile(basename(path!));
  const kind = (forced as DumpKind | undefined) ?? detected?.kind;
  if (kind === undefined) {
    throw new CommandError(`cannot tell what ${basename(path!)} is from its name (expected <16 digits>.wal, <n>.vlog, <n>.sst, MANIFEST-<n> or CURRENT); use --as`);
  }
  let number = detected?.number ?? 0;
  if (number === 0 && kind !== "current") number = Number(/(\d+)/.exec(basename(path!))?.[1] ?? "1");
  let dumped: Dumped;
  try {
    if (kind === "wal" || kind === "manifest") dumped = await dumpLog(path!, kind, number, keyEncoding, valueEncoding);
    else if (kind === "sst") dumped = await dumpTable(path!, number, !booleanFlag(values, "no-entries"), keyEncoding, valueEncoding);
    else if (kind === "vlog") dumped = dumpVlog(path!);
    else dumped = { text: readFileSync(path!, "utf8").trimEnd().split("\n"), records: [], errors: [] };
  } catch (error) {
    if (typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT") throw new CommandError(`no such file: ${path}`);
    throw error;
  }
  if (booleanFlag(values, "json")) {
    const recordsName = kind === "sst" ? "entries" : kind === "vlog" ? "entries" : "records";
    print(JSON.stringify({ file: path, kind, description: dumped.text.filter((line) => !(kind === "wal" && line.startsWith("  ")) && !(kind === "vlog" && /^\d+: VALUE /.test(line))), [recordsName]: dumped.records, errors: dumped.errors }, null, 2));
  } else {
    print(dumped.text.join("\n"));
  }
  return 0;
}
