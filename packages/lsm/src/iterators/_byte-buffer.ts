/**
 * `ByteBuffer`: a reusable, growable copy of one byte string. Iterators keep a key (or value)
 * past the moment their source moves, since the source's arrays are only valid until it moves;
 * copying into one buffer reused for every entry costs a memcpy, not an allocation per entry.
 * Internal to `@auradb/lsm`.
 */

const INITIAL_BYTES = 64;

export class ByteBuffer {
  /** Backing store; bytes [0, length) are the copy. Replaced (not resized) when too small. */
  private bytes: Uint8Array;
  /** Length of the copy. */
  length = 0;
  /** Cached `bytes.subarray(0, length)`, made on demand. */
  private view: Uint8Array | null = null;

  constructor(initialBytes: number = INITIAL_BYTES) {
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Replaces the copy with `source`'s bytes. Views handed out before now see the change. */
  set(source: Uint8Array): void {
    const length = source.length;
    if (length > this.bytes.length) {
      // At least double, so that copies stay amortised O(1) while keys grow.
      this.bytes = new Uint8Array(Math.max(length, this.bytes.length * 2));
    }
    this.bytes.set(source);
    this.length = length;
    this.view = null;
  }

  /** The copy, as a view of the buffer: valid until the next `set`. */
  current(): Uint8Array {
    return (this.view ??= this.bytes.subarray(0, this.length));
  }

  /** True when `other` holds the same bytes as the copy. */
  equals(other: Uint8Array): boolean {
    const length = this.length;
    if (other.length !== length) return false;
    const bytes = this.bytes;
    // NB: from the end: neighbouring keys of a sorted run share prefixes and differ late.
    for (let index = length - 1; index >= 0; index--) if (other[index] !== bytes[index]) return false;
    return true;
  }

  /** compareBytes(other, copy): < 0, 0, > 0, without making a view. */
  compareFrom(other: Uint8Array): number {
    const length = this.length;
    const bytes = this.bytes;
    const shorter = other.length < length ? other.length : length;
    for (let index = 0; index < shorter; index++) {
      const difference = other[index]! - bytes[index]!;
      if (difference !== 0) return difference;
    }
    return other.length - length;
  }
}
