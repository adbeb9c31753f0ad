/**
 * Encodes entries (docs/format/vlog.md) into a growable buffer, ready for one positional write
 * per group commit.
 */
import { ENTRY_HEADER_BYTES, encodeEntryInto, fileCrcSeed } from "./format.ts";
import type { ValuePointer } from "./pointer.ts";

const INITIAL_BUFFER_BYTES = 64 * 1024;
/**
 * A buffer grown past this for one huge group is dropped once written (bounded memory); smaller
 * ones are kept, because regrowing them for every group of large values costs more than the write.
 */
const KEPT_BUFFER_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The bytes of one file that are encoded but not yet handed to a write. `startOffset` is where
 * the first of them goes in the file; `endOffset` is where the next entry will go.
 */
export class EntryEncoder {
  readonly fileNumber: number;
  private readonly crcSeed: number;
  private buffer: Uint8Array;
  /** The buffer last handed out by `take`, reused once its write is done. */
  private spare: Uint8Array;
  private length = 0;
  private start: number;

  constructor(fileNumber: number, startOffset: number) {
    this.fileNumber = fileNumber;
    this.crcSeed = fileCrcSeed(fileNumber);
    this.buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
    this.spare = new Uint8Array(0);
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
   * Appends one entry (the key and value are copied: the caller may reuse them at once) and
   * returns its pointer.
   */
  encode(key: Uint8Array, value: Uint8Array, seq: number): ValuePointer {
    const size = ENTRY_HEADER_BYTES + key.length + value.length;
    this.reserve(size);
    const offset = this.start + this.length;
    const crc = encodeEntryInto(this.buffer, this.length, key, value, seq, this.crcSeed);
    this.length += size;
    return { fileNumber: this.fileNumber, offset, size, crc };
  }

  /**
   * Hands over the encoded bytes and starts a new run at the end offset. The bytes stay valid
   * until the following `take` (double buffering: one group is written while the next one is
   * encoded). REQUIRES: the write of the previous `take`'s bytes is done.
   */
  take(): Uint8Array {
    const bytes = this.buffer.subarray(0, this.length);
    this.start += this.length;
    this.length = 0;
    const next = this.spare.length >= INITIAL_BUFFER_BYTES ? this.spare : new Uint8Array(INITIAL_BUFFER_BYTES);
    this.spare = this.buffer;
    this.buffer = next;
    return bytes;
  }

  /** Called once the bytes of the last `take` are written: drops a huge buffer (bounded memory). */
  written(): void {
    if (this.spare.length > KEPT_BUFFER_BYTES_MAX) this.spare = new Uint8Array(0);
  }

  private reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.buffer.length) return;
    // NB: doubling amortises many small entries; one huge entry gets exactly its size.
    const capacity = Math.max(needed, this.buffer.length * 2, INITIAL_BUFFER_BYTES);
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
