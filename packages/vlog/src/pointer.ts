/**
 * The value pointer: what the engine stores in its WAL, memtable and tables instead of a
 * separated value (docs/format/vlog.md, "Value pointer").
 *
 * ```
 * pointer := fileNumber(varint) offset(varint) size(varint) crc(u32 LE)
 * ```
 */
import { CorruptionError, readVarint, type VarintResult, varintLength, writeVarint } from "@auradb/fs";
import { ENTRY_BYTES_LIMIT, ENTRY_HEADER_BYTES, HEADER_BYTES, readU32, writeU32 } from "./format.ts";

/**
 * Where one entry of the value log is, and how to recognise it. `offset` is where the entry
 * starts in its file, `size` its length in bytes (header, key and value), `crc` its stored
 * (masked) checksum: a read is trusted only when the entry found there carries this checksum.
 */
export interface ValuePointer {
  readonly fileNumber: number;
  readonly offset: number;
  readonly size: number;
  readonly crc: number;
}

/**
 * The longest encoded pointer (25 bytes): two varints of at most 8 bytes (file number, offset),
 * the size's varint (at most 5 bytes: sizes are below 2^35), and the u32 checksum.
 */
export const POINTER_BYTES_MAX: number = 8 + 8 + varintLength(ENTRY_BYTES_LIMIT) + 4;

/**
 * Why `pointer` cannot point at an entry (a field out of range), or null when it can. Checks
 * the ranges only: whether the entry is there is for the read to find out.
 */
export function pointerProblem(pointer: ValuePointer): string | null {
  if (!Number.isSafeInteger(pointer.fileNumber) || pointer.fileNumber < 1) return `file number ${pointer.fileNumber} out of range`;
  if (!Number.isSafeInteger(pointer.offset) || pointer.offset < HEADER_BYTES) return `offset ${pointer.offset} out of range`;
  if (!Number.isSafeInteger(pointer.size) || pointer.size < ENTRY_HEADER_BYTES || pointer.size > ENTRY_BYTES_LIMIT) {
    return `size ${pointer.size} out of range`;
  }
  if (!Number.isInteger(pointer.crc) || pointer.crc < 0 || pointer.crc > 0xffff_ffff) return `checksum ${pointer.crc} out of range`;
  return null;
}

/** Bytes `pointer` takes encoded. */
export function pointerLength(pointer: ValuePointer): number {
  return varintLength(pointer.fileNumber) + varintLength(pointer.offset) + varintLength(pointer.size) + 4;
}

/**
 * Encodes a pointer (at most {@link POINTER_BYTES_MAX} bytes). Throws `RangeError` on a pointer
 * whose fields are out of range (a bug in the caller: pointers come from `append` or `decodePointer`).
 */
export function encodePointer(pointer: ValuePointer): Uint8Array {
  const problem = pointerProblem(pointer);
  if (problem !== null) throw new RangeError(`auradb/vlog: cannot encode a pointer: ${problem}`);
  const bytes = new Uint8Array(pointerLength(pointer));
  let offset = writeVarint(bytes, 0, pointer.fileNumber);
  offset = writeVarint(bytes, offset, pointer.offset);
  offset = writeVarint(bytes, offset, pointer.size);
  writeU32(bytes, offset, pointer.crc);
  return bytes;
}

/**
 * Decodes a pointer that fills `bytes` exactly. Any malformed byte (a bad varint, a field out of
 * range, missing or trailing bytes) is a `CorruptionError` naming `path` when given; never
 * another exception.
 */
export function decodePointer(bytes: Uint8Array, path?: string): ValuePointer {
  const fail = (reason: string): never => {
    throw new CorruptionError(`auradb/vlog: malformed value pointer (${reason})`, path === undefined ? {} : { path });
  };
  const varint: VarintResult = { value: 0, next: 0 };
  const end = bytes.length;
  readVarint(bytes, 0, end, varint);
  if (varint.next < 0) fail("file number");
  const fileNumber = varint.value;
  readVarint(bytes, varint.next, end, varint);
  if (varint.next < 0) fail("offset");
  const offset = varint.value;
  readVarint(bytes, varint.next, end, varint);
  if (varint.next < 0) fail("size");
  const size = varint.value;
  const at = varint.next;
  if (end - at < 4) fail("checksum is truncated");
  if (end - at > 4) fail(`${end - at - 4} trailing bytes`);
  const pointer: ValuePointer = { fileNumber, offset, size, crc: readU32(bytes, at) };
  const problem = pointerProblem(pointer);
  if (problem !== null) fail(problem);
  // NB: a varint with redundant continuation bytes decodes, but is not what encodePointer writes.
  if (pointerLength(pointer) !== end) fail("non-canonical varint");
  return pointer;
}
