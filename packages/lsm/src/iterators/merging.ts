/**
 * `MergingIterator`: one sorted cursor over N sorted cursors (memtables, L0 tables, level
 * iterators), in both directions. The LevelDB `MergingIterator` design (`table/merger.cc`), with
 * two differences:
 * - Ties are broken by child index, which makes the merged order a total order even when two
 *   children hold the same internal key (a memtable and the table it was just flushed to, seen
 *   through one view). Every entry of every child is yielded exactly once, in both directions and
 *   across direction switches.
 * - The current entry of each child (key, seq, kind) is cached in arrays, so comparisons read
 *   fields instead of calling three methods per side.
 *
 * Selection is a binary heap (min-heap forward, max-heap in reverse), or a linear scan when there
 * are few children (measurements in the TSDoc of LINEAR_SCAN_CHILDREN_MAX).
 */
import { compareInternal } from "../compare.ts";
import { type InternalIterator, SEQUENCE_MAX, type ValueKind } from "../types.ts";

/**
 * Up to this many children, the merging iterator finds the next entry by a linear scan of the
 * children's current entries rather than by a heap. Measured with full forward scans over N
 * array-backed children (100k entries, 16-byte keys dealt uniformly, or 90% to one child), best
 * of 15 interleaved trials on a shared 2-core machine: on Node 24 and Bun 1.4 the scan is 6-32%
 * faster at N = 2 and 0-29% faster at N = 3; from N = 4 the heap wins (its sift-down stops after
 * 2 comparisons while the scan makes N - 1), by 1.3-2.5x at N = 8-12. Deno 2.9 (noisier runs)
 * agreed on the uniform keys but had the heap 13-22% ahead at N = 2-3 on the skewed ones.
 */
export const LINEAR_SCAN_CHILDREN_MAX = 3;

export interface MergingIteratorOptions {
  /**
   * Use a linear scan instead of a heap when there are at most this many children. Default
   * `LINEAR_SCAN_CHILDREN_MAX`. 0 always uses the heap; `Infinity` always scans. Both give the
   * same order; the option exists for benchmarks and tests.
   */
  readonly linearScanChildrenMax?: number;
}

/**
 * An `InternalIterator` over the union of its children, in internal order (ties between children
 * broken by child index: a lower index comes first in forward order).
 *
 * Contract (on top of `InternalIterator`'s):
 * - The children are owned: `close()` closes each of them once (all of them even if one throws;
 *   the first error is rethrown). A second `close()` throws a TypeError.
 * - The children need not be positioned; every positioning call positions all of them.
 * - `next()` after `prev()` (and the reverse) is correct and costs one seek per other child, as
 *   in LevelDB: direction switches are meant to be rare.
 * - `key()`/`value()` return the current child's arrays: valid until this iterator moves.
 * - After a child throws (corruption, I/O), the iterator is invalid until the next successful
 *   positioning call.
 */
export class MergingIterator implements InternalIterator {
  private readonly children: readonly InternalIterator[];
  /** Cached entry of each child: valid while `childValid[i]` (heap mode: while in the heap). */
  private readonly keys: Uint8Array[];
  private readonly seqs: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly childValid: Uint8Array;
  private readonly linear: boolean;
  /** Heap mode: indices of the valid children; `heap[0]` is the current child. */
  private readonly heap: Int32Array;
  private heapSize = 0;
  /** Index of the child whose entry is current; -1 when invalid. */
  private current = -1;
  private forward = true;
  private closed = false;

  /**
   * @param children sorted sources; ownership moves to the merging iterator.
   */
  constructor(children: readonly InternalIterator[], options: MergingIteratorOptions = {}) {
    const linearScanChildrenMax = options.linearScanChildrenMax ?? LINEAR_SCAN_CHILDREN_MAX;
    if (!(linearScanChildrenMax >= 0)) throw new RangeError(`auradb/lsm: linearScanChildrenMax must be >= 0, got ${linearScanChildrenMax}`);
    this.children = children.slice();
    const count = this.children.length;
    const empty = new Uint8Array(0);
    this.keys = Array.from({ length: count }, () => empty);
    this.seqs = new Float64Array(count);
    this.kinds = new Uint8Array(count);
    this.childValid = new Uint8Array(count);
    this.heap = new Int32Array(count);
    this.linear = count <= linearScanChildrenMax;
  }

  valid(): boolean {
    return this.current >= 0;
  }

  key(): Uint8Array {
    return this.keys[this.requireCurrent()]!;
  }

  seq(): number {
    return this.seqs[this.requireCurrent()]!;
  }

  kind(): ValueKind {
    return this.kinds[this.requireCurrent()] as ValueKind;
  }

  value(): Uint8Array {
    return this.children[this.requireCurrent()]!.value();
  }

  seekToFirst(): void {
    this.beginPositioning(true);
    for (const child of this.children) child.seekToFirst();
    this.rebuild();
  }

