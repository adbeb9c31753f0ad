/**
 * The durable constants of the SSTable format, version 1, and the codecs of its fixed-width parts
 * (header, footer, block trailer). Spec: docs/format/sstable.md.
 *
 * Everything here is written to disk: never change a value; retire numbers, never reuse them.
 */
import { CorruptionError, crc32c, maskCrc, unmaskCrc } from "@auradb/fs";
import { snappyUncompress } from "./compression.ts";

/** The format version this code writes; it reads exactly versions 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 1;

/** `"ASST"`: the first four bytes of every table. */
export const HEADER_MAGIC: readonly number[] = [0x41, 0x53, 0x53, 0x54];
/** magic(4) version(2) flags(2) crc(4). */
export const HEADER_BYTES = 12;

/** `"ASST.end"`: the last eight bytes of every table. */
export const FOOTER_MAGIC: readonly number[] = [0x41, 0x53, 0x53, 0x54, 0x2e, 0x65, 0x6e, 0x64];
/**
 * metaindexOffset(8) metaindexSize(4) indexOffset(8) indexSize(4) fileNumber(8) version(2)
 * flags(2) crc(4) magic(8).
 */
export const FOOTER_BYTES = 48;
/** Where the footer's checksum sits (it covers the bytes before it). */
export const FOOTER_CRC_OFFSET = 36;

/** compressionType(1) maskedCrc(4), after every block's contents. */
export const TRAILER_BYTES = 5;

/**
 * Block compression types (the trailer's first byte). 0: the contents are the block; 1: the
 * contents are a Snappy raw block (varint uncompressed length, then elements) of the block.
 * 2..255 are reserved (a reader refuses them as corruption).
 */
export const CompressionType = { None: 0, Snappy: 1 } as const;
/** A block compression type (the trailer's first byte). */
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/**
 * The largest block contents a reader accepts (256 MiB), on top of the file-size check: a sane
 * maximum so that a hostile length can never ask for more (ARCHITECTURE, file-format conventions).
 */
export const BLOCK_BYTES_MAX = 256 * 1024 * 1024;
/** The restart array's entries and count are u32. */
export const RESTART_BYTES = 4;
/** The longest varint of the format (8 bytes hold 56 bits, more than 2^53 - 1). */
export const VARINT_BYTES_MAX = 8;

/** Builder default target data block size (not durable: each table records its own in its properties). */
export const DEFAULT_BLOCK_BYTES = 4096;
/** Builder default restart interval of data blocks (recorded per table, like the block size). */
export const DEFAULT_RESTART_INTERVAL = 16;
/** Builder default Bloom bits per key: about 1 % false positives (recorded per table). */
export const DEFAULT_BLOOM_BITS_PER_KEY = 10;
/** Index blocks put every entry at a restart: an entry's position is its data block's number. */
export const INDEX_RESTART_INTERVAL = 1;
/** Restart interval of the metaindex and properties blocks (names share long prefixes). */
export const META_RESTART_INTERVAL = 16;

/**
 * File numbers a table may carry. The bound is not a format limit (the footer holds a u64) but
 * the block cache's: it packs (fileNumber, blockNumber) into one safe integer as
 * `fileNumber * 2^22 + blockNumber` (see `cache.ts`).
 */
export const FILE_NUMBER_MAX = 2 ** 31 - 1;
/** Data blocks a table may hold (the block number's share of the cache key): 2^22. */
export const DATA_BLOCK_COUNT_MAX = 2 ** 22;

/** Meta blocks named in the metaindex. Readers ignore names they do not know. */
export const MetaBlockName = {
  /** The Bloom filter over user keys (optional). */
  Filter: "auradb.filter.bloom",
  /** The table properties (required). */
  Properties: "auradb.properties",
  /** The learned index: a model of key → position and where each data block starts (optional). */
  Learned: "auradb.index.learned",
} as const;

/**
 * Property names of the properties block (values are varints unless said otherwise). Readers
 * ignore names they do not know; every name listed here is required in version 1.
 */
