/**
 * The durable constants of the value-log file format, version 1, and the codecs of its two
 * fixed-width structures (the file header and the entry header). Spec: docs/format/vlog.md.
 *
 * Everything here is written to disk: never change a value; retire numbers, never reuse them.
 *
 * ```
 * file  := header entry*
 * entry := crc(4) type(1) keyLength(4) valueLength(4) seq(8) key value
 * ```
 */
import { CorruptionError, crc32c, maskCrc, NotSupportedError, unmaskCrc } from "@auradb/fs";

/** `"AURAVLOG"`: the first eight bytes of every value-log file. */
export const MAGIC: Uint8Array = new Uint8Array([0x41, 0x55, 0x52, 0x41, 0x56, 0x4c, 0x4f, 0x47]);
/** The format version this code writes; it reads versions 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 1;

/**
 * magic(8) version(2) partition(1) reserved(5) fileNumber(8) reserved(4) crc(4).
 *
 * NB: every version keeps bytes 0..10 (magic, version) and the CRC at 28 over bytes 0..28, so
 * that a reader can tell a torn header from a newer one without knowing the newer layout.
 */
export const HEADER_BYTES = 32;
export const HEADER_VERSION_OFFSET = 8;
export const HEADER_PARTITION_OFFSET = 10;
export const HEADER_FILE_NUMBER_OFFSET = 16;
export const HEADER_CRC_OFFSET = 28;

/** crc(4) type(1) keyLength(4) valueLength(4) seq(8). */
export const ENTRY_HEADER_BYTES = 21;
export const ENTRY_TYPE_OFFSET = 4;
export const ENTRY_KEY_LENGTH_OFFSET = 5;
export const ENTRY_VALUE_LENGTH_OFFSET = 9;
export const ENTRY_SEQ_OFFSET = 13;

/** Entry types. 0 is never written (zeros are lost data). */
export const EntryType = { Value: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** Partition codes in the header: fresh writes, and values relocated by garbage collection. */
export const PartitionCode = { fresh: 0, gc: 1 } as const;
/** Which stream of files an entry was written to. */
export type Partition = keyof typeof PartitionCode;

/**
 * The largest key any reader believes (the hard cap; `keyBytesMax` bounds appends, default
 * 64 KiB). A length above it is corruption, whatever the file size.
 */
export const KEY_BYTES_LIMIT = 16 * 1024 * 1024;
/** The largest value any reader believes (the hard cap, also the default `valueBytesMax`). */
export const VALUE_BYTES_LIMIT = 256 * 1024 * 1024;
/** The largest entry: header, key and value at their caps. */
export const ENTRY_BYTES_LIMIT = ENTRY_HEADER_BYTES + KEY_BYTES_LIMIT + VALUE_BYTES_LIMIT;

// Invariant: the layouts above add up.
if (HEADER_BYTES !== 8 + 2 + 1 + 5 + 8 + 4 + 4) throw new Error("auradb/vlog: header size");
if (ENTRY_HEADER_BYTES !== 4 + 1 + 4 + 4 + 8) throw new Error("auradb/vlog: entry header size");

const TWO_32 = 2 ** 32;
/** The high half of a u64 above which the value is not a safe integer. */
const HIGH_WORD_MAX = 0x1f_ffff;

/** Writes a safe integer as a u64, little-endian. */
export function writeU64(target: Uint8Array, offset: number, value: number): void {
  const low = value >>> 0;
  const high = Math.floor(value / TWO_32);
  target[offset] = low & 0xff;
  target[offset + 1] = (low >>> 8) & 0xff;
  target[offset + 2] = (low >>> 16) & 0xff;
  target[offset + 3] = low >>> 24;
  target[offset + 4] = high & 0xff;
  target[offset + 5] = (high >>> 8) & 0xff;
  target[offset + 6] = (high >>> 16) & 0xff;
  target[offset + 7] = high >>> 24;
}

/** Reads a little-endian u64; -1 when it is above 2^53 − 1 (not a safe integer). */
export function readU64(source: Uint8Array, offset: number): number {
  const low = readU32(source, offset);
  const high = readU32(source, offset + 4);
  if (high > HIGH_WORD_MAX) return -1;
  return high * TWO_32 + low;
}

/** Writes a u32, little-endian. */
export function writeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = value >>> 24;
}

