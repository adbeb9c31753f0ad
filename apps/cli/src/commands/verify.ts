/**
 * `auradb verify <dir>`: checks every checksum of every file, opening each read-only; the
 * engine is not opened for writing, and the metadata check (CURRENT, the live manifest, the tables
 * it names) runs on the copy-on-write overlay, so nothing on disk can change.
 *
 * Per kind of file:
 * - CURRENT and the live manifest: `VersionSet.open` on the overlay (CURRENT's checksum, the
 *   manifest's chunks and edits); each table the manifest names must exist with its recorded size.
 * - Every MANIFEST-* and WAL segment: `LogFile.read` (every chunk's CRC; damage before synced data
 *   is a `CorruptionError` with its offset, damage at the end a torn tail), then each record decoded
 *   (`decodeEdit` / `decodeBatch`).
 * - Value-log files and tables: `describeVlogFile` / `describeTable` (every entry / every block,
 *   including the index, filter, properties and footer), reading the lines it marks as damaged.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeBatch } from "auradb";
import { AuraError, type FileSystem } from "@auradb/fs";
import { nodeFs } from "@auradb/fs/node";
import { decodeEdit, describeTable, parseFileName, VersionSet } from "@auradb/lsm";
import { describeVlogFile, parseVlogFileName } from "@auradb/vlog";
import { LogFile } from "@auradb/wal";
import { booleanFlag, expectPositionals, parseArgs } from "../_args.ts";
import { requireDatabase } from "../_db.ts";
import { colors, formatBytes, formatCount, print } from "../_output.ts";
import { ReadOnlyOverlayFs } from "@auradb/fs";
import type { CommandContext } from "../cli.ts";

/** One damaged place. `offset` is a byte offset in `file`, null when the check cannot tell. */
export interface Problem {
  readonly file: string;
  readonly offset: number | null;
  readonly message: string;
}

export interface FileReport {
  readonly file: string;
  readonly kind: string;
  readonly bytes: number;
  /** What was checked ("12 blocks", "450 records"). */
  detail: string;
  readonly problems: Problem[];
}

/** WAL segment names (`<16 digits>.wal`). NB: `@auradb/wal` does not export its parser. */
export const SEGMENT_NAME = /^(\d{16})\.wal$/;

function messageOf(error: unknown): string {
  return AuraError.isInstance(error) || error instanceof Error ? error.message : String(error);
}

function offsetOf(error: unknown): number | null {
  if (typeof error === "object" && error !== null && "offset" in error && typeof error.offset === "number") return error.offset;
  return null;
}

/** Checks a file in the log format (WAL segment or manifest) and decodes its records. */
async function checkLog(fs: FileSystem, path: string, report: FileReport, id: number, decode: (record: Uint8Array) => void): Promise<void> {
  try {
    const contents = await LogFile.read(fs, path, { id, recordBytesMax: 1024 * 1024 * 1024 });
    let decoded = 0;
    contents.records.forEach((record, index) => {
      try {
        decode(record);
        decoded++;
      } catch (error) {
        report.problems.push({ file: report.file, offset: null, message: `record ${index + 1}: ${messageOf(error)}` });
      }
    });
    report.detail = `${formatCount(decoded)} records`;
    if (contents.tornBytes > 0) {
      report.problems.push({
        file: report.file,
        offset: report.bytes - contents.tornBytes,
        message: `a chunk fails its checksum here; the ${formatCount(contents.tornBytes)} bytes from here on are unreadable (recovery would take them for a torn tail and drop them)`,
      });
    }
  } catch (error) {
    report.problems.push({ file: report.file, offset: offsetOf(error), message: messageOf(error) });
  }
}

/** The damaged lines of a `describeVlogFile` dump. */
function checkVlog(bytes: Uint8Array, report: FileReport): void {
  const lines = describeVlogFile(bytes, report.file).trimEnd().split("\n");
  if (!lines[0]!.startsWith("vlog file ")) {
    report.problems.push({ file: report.file, offset: 0, message: lines[0]!.replace(`${report.file}: `, "") });
    return;
  }
  let entries = 0;
  for (const line of lines.slice(1)) {
    const match = /^(\d+): (.*)$/.exec(line);
    if (match === null) continue;
    const text = match[2]!;
    if (text.startsWith("VALUE ")) entries++;
    if (text.includes("CHECKSUM MISMATCH")) report.problems.push({ file: report.file, offset: Number(match[1]), message: `entry checksum mismatch (${text.replace(" CHECKSUM MISMATCH", "")})` });
    else if (text.startsWith("invalid entry") || text.startsWith("truncated")) report.problems.push({ file: report.file, offset: Number(match[1]), message: text });
  }
  report.detail = `${formatCount(entries)} entries`;
}

/** The damaged parts of a `describeTable` dump: lines with `MISMATCH` or `error:`. */
function checkTable(bytes: Uint8Array, report: FileReport): void {
  const lines = describeTable(bytes, { path: report.file, entries: false }).trimEnd().split("\n");
  let blocks = 0;
  let lastOffset: number | null = null;
  let lastTitle = "";
  let mismatchOffset: number | null = null;
  for (const line of lines) {
    const header = /^([a-z]+(?: \d+)?) @(\d+)/.exec(line);
    if (header !== null) {
      lastOffset = Number(header[2]);
      lastTitle = header[1]!;
      if (/crc (ok|MISMATCH)/.test(line) && !line.startsWith("header") && !line.startsWith("footer")) blocks++;
    }
    const indented = line.startsWith("  ");
    if (/crc MISMATCH/.test(line)) {
      mismatchOffset = lastOffset;
      report.problems.push({ file: report.file, offset: lastOffset, message: `${lastTitle} block: checksum mismatch` });
    } else if (line.includes("error:") && !(indented && lastOffset === mismatchOffset)) {
      // NB: a decode error inside a block whose checksum already failed says nothing new.
      const message = line.slice(line.indexOf("error:") + "error:".length).trim();
      report.problems.push({ file: report.file, offset: indented || header !== null ? lastOffset : null, message: `${lastTitle || "table"}: ${message}` });
    }
  }
  report.detail = `${formatCount(blocks)} blocks`;
}

