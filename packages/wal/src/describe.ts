/**
 * A human-readable dump of a segment's bytes: the header, then one line per chunk (or per
 * problem). Used by tests as golden output and by `auradb dump`.
 */
import { AuraError, crc32c, readVarint, unmaskCrc } from "@auradb/fs";
import { CHUNK_HEADER_BYTES, CHUNK_START_BYTES_MIN, decodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentCrcSeed } from "./format.ts";

const TYPE_NAMES: Record<number, string> = { 1: "FULL", 2: "FIRST", 3: "MIDDLE", 4: "LAST" };

/** Describes a segment file's bytes; never throws on damaged input (it says what is wrong). */
export function describeSegment(bytes: Uint8Array, path = "segment"): string {
  const lines: string[] = [];
  let header;
  try {
    header = decodeSegmentHeader(bytes, path);
  } catch (error) {
    return `${path}: ${AuraError.isInstance(error) ? error.message : String(error)}\n`;
  }
  lines.push(`segment ${header.segmentId} firstLsn=${header.firstLsn} blockBytes=${header.blockBytes} size=${bytes.length}`);
  const seed = segmentCrcSeed(header.segmentId);
  const varint = { value: 0, next: 0 };
  let position = SEGMENT_HEADER_BYTES;
  while (position < bytes.length) {
    const blockEnd = position - (position % header.blockBytes) + header.blockBytes;
    if (blockEnd - position < CHUNK_START_BYTES_MIN) {
      const end = Math.min(blockEnd, bytes.length);
      lines.push(`${position}: padding ${end - position}`);
      position = end;
      continue;
    }
    if (bytes.length - position < CHUNK_HEADER_BYTES) {
      lines.push(`${position}: truncated chunk header (${bytes.length - position} bytes)`);
      break;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset + position, CHUNK_HEADER_BYTES);
    const storedCrc = view.getUint32(0, true);
    const length = view.getUint16(4, true);
    const type = view.getUint8(6);
    const synced = view.getUint32(7, true);
    const end = position + CHUNK_HEADER_BYTES + length;
    if (end > blockEnd || end > bytes.length) {
      lines.push(`${position}: bad chunk: length ${length} runs past the ${end > blockEnd ? "block" : "file"}`);
      position = blockEnd;
      continue;
    }
    const ok = unmaskCrc(storedCrc) === crc32c(bytes.subarray(position + 4, end), seed);
    const name = TYPE_NAMES[type] ?? ((type & 0x80) !== 0 ? `SKIPPABLE(${type})` : `UNKNOWN(${type})`);
    let detail = `${name} len=${length} synced=${synced}`;
    if (type === 1 || type === 2) {
      readVarint(bytes, position + CHUNK_HEADER_BYTES, end, varint);
      if (varint.next >= 0) detail += ` lsn=${header.firstLsn + varint.value}`;
    }
    lines.push(`${position}: ${detail}${ok ? "" : " CHECKSUM MISMATCH"}`);
    if (!ok) {
      position = blockEnd;
      continue;
    }
    position = end;
  }
  return lines.join("\n") + "\n";
}
