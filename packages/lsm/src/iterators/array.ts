/**
 * `ArrayIterator`: the `InternalIterator` contract over a sorted array of entries held in memory.
 * It is the reference implementation of the contract (every seek is a binary search that states
 * the contract's rule in code), the source the iterator tests use in place of memtables and
 * tables, and a sorted source for small in-memory runs (for example entries a caller has already
 * collected and sorted).
 */
import { compareBytes, compareInternal } from "../compare.ts";
import { type InternalEntry, type InternalIterator, SEQUENCE_MAX, type ValueKind } from "../types.ts";

/**
 * An `InternalIterator` over `entries`, which must be in strictly increasing internal order
 * (user key ascending, sequence descending, kind descending).
 *
 * Ownership: the array and its entries are borrowed, not copied; `key()` and `value()` return the
 * entries' own arrays, which stay valid as long as the caller keeps them unchanged.
 *
 * @throws RangeError from the constructor when `entries` is not strictly increasing (O(n) check,
 *   cheap next to building the array).
 */
export class ArrayIterator implements InternalIterator {
  private readonly entries: readonly InternalEntry[];
  /** Position in `entries`; -1 or `entries.length` when not on an entry. */
  private index = -1;
  private closed = false;

  constructor(entries: readonly InternalEntry[]) {
    for (let index = 1; index < entries.length; index++) {
      const previous = entries[index - 1]!;
      const entry = entries[index]!;
      if (compareInternal(previous.key, previous.seq, previous.kind, entry.key, entry.seq, entry.kind) >= 0) {
        throw new RangeError(`auradb/lsm: ArrayIterator entries must be strictly increasing in internal order (index ${index})`);
      }
    }
    this.entries = entries;
  }

  valid(): boolean {
    return this.index >= 0 && this.index < this.entries.length;
  }

  key(): Uint8Array {
    return this.current().key;
  }

  seq(): number {
    return this.current().seq;
  }

  kind(): ValueKind {
    return this.current().kind;
  }

  value(): Uint8Array {
    return this.current().value;
  }

  seekToFirst(): void {
    this.checkOpen();
    this.index = 0;
  }

  seekToLast(): void {
    this.checkOpen();
    this.index = this.entries.length - 1;
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.checkOpen();
    // First entry with key > target, or key == target and sequence <= seq (the kind plays no part).
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = this.entries[middle]!;
      const byKey = compareBytes(entry.key, target);
      if (byKey < 0 || (byKey === 0 && entry.seq > seq)) low = middle + 1;
      else high = middle;
    }
    this.index = low;
  }

  seekForPrev(target: Uint8Array): void {
    this.checkOpen();
    // Last entry whose user key is <= target: one before the first entry whose key is > target.
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareBytes(this.entries[middle]!.key, target) <= 0) low = middle + 1;
      else high = middle;
    }
    this.index = low - 1;
  }

  next(): void {
    this.current();
    this.index++;
  }

  prev(): void {
    this.current();
    this.index--;
  }

  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator closed twice");
    this.closed = true;
    this.index = -1;
  }

  private current(): InternalEntry {
    const entry = this.entries[this.index];
    if (entry === undefined || this.index < 0) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
    return entry;
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator used after close");
  }
}