/** Reads a little-endian u32. REQUIRES: 4 bytes at `offset`. */
export function readU32(source: Uint8Array, offset: number): number {
  return (source[offset]! | (source[offset + 1]! << 8) | (source[offset + 2]! << 16) | (source[offset + 3]! << 24)) >>> 0;
}

/**
 * The seed of every entry checksum of file `fileNumber`: the CRC-32C of its number as 8 bytes
 * (u64 LE). An entry copied into another file (a misdirected write, a stale file) fails its check.
 */
export function fileCrcSeed(fileNumber: number): number {
  const bytes = new Uint8Array(8);
  writeU64(bytes, 0, fileNumber);
  return crc32c(bytes);
}

/** The facts a file header records. */
export interface FileHeader {
  readonly fileNumber: number;
  readonly partition: Partition;
}

/** Encodes a file header (32 bytes). */
export function encodeFileHeader(header: FileHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  bytes.set(MAGIC, 0);
  bytes[HEADER_VERSION_OFFSET] = FORMAT_VERSION & 0xff;
  bytes[HEADER_VERSION_OFFSET + 1] = FORMAT_VERSION >>> 8;
  bytes[HEADER_PARTITION_OFFSET] = PartitionCode[header.partition];
  writeU64(bytes, HEADER_FILE_NUMBER_OFFSET, header.fileNumber);
  writeU32(bytes, HEADER_CRC_OFFSET, maskCrc(crc32c(bytes.subarray(0, HEADER_CRC_OFFSET))));
  return bytes;
}

/**
 * Why a header does not decode, for recovery: `torn` (bad magic or checksum: either damage or a
 * header whose write never completed), `newer` (a format version this code does not read), or
 * `invalid` (a sound checksum over fields this version does not accept).
 */
export type HeaderProblem = "torn" | "newer" | "invalid";

/** A header decoding failure, with its class. */
export interface HeaderFailure {
  readonly problem: HeaderProblem;
  readonly error: CorruptionError | NotSupportedError;
}

/**
 * Decodes and checks a file header; returns the header or why it failed (never throws).
 * The checks, in order: length, magic, checksum, version, reserved bytes, partition, number.
 */
export function checkFileHeader(bytes: Uint8Array, path: string): FileHeader | HeaderFailure {
  const torn = (message: string, offset: number): HeaderFailure => ({
    problem: "torn",
    error: new CorruptionError(`auradb/vlog: ${message}`, { path, offset }),
  });
  const invalid = (message: string, offset: number): HeaderFailure => ({
    problem: "invalid",
    error: new CorruptionError(`auradb/vlog: ${message}`, { path, offset }),
  });
  if (bytes.length < HEADER_BYTES) return torn(`file header is truncated (${bytes.length} of ${HEADER_BYTES} bytes)`, 0);
  for (let index = 0; index < MAGIC.length; index++) {
    if (bytes[index] !== MAGIC[index]) return torn("not a value-log file (bad magic)", 0);
  }
  if (unmaskCrc(readU32(bytes, HEADER_CRC_OFFSET)) !== crc32c(bytes.subarray(0, HEADER_CRC_OFFSET))) {
    return torn("file header checksum mismatch", HEADER_CRC_OFFSET);
  }
  const version = bytes[HEADER_VERSION_OFFSET]! | (bytes[HEADER_VERSION_OFFSET + 1]! << 8);
  if (version > FORMAT_VERSION) {
    return {
      problem: "newer",
      error: new NotSupportedError(
        `auradb/vlog: file written in a newer format (version ${version}; this code reads up to ${FORMAT_VERSION}): upgrade @auradb/vlog`,
        { path, offset: HEADER_VERSION_OFFSET },
      ),
    };
  }
  if (version === 0) return invalid("file format version 0", HEADER_VERSION_OFFSET);
  for (const [start, end] of [[HEADER_PARTITION_OFFSET + 1, HEADER_FILE_NUMBER_OFFSET], [HEADER_FILE_NUMBER_OFFSET + 8, HEADER_CRC_OFFSET]] as const) {
    for (let index = start; index < end; index++) {
      if (bytes[index] !== 0) return invalid("reserved header byte is not zero", index);
    }
  }
  const code = bytes[HEADER_PARTITION_OFFSET]!;
  const partition = code === PartitionCode.fresh ? "fresh" : code === PartitionCode.gc ? "gc" : null;
  if (partition === null) return invalid(`unknown partition ${code}`, HEADER_PARTITION_OFFSET);
  const fileNumber = readU64(bytes, HEADER_FILE_NUMBER_OFFSET);
  if (fileNumber < 1) return invalid("file number out of range", HEADER_FILE_NUMBER_OFFSET);
  return { fileNumber, partition };
}

