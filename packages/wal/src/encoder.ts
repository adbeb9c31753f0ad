/**
 * Encodes records into chunks (docs/format/wal.md) in a growable buffer, ready for one
 * positional write per group commit.
 */
import { crc32c, maskCrc, varintLength, writeVarint } from "@auradb/fs";
import { CHUNK_HEADER_BYTES, CHUNK_START_BYTES_MIN, ChunkType, segmentCrcSeed } from "./format.ts";

/**
 * The bytes of one segment that are encoded but not yet written. `startOffset` is where
 * `bytes()[0]` goes in the segment; `endOffset` is where the next chunk will go.
 */
export class ChunkEncoder {
  readonly segmentId: number;
  readonly firstLsn: number;
  readonly blockBytes: number;
  private readonly crcSeed: number;
  private buffer: Uint8Array;
  /** The buffer last handed out by `take`, reused once the caller is done with it. */
  private spare: Uint8Array;
  private length = 0;
  private start: number;

  constructor(segmentId: number, firstLsn: number, blockBytes: number, startOffset: number) {
    this.segmentId = segmentId;
    this.firstLsn = firstLsn;
    this.blockBytes = blockBytes;
    this.crcSeed = segmentCrcSeed(segmentId);
    this.buffer = new Uint8Array(64 * 1024);
    this.spare = new Uint8Array(64 * 1024);
    this.start = startOffset;
  }

  get startOffset(): number {
    return this.start;
  }

  get endOffset(): number {
    return this.start + this.length;
  }

  /** Encoded bytes not yet taken. */
  get pendingBytes(): number {
    return this.length;
  }

  /**
   * Appends `record` as LSN `lsn`, each chunk promising `syncedOffset` (the offset up to which
   * the segment is durable now). REQUIRES: `lsn >= firstLsn`, LSNs consecutive per segment.
   */
  encode(record: Uint8Array, lsn: number, syncedOffset: number): void {
    const lsnDelta = lsn - this.firstLsn;
    const lsnBytes = varintLength(lsnDelta);
    const blockBytes = this.blockBytes;
    // Worst case: padding before the first chunk, one header per block touched, the varint.
    const chunkCountMax = Math.ceil((record.length + lsnBytes) / (blockBytes - CHUNK_HEADER_BYTES)) + 1;
    this.reserve(record.length + lsnBytes + CHUNK_START_BYTES_MIN + chunkCountMax * CHUNK_HEADER_BYTES);

    const buffer = this.buffer;
    let position = this.start + this.length; // segment offset
    let at = this.length; // buffer index of `position`
    let dataOffset = 0;
    let first = true;
    for (;;) {
      const leftInBlock = blockBytes - (position % blockBytes);
      const prefixBytes = first ? lsnBytes : 0;
      if (leftInBlock < CHUNK_START_BYTES_MIN) {
        // NB: too small for a chunk: pad with zeros; the reader skips to the next block.
        buffer.fill(0, at, at + leftInBlock);
        at += leftInBlock;
        position += leftInBlock;
        continue;
      }
      const payloadBytes = Math.min(record.length - dataOffset, leftInBlock - CHUNK_HEADER_BYTES - prefixBytes);
      const last = dataOffset + payloadBytes === record.length;
      const type = first ? (last ? ChunkType.Full : ChunkType.First) : last ? ChunkType.Last : ChunkType.Middle;
      const bodyBytes = prefixBytes + payloadBytes;
      buffer[at + 4] = bodyBytes & 0xff;
      buffer[at + 5] = bodyBytes >>> 8;
      buffer[at + 6] = type;
      buffer[at + 7] = syncedOffset & 0xff;
      buffer[at + 8] = (syncedOffset >>> 8) & 0xff;
      buffer[at + 9] = (syncedOffset >>> 16) & 0xff;
      buffer[at + 10] = (syncedOffset >>> 24) & 0xff;
      let bodyAt = at + CHUNK_HEADER_BYTES;
      if (first) bodyAt = writeVarint(buffer, bodyAt, lsnDelta);
      buffer.set(payloadBytes === record.length ? record : record.subarray(dataOffset, dataOffset + payloadBytes), bodyAt);
      const crc = maskCrc(crc32c(buffer.subarray(at + 4, at + CHUNK_HEADER_BYTES + bodyBytes), this.crcSeed));
      buffer[at] = crc & 0xff;
      buffer[at + 1] = (crc >>> 8) & 0xff;
      buffer[at + 2] = (crc >>> 16) & 0xff;
      buffer[at + 3] = crc >>> 24;
      at += CHUNK_HEADER_BYTES + bodyBytes;
      position += CHUNK_HEADER_BYTES + bodyBytes;
      dataOffset += payloadBytes;
      first = false;
      if (last) break;
    }
    this.length = at;
  }

  /**
   * Hands over the encoded bytes and starts a new run at the end offset. The bytes stay valid
   * until the following `take` (double buffering: one group is written while the next one is
   * encoded). REQUIRES: the caller is done with the previous `take`'s bytes.
   */
  take(): Uint8Array {
    const bytes = this.buffer.subarray(0, this.length);
    this.start += this.length;
    this.length = 0;
    const next = this.spare;
    this.spare = this.buffer;
    // NB: a buffer grown for one huge group is not kept forever (bounded memory), but buffers
    // of ordinary large groups are: regrowing them each time cost a third of a 4 KiB append run.
    this.buffer = next.length > 64 * 1024 * 1024 ? new Uint8Array(64 * 1024) : next;
    return bytes;
  }

  private reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
