/**
 * Parses chunks back into records (docs/format/wal.md), block by block, and classifies damage as
 * a torn tail or corruption.
 */
import { crc32c, type File, readAt, readVarint, unmaskCrc, type VarintResult } from "@auradb/fs";
import { CHUNK_HEADER_BYTES, CHUNK_START_BYTES_MIN, CHUNK_TYPE_SKIPPABLE_BIT, ChunkType, SEGMENT_HEADER_BYTES, segmentCrcSeed } from "./format.ts";

/**
 * A record read back from the log. `data` is the caller's (the log never writes to it again);
 * NB: to avoid a copy per record it is a view into the read buffer it came in (up to 1 MiB,
 * shared with its neighbours): `slice()` a record you keep for long if memory matters.
 */
export interface WalRecord {
  readonly lsn: number;
  readonly data: Uint8Array;
}

/** Why a chunk was rejected. */
export type InvalidReason =
  | "checksum"
  | "zeros"
  | "length"
  | "truncated"
  | "unknown-type"
  | "orphan-chunk"
  | "incomplete-record"
  | "lsn"
  | "record-too-large";

/** Where parsing stopped on an invalid chunk. */
export interface InvalidChunk {
  /** Start of the record the bad chunk belongs to: everything from here on is not trusted. */
  readonly cut: number;
  /** Offset of the chunk that failed. */
  readonly chunkOffset: number;
  /**
   * Where the failed chunk ends, when its framing (length and checksum) is sound and only its
   * place in the record stream is wrong; null when its bytes cannot be trusted at all.
   */
  readonly chunkEnd: number | null;
  readonly reason: InvalidReason;
}

const READ_WINDOW_BLOCKS = 32;

/**
 * Streams the records of one segment between two offsets. Holds the partial record between
 * windows; every record is checked (checksum seeded with the segment id, chunk order, LSN order).
 */
export class SegmentParser {
  readonly segmentId: number;
  readonly firstLsn: number;
  readonly blockBytes: number;
  readonly recordBytesMax: number;
  /** Next offset to parse (always a chunk boundary or a padding start). */
  position: number;
  /** The LSN the next record must have. */
  expectedLsn: number;
  /** In skip mode LSNs only have to increase (records may be missing after a gap). */
  lsnMayJump = false;
  /** Offset of the chunk that started the record being assembled, or -1. */
  private recordStart = -1;
  private recordLsn = 0;
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private readonly crcSeed: number;
  private readonly varint: VarintResult = { value: 0, next: 0 };

  constructor(options: { segmentId: number; firstLsn: number; blockBytes: number; recordBytesMax: number; position?: number; expectedLsn?: number }) {
    this.segmentId = options.segmentId;
    this.firstLsn = options.firstLsn;
    this.blockBytes = options.blockBytes;
    this.recordBytesMax = options.recordBytesMax;
    this.position = Math.max(options.position ?? SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES);
    this.expectedLsn = options.expectedLsn ?? options.firstLsn;
    this.crcSeed = segmentCrcSeed(options.segmentId);
  }

  /** True while a FIRST chunk has been read and its LAST not yet. */
  get inRecord(): boolean {
    return this.recordStart >= 0;
  }

  /** Where the record being assembled started (meaningful while `inRecord`). */
  get partialRecordStart(): number {
    return this.recordStart;
  }

  /** Forgets a partly assembled record (after an invalid chunk, in skip mode). */
  dropPartialRecord(): void {
    this.recordStart = -1;
    this.parts = [];
    this.partsBytes = 0;
  }