  seekToLast(): void {
    this.beginPositioning(false);
    for (const child of this.children) child.seekToLast();
    this.rebuild();
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.beginPositioning(true);
    for (const child of this.children) child.seek(target, seq);
    this.rebuild();
  }

  seekForPrev(target: Uint8Array): void {
    this.beginPositioning(false);
    for (const child of this.children) child.seekForPrev(target);
    this.rebuild();
  }

  next(): void {
    const current = this.requireCurrent();
    if (!this.forward) {
      // NB: in reverse every other child sits at its last entry before the current one. Forward
      // needs them at their first entry after it: re-seek them (LevelDB's direction switch).
      this.current = -1;
      this.repositionOthers(current, true);
      this.forward = true;
      this.children[current]!.next();
      this.rebuild();
      return;
    }
    this.children[current]!.next();
    this.advanced(current);
  }

  prev(): void {
    const current = this.requireCurrent();
    if (this.forward) {
      this.current = -1;
      this.repositionOthers(current, false);
      this.forward = false;
      this.children[current]!.prev();
      this.rebuild();
      return;
    }
    this.children[current]!.prev();
    this.advanced(current);
  }

  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator closed twice");
    this.closed = true;
    this.current = -1;
    this.heapSize = 0;
    let failure: unknown = null;
    for (const child of this.children) {
      try {
        child.close();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  }

  private requireCurrent(): number {
    const current = this.current;
    if (current < 0) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
    return current;
  }

  private beginPositioning(forward: boolean): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator used after close");
    // Invalid until the children are positioned, so that a child's throw leaves no stale entry.
    this.current = -1;
    this.forward = forward;
  }

  /** Reads child `index`'s entry into the cache; false when the child is exhausted. */
  private load(index: number): boolean {
    const child = this.children[index]!;
    if (!child.valid()) {
      this.childValid[index] = 0;
      return false;
    }
    this.keys[index] = child.key();
    this.seqs[index] = child.seq();
    this.kinds[index] = child.kind();
    this.childValid[index] = 1;
    return true;
  }

  /** True when child `a`'s entry comes before child `b`'s in the current direction. */
  private before(a: number, b: number): boolean {
    const keys = this.keys;
    const seqs = this.seqs;
    const kinds = this.kinds;
    const order = compareInternal(keys[a]!, seqs[a]!, kinds[a]!, keys[b]!, seqs[b]!, kinds[b]!) || a - b;
    return this.forward ? order < 0 : order > 0;
  }

  /**
   * Positions every child but `current` just past the current entry T = (entry, current) in the
   * merged order: forward at its first entry after T, in reverse at its last entry before T.
   */
  private repositionOthers(current: number, forward: boolean): void {
    const key = this.keys[current]!;
    const seq = this.seqs[current]!;
    const kind = this.kinds[current]!;
    for (let index = 0; index < this.children.length; index++) {
      if (index === current) continue;
      const child = this.children[index]!;
      // seek() ignores the kind and ties between children; the loop finishes the job and runs
      // at most a step or two (same key and sequence in several children).
      child.seek(key, seq);
      while (child.valid() && (compareInternal(child.key(), child.seq(), child.kind(), key, seq, kind) || index - current) < 0) child.next();
      if (forward) continue;
      // Now at the first entry after T (or exhausted): the one before it is the last before T.
      if (child.valid()) child.prev();
      else child.seekToLast();
    }
  }

  /** Reloads every child and selects the current one (after all children moved). */
  private rebuild(): void {
    const count = this.children.length;
    if (this.linear) {
      for (let index = 0; index < count; index++) this.load(index);
      this.current = this.scan();
      return;
    }
    let size = 0;
    for (let index = 0; index < count; index++) if (this.load(index)) this.heap[size++] = index;
    this.heapSize = size;
    for (let position = (size >>> 1) - 1; position >= 0; position--) this.siftDown(position);
    this.current = size > 0 ? this.heap[0]! : -1;
  }

  /** After the current child moved one step in the current direction. */
  private advanced(current: number): void {
    if (this.linear) {
      this.load(current);
      this.current = this.scan();
      return;
    }
    if (!this.load(current)) {
      // Exhausted: the last heap element replaces the root.
      const size = --this.heapSize;
      if (size === 0) {
        this.current = -1;
        return;
      }
      this.heap[0] = this.heap[size]!;
    }
    this.siftDown(0);
    this.current = this.heap[0]!;
  }

  private scan(): number {
    let best = -1;
    const count = this.children.length;
    for (let index = 0; index < count; index++) {
      if (this.childValid[index] === 1 && (best < 0 || this.before(index, best))) best = index;
    }
    return best;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const size = this.heapSize;
    let position = start;
    const moving = heap[position]!;
    for (;;) {
      let child = 2 * position + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.before(heap[right]!, heap[child]!)) child = right;
      if (!this.before(heap[child]!, moving)) break;
      heap[position] = heap[child]!;
      position = child;
    }
    heap[position] = moving;
  }
}
