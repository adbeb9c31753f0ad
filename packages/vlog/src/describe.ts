/**
 * A human-readable dump of a value-log file's bytes: the header, then one line per entry, then
 * what ends the file (for debugging, golden tests and a `dump` command).
 */
import { AuraError } from "@auradb/fs";
import { checkFileHeader, ENTRY_HEADER_BYTES, entryChecksum, entryHeaderProblem, fileCrcSeed, HEADER_BYTES, readEntryHeader } from "./format.ts";

const PREVIEW_BYTES = 24;

/**
 * Describes a value-log file; never throws on damaged input (it says what is wrong, and where).
 *
 * ```
 * vlog file 12 partition=fresh version=1 size=85
 * 32: VALUE size=28 key=2 value=5 seq=7 crc=0x… key="k1"
 * 60: VALUE size=25 key=4 value=0 seq=8 crc=0x… key="key2"
 * 85: end
 * ```
 */
export function describeVlogFile(bytes: Uint8Array, path = "vlog"): string {
  const header = checkFileHeader(bytes, path);
  if ("problem" in header) {
    const error = header.error;
    return `${path}: ${AuraError.isInstance(error) ? error.message : String(error)} (size=${bytes.length})\n`;
  }
  const lines = [`vlog file ${header.fileNumber} partition=${header.partition} version=${bytes[8]! | (bytes[9]! << 8)} size=${bytes.length}`];
  const seed = fileCrcSeed(header.fileNumber);
  let offset = HEADER_BYTES;
  for (;;) {
    const left = bytes.length - offset;
    if (left === 0) {
      lines.push(`${offset}: end`);
      break;
    }
    if (left < ENTRY_HEADER_BYTES) {
      lines.push(`${offset}: truncated entry header (${left} bytes)`);
      break;
    }
    const entry = readEntryHeader(bytes, offset);
    const problem = entryHeaderProblem(entry, left);
    if (problem !== null) {
      lines.push(`${offset}: invalid entry (${problem})`);
      break;
    }
    const size = ENTRY_HEADER_BYTES + entry.keyLength + entry.valueLength;
    const ok = entryChecksum(bytes, offset, size, seed) === entry.crc;
    const keyStart = offset + ENTRY_HEADER_BYTES;
    const key = preview(bytes.subarray(keyStart, keyStart + entry.keyLength));
    lines.push(
      `${offset}: VALUE size=${size} key=${entry.keyLength} value=${entry.valueLength} seq=${entry.seq} crc=0x${entry.crc.toString(16).padStart(8, "0")} key=${key}${ok ? "" : " CHECKSUM MISMATCH"}`,
    );
    if (!ok) {
      // NB: the lengths of a damaged entry cannot be trusted to find the next one.
      lines.push(`${offset + size}: not read (after a damaged entry)`);
      break;
    }
    offset += size;
  }
  return lines.join("\n") + "\n";
}

/** A key for humans: quoted when printable ASCII, else hex; long ones cut. */
function preview(key: Uint8Array): string {
  const shown = key.subarray(0, PREVIEW_BYTES);
  const more = key.length > PREVIEW_BYTES ? `…(+${key.length - PREVIEW_BYTES})` : "";
  const printable = shown.every((byte) => byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c);
  if (printable) return `"${String.fromCharCode(...shown)}"${more}`;
  return `0x${Array.from(shown, (byte) => byte.toString(16).padStart(2, "0")).join("")}${more}`;
}
