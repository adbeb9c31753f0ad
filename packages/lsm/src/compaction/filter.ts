/**
 * `CompactionIterator`: decides, entry by entry, what a flush or compaction writes. The rules are
 * LevelDB's (`DBImpl::DoCompactionWork`, `db/db_impl.cc`) generalised to several snapshots the
 * way RocksDB's `CompactionIterator` does it, with snapshot "stripes":
 *
 * ```
 *   snapshots s1 < s2 < ... < sk, plus "latest"
 *   stripe of an entry = the first snapshot whose sequence is >= the entry's (k+1 = latest)
 *
 *   seq:      1   2   3 | 4   5 | 6   7   8 ...
 *   stripe:   ----0---- s1 --1-- s2 ------2------ latest      (s1 = 3, s2 = 5)
 * ```
 *
 * A reader at snapshot s_j sees, for each key, the newest version with sequence <= s_j: the
 * newest entry of stripe j if the stripe has one, else the newest of a lower stripe. So the newest
 * entry of each stripe is kept and the others are dropped (shadowed): no reader can see them.
 *
 * A tombstone that is the newest entry of stripe 0 (sequence <= the oldest snapshot, or any
 * sequence when there is no snapshot) is dropped too when no deeper level may hold the key: every
 * reader that saw it saw "no value", and after dropping it (and, as shadowed, the older versions
 * of stripe 0) they still find none. A tombstone in a higher stripe must stay: a snapshot of that
 * stripe would otherwise see an older version of a lower stripe come back.
 */
import { CorruptionError } from "@auradb/fs";
import { compareBytes } from "../compare.ts";
import { ByteBuffer } from "../iterators/_byte-buffer.ts";
import { type InternalIterator, SEQUENCE_MAX, ValueKind } from "../types.ts";

/** What a `CompactionIterator` knows of the tree around the compaction. */
export interface CompactionIteratorOptions {
  /**
   * Sequence numbers of the live snapshots, ascending (duplicates allowed). Default none: only
   * the newest version of each key is kept.
   */
  readonly snapshots?: readonly number[];
  /**
   * True when the output is the deepest data of the tree (no level below may hold any key):
   * tombstones of stripe 0 are dropped without asking `keyMayExistBelow`. Default false.
   */
  readonly bottommost?: boolean;
  /**
   * Asked, when not `bottommost`, for each tombstone that could otherwise be dropped: return false
   * only when no level below the output may hold `key` (for example: no deeper table's key range
   * contains it). Without it (and not bottommost), every such tombstone is kept: always safe.
   * `key` is a view valid during the call.
   */
  readonly keyMayExistBelow?: (key: Uint8Array) => boolean;
  /**
   * Called for each dropped `PutPointer` version (the value it points at is now garbage, for the
   * value log's accounting). Arrays are views valid during the call. Must not move the input.
   */
  readonly onDropPointer?: (key: Uint8Array, seq: number, value: Uint8Array) => void;
}

/** What a compaction did, for stats and logs. Updated as the iterator advances. */
export interface CompactionCounters {
  /** Entries read from the input. */
  entriesIn: number;
  /** Entries yielded (to write). */
  entriesOut: number;
  /** Versions no reader can see (an entry of the same key and stripe is newer). */
  droppedShadowed: number;
  /** Tombstones that no reader needs and that hide nothing below. */
  droppedTombstones: number;
}

/**
 * The entries of a merged compaction input that must be written, in internal order: for each
 * key, the newest version of each snapshot stripe, minus droppable tombstones (module comment).
 * Its output is a subsequence of its input, so it is strictly increasing when the input is.
 *
 * Contract:
 * - An `InternalIterator` that moves forward only: `seekToFirst`, `seek`, `next` work;
 *   `seekToLast`, `seekForPrev` and `prev` throw a TypeError (a compaction reads each input once,
 *   front to back; going backwards would need to buffer every version of a key).
 * - The constructor starts from the input's current position, so a caller may position the
 *   input first (`input.seekToFirst()`) and read right away; REQUIRES that position be the first
 *   (newest) version of its key, or the input be invalid.
 * - The input is owned: `close()` closes it. A second `close()` throws a TypeError.
 * - `key()`/`value()` are the input's arrays: valid until this iterator moves.
 * - @throws CorruptionError when the input goes backwards (a key smaller than the previous one,
 *   or a version not older than the previous one of its key): writing it would corrupt a table.
 */
export class CompactionIterator implements InternalIterator {
  /** Counters of what went in, what came out and what was dropped, kept up to date. */
  readonly counters: CompactionCounters = { entriesIn: 0, entriesOut: 0, droppedShadowed: 0, droppedTombstones: 0 };
  private readonly input: InternalIterator;
  private readonly snapshots: readonly number[];
  private readonly bottommost: boolean;
  private readonly keyMayExistBelow: ((key: Uint8Array) => boolean) | undefined;
  private readonly onDropPointer: ((key: Uint8Array, seq: number, value: Uint8Array) => void) | undefined;
  private positioned = false;
  private closed = false;

  // The key being processed (a copy: the input's view dies when it moves), the stripe and the
  // sequence of its previous (newer) version.
  private readonly groupKey = new ByteBuffer();
  private inGroup = false;
  private previousStripe = -1;
  private previousSeq = 0;