  /**
   * Parses the bytes `window` (which hold the segment from `windowOffset`) up to segment offset
   * `limit`, pushing complete records onto `out`. Returns null when it reached `limit` or the end
   * of the window, or the first invalid chunk (then `position` stays at that chunk). With `out`
   * null, records are checked and counted (`expectedLsn` advances) but not built.
   * REQUIRES: `windowOffset <= position`, the window ends at a block boundary or at `limit`, and
   * the window's bytes are never modified afterwards (records are views into them).
   */
  parse(window: Uint8Array, windowOffset: number, limit: number, out: WalRecord[] | null): InvalidChunk | null {
    const blockBytes = this.blockBytes;
    const end = Math.min(limit, windowOffset + window.length);
    let position = this.position;
    while (position < end) {
      const blockEnd = position - (position % blockBytes) + blockBytes;
      if (blockEnd - position < CHUNK_START_BYTES_MIN) {
        position = Math.min(blockEnd, end); // padding
        continue;
      }
      const at = position - windowOffset;
      if (end - position < CHUNK_HEADER_BYTES) {
        this.position = position;
        return this.invalid(position, "truncated");
      }
      const storedCrc = (window[at]! | (window[at + 1]! << 8) | (window[at + 2]! << 16) | (window[at + 3]! << 24)) >>> 0;
      const bodyBytes = window[at + 4]! | (window[at + 5]! << 8);
      const type = window[at + 6]!;
      const chunkEnd = position + CHUNK_HEADER_BYTES + bodyBytes;
      this.position = position;
      if (type === 0 && bodyBytes === 0 && storedCrc === 0) return this.invalid(position, "zeros");
      if (chunkEnd > blockEnd) return this.invalid(position, "length");
      if (chunkEnd > end) return this.invalid(position, "truncated");
      const bodyAt = at + CHUNK_HEADER_BYTES;
      if (unmaskCrc(storedCrc) !== crc32c(window.subarray(at + 4, bodyAt + bodyBytes), this.crcSeed)) {
        return this.invalid(position, "checksum");
      }
      if ((type & CHUNK_TYPE_SKIPPABLE_BIT) !== 0) {
        position = chunkEnd; // a newer writer's optional chunk: checked, then ignored
        continue;
      }
      if (type === ChunkType.Full || type === ChunkType.First) {
        // NB: the previous record never got its LAST chunk; this chunk itself is sound, so
        // `chunkEnd` points at it (a skipping reader resumes *at* it, not after it).
        if (this.recordStart >= 0) return this.invalid(position, "incomplete-record", position);
        const varint = readVarint(window, bodyAt, bodyAt + bodyBytes, this.varint);
        if (varint.next < 0) return this.invalid(position, "length");
        const lsn = this.firstLsn + varint.value;
        if (this.lsnMayJump ? lsn < this.expectedLsn : lsn !== this.expectedLsn) return this.invalid(position, "lsn", chunkEnd);
        const payload = window.subarray(varint.next, bodyAt + bodyBytes);
        if (type === ChunkType.Full) {
          out?.push({ lsn, data: payload });
          this.expectedLsn = lsn + 1;
          this.lsnMayJump = false;
        } else {
          this.recordStart = position;
          this.recordLsn = lsn;
          this.parts = out === null ? [] : [payload];
          this.partsBytes = payload.length;
        }
      } else if (type === ChunkType.Middle || type === ChunkType.Last) {
        if (this.recordStart < 0) return this.invalid(position, "orphan-chunk", chunkEnd);
        const payload = window.subarray(bodyAt, bodyAt + bodyBytes);
        this.partsBytes += payload.length;
        if (this.partsBytes > this.recordBytesMax) return this.invalid(position, "record-too-large", chunkEnd);
        if (out !== null) this.parts.push(payload);
        if (type === ChunkType.Last) {
          out?.push({ lsn: this.recordLsn, data: concat(this.parts, this.partsBytes) });
          this.expectedLsn = this.recordLsn + 1;
          this.lsnMayJump = false;
          this.dropPartialRecord();
        }
      } else {
        return this.invalid(position, "unknown-type");
      }
      position = chunkEnd;
    }
    this.position = position;
    return null;
  }

  private invalid(chunkOffset: number, reason: InvalidReason, chunkEnd: number | null = null): InvalidChunk {
    return { cut: this.recordStart >= 0 ? this.recordStart : chunkOffset, chunkOffset, chunkEnd, reason };
  }
}