export const PropertyName = {
  BlockBytes: "auradb.block-bytes",
  CreationTimeMs: "auradb.creation-time-ms",
  DataBlockCount: "auradb.data-block-count",
  DeleteCount: "auradb.delete-count",
  EntryCount: "auradb.entry-count",
  FileNumber: "auradb.file-number",
  FilterBitsPerKey: "auradb.filter-bits-per-key",
  FormatVersion: "auradb.format-version",
  /**
   * Why the table has or has no learned-index block (`LearnedStatus`). The one optional name:
   * tables written before learned indexes lack it (read as "off").
   */
  LearnedIndex: "auradb.learned-index",
  /** An internal key: seq varint, kind u8, then the user key (the rest of the value). */
  Largest: "auradb.largest",
  MaxSeq: "auradb.max-seq",
  MinSeq: "auradb.min-seq",
  RawKeyBytes: "auradb.raw-key-bytes",
  RawValueBytes: "auradb.raw-value-bytes",
  RestartInterval: "auradb.restart-interval",
  /** An internal key, encoded as `Largest`. */
  Smallest: "auradb.smallest",
} as const;
/** A property name of version 1. */
export type PropertyName = (typeof PropertyName)[keyof typeof PropertyName];

/** The murmur3 seed of the Bloom filter hash (LevelDB's hash seed). */
export const BLOOM_HASH_SEED = 0xbc9f1d34;
/** The fewest probes a filter block may declare. */
export const BLOOM_PROBES_MIN = 1;
/** The most probes a filter block may declare (more would make any filter useless). */
export const BLOOM_PROBES_MAX = 30;
/** The filter's bit array is whole lines of this many bits (64 bytes: one cache line); every probe of a key tests one line. */
export const BLOOM_LINE_BITS = 512;
/** The multiplier of the remix that decorrelates a key's bits within its line from the line's choice. */
export const BLOOM_REMIX_MULTIPLIER = 0x2c1b3c6d;

// Invariant: the layouts above add up.
if (HEADER_BYTES !== 4 + 2 + 2 + 4) throw new Error("auradb/lsm: sstable header size");
if (FOOTER_BYTES !== 8 + 4 + 8 + 4 + 8 + 2 + 2 + 4 + 8) throw new Error("auradb/lsm: sstable footer size");
if (FOOTER_CRC_OFFSET !== FOOTER_BYTES - 8 - 4) throw new Error("auradb/lsm: sstable footer crc offset");
if (TRAILER_BYTES !== 1 + 4) throw new Error("auradb/lsm: sstable trailer size");
if (FILE_NUMBER_MAX * DATA_BLOCK_COUNT_MAX + DATA_BLOCK_COUNT_MAX > Number.MAX_SAFE_INTEGER + 1) {
  throw new Error("auradb/lsm: block cache key does not fit a safe integer");
}

/** Where a block lives: its contents' offset and size (the 5-byte trailer follows, not counted). */
export interface BlockHandle {
  readonly offset: number;
  readonly size: number;
}

/** What the footer records. */
export interface Footer {
  readonly metaindex: BlockHandle;
  readonly index: BlockHandle;
  readonly fileNumber: number;
  readonly formatVersion: number;
}

const TWO_TO_32 = 2 ** 32;

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_TO_32), true);
}

/** Reads a u64; returns -1 when it exceeds 2^53 - 1 (no table offset or number can). */
function readU64(view: DataView, offset: number): number {
  const low = view.getUint32(offset, true);
  const high = view.getUint32(offset + 4, true);
  if (high > 0x1f_ffff) return -1;
  return high * TWO_TO_32 + low;
}

/** Encodes the 12-byte file header. */
export function encodeHeader(): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  bytes.set(HEADER_MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, maskCrc(crc32c(bytes.subarray(0, 8))), true);
  return bytes;
}

/**
 * Checks the 12-byte file header. Returns its format version.
 * @throws CorruptionError (naming `path` and the offending offset) on a short header, a bad magic
 *   or checksum, flags, or a version this code does not read.
 */
