/**
 * `UserIterator`: what the engine shows of the tree. It turns internal entries (every version of
 * every key, tombstones included) into user entries: one per live key, the newest version visible
 * at a snapshot, within bounds, in either direction, up to a limit. LevelDB's `DBIter`
 * (`db/db_iter.cc`), one direction per iterator.
 */
import { compareBytes } from "../compare.ts";
import { copyBytes } from "../copy.ts";
import { type InternalIterator, SEQUENCE_MAX, ValueKind } from "../types.ts";
import { ByteBuffer } from "./_byte-buffer.ts";

/** How a `UserIterator` reads: snapshot, bounds, direction, limit. */
export interface UserIteratorOptions {
  /** Snapshot sequence: versions with a higher sequence are invisible. Default SEQUENCE_MAX. */
  readonly seq?: number;
  /** Only keys > gt. With `gte` too, the stricter bound applies. */
  readonly gt?: Uint8Array;
  /** Only keys >= gte. */
  readonly gte?: Uint8Array;
  /** Only keys < lt. With `lte` too, the stricter bound applies. */
  readonly lt?: Uint8Array;
  /** Only keys <= lte. */
  readonly lte?: Uint8Array;
  /** Descending key order. The entries are those of the forward order, reversed. */
  readonly reverse?: boolean;
  /**
   * Yield at most this many entries. Undefined, a negative number or Infinity: no limit (-1 is
   * abstract-level's "no limit").
   */
  readonly limit?: number;
}

/**
 * Entries handed out together by `UserIterator.nextBatch`: parallel arrays, index i is one entry.
 * Keys and values are copies the caller owns.
 */
export interface EntryBatch {
  readonly keys: Uint8Array[];
  readonly values: Uint8Array[];
  /** `ValueKind.Put` or `ValueKind.PutPointer` (never Delete). */
  readonly kinds: ValueKind[];
}

const NO_ENTRY = -1;

/**
 * A cursor over user entries: for each key in range whose newest version visible at the snapshot
 * is not a tombstone, that version.
 *
 * Contract:
 * - The constructor positions the iterator on its first entry (the smallest key in range, or the
 *   largest with `reverse`); `valid()` says whether there is one. `seek(target)` repositions.
 * - The input is owned: `close()` closes it. A second `close()` throws a TypeError.
 * - `kind()` is `Put` or `PutPointer`: a pointer is yielded as-is (its value is the encoded value
 *   pointer), for the engine to resolve. Tombstones are never yielded.
 * - Lifetime: `key()` and `value()` return views (of the input's arrays going forward, of
 *   buffers this iterator reuses in reverse), valid until the next `next()`, `nextBatch()`,
 *   `seek()` or `close()`. Copy to keep. `nextBatch` returns copies.
 * - The input must not be moved by anyone else while this iterator lives.
 * - Errors thrown by the input propagate; the iterator is then invalid until a successful `seek`.
 *
 * Why the reverse direction copies: in internal order a key's newest version comes first, so
 * going backwards the oldest version is met first. The iterator must walk the whole group (and
 * one entry past it) to know which version is the newest visible one, by which time the input
 * no longer points at it; so the candidate is copied into reused buffers, as `DBIter` does with
 * `saved_key_` and `saved_value_`.
 */
export class UserIterator {
  private readonly input: InternalIterator;
  private readonly snapshotSeq: number;
  private readonly reverse: boolean;
  private readonly lowerKey: Uint8Array | null;
  private readonly lowerInclusive: boolean;
  private readonly upperKey: Uint8Array | null;
  private readonly upperInclusive: boolean;
  /** The bounds exclude every key: the input is never touched. */
  private readonly emptyRange: boolean;
  /** The `limit` option (Infinity: none). */
  private readonly limit: number;
  /** Entries that may still be yielded (Infinity: no limit). */
  private remaining: number;
  private positioned = false;
  private closed = false;

  // Forward: a copy of the key whose remaining (older) versions must be skipped: the key last
  // yielded, a key whose newest visible version is a tombstone, or an exclusive lower bound.
  private readonly skipKey = new ByteBuffer();
  private skipping = false;

  // Reverse: copies of the entry found (the input has moved past it).
  private readonly savedKey = new ByteBuffer();
  private readonly savedValue = new ByteBuffer(256);
  private savedSeq = 0;
  private savedKind: number = NO_ENTRY;