function concat(parts: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One window's worth of a segment: the records it completed, and how reading stopped. */
export interface WindowResult {
  readonly records: WalRecord[];
  /** The first invalid chunk, or null. */
  readonly invalid: InvalidChunk | null;
  /** True when `limit` was reached (or the chunk was invalid): no more windows to read. */
  readonly done: boolean;
}

/**
 * Reads and parses the next window (up to 32 blocks) of a segment, from `parser.position`
 * towards `limit`. Reaching `limit` (or the end of the file) in the middle of a record is
 * reported as an invalid "truncated" chunk at the record's start.
 */
export async function readWindow(file: File, parser: SegmentParser, limit: number, collect = true): Promise<WindowResult> {
  const records: WalRecord[] = [];
  if (parser.position >= limit) {
    return { records, invalid: parser.inRecord ? truncatedAt(parser) : null, done: true };
  }
  // Windows start at a block boundary so that a chunk never straddles two windows.
  const windowOffset = parser.position - (parser.position % parser.blockBytes);
  const length = Math.min(parser.blockBytes * READ_WINDOW_BLOCKS, limit - windowOffset);
  const window = await readAt(file, windowOffset, length);
  const windowLimit = Math.min(limit, windowOffset + window.length);
  const invalid = parser.parse(window, windowOffset, windowLimit, collect ? records : null);
  if (invalid !== null) return { records, invalid, done: true };
  if (window.length < length) {
    // The file ends before `limit`: whatever should follow is missing.
    return { records, invalid: truncatedAt(parser), done: true };
  }
  if (parser.position >= limit) {
    return { records, invalid: parser.inRecord ? truncatedAt(parser) : null, done: true };
  }
  return { records, invalid: null, done: false };
}

function truncatedAt(parser: SegmentParser): InvalidChunk {
  return { cut: parser.inRecord ? parser.partialRecordStart : parser.position, chunkOffset: parser.position, chunkEnd: null, reason: "truncated" };
}

/**
 * Moves a parser past an invalid chunk, for readers that skip damage: past the chunk alone when
 * its framing is sound, else to the next block (where chunks start again). The partial record
 * is dropped, and the next LSN may be higher than expected (records were lost in between).
 */
export function skipInvalid(parser: SegmentParser, invalid: InvalidChunk): void {
  parser.dropPartialRecord();
  parser.lsnMayJump = true;
  parser.position =
    invalid.chunkEnd !== null
      ? invalid.chunkEnd
      : invalid.chunkOffset - (invalid.chunkOffset % parser.blockBytes) + parser.blockBytes;
}

/**
 * True when any valid chunk after `afterOffset` (anywhere when it is negative) promises a synced
 * offset beyond `cut`: then the damage at `cut` is in bytes the writer had made durable, so it is
 * corruption, not a torn tail (invariant 8).
 *
 * NB: the rest of the damaged block is searched too, byte by byte: the damaged chunk's length
 * cannot be trusted, but the chunks after it in the same block are still intact. A small log
 * (the MANIFEST: every record in its first block) would otherwise read a flipped bit in an old
 * record as a torn tail and silently drop every later record. Every other block is resynced the
 * same way after an invalid chunk. A candidate needs a known chunk type and a length inside its
 * block before its checksum (seeded with the segment id) is computed, which keeps the search
 * cheap over zeros and garbage.
 */
export async function syncPromiseBeyond(
  file: File,
  segmentId: number,
  blockBytes: number,
  afterOffset: number,
  cut: number,
  fileBytes: number,
): Promise<boolean> {
  const seed = segmentCrcSeed(segmentId);
  const windowBytes = blockBytes * READ_WINDOW_BLOCKS;
  const from = afterOffset < 0 ? 0 : afterOffset + 1;
  let blockStart = from - (from % blockBytes);
  while (blockStart < fileBytes) {
    const window = await readAt(file, blockStart, Math.min(windowBytes, fileBytes - blockStart));
    for (let blockAt = 0; blockAt < window.length; blockAt += blockBytes) {
      const blockEnd = Math.min(blockAt + blockBytes, window.length);
      // Block 0 starts with the segment header.
      let at = Math.max(blockStart + blockAt === 0 ? SEGMENT_HEADER_BYTES : blockAt, from - blockStart);
      while (blockEnd - at >= CHUNK_START_BYTES_MIN) {
        const type = window[at + 6]!;
        const knownType = (type & CHUNK_TYPE_SKIPPABLE_BIT) !== 0 || (type >= ChunkType.Full && type <= ChunkType.Last);
        const bodyBytes = window[at + 4]! | (window[at + 5]! << 8);
        const chunkEnd = at + CHUNK_HEADER_BYTES + bodyBytes;
        if (!knownType || chunkEnd > blockEnd) {
          at++;
          continue;
        }
        const storedCrc = (window[at]! | (window[at + 1]! << 8) | (window[at + 2]! << 16) | (window[at + 3]! << 24)) >>> 0;
        if (unmaskCrc(storedCrc) !== crc32c(window.subarray(at + 4, chunkEnd), seed)) {
          at++;
          continue;
        }
        const synced = (window[at + 7]! | (window[at + 8]! << 8) | (window[at + 9]! << 16) | (window[at + 10]! << 24)) >>> 0;
        if (synced > cut) return true;
        at = chunkEnd;
      }
    }
    blockStart += window.length;
    if (window.length === 0) break;
  }
  return false;
}