  /**
   * @param input the merged compaction inputs; ownership moves here.
   * @throws RangeError when `snapshots` is not ascending safe integers.
   */
  constructor(input: InternalIterator, options: CompactionIteratorOptions = {}) {
    const snapshots = options.snapshots ?? [];
    for (let index = 0; index < snapshots.length; index++) {
      const snapshot = snapshots[index]!;
      if (!Number.isSafeInteger(snapshot) || snapshot < 0) throw new RangeError(`auradb/lsm: snapshot sequence must be a safe integer >= 0, got ${snapshot}`);
      if (index > 0 && snapshot < snapshots[index - 1]!) throw new RangeError("auradb/lsm: snapshots must be in ascending order");
    }
    this.input = input;
    this.snapshots = snapshots.slice();
    this.bottommost = options.bottommost === true;
    this.keyMayExistBelow = options.keyMayExistBelow;
    this.onDropPointer = options.onDropPointer;
    try {
      this.findNext();
    } catch (error) {
      // The caller gets no iterator to close: release the input here.
      this.closed = true;
      try {
        input.close();
      } catch {
        // NB: the first error is the one worth reporting.
      }
      throw error;
    }
  }

  valid(): boolean {
    return this.positioned;
  }

  key(): Uint8Array {
    this.requireEntry();
    return this.input.key();
  }

  seq(): number {
    this.requireEntry();
    return this.input.seq();
  }

  kind(): ValueKind {
    this.requireEntry();
    return this.input.kind();
  }

  value(): Uint8Array {
    this.requireEntry();
    return this.input.value();
  }

  seekToFirst(): void {
    this.checkOpen();
    this.positioned = false;
    this.inGroup = false;
    this.input.seekToFirst();
    this.findNext();
  }

  /**
   * Positions at the first entry to write that is >= (target, seq) in internal order. The input
   * is sought to the newest version of `target`, so the decisions about `target`'s versions are
   * the same as in a full pass.
   */
  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.checkOpen();
    this.positioned = false;
    this.inGroup = false;
    this.input.seek(target, SEQUENCE_MAX);
    this.findNext();
    while (this.positioned && this.input.seq() > seq && compareBytes(this.input.key(), target) === 0) this.next();
  }

  seekToLast(): void {
    throw new TypeError("auradb/lsm: a CompactionIterator moves forward only");
  }

  seekForPrev(_target: Uint8Array): void {
    throw new TypeError("auradb/lsm: a CompactionIterator moves forward only");
  }

  next(): void {
    this.requireEntry();
    this.input.next();
    this.findNext();
  }

  prev(): void {
    throw new TypeError("auradb/lsm: a CompactionIterator moves forward only");
  }

  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator closed twice");
    this.closed = true;
    this.positioned = false;
    this.input.close();
  }

  /** From the input's position: the first entry to keep. */
  private findNext(): void {
    const input = this.input;
    const counters = this.counters;
    while (input.valid()) {
      counters.entriesIn++;
      const key = input.key();
      const seq = input.seq();
      const kind = input.kind();
      if (this.inGroup) {
        const order = this.groupKey.compareFrom(key);
        if (order < 0) throw new CorruptionError("auradb/lsm: compaction input out of order (key smaller than the previous one)");
        if (order > 0) this.startGroup(key);
        else if (seq > this.previousSeq) throw new CorruptionError("auradb/lsm: compaction input out of order (a version newer than the previous one)");
      } else {
        this.startGroup(key);
      }
      const stripe = this.stripeOf(seq);
      const newestOfStripe = stripe !== this.previousStripe;
      // NB: the same sequence twice is one write seen through two sources (a memtable and the
      // table it was flushed to): drop the copy, but it is no garbage for the value log.
      const duplicate = !newestOfStripe && seq === this.previousSeq;
      this.previousStripe = stripe;
      this.previousSeq = seq;
      if (!newestOfStripe) {
        counters.droppedShadowed++;
        if (kind === ValueKind.PutPointer && !duplicate && this.onDropPointer !== undefined) this.onDropPointer(key, seq, input.value());
        input.next();
        continue;
      }
      if (kind === ValueKind.Delete && stripe === 0 && this.hidesNothingBelow(key)) {
        // The older versions of stripe 0 that follow are dropped as shadowed by this tombstone.
        counters.droppedTombstones++;
        input.next();
        continue;
      }
      counters.entriesOut++;
      this.positioned = true;
      return;
    }
    this.positioned = false;
  }

  private hidesNothingBelow(key: Uint8Array): boolean {
    if (this.bottommost) return true;
    return this.keyMayExistBelow !== undefined && !this.keyMayExistBelow(key);
  }

  private startGroup(key: Uint8Array): void {
    this.groupKey.set(key);
    this.inGroup = true;
    this.previousStripe = -1;
    this.previousSeq = SEQUENCE_MAX;
  }

  /** Index of the first snapshot >= seq; snapshots.length when seq is newer than all of them. */
  private stripeOf(seq: number): number {
    const snapshots = this.snapshots;
    let low = 0;
    let high = snapshots.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (snapshots[middle]! < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private requireEntry(): void {
    if (!this.positioned) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator used after close");
  }
}