  /**
   * @param input a sorted source of internal entries (usually a `MergingIterator` over memtables,
   *   L0 tables and level iterators); ownership moves here; it need not be positioned.
   * @throws RangeError for a `seq` or `limit` that is not an integer in range.
   */
  constructor(input: InternalIterator, options: UserIteratorOptions = {}) {
    const seq = options.seq ?? SEQUENCE_MAX;
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`auradb/lsm: seq must be a safe integer >= 0, got ${seq}`);
    const limit = options.limit;
    if (limit !== undefined && !Number.isInteger(limit) && limit !== Infinity) throw new RangeError(`auradb/lsm: limit must be an integer, got ${limit}`);
    this.input = input;
    this.snapshotSeq = seq;
    this.reverse = options.reverse === true;
    this.limit = limit === undefined || limit < 0 ? Infinity : limit;
    this.remaining = this.limit;

    // The stricter of gt/gte, and of lt/lte; at equal keys the exclusive bound is the stricter.
    let lowerKey: Uint8Array | null = options.gte ?? null;
    let lowerInclusive = true;
    if (options.gt !== undefined && (lowerKey === null || compareBytes(options.gt, lowerKey) >= 0)) {
      lowerKey = options.gt;
      lowerInclusive = false;
    }
    let upperKey: Uint8Array | null = options.lte ?? null;
    let upperInclusive = true;
    if (options.lt !== undefined && (upperKey === null || compareBytes(options.lt, upperKey) <= 0)) {
      upperKey = options.lt;
      upperInclusive = false;
    }
    this.lowerKey = lowerKey;
    this.lowerInclusive = lowerInclusive;
    this.upperKey = upperKey;
    this.upperInclusive = upperInclusive;
    let emptyRange = false;
    if (lowerKey !== null && upperKey !== null) {
      const order = compareBytes(lowerKey, upperKey);
      emptyRange = order > 0 || (order === 0 && !(lowerInclusive && upperInclusive));
    }
    this.emptyRange = emptyRange;
    try {
      this.position(null);
    } catch (error) {
      // The caller gets no iterator to close: release the input here.
      this.closed = true;
      try {
        input.close();
      } catch {
        // NB: the positioning error is the one worth reporting.
      }
      throw error;
    }
  }

  valid(): boolean {
    return this.positioned;
  }

  /** The current key (REQUIRES valid()); a view valid until this iterator moves. */
  key(): Uint8Array {
    this.requireEntry();
    if (!this.reverse) return this.input.key();
    return this.savedKey.current();
  }

  /**
   * The current value (REQUIRES valid()): the bytes for `Put`, the encoded value pointer for
   * `PutPointer`. A view valid until this iterator moves.
   */
  value(): Uint8Array {
    this.requireEntry();
    if (!this.reverse) return this.input.value();
    return this.savedValue.current();
  }

  /** `ValueKind.Put` or `ValueKind.PutPointer` (REQUIRES valid()). */
  kind(): ValueKind {
    this.requireEntry();
    return this.reverse ? (this.savedKind as ValueKind) : this.input.kind();
  }

  /** The sequence number of the version yielded (REQUIRES valid()). */
  seq(): number {
    this.requireEntry();
    return this.reverse ? this.savedSeq : this.input.seq();
  }

  /** Moves to the next entry in iteration order (REQUIRES valid()). */
  next(): void {
    this.requireEntry();
    if (this.remaining === 0) {
      this.positioned = false;
      return;
    }
    if (this.reverse) {
      // The input already sits before the group just yielded.
      this.findReverse();
      return;
    }
    this.skipKey.set(this.input.key());
    this.skipping = true;
    this.input.next();
    this.findForward();
  }

  /**
   * Positions at the first entry at or after `target` in iteration order: the smallest key >=
   * target going forward, the largest key <= target in reverse; clamped to the bounds. The
   * limit keeps counting: every entry positioned on before the seek counts, or, with
   * `consumed`, only that many (a consumer that read ahead gives back what it never handed on).
   */
  seek(target: Uint8Array, consumed?: number): void {
    this.checkOpen();
    if (consumed !== undefined) {
      if (!Number.isInteger(consumed) || consumed < 0) throw new RangeError(`auradb/lsm: consumed must be an integer >= 0, got ${consumed}`);
      this.remaining = Math.max(0, this.limit - consumed);
    }
    this.position(target);
  }

  /**
   * Copies up to `max` entries, starting with the current one, into `batch` (cleared first; a
   * new one when omitted) and moves past them. Fewer than `max` means the end was reached.
   * Lets an async consumer take many entries per await.
   *
   * The copies are owned by the caller. NB: like Node's `Buffer` pool, small keys and values are
   * views of shared slabs (`copyBytes`: one allocation per slab instead of one
   * ArrayBuffer per array, the main per-entry cost on V8): keeping one of them alive keeps its
   * slab alive; `.slice()` it to keep it alone.
   */
  nextBatch(max: number, batch: EntryBatch = { keys: [], values: [], kinds: [] }): EntryBatch {
    if (!(max >= 0)) throw new RangeError(`auradb/lsm: max must be >= 0, got ${max}`);
    batch.keys.length = 0;
    batch.values.length = 0;
    batch.kinds.length = 0;
    for (let count = 0; count < max && this.positioned; count++) {
      batch.keys.push(copyBytes(this.key()));
      batch.values.push(copyBytes(this.value()));
      batch.kinds.push(this.kind());
      this.next();
    }
    return batch;
  }

  /** Closes the input. A second call throws a TypeError. */
  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator closed twice");
    this.closed = true;
    this.positioned = false;
    this.input.close();
  }

  /** Positions at the first entry in iteration order at or after `target` (null: the start). */
  private position(target: Uint8Array | null): void {
    this.positioned = false;
    if (this.emptyRange || this.remaining === 0) return;
    if (this.reverse) this.positionReverse(target);
    else this.positionForward(target);
  }

  private positionForward(target: Uint8Array | null): void {
    let startKey = this.lowerKey;
    let exclusive = !this.lowerInclusive;
    if (target !== null && (startKey === null || compareBytes(target, startKey) > 0)) {
      startKey = target;
      exclusive = false;
    }
    this.skipping = false;
    if (startKey === null) {
      this.input.seekToFirst();
    } else {
      // NB: seeking at the snapshot skips the invisible newer versions of startKey at once.
      this.input.seek(startKey, this.snapshotSeq);
      if (exclusive) {
        this.skipKey.set(startKey);
        this.skipping = true;
      }
    }
    this.findForward();
  }

  private positionReverse(target: Uint8Array | null): void {
    let endKey = this.upperKey;
    let exclusive = !this.upperInclusive;
    if (target !== null && (endKey === null || compareBytes(target, endKey) < 0)) {
      endKey = target;
      exclusive = false;
    }
    const input = this.input;
    if (endKey === null) {
      input.seekToLast();
    } else {
      input.seekForPrev(endKey);
      // seekForPrev lands on keys <= endKey; an exclusive bound excludes endKey's versions.
      if (exclusive) while (input.valid() && compareBytes(input.key(), endKey) === 0) input.prev();
    }
    this.findReverse();
  }

  /**
   * From the input's position forward: the first entry within the upper bound that is visible,
   * not an older version of the skipped key, and not a tombstone (a tombstone hides its key).
   */
  private findForward(): void {
    const input = this.input;
    const snapshotSeq = this.snapshotSeq;
    const upperKey = this.upperKey;
    while (input.valid()) {
      const key = input.key();
      if (this.skipping && this.skipKey.equals(key)) {
        input.next();
        continue;
      }
      if (upperKey !== null) {
        const order = compareBytes(key, upperKey);
        if (order > 0 || (order === 0 && !this.upperInclusive)) break;
      }
      if (input.seq() <= snapshotSeq) {
        // The newest visible version of `key` (older ones come after it).
        if (input.kind() !== ValueKind.Delete) {
          this.positioned = true;
          this.remaining--;
          return;
        }
        this.skipKey.set(key);
        this.skipping = true;
      }
      input.next();
    }
    this.positioned = false;
  }

  /**
   * From the input's position backward: the previous key whose newest visible version is not a
   * tombstone, copied; leaves the input on the last entry before that key's versions.
   */
  private findReverse(): void {
    const input = this.input;
    const snapshotSeq = this.snapshotSeq;
    const lowerKey = this.lowerKey;
    // Kind of the newest visible version met so far of the key being assembled, Delete when
    // there is none (nothing to yield yet).
    let kind: number = ValueKind.Delete;
    while (input.valid()) {
      const key = input.key();
      if (lowerKey !== null) {
        const order = compareBytes(key, lowerKey);
        if (order < 0 || (order === 0 && !this.lowerInclusive)) break;
      }
      if (input.seq() <= snapshotSeq) {
        let sameKey = false;
        if (kind !== ValueKind.Delete) {
          // A visible entry of an earlier key ends the group: the saved version is the answer.
          if (this.savedKey.compareFrom(key) < 0) break;
          sameKey = true;
        }
        // A newer visible version of the group's key (or the first one of a new key).
        kind = input.kind();
        if (kind !== ValueKind.Delete) this.save(sameKey ? null : key, kind);
      }
      input.prev();
    }
    if (kind === ValueKind.Delete) {
      this.positioned = false;
      return;
    }
    this.positioned = true;
    this.remaining--;
  }

  /** Copies the input's entry (its key unless `key` is null: same key as saved) for reverse. */
  private save(key: Uint8Array | null, kind: number): void {
    const input = this.input;
    if (key !== null) this.savedKey.set(key);
    this.savedValue.set(input.value());
    this.savedSeq = input.seq();
    this.savedKind = kind;
  }

  private requireEntry(): void {
    if (!this.positioned) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator used after close");
  }
}