export function decodeHeader(bytes: Uint8Array, path: string): number {
  if (bytes.length < HEADER_BYTES) {
    throw new CorruptionError("auradb/lsm: sstable header is truncated", { path, offset: 0 });
  }
  for (let index = 0; index < HEADER_MAGIC.length; index++) {
    if (bytes[index] !== HEADER_MAGIC[index]) {
      throw new CorruptionError("auradb/lsm: not an sstable (bad header magic)", { path, offset: 0 });
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (unmaskCrc(view.getUint32(8, true)) !== crc32c(bytes.subarray(0, 8))) {
    throw new CorruptionError("auradb/lsm: sstable header checksum mismatch", { path, offset: 8 });
  }
  const version = view.getUint16(4, true);
  checkVersion(version, path, 4);
  if (view.getUint16(6, true) !== 0) {
    throw new CorruptionError("auradb/lsm: sstable header has unknown flags", { path, offset: 6 });
  }
  return version;
}

function checkVersion(version: number, path: string, offset: number): void {
  if (version === 0 || version > FORMAT_VERSION) {
    throw new CorruptionError(
      `auradb/lsm: unsupported sstable format version ${version} (this code reads 1..${FORMAT_VERSION})`,
      { path, offset },
    );
  }
}

/** Encodes the 48-byte footer. REQUIRES: offsets and the file number are safe integers, sizes u32. */
export function encodeFooter(footer: Footer): Uint8Array {
  const bytes = new Uint8Array(FOOTER_BYTES);
  const view = new DataView(bytes.buffer);
  writeU64(view, 0, footer.metaindex.offset);
  view.setUint32(8, footer.metaindex.size, true);
  writeU64(view, 12, footer.index.offset);
  view.setUint32(20, footer.index.size, true);
  writeU64(view, 24, footer.fileNumber);
  view.setUint16(32, footer.formatVersion, true);
  view.setUint16(34, 0, true);
  view.setUint32(FOOTER_CRC_OFFSET, maskCrc(crc32c(bytes.subarray(0, FOOTER_CRC_OFFSET))), true);
  bytes.set(FOOTER_MAGIC, FOOTER_CRC_OFFSET + 4);
  return bytes;
}

/**
 * Decodes and checks the footer, which was read at `footerOffset` (= fileBytes - FOOTER_BYTES) of
 * `path`. Checks the magic, the checksum, the version and flags, and both handles against the
 * file size (so that no later read can be asked to allocate more than the file holds).
 * @throws CorruptionError naming `path` and the offset of the offending field.
 */
export function decodeFooter(bytes: Uint8Array, path: string, footerOffset: number): Footer {
  if (bytes.length < FOOTER_BYTES) {
    throw new CorruptionError("auradb/lsm: sstable footer is truncated", { path, offset: footerOffset });
  }
  for (let index = 0; index < FOOTER_MAGIC.length; index++) {
    if (bytes[FOOTER_CRC_OFFSET + 4 + index] !== FOOTER_MAGIC[index]) {
      throw new CorruptionError("auradb/lsm: not an sstable or truncated (bad footer magic)", {
        path,
        offset: footerOffset + FOOTER_CRC_OFFSET + 4,
      });
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FOOTER_BYTES);
  if (unmaskCrc(view.getUint32(FOOTER_CRC_OFFSET, true)) !== crc32c(bytes.subarray(0, FOOTER_CRC_OFFSET))) {
    throw new CorruptionError("auradb/lsm: sstable footer checksum mismatch", { path, offset: footerOffset + FOOTER_CRC_OFFSET });
  }
  const formatVersion = view.getUint16(32, true);
  checkVersion(formatVersion, path, footerOffset + 32);
  if (view.getUint16(34, true) !== 0) {
    throw new CorruptionError("auradb/lsm: sstable footer has unknown flags", { path, offset: footerOffset + 34 });
  }
  const fileNumber = readU64(view, 24);
  if (fileNumber < 0) {
    throw new CorruptionError("auradb/lsm: sstable footer file number out of range", { path, offset: footerOffset + 24 });
  }
  const fileBytes = footerOffset + FOOTER_BYTES;
  const metaindex = { offset: readU64(view, 0), size: view.getUint32(8, true) };
  checkBlockHandle(metaindex, fileBytes, path, footerOffset);
  const index = { offset: readU64(view, 12), size: view.getUint32(20, true) };
  checkBlockHandle(index, fileBytes, path, footerOffset + 12);
  return { metaindex, index, fileNumber, formatVersion };
}

/**
 * Checks that a block handle read from the file lies inside the file's block area and under
 * {@link BLOCK_BYTES_MAX}. `fieldOffset` is where the handle was read, for the error.
 * @throws CorruptionError naming `path` and `fieldOffset`.
 */
export function checkBlockHandle(handle: BlockHandle, fileBytes: number, path: string, fieldOffset: number): void {
  const { offset, size } = handle;
  if (
    !(offset >= HEADER_BYTES) ||
    !(size >= 0) ||
    size > BLOCK_BYTES_MAX ||
    offset + size + TRAILER_BYTES > fileBytes - FOOTER_BYTES
  ) {
    throw new CorruptionError(
      `auradb/lsm: sstable block handle (offset ${offset}, size ${size}) lies outside the file's ${fileBytes} bytes`,
      { path, offset: fieldOffset },
    );
  }
}

/** The seed of every block checksum of table `fileNumber`: crc32c of the number as a u64. */
export function fileCrcSeed(fileNumber: number): number {
  const bytes = new Uint8Array(8);
  writeU64(new DataView(bytes.buffer), 0, fileNumber);
  return crc32c(bytes);
}

/**
 * The masked checksum stored in a block trailer. `contentsAndType` is the block's contents
 * followed by its compression type byte (the trailer's first byte), contiguous.
 */
export function blockChecksum(contentsAndType: Uint8Array, seed: number): number {
  return maskCrc(crc32c(contentsAndType, seed));
}

/**
 * Checks a block read as contents + trailer (`bytes.length` must be `size + TRAILER_BYTES`) and
 * returns the block: the contents (a view of `bytes`) for type 0, the decompressed contents (a
 * new array) for type 1. `verifyChecksum: false` skips only the checksum: a compressed block is
 * checked as it is decoded whatever this flag (see `compression.ts`).
 * @throws CorruptionError naming `path` and the block's offset on a short read, an unknown
 *   compression type, a checksum mismatch or a malformed compressed block.
 */
export function checkBlock(bytes: Uint8Array, handle: BlockHandle, seed: number, path: string, verifyChecksum: boolean): Uint8Array {
  const size = handle.size;
  if (bytes.length !== size + TRAILER_BYTES) {
    throw new CorruptionError(
      `auradb/lsm: sstable block at ${handle.offset} is truncated (${bytes.length} of ${size + TRAILER_BYTES} bytes)`,
      { path, offset: handle.offset },
    );
  }
  if (verifyChecksum) {
    const stored =
      (bytes[size + 1]! | (bytes[size + 2]! << 8) | (bytes[size + 3]! << 16) | (bytes[size + 4]! << 24)) >>> 0;
    if (stored !== blockChecksum(bytes.subarray(0, size + 1), seed)) {
      throw new CorruptionError(`auradb/lsm: sstable block checksum mismatch at ${handle.offset}`, {
        path,
        offset: handle.offset,
      });
    }
  }
  const type = bytes[size]!;
  if (type === CompressionType.None) return bytes.subarray(0, size);
  if (type === CompressionType.Snappy) return snappyUncompress(bytes.subarray(0, size), BLOCK_BYTES_MAX, path, handle.offset);
  throw new CorruptionError(`auradb/lsm: sstable block at ${handle.offset} has unknown compression type ${type}`, {
    path,
    offset: handle.offset + size,
  });
}