/** Verifies every file of the database in `dir`. */
export async function verifyDatabase(dir: string): Promise<FileReport[]> {
  const fs = nodeFs();
  const reports: FileReport[] = [];
  const newReport = (file: string, kind: string, bytes: number): FileReport => {
    const report: FileReport = { file, kind, bytes, detail: "", problems: [] };
    reports.push(report);
    return report;
  };

  // CURRENT, the live manifest, and the tables it names, as the engine's recovery reads them.
  const current = newReport("CURRENT", "current", statSync(join(dir, "CURRENT")).size);
  const liveTables = new Map<number, number>();
  try {
    const overlay = new ReadOnlyOverlayFs(fs);
    const versions = await VersionSet.open(overlay, dir);
    for (const level of versions.current.levels) for (const table of level) liveTables.set(table.fileNumber, table.fileBytes);
    await versions.close();
    current.detail = `names a manifest of ${formatCount(liveTables.size)} tables`;
  } catch (error) {
    const offset = offsetOf(error);
    const path = typeof error === "object" && error !== null && "path" in error && typeof error.path === "string" ? error.path : "";
    const file = path === "" ? "CURRENT" : path.slice(dir.length).replace(/^\/+/, "") || "CURRENT";
    current.problems.push({ file, offset, message: messageOf(error) });
  }

  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const info = statSync(path);
    if (info.isDirectory()) continue;
    const parsed = parseFileName(name);
    if (parsed === null || parsed.kind === "current" || parsed.kind === "lock") continue;
    if (parsed.kind === "temporary") {
      newReport(name, "temporary", info.size).detail = "left by an interrupted write; ignored by the engine";
      continue;
    }
    if (parsed.kind === "manifest") {
      const report = newReport(name, "manifest", info.size);
      await checkLog(fs, path, report, parsed.number, (record) => decodeEdit(record, path));
      continue;
    }
    const report = newReport(name, "table", info.size);
    checkTable(new Uint8Array(readFileSync(path)), report);
    const expected = liveTables.get(parsed.number);
    if (expected === undefined) report.detail += ", not in the manifest (deleted at the next open)";
    else if (expected !== info.size) report.problems.push({ file: name, offset: null, message: `the manifest records ${expected} bytes, the file has ${info.size}` });
    liveTables.delete(parsed.number);
  }
  for (const fileNumber of liveTables.keys()) {
    const name = `${String(fileNumber).padStart(6, "0")}.sst`;
    newReport(name, "table", 0).problems.push({ file: name, offset: null, message: "named by the manifest but missing" });
  }

  const walDir = join(dir, "wal");
  for (const name of listIfExists(walDir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match === null) continue;
    const path = join(walDir, name);
    const report = newReport(`wal/${name}`, "wal", statSync(path).size);
    await checkLog(fs, path, report, Number(match[1]), (record) => decodeBatch(record, path));
  }
  const vlogDir = join(dir, "vlog");
  for (const name of listIfExists(vlogDir)) {
    if (parseVlogFileName(name) === undefined) continue;
    const path = join(vlogDir, name);
    const bytes = new Uint8Array(readFileSync(path));
    checkVlog(bytes, newReport(`vlog/${name}`, "vlog", bytes.length));
  }
  return reports;
}

function listIfExists(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { json: { type: "boolean" }, quiet: { type: "boolean", short: "q" } });
  const [dir] = expectPositionals(positionals, ["dir"]);
  requireDatabase(dir!);
  const started = performance.now();
  const reports = await verifyDatabase(dir!);
  const problems = reports.flatMap((report) => report.problems);
  const bytes = reports.reduce((sum, report) => sum + report.bytes, 0);
  if (booleanFlag(values, "json")) {
    print(JSON.stringify({ path: dir, clean: problems.length === 0, files: reports.length, bytes, problems, reports }, null, 2));
    return problems.length === 0 ? 0 : 1;
  }
  const quiet = booleanFlag(values, "quiet");
  const width = Math.max(...reports.map((report) => report.file.length));
  for (const report of reports) {
    if (report.problems.length === 0) {
      if (!quiet) print(`${colors.green("ok     ")} ${report.file.padEnd(width)}  ${colors.dim(`${formatBytes(report.bytes).padStart(10)}  ${report.detail}`)}`);
      continue;
    }
    print(`${colors.red("DAMAGED")} ${report.file.padEnd(width)}  ${colors.dim(formatBytes(report.bytes).padStart(10))}`);
    for (const problem of report.problems) {
      const where = problem.offset === null ? "" : `offset ${problem.offset}: `;
      print(`        ${colors.red("✗")} ${problem.file !== report.file ? `${problem.file} ` : ""}${where}${problem.message}`);
    }
  }
  const elapsed = ((performance.now() - started) / 1000).toFixed(2);
  if (problems.length === 0) {
    print(colors.green(`clean: ${formatCount(reports.length)} files, ${formatBytes(bytes)}, every checksum passes (${elapsed} s)`));
    return 0;
  }
  const damaged = reports.filter((report) => report.problems.length > 0).length;
  print(colors.red(`${formatCount(problems.length)} problem${problems.length === 1 ? "" : "s"} in ${formatCount(damaged)} file${damaged === 1 ? "" : "s"} (${formatCount(reports.length)} files checked, ${elapsed} s)`));
  return 1;
}