/** Like {@link checkFileHeader}, but throws the failure's error. */
export function decodeFileHeader(bytes: Uint8Array, path: string): FileHeader {
  const result = checkFileHeader(bytes, path);
  if ("problem" in result) throw result.error;
  return result;
}

/** The fields of an entry header, as stored (not yet checked). */
export interface EntryHeader {
  /** The stored (masked) checksum. */
  readonly crc: number;
  readonly type: number;
  readonly keyLength: number;
  readonly valueLength: number;
  /** -1 when the stored u64 is above 2^53 − 1. */
  readonly seq: number;
}

/** Reads an entry header at `offset`. REQUIRES: `ENTRY_HEADER_BYTES` bytes there. */
export function readEntryHeader(bytes: Uint8Array, offset: number): EntryHeader {
  return {
    crc: readU32(bytes, offset),
    type: bytes[offset + ENTRY_TYPE_OFFSET]!,
    keyLength: readU32(bytes, offset + ENTRY_KEY_LENGTH_OFFSET),
    valueLength: readU32(bytes, offset + ENTRY_VALUE_LENGTH_OFFSET),
    seq: readU64(bytes, offset + ENTRY_SEQ_OFFSET),
  };
}

/**
 * Why an entry header cannot start a valid entry of at most `bytesLeft` bytes, or null when it
 * can (the checksum is checked separately, once the whole entry is read).
 */
export function entryHeaderProblem(header: EntryHeader, bytesLeft: number): string | null {
  if (header.type !== EntryType.Value) return `unknown entry type ${header.type}`;
  if (header.keyLength > KEY_BYTES_LIMIT) return `key length ${header.keyLength} exceeds the limit`;
  if (header.valueLength > VALUE_BYTES_LIMIT) return `value length ${header.valueLength} exceeds the limit`;
  if (header.seq < 0) return "sequence number out of range";
  if (ENTRY_HEADER_BYTES + header.keyLength + header.valueLength > bytesLeft) return "entry runs past the end of the file";
  return null;
}

/**
 * The masked checksum of the entry `bytes[offset..offset + size)`: CRC-32C, seeded with the
 * file number (`seed` = {@link fileCrcSeed}), over everything after the checksum field.
 */
export function entryChecksum(bytes: Uint8Array, offset: number, size: number, seed: number): number {
  return maskCrc(crc32c(bytes.subarray(offset + 4, offset + size), seed));
}

/**
 * Encodes one entry into `target` at `offset`; returns its stored (masked) checksum.
 * REQUIRES: room for `ENTRY_HEADER_BYTES + key.length + value.length` bytes.
 */
export function encodeEntryInto(target: Uint8Array, offset: number, key: Uint8Array, value: Uint8Array, seq: number, seed: number): number {
  target[offset + ENTRY_TYPE_OFFSET] = EntryType.Value;
  writeU32(target, offset + ENTRY_KEY_LENGTH_OFFSET, key.length);
  writeU32(target, offset + ENTRY_VALUE_LENGTH_OFFSET, value.length);
  writeU64(target, offset + ENTRY_SEQ_OFFSET, seq);
  target.set(key, offset + ENTRY_HEADER_BYTES);
  target.set(value, offset + ENTRY_HEADER_BYTES + key.length);
  const crc = entryChecksum(target, offset, ENTRY_HEADER_BYTES + key.length + value.length, seed);
  writeU32(target, offset, crc);
  return crc;
}
