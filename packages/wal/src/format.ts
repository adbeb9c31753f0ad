/**
 * The durable constants of the WAL segment format, version 1. Spec: docs/format/wal.md.
 *
 * Everything here is written to disk: never change a value; retire numbers, never reuse them.
 */
import { CorruptionError, crc32c, maskCrc, unmaskCrc } from "@auradb/fs";

/** `"AWAL"` as the first four bytes of every segment. */
export const SEGMENT_MAGIC = 0x4c415741; // little-endian u32 of the bytes 0x41 0x57 0x41 0x4c
/** The format version this code writes; it reads versions 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 1;
/** magic(4) version(2) flags(2) segmentId(8) firstLsn(8) blockBytes(4) crc(4). */
export const SEGMENT_HEADER_BYTES = 32;
/** crc(4) length(2) type(1) syncedOffset(4). */
export const CHUNK_HEADER_BYTES = 11;
/** The longest LSN varint a FULL or FIRST chunk starts with. */
export const LSN_VARINT_BYTES_MAX = 8;
/**
 * A chunk starts only where at least this many bytes remain in its block; fewer are padding.
 * (Readers cannot know the varint's length before reading it, so the rule uses the longest.)
 */
export const CHUNK_START_BYTES_MIN = CHUNK_HEADER_BYTES + LSN_VARINT_BYTES_MAX;
/** Default block size (LevelDB's). */
export const DEFAULT_BLOCK_BYTES = 32 * 1024;
/** A chunk body's length is a u16, so a block can hold at most this much per chunk. */
export const BLOCK_BYTES_MAX = 64 * 1024;
export const BLOCK_BYTES_MIN = 256;
/** Segment offsets are stored in a u32 (the synced offset). */
export const SEGMENT_BYTES_MAX = 0xffff_ffff;

/** Chunk types (LevelDB's fragmentation). 0 is never written. */
export const ChunkType = { Full: 1, First: 2, Middle: 3, Last: 4 } as const;
export type ChunkType = (typeof ChunkType)[keyof typeof ChunkType];
/** A chunk type with this bit set is skippable by readers that do not know it. */
export const CHUNK_TYPE_SKIPPABLE_BIT = 0x80;

// Invariant: the header layouts above add up.
if (CHUNK_HEADER_BYTES !== 4 + 2 + 1 + 4) throw new Error("auradb/wal: chunk header size");
if (SEGMENT_HEADER_BYTES !== 4 + 2 + 2 + 8 + 8 + 4 + 4) throw new Error("auradb/wal: segment header size");

/** The facts a segment header records. */
export interface SegmentHeader {
  readonly segmentId: number;
  readonly firstLsn: number;
  readonly blockBytes: number;
}

/** Encodes a segment header (32 bytes). */
export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setBigUint64(8, BigInt(header.segmentId), true);
  view.setBigUint64(16, BigInt(header.firstLsn), true);
  view.setUint32(24, header.blockBytes, true);
  view.setUint32(28, maskCrc(crc32c(bytes.subarray(0, 28))), true);
  return bytes;
}

/**
 * Decodes and checks a segment header. Throws `CorruptionError` naming `path` on a bad magic,
 * checksum or field, and on a format version newer than this code knows.
 */
export function decodeSegmentHeader(bytes: Uint8Array, path: string): SegmentHeader {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    throw new CorruptionError("auradb/wal: segment header is truncated", { path, offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(0, true) !== SEGMENT_MAGIC) {
    throw new CorruptionError("auradb/wal: not a WAL segment (bad magic)", { path, offset: 0 });
  }
  const stored = unmaskCrc(view.getUint32(28, true));
  if (stored !== crc32c(bytes.subarray(0, 28))) {
    throw new CorruptionError("auradb/wal: segment header checksum mismatch", { path, offset: 28 });
  }
  const version = view.getUint16(4, true);
  if (version === 0 || version > FORMAT_VERSION) {
    throw new CorruptionError(`auradb/wal: unsupported segment format version ${version}`, { path, offset: 4 });
  }
  const segmentId = view.getBigUint64(8, true);
  const firstLsn = view.getBigUint64(16, true);
  const blockBytes = view.getUint32(24, true);
  if (segmentId > BigInt(Number.MAX_SAFE_INTEGER) || firstLsn > BigInt(Number.MAX_SAFE_INTEGER) || firstLsn === 0n) {
    throw new CorruptionError("auradb/wal: segment header id or LSN out of range", { path, offset: 8 });
  }
  if (!isValidBlockBytes(blockBytes)) {
    throw new CorruptionError(`auradb/wal: invalid block size ${blockBytes}`, { path, offset: 24 });
  }
  return { segmentId: Number(segmentId), firstLsn: Number(firstLsn), blockBytes };
}

/** Block sizes are powers of two in [BLOCK_BYTES_MIN, BLOCK_BYTES_MAX]. */
export function isValidBlockBytes(blockBytes: number): boolean {
  return (
    Number.isInteger(blockBytes) &&
    blockBytes >= BLOCK_BYTES_MIN &&
    blockBytes <= BLOCK_BYTES_MAX &&
    (blockBytes & (blockBytes - 1)) === 0
  );
}

/** 8 little-endian bytes of a segment id: the seed of every chunk checksum in that segment. */
export function segmentCrcSeed(segmentId: number): number {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(segmentId), true);
  return crc32c(bytes);
}
