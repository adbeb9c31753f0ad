/**
 * The memtable: the sorted, in-memory home of the newest writes until a flush turns it into an L0
 * table (docs/rfcs/20261124_engine.md, "Write path").
 *
 * ```ts
 * const memtable = new Memtable();
 * memtable.add(key, 7, ValueKind.Put, value);      // copies key and value
 * memtable.get(key, SEQUENCE_MAX)?.value;          // the newest version visible at that sequence
 * const iterator = memtable.iterator();            // internal order: key asc, seq desc
 * for (iterator.seekToFirst(); iterator.valid(); iterator.next()) flushEntry(iterator);
 * ```
 *
 * ## Structure, chosen by measurement (bench/memtable.ts)
 *
 * A B+tree of typed-array nodes, over an arena:
 * - Key and value are copied back to back into 256 KiB slabs (an entry over 64 KiB gets a buffer
 *   of its own): one `set` per key and per value, no allocation per entry.
 * - Nodes live in chunks of 128 nodes (one `Int32Array` each), so a node is a (chunk, offset) pair:
 *   no object per node, and the few chunk objects stay in cache.
 * - Every slot keeps its key's first 16 bytes inline (four big-endian words, sign-flipped so that
 *   int32 order is byte order), its length and its sequence number: comparing with a key of up to
 *   16 bytes never leaves the node. Longer keys compare their tails in the arena.
 * - Each node also keeps a sorted column of 4-byte *hints*: the key bytes just after the prefix
 *   that every key of the node shares (the common prefix of its fences, the separators around it,
 *   however long). A binary search reads that 128-byte column; a row is read only when two hints
 *   tie. So keys that share a long prefix (`tenant/0001/user/...`) still compare in the node: a
 *   split reads the arena only when it lengthens a node's prefix past the 16 inline bytes.
 * - Leaves are slotted pages: the hints and a byte per slot naming its row are kept in order,
 *   while rows stay where they were appended, so an insert shifts 5 bytes per later slot instead
 *   of a 44-byte row. A split puts both halves back in slot order.
 * - A split at either end of the tree leaves the full node full, so that ascending and descending
 *   inserts build full leaves (55 bytes of overhead per entry instead of 110; 80 for random).
 *
 * Why: at a million entries every structure is far larger than the CPU caches, and random inserts
 * and gets cost what their cache misses cost (about 100-250 ns each on the benchmark machine). A
 * skiplist reads ~30 nodes per search, each one a miss; this tree reads about one line per inner
 * level (the inner hint columns are small enough to stay cached) and two or three per leaf.
 *
 * Measured with `bench/memtable.ts` (M ops/s, wall-clock, median of 5, each repetition in a fresh
 * process; 1 M entries, 16-byte keys, 100-byte values; Node 24.21, Bun 1.4.5, Deno 2.9.6 on a
 * 2-vCPU VM shared with other jobs, load average 1.2-2.2; scans and seeks read a key and a value
 * byte of each entry):
 *
 *                          B+tree (this file)   skiplist, typed arrays  skiplist, objects
 *                          Node  Bun   Deno     Node  Bun   Deno        Node  Bun   Deno
 *     insert sequential    1.26  1.29  1.41     0.82  1.06  1.03        0.31  0.76  0.43
 *     insert random        1.10  0.68  0.89     0.28  0.27  0.31        0.05  0.07  0.08
 *     get present          0.99  0.84  1.06     0.21  0.23  0.30        0.04  0.06  0.07
 *     get absent           1.61  1.37  1.61     0.22  0.26  0.32        0.04  0.05  0.07
 *     iterate forward      2.86  1.40  3.26     1.96  1.49  2.76        1.84  1.26  1.99
 *     iterate reverse      3.07  1.47  3.13     2.10  1.41  2.95        1.96  3.87  2.60
 *     seek + next 10       0.20  0.10  0.22     0.08  0.07  0.10        0.03  0.04  0.06
 *     bytes per entry      197                  169                     ~359
 *
 * The typed skiplist keeps a node's links, 16 inline key bytes, length and sequence together in one
 * Int32Array (one cache line per step); it stays in bench/memtable.ts for the comparison. Earlier
 * designs, measured once each on Node with the same workload (random inserts / present gets, M/s):
 * skiplist with typed links but keys only in the arena 0.13 / 0.09; B+tree whose leaves hold entry
 * ids 0.40 / 0.28; B+tree with 16 inline key bytes in sorted rows 0.85 / 0.75; then chunked node
 * pools (no object per node: +25% gets), hint columns and slotted leaves gave this one.
 *
 * NB: a fresh process pays first-touch page faults on every new slab and node chunk (about 160 MB
 * per million such entries, 3-18 us per 4 KiB page on that VM): much of the insert time above. A
 * long-running engine does better once the allocator reuses the memory of dropped memtables
 * (3 M sequential inserts/s on Node from the third memtable on).
 *
 * ## Contracts
 * - Single-threaded, like all JavaScript: "concurrent" means an iterator is used between adds.
 *   Iterators stay valid across adds (see `Memtable.iterator`).
 * - Entries are never removed or changed; a memtable is dropped whole after its flush.
 * - Views handed out (`get(...).value`, iterator `key()`/`value()`) point into the arena, whose
 *   bytes never change: they stay valid as long as they are referenced (they keep their slab
 *   alive). Callers must not write to them.
 */
import { SEQUENCE_MAX, ValueKind, type InternalIterator } from "./types.ts";

// --- tuning (measured with bench/memtable.ts) ------------------------------------------------------

/** Bytes of one arena slab: keys and values are copied into slabs, back to back. */
const SLAB_BYTES = 256 * 1024;
/** An entry (key + value) larger than this gets a buffer of its own instead of a slab's tail. */
const SLAB_ENTRY_BYTES_MAX = SLAB_BYTES / 4;
/** Slots of a leaf (at most 256: the order column has a byte per slot). */
const LEAF_CAPACITY = 32;
/** Children of an inner node. */
const INNER_CAPACITY = 32;
/** Nodes per pool chunk, as a power of two: chunks never move (no copy when the tree grows). */
const CHUNK_SHIFT = 7;

// --- layout ------------------------------------------------------------------------------------------

/** Key bytes kept inline in every row, as four big-endian words. */
const INLINE_BYTES = 16;
/** XOR with this flips the sign bit: unsigned 32-bit order becomes int32 order. */
const SIGN = -2147483648;
const TWO_POW_32 = 4294967296;
const NIL = -1;
/** Far deeper than any tree that fits in memory (at least 16 children per inner node). */
const DEPTH_MAX = 64;
const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;

// Row layout (ints). A leaf row holds an entry; an inner row holds a separator (the key part).
// Words 0-3: the first 16 key bytes (zero padded); the sequence number is split in two int32s,
// the low half sign-flipped, so that both compare as int32.
const ROW_LENGTH = 4;
const ROW_SEQ_HIGH = 5;
const ROW_SEQ_LOW = 6;
const ROW_SLAB = 7;
/** Arena offset of the key; the value follows it. */
const ROW_OFFSET = 8;
/** Ints of the key part: 4 words, length, sequence (2), slab and offset. */
const ROW_KEY_INTS = 9;
const ROW_VALUE_LENGTH = 9;
const ROW_KIND = 10;
const LEAF_ROW_INTS = 11;
const INNER_ROW_INTS = ROW_KEY_INTS;

// Node layout (ints from the node's base). Both kinds start with the size and the prefix length.
const NODE_SIZE = 0;
const NODE_PREFIX = 1;
/**
 * A fence is the key part of a row (words, length, sequence, arena location): the length is -1 for
 * an infinite fence (at both ends of the tree); the arena location serves prefixes past 16 bytes.
 */
const FENCE_INTS = ROW_KEY_INTS;

const LEAF_NEXT = 2;
const LEAF_PREV = 3;
/** Bumped by every insert into the leaf: an iterator on it must find its entry again. */
const LEAF_VERSION = 4;
/**
 * LEAF_CAPACITY bytes: the row of each slot, in slot order. Right after the header, in the line a
 * search reads first; the hints follow, 64-byte aligned (one 128-byte pair for 32 slots).
 */
const LEAF_ORDER = 8;
const LEAF_HINTS = roundUp(LEAF_ORDER + LEAF_CAPACITY / 4, 16);
const LEAF_LOW = LEAF_HINTS + LEAF_CAPACITY;
const LEAF_HIGH = LEAF_LOW + FENCE_INTS;
const LEAF_ROWS = LEAF_HIGH + FENCE_INTS;
/** Rounded up to 64 bytes, so that every node starts a cache line. */
const LEAF_INTS = roundUp(LEAF_ROWS + LEAF_CAPACITY * LEAF_ROW_INTS, 16);

// An inner node keeps hints, children and rows in slot order: it changes only when a child splits.
const INNER_HINTS = 8;
const INNER_CHILDREN = INNER_HINTS + INNER_CAPACITY;
const INNER_LOW = INNER_CHILDREN + INNER_CAPACITY;
const INNER_HIGH = INNER_LOW + FENCE_INTS;
const INNER_ROWS = INNER_HIGH + FENCE_INTS;
const INNER_INTS = roundUp(INNER_ROWS + INNER_CAPACITY * INNER_ROW_INTS, 16);

// Invariant: the layout fits together (checked once, at load).
invariant(LEAF_CAPACITY % 4 === 0 && LEAF_CAPACITY >= 4 && LEAF_CAPACITY <= 256, "the order column is whole ints, one byte per slot");
invariant(INNER_CAPACITY >= 16, "DEPTH_MAX assumes at least 16 children per inner node");
invariant(LEAF_NEXT < LEAF_ORDER && LEAF_VERSION < LEAF_ORDER && NODE_PREFIX < INNER_HINTS, "headers end before the columns");
invariant(INLINE_BYTES === 16, "the inline bytes are four words");
invariant(ROW_KEY_INTS === ROW_OFFSET + 1 && ROW_VALUE_LENGTH === ROW_KEY_INTS, "the key part is a row's first ints");
invariant(SLAB_ENTRY_BYTES_MAX <= SLAB_BYTES, "a small entry fits in a fresh slab");

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** STYLE rule 19: a failed invariant is a bug in this file; never caught. */
function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`auradb/lsm: memtable invariant violated: ${message}`);
}

const EMPTY = new Uint8Array(0);

// --- public API ----------------------------------------------------------------------------------

/** What `Memtable.get` finds: one version of the key. */
export interface MemtableGetResult {
  /** Put, Delete (a tombstone: the caller must stop looking in older sources) or PutPointer. */
  readonly kind: ValueKind;
  readonly seq: number;
  /**
   * The value (empty for a Delete), a view into the memtable's arena: its bytes never change and
   * it stays valid as long as it is referenced, even after the memtable is dropped. Do not write
   * to it. Copy it before handing it to a user who might.
   */
  readonly value: Uint8Array;
}

interface MutableGetResult {
  kind: ValueKind;
  seq: number;
  value: Uint8Array;
}

/**
 * The sorted in-memory table of the newest entries (key, sequence number, kind, value), in
 * internal order: user key ascending (bytewise), then sequence number descending.
 *
 * Contract:
 * - `add` copies key and value: callers may pass views into buffers they reuse.
 * - A (key, seq) pair is added at most once; the engine gives every operation its own sequence
 *   number, so a repeat is a bug and `add` throws.
 * - Nothing is ever removed; memory grows until the memtable is dropped (after its flush).
 *   `approximateBytes` tells the engine when to switch to a new one (the write buffer budget).
 * - Not thread-safe (JavaScript is single-threaded; do not share it between workers). Iterators
 *   stay valid while entries are added between their calls.
 */
export class Memtable {
  private readonly tree = new Tree();

  /** Entries added so far. */
  get entryCount(): number {
    return this.tree.entries;
  }

  /** Lowest sequence number of any entry; SEQUENCE_MAX while the memtable is empty. */
  get minSeq(): number {
    return this.tree.lowestSeq;
  }

  /** Highest sequence number of any entry; 0 while the memtable is empty. */
  get maxSeq(): number {
    return this.tree.highestSeq;
  }

  /**
   * Memory held, for the write buffer budget: key and value bytes plus the tree's nodes (1.7 KiB
   * per leaf of up to 32 entries, and the inner nodes): about 80 bytes per entry over key and
   * value after random inserts, 55 after ascending or descending ones. Not counted: the unused
   * tail of the current 256 KiB slab, and the ends of earlier slabs an entry did not fit in (less
   * than the entry: a few bytes on average for small entries, at most a quarter of the slab).
   */
  get approximateBytes(): number {
    return this.tree.keyBytes + this.tree.valueBytes + this.tree.leafCount * LEAF_INTS * 4 + this.tree.innerCount * INNER_INTS * 4;
  }

  /**
   * Adds one entry, copying `key` and `value` (the caller may reuse its buffers at once).
   * A Delete's value is normally empty; a PutPointer's value is an encoded value pointer.
   *
   * Throws (before changing anything) a RangeError when `seq` is not an integer in
   * [0, SEQUENCE_MAX], when `kind` is not a ValueKind, or when the memtable already holds an entry
   * with this key and sequence number.
   */
  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`auradb/lsm: memtable sequence number ${seq} is not an integer in [0, 2^53 - 1]`);
    if (kind !== ValueKind.Put && kind !== ValueKind.Delete && kind !== ValueKind.PutPointer) {
      throw new RangeError(`auradb/lsm: unknown value kind ${String(kind)}`);
    }
    this.tree.add(key, seq, kind, value);
  }

  /**
   * The newest entry of `key` whose sequence number is <= `seq` (a Delete included: it means the
   * key is deleted as of `seq`), or undefined when the memtable holds no such version.
   *
   * NB: the result object is owned by the memtable and overwritten by its next `get`: read the
   * fields at once (no allocation per lookup but the value view). Its `value` view stays valid.
   */
  get(key: Uint8Array, seq: number): MemtableGetResult | undefined {
    return this.tree.get(key, seq);
  }

  /**
   * A cursor in internal order (the `InternalIterator` contract of types.ts); unpositioned until a
   * seek. Entries added after its creation may be seen (the engine filters by sequence number),
   * but an entry present when the cursor is positioned is never skipped or seen twice: `next()`
   * always moves to the entry that directly follows the current one in the memtable as it is at
   * the time of the call, `prev()` to the one directly before it.
   *
   * `key()` and `value()` return views into the arena (valid as long as referenced; one small
   * allocation per call). It pins nothing: `close()` only marks it closed. Using a closed
   * iterator, closing it twice, or reading or stepping an unpositioned one throws a TypeError.
   */
  iterator(): InternalIterator {
    return new MemtableIterator(this.tree);
  }
}

// --- the tree ------------------------------------------------------------------------------------

/** The B+tree and its arena. Module-private: `Memtable` and `MemtableIterator` are its users. */
class Tree {
  /** Arena slabs (and the own buffers of large entries), addressed by rows as (slab, offset). */
  readonly slabs: Uint8Array[] = [];
  /**
   * Their buffers (every slab starts at byte 0 of its own): `new Uint8Array(buffer, offset,
   * length)` makes a view 30-40% faster than `subarray` on V8 (no species lookup), as fast on JSC.
   */
  readonly buffers: ArrayBufferLike[] = [];
  private slab: Uint8Array = EMPTY;
  private slabIndex = -1;
  private slabCursor = 0;

  /** Leaf `id` is in `leafChunks[id >>> CHUNK_SHIFT]` from int `(id & CHUNK_MASK) * LEAF_INTS`. Leaf 0 is always the first. */
  readonly leafChunks: Int32Array[] = [];
  /** Byte views of the leaf chunks, for the order columns. */
  readonly leafOrders: Uint8Array[] = [];
  leafCount = 0;
  private readonly innerChunks: Int32Array[] = [];
  innerCount = 0;
  private root = 0;
  /** Inner levels above the leaves (0: the root is a leaf). */
  private depth = 0;
  lastLeaf = 0;
  /** The descent of the last `locate`: node and child index per inner level. */
  private readonly pathNode = new Int32Array(DEPTH_MAX);
  private readonly pathIndex = new Int32Array(DEPTH_MAX);
  /** Set by `locate`: the first slot >= target in the leaf it returns, and the target's hint there. */
  position = 0;
  private leafHint = 0;
  /** Rows of a splitting leaf, while they are put back in slot order. */
  private readonly scratch = new Int32Array(LEAF_CAPACITY * LEAF_ROW_INTS);

  // The prepared target (see `prepare`): fields, so that the comparisons take no arguments.
  private target: Uint8Array = EMPTY;
  private targetLength = 0;
  private word0 = 0;
  private word1 = 0;
  private word2 = 0;
  private word3 = 0;
  private seqHigh = 0;
  private seqLow = 0;

  private readonly result: MutableGetResult = { kind: ValueKind.Put, seq: 0, value: EMPTY };

  entries = 0;
  keyBytes = 0;
  valueBytes = 0;
  lowestSeq = SEQUENCE_MAX;
  highestSeq = 0;

  constructor() {
    const id = this.newLeaf();
    const base = id * LEAF_INTS;
    const leaf = this.leafChunks[0]!;
    leaf[base + LEAF_NEXT] = NIL;
    leaf[base + LEAF_PREV] = NIL;
    leaf[base + LEAF_LOW + ROW_LENGTH] = -1;
    leaf[base + LEAF_HIGH + ROW_LENGTH] = -1;
  }

  /** REQUIRES: seq and kind validated. */
  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    this.prepare(key, seq);
    const leafId = this.locate();
    const leaf = this.leafChunks[leafId >>> CHUNK_SHIFT]!;
    const orders = this.leafOrders[leafId >>> CHUNK_SHIFT]!;
    const base = (leafId & CHUNK_MASK) * LEAF_INTS;
    const position = this.position;
    const size = leaf[base + NODE_SIZE]!;
    // NB: different hints mean different keys, so the row is read only when they are equal.
    if (
      position < size &&
      leaf[base + LEAF_HINTS + position] === this.leafHint &&
      this.compareRow(leaf, base + LEAF_ROWS + orders[(base + LEAF_ORDER) * 4 + position]! * LEAF_ROW_INTS) === 0
    ) {
      throw new RangeError(`auradb/lsm: the memtable already holds this key at sequence number ${seq}`);
    }

    // Copy key and value, back to back in the current slab (or alone, when large).
    const keyLength = key.length;
    const valueLength = value.length;
    const entryBytes = keyLength + valueLength;
    let slab: Uint8Array;
    let slabId: number;
    let offset: number;
    if (entryBytes > SLAB_ENTRY_BYTES_MAX) {
      slab = new Uint8Array(entryBytes);
      slabId = this.slabs.length;
      offset = 0;
      this.slabs.push(slab);
      this.buffers.push(slab.buffer);
    } else {
      // NB: slabIndex < 0 before the first slab, even for an empty key and value.
      if (this.slabIndex < 0 || this.slabCursor + entryBytes > SLAB_BYTES) {
        this.slab = new Uint8Array(SLAB_BYTES);
        this.slabIndex = this.slabs.length;
        this.slabs.push(this.slab);
        this.buffers.push(this.slab.buffer);
        this.slabCursor = 0;
      }
      slab = this.slab;
      slabId = this.slabIndex;
      offset = this.slabCursor;
      this.slabCursor = offset + entryBytes;
    }
    // NB: `set` costs ~10 ns at any size on V8; a byte loop costs ~0.7 ns per byte (16 B: 23 ns).
    slab.set(key, offset);
    slab.set(value, offset + keyLength);

    leaf[base + LEAF_VERSION]!++;
    if (size < LEAF_CAPACITY) this.insertLeafSlot(leaf, orders, base, size, position, slabId, offset, valueLength, kind);
    else this.splitLeaf(leafId, position, slabId, offset, valueLength, kind);
    this.entries++;
    this.keyBytes += keyLength;
    this.valueBytes += valueLength;
    if (seq < this.lowestSeq) this.lowestSeq = seq;
    if (seq > this.highestSeq) this.highestSeq = seq;
  }

  get(key: Uint8Array, seq: number): MemtableGetResult | undefined {
    this.prepare(key, seq);
    let leafId = this.locate();
    let leaf = this.leafChunks[leafId >>> CHUNK_SHIFT]!;
    let base = (leafId & CHUNK_MASK) * LEAF_INTS;
    let position = this.position;
    if (position === leaf[base + NODE_SIZE]) {
      // The first entry >= target starts the next leaf, if any: compare with its row.
      leafId = leaf[base + LEAF_NEXT]!;
      if (leafId === NIL) return undefined;
      leaf = this.leafChunks[leafId >>> CHUNK_SHIFT]!;
      base = (leafId & CHUNK_MASK) * LEAF_INTS;
      position = 0;
    } else if (leaf[base + LEAF_HINTS + position] !== this.leafHint) {
      // Another key (hints differ): absent, without reading the row.
      return undefined;
    }
    const row = base + LEAF_ROWS + this.leafOrders[leafId >>> CHUNK_SHIFT]![(base + LEAF_ORDER) * 4 + position]! * LEAF_ROW_INTS;
    if (!this.sameKey(leaf, row)) return undefined;
    const result = this.result;
    result.kind = leaf[row + ROW_KIND] as ValueKind;
    result.seq = leaf[row + ROW_SEQ_HIGH]! * TWO_POW_32 + ((leaf[row + ROW_SEQ_LOW]! ^ SIGN) >>> 0);
    const valueStart = leaf[row + ROW_OFFSET]! + leaf[row + ROW_LENGTH]!;
    result.value = new Uint8Array(this.buffers[leaf[row + ROW_SLAB]!]!, valueStart, leaf[row + ROW_VALUE_LENGTH]!);
    return result;
  }

  /** Locates (target, seq) for an iterator: returns the leaf id; the slot is `position`. */
  locateTarget(target: Uint8Array, seq: number): number {
    this.prepare(target, seq);
    return this.locate();
  }

  // --- search ------------------------------------------------------------------------------------

  /**
   * Prepares (target, seq) for `locate` and the comparisons: the inline words (zero padded) and the
   * two halves of the sequence number. seq < 0 stands for "older than any version" (seekForPrev).
   */
  private prepare(target: Uint8Array, seq: number): void {
    const length = target.length;
    this.target = target;
    this.targetLength = length;
    if (length >= INLINE_BYTES) {
      this.word0 = ((target[0]! << 24) | (target[1]! << 16) | (target[2]! << 8) | target[3]!) ^ SIGN;
      this.word1 = ((target[4]! << 24) | (target[5]! << 16) | (target[6]! << 8) | target[7]!) ^ SIGN;
      this.word2 = ((target[8]! << 24) | (target[9]! << 16) | (target[10]! << 8) | target[11]!) ^ SIGN;
      this.word3 = ((target[12]! << 24) | (target[13]! << 16) | (target[14]! << 8) | target[15]!) ^ SIGN;
    } else {
      this.word0 = paddedWord(target, 0) ^ SIGN;
      this.word1 = paddedWord(target, 4) ^ SIGN;
      this.word2 = paddedWord(target, 8) ^ SIGN;
      this.word3 = paddedWord(target, 12) ^ SIGN;
    }
    if (seq < 0) {
      this.seqHigh = -1;
      this.seqLow = SIGN;
    } else {
      this.seqHigh = Math.floor(seq / TWO_POW_32);
      this.seqLow = (seq >>> 0) ^ SIGN;
    }
  }

  /** The prepared target's hint in a node whose keys share `prefix` bytes (the target shares them too). */
  private targetHint(prefix: number): number {
    const target = this.target;
    if (prefix + 4 <= this.targetLength) {
      return ((target[prefix]! << 24) | (target[prefix + 1]! << 16) | (target[prefix + 2]! << 8) | target[prefix + 3]!) ^ SIGN;
    }
    return paddedWord(target, prefix) ^ SIGN;
  }

  /** Sign of (target - row) in internal order. */
  private compareRow(node: Int32Array, row: number): number {
    let a = this.word0;
    let b = node[row]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word1;
    b = node[row + 1]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word2;
    b = node[row + 2]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word3;
    b = node[row + 3]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.targetLength;
    b = node[row + ROW_LENGTH]!;
    if (a > INLINE_BYTES && b > INLINE_BYTES) {
      const tail = this.compareTail(node[row + ROW_SLAB]!, node[row + ROW_OFFSET]!, b);
      if (tail !== 0) return tail;
    } else if (a !== b) {
      // Equal padded inline bytes, and one key ends within them: it is a prefix of the other.
      return a < b ? -1 : 1;
    }
    // Same user key: the newer (higher) sequence number comes first.
    a = this.seqHigh;
    b = node[row + ROW_SEQ_HIGH]!;
    if (a !== b) return a > b ? -1 : 1;
    a = this.seqLow;
    b = node[row + ROW_SEQ_LOW]!;
    if (a !== b) return a > b ? -1 : 1;
    return 0;
  }

  /** Compares the bytes past the inline ones; REQUIRES both keys longer than INLINE_BYTES. */
  private compareTail(slabId: number, offset: number, length: number): number {
    const slab = this.slabs[slabId]!;
    const target = this.target;
    const targetLength = this.targetLength;
    const common = targetLength < length ? targetLength : length;
    for (let index = INLINE_BYTES; index < common; index++) {
      const difference = target[index]! - slab[offset + index]!;
      if (difference !== 0) return difference;
    }
    return targetLength - length;
  }

  /** True when the row holds the prepared target's user key. */
  private sameKey(node: Int32Array, row: number): boolean {
    if (this.word0 !== node[row] || this.word1 !== node[row + 1] || this.word2 !== node[row + 2] || this.word3 !== node[row + 3]) return false;
    const length = node[row + ROW_LENGTH]!;
    if (length !== this.targetLength) return false;
    return length <= INLINE_BYTES || this.compareTail(node[row + ROW_SLAB]!, node[row + ROW_OFFSET]!, length) === 0;
  }

  /**
   * Descends to the leaf where the prepared target belongs, recording the path. Returns the leaf
   * id; sets `position` to the first slot >= target (the leaf's size when there is none there).
   */
  private locate(): number {
    let id = this.root;
    const depth = this.depth;
    const innerChunks = this.innerChunks;
    for (let level = 0; level < depth; level++) {
      const inner = innerChunks[id >>> CHUNK_SHIFT]!;
      const base = (id & CHUNK_MASK) * INNER_INTS;
      const hint = this.targetHint(inner[base + NODE_PREFIX]!);
      const hints = base + INNER_HINTS;
      const rows = base + INNER_ROWS;
      // The last separator <= target. Slot 0 has none: it stands for the node's low fence.
      let low = 1;
      let high = inner[base + NODE_SIZE]!;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const slotHint = inner[hints + middle]!;
        const sign = hint !== slotHint ? (hint < slotHint ? -1 : 1) : this.compareRow(inner, rows + middle * INNER_ROW_INTS);
        if (sign < 0) high = middle;
        else low = middle + 1;
      }
      this.pathNode[level] = id;
      this.pathIndex[level] = low - 1;
      id = inner[base + INNER_CHILDREN + low - 1]!;
    }
    const leaf = this.leafChunks[id >>> CHUNK_SHIFT]!;
    const orders = this.leafOrders[id >>> CHUNK_SHIFT]!;
    const base = (id & CHUNK_MASK) * LEAF_INTS;
    const hint = this.targetHint(leaf[base + NODE_PREFIX]!);
    const hints = base + LEAF_HINTS;
    const rows = base + LEAF_ROWS;
    const order = (base + LEAF_ORDER) * 4;
    let low = 0;
    let high = leaf[base + NODE_SIZE]!;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const slotHint = leaf[hints + middle]!;
      const sign = hint !== slotHint ? (hint < slotHint ? -1 : 1) : this.compareRow(leaf, rows + orders[order + middle]! * LEAF_ROW_INTS);
      if (sign <= 0) high = middle;
      else low = middle + 1;
    }
    this.position = low;
    this.leafHint = hint;
    return id;
  }

  // --- insertion -----------------------------------------------------------------------------------

  private newLeaf(): number {
    const id = this.leafCount;
    if ((id & CHUNK_MASK) === 0) {
      const chunk = new Int32Array(LEAF_INTS << CHUNK_SHIFT);
      this.leafChunks.push(chunk);
      this.leafOrders.push(new Uint8Array(chunk.buffer));
    }
    this.leafCount = id + 1;
    return id;
  }

  private newInner(): number {
    const id = this.innerCount;
    if ((id & CHUNK_MASK) === 0) this.innerChunks.push(new Int32Array(INNER_INTS << CHUNK_SHIFT));
    this.innerCount = id + 1;
    return id;
  }

  /** Inserts the prepared target as slot `position` of a leaf with room; its row goes after the others. */
  private insertLeafSlot(leaf: Int32Array, orders: Uint8Array, base: number, size: number, position: number, slabId: number, offset: number, valueLength: number, kind: ValueKind): void {
    const hints = base + LEAF_HINTS;
    const order = (base + LEAF_ORDER) * 4;
    for (let slot = size; slot > position; slot--) {
      leaf[hints + slot] = leaf[hints + slot - 1]!;
      orders[order + slot] = orders[order + slot - 1]!;
    }
    leaf[hints + position] = this.targetHint(leaf[base + NODE_PREFIX]!);
    // Invariant (kept by splitLeaf): rows 0..size-1 are the occupied ones.
    orders[order + position] = size;
    const row = base + LEAF_ROWS + size * LEAF_ROW_INTS;
    leaf[row] = this.word0;
    leaf[row + 1] = this.word1;
    leaf[row + 2] = this.word2;
    leaf[row + 3] = this.word3;
    leaf[row + ROW_LENGTH] = this.targetLength;
    leaf[row + ROW_SEQ_HIGH] = this.seqHigh;
    leaf[row + ROW_SEQ_LOW] = this.seqLow;
    leaf[row + ROW_SLAB] = slabId;
    leaf[row + ROW_OFFSET] = offset;
    leaf[row + ROW_VALUE_LENGTH] = valueLength;
    leaf[row + ROW_KIND] = kind;
    leaf[base + NODE_SIZE] = size + 1;
  }

  /** Splits a full leaf, inserting the prepared target at slot `position` of it. */
  private splitLeaf(leftId: number, position: number, slabId: number, offset: number, valueLength: number, kind: ValueKind): void {
    const rightId = this.newLeaf();
    const left = this.leafChunks[leftId >>> CHUNK_SHIFT]!;
    const leftOrders = this.leafOrders[leftId >>> CHUNK_SHIFT]!;
    const leftBase = (leftId & CHUNK_MASK) * LEAF_INTS;
    const right = this.leafChunks[rightId >>> CHUNK_SHIFT]!;
    const rightOrders = this.leafOrders[rightId >>> CHUNK_SHIFT]!;
    const rightBase = (rightId & CHUNK_MASK) * LEAF_INTS;
    const leftOrder = (leftBase + LEAF_ORDER) * 4;
    const rightOrder = (rightBase + LEAF_ORDER) * 4;
    const leftRows = leftBase + LEAF_ROWS;
    const rightRows = rightBase + LEAF_ROWS;
    // The right leaf takes over the left one's high fence, and starts with its prefix and hints
    // (still right: its keys are within the left's old fences); `refreshPrefix` lengthens it.
    copyInts(left, leftBase + LEAF_HIGH, right, rightBase + LEAF_HIGH, FENCE_INTS);
    right[rightBase + NODE_PREFIX] = left[leftBase + NODE_PREFIX]!;
    // How many slots stay left. At the ends of the tree, the full leaf stays full and the new entry
    // starts a leaf of its own, so that ascending and descending inserts fill leaves (55 bytes per
    // entry instead of 110); elsewhere, halves.
    let half = LEAF_CAPACITY >>> 1;
    if (position === LEAF_CAPACITY && left[leftBase + LEAF_NEXT] === NIL) half = LEAF_CAPACITY;
    else if (position === 0 && left[leftBase + LEAF_PREV] === NIL) half = 0;
    const moved = LEAF_CAPACITY - half;
    if (moved > 0) {
      // Both leaves get their rows in slot order, so that rows 0..size-1 are the occupied ones.
      for (let slot = 0; slot < moved; slot++) {
        copyInts(left, leftRows + leftOrders[leftOrder + half + slot]! * LEAF_ROW_INTS, right, rightRows + slot * LEAF_ROW_INTS, LEAF_ROW_INTS);
        rightOrders[rightOrder + slot] = slot;
      }
      copyInts(left, leftBase + LEAF_HINTS + half, right, rightBase + LEAF_HINTS, moved);
      const scratch = this.scratch;
      for (let slot = 0; slot < half; slot++) {
        copyInts(left, leftRows + leftOrders[leftOrder + slot]! * LEAF_ROW_INTS, scratch, slot * LEAF_ROW_INTS, LEAF_ROW_INTS);
        leftOrders[leftOrder + slot] = slot;
      }
      copyInts(scratch, 0, left, leftRows, half * LEAF_ROW_INTS);
      left[leftBase + NODE_SIZE] = half;
      right[rightBase + NODE_SIZE] = moved;
    }
    if (half === LEAF_CAPACITY) this.insertLeafSlot(right, rightOrders, rightBase, 0, 0, slabId, offset, valueLength, kind);
    else if (position <= half) this.insertLeafSlot(left, leftOrders, leftBase, half, position, slabId, offset, valueLength, kind);
    else this.insertLeafSlot(right, rightOrders, rightBase, moved, position - half, slabId, offset, valueLength, kind);
    invariant(left[leftBase + NODE_SIZE]! + right[rightBase + NODE_SIZE]! === LEAF_CAPACITY + 1, "a leaf split keeps every entry");
    // The separator is the right leaf's first key: the left's new high fence, the right's low one.
    const separator = rightRows + rightOrders[rightOrder]! * LEAF_ROW_INTS;
    copyFence(right, separator, right, rightBase + LEAF_LOW);
    copyFence(right, separator, left, leftBase + LEAF_HIGH);
    this.refreshPrefix(left, leftBase, LEAF_LOW, leftOrders);
    this.refreshPrefix(right, rightBase, LEAF_LOW, rightOrders);
    const next = left[leftBase + LEAF_NEXT]!;
    right[rightBase + LEAF_NEXT] = next;
    right[rightBase + LEAF_PREV] = leftId;
    left[leftBase + LEAF_NEXT] = rightId;
    if (next === NIL) this.lastLeaf = rightId;
    else this.leafChunks[next >>> CHUNK_SHIFT]![(next & CHUNK_MASK) * LEAF_INTS + LEAF_PREV] = rightId;
    this.insertSeparator(this.depth - 1, right, separator, rightId);
  }

  /**
   * Inserts a separator (the first key of `child`, read from row `from` of `source`) and `child`
   * just after the path's child at `level`, splitting full inner nodes upwards; level -1 grows a
   * new root.
   */
  private insertSeparator(level: number, source: Int32Array, from: number, child: number): void {
    if (level < 0) {
      invariant(this.depth < DEPTH_MAX, "the tree is not deeper than DEPTH_MAX");
      const rootId = this.newInner();
      const root = this.innerChunks[rootId >>> CHUNK_SHIFT]!;
      const base = (rootId & CHUNK_MASK) * INNER_INTS;
      root[base + INNER_LOW + ROW_LENGTH] = -1;
      root[base + INNER_HIGH + ROW_LENGTH] = -1;
      root[base + INNER_CHILDREN] = this.root;
      copyInts(source, from, root, base + INNER_ROWS + INNER_ROW_INTS, ROW_KEY_INTS);
      root[base + INNER_CHILDREN + 1] = child;
      root[base + NODE_SIZE] = 2;
      // Infinite fences: prefix 0. Slot 0's hint is never read (it has no separator).
      root[base + INNER_HINTS + 1] = this.rowHint(root, base + INNER_ROWS + INNER_ROW_INTS, 0);
      this.root = rootId;
      this.depth++;
      return;
    }
    const nodeId = this.pathNode[level]!;
    const node = this.innerChunks[nodeId >>> CHUNK_SHIFT]!;
    const nodeBase = (nodeId & CHUNK_MASK) * INNER_INTS;
    const position = this.pathIndex[level]! + 1;
    const size = node[nodeBase + NODE_SIZE]!;
    if (size < INNER_CAPACITY) {
      this.insertInnerSlot(node, nodeBase, size, position, source, from, child);
      return;
    }
    const rightId = this.newInner();
    const right = this.innerChunks[rightId >>> CHUNK_SHIFT]!;
    const rightBase = (rightId & CHUNK_MASK) * INNER_INTS;
    copyInts(node, nodeBase + INNER_HIGH, right, rightBase + INNER_HIGH, FENCE_INTS);
    right[rightBase + NODE_PREFIX] = node[nodeBase + NODE_PREFIX]!;
    // As for leaves: at the ends of the tree, the full node stays full. (The left end inserts at
    // slot 1, just after the first child, which split.)
    let half = INNER_CAPACITY >>> 1;
    if (position === size && this.onEdge(level - 1, true)) half = INNER_CAPACITY;
    else if (position === 1 && this.onEdge(level - 1, false)) half = 1;
    const moved = INNER_CAPACITY - half;
    if (moved > 0) {
      copyInts(node, nodeBase + INNER_HINTS + half, right, rightBase + INNER_HINTS, moved);
      copyInts(node, nodeBase + INNER_CHILDREN + half, right, rightBase + INNER_CHILDREN, moved);
      copyInts(node, nodeBase + INNER_ROWS + half * INNER_ROW_INTS, right, rightBase + INNER_ROWS, moved * INNER_ROW_INTS);
      node[nodeBase + NODE_SIZE] = half;
      right[rightBase + NODE_SIZE] = moved;
    }
    if (half === INNER_CAPACITY) this.insertInnerSlot(right, rightBase, 0, 0, source, from, child);
    else if (position <= half) this.insertInnerSlot(node, nodeBase, half, position, source, from, child);
    else this.insertInnerSlot(right, rightBase, moved, position - half, source, from, child);
    // The right node's slot 0 keeps its key: it is the separator pushed up, and the low fence.
    copyFence(right, rightBase + INNER_ROWS, right, rightBase + INNER_LOW);
    copyFence(right, rightBase + INNER_ROWS, node, nodeBase + INNER_HIGH);
    this.refreshPrefix(node, nodeBase, INNER_LOW, null);
    this.refreshPrefix(right, rightBase, INNER_LOW, null);
    this.insertSeparator(level - 1, right, rightBase + INNER_ROWS, rightId);
  }

  /** Inserts (separator row `from` of `source`, child) as slot `position` of an inner node with room. */
  private insertInnerSlot(node: Int32Array, base: number, size: number, position: number, source: Int32Array, from: number, child: number): void {
    const hints = base + INNER_HINTS;
    const children = base + INNER_CHILDREN;
    for (let slot = size; slot > position; slot--) {
      node[hints + slot] = node[hints + slot - 1]!;
      node[children + slot] = node[children + slot - 1]!;
    }
    const row = base + INNER_ROWS + position * INNER_ROW_INTS;
    if (position < size) node.copyWithin(row + INNER_ROW_INTS, row, base + INNER_ROWS + size * INNER_ROW_INTS);
    copyInts(source, from, node, row, ROW_KEY_INTS);
    node[children + position] = child;
    node[hints + position] = this.rowHint(node, row, node[base + NODE_PREFIX]!);
    node[base + NODE_SIZE] = size + 1;
  }

  /** Byte `index` of the key of the row (or fence) at `at`, zero past its end: inline, or in the arena. */
  private keyByte(node: Int32Array, at: number, index: number): number {
    if (index >= node[at + ROW_LENGTH]!) return 0;
    if (index < INLINE_BYTES) return inlineByte(node, at, index);
    return this.slabs[node[at + ROW_SLAB]!]![node[at + ROW_OFFSET]! + index]!;
  }

  /** The hint of the key of the row at `row`, for a node prefix of `prefix` bytes. */
  private rowHint(node: Int32Array, row: number, prefix: number): number {
    if (prefix <= INLINE_BYTES - 4) {
      // From the inline words: two words, shifted.
      const shift = (prefix & 3) * 8;
      const first = node[row + (prefix >>> 2)]! ^ SIGN;
      if (shift === 0) return first ^ SIGN;
      const second = node[row + (prefix >>> 2) + 1]! ^ SIGN;
      return ((first << shift) | (second >>> (32 - shift))) ^ SIGN;
    }
    // NB: past the inline bytes, from the arena (a cache miss): only when a split lengthens a prefix
    // beyond 12 bytes, or a separator enters such a node.
    return ((this.keyByte(node, row, prefix) << 24) | (this.keyByte(node, row, prefix + 1) << 16) | (this.keyByte(node, row, prefix + 2) << 8) | this.keyByte(node, row, prefix + 3)) ^ SIGN;
  }

  /**
   * The common prefix of the fences at `low` and `high` (the high fence follows the low one). Every
   * key the node may ever hold, and every target routed to it, lies between its fences, so it
   * shares that prefix; and among such keys, bytewise order is the order of the bytes after it.
   */
  private fencePrefix(node: Int32Array, low: number): number {
    const high = low + FENCE_INTS;
    const lowLength = node[low + ROW_LENGTH]!;
    const highLength = node[high + ROW_LENGTH]!;
    if (lowLength < 0 || highLength < 0) return 0;
    const limit = lowLength < highLength ? lowLength : highLength;
    let prefix = 0;
    // Whole inline words first, then bytes (inline, then in the arena).
    while (prefix + 4 <= limit && prefix < INLINE_BYTES && node[low + (prefix >>> 2)] === node[high + (prefix >>> 2)]) prefix += 4;
    while (prefix < limit && this.keyByte(node, low, prefix) === this.keyByte(node, high, prefix)) prefix++;
    return prefix;
  }

  /**
   * After a split changed a node's fences: lengthens its prefix to the fences' common prefix and
   * recomputes its hints, if it grew. (A shorter prefix than the fences allow is still correct,
   * only less discriminating: the right node of a split starts with its left sibling's.)
   */
  private refreshPrefix(node: Int32Array, base: number, fences: number, orders: Uint8Array | null): void {
    const prefix = this.fencePrefix(node, base + fences);
    if (prefix === node[base + NODE_PREFIX]) return;
    // Invariant: a node's range only narrows, so its fences' common prefix only grows.
    invariant(prefix > node[base + NODE_PREFIX]!, "a split never shortens a prefix");
    node[base + NODE_PREFIX] = prefix;
    const size = node[base + NODE_SIZE]!;
    if (orders === null) {
      for (let slot = 0; slot < size; slot++) node[base + INNER_HINTS + slot] = this.rowHint(node, base + INNER_ROWS + slot * INNER_ROW_INTS, prefix);
    } else {
      const order = (base + LEAF_ORDER) * 4;
      for (let slot = 0; slot < size; slot++) {
        node[base + LEAF_HINTS + slot] = this.rowHint(node, base + LEAF_ROWS + orders[order + slot]! * LEAF_ROW_INTS, prefix);
      }
    }
  }

  /** True when the path from the root down to `level` always took the last child (`right`), or the first. */
  private onEdge(level: number, right: boolean): boolean {
    for (let up = level; up >= 0; up--) {
      const id = this.pathNode[up]!;
      const last = this.innerChunks[id >>> CHUNK_SHIFT]![(id & CHUNK_MASK) * INNER_INTS + NODE_SIZE]! - 1;
      if (this.pathIndex[up] !== (right ? last : 0)) return false;
    }
    return true;
  }
}

// --- node helpers ----------------------------------------------------------------------------------

/** The 4 bytes of `bytes` at `start`, big-endian, zero past the end. */
function paddedWord(bytes: Uint8Array, start: number): number {
  const length = bytes.length;
  let word = 0;
  for (let index = start; index < start + 4; index++) word = (word << 8) | (index < length ? bytes[index]! : 0);
  return word;
}

function copyInts(source: Int32Array, from: number, target: Int32Array, to: number, count: number): void {
  for (let index = 0; index < count; index++) target[to + index] = source[from + index]!;
}

/** Copies the key part of the row at `from` into the fence at `to`. */
function copyFence(source: Int32Array, from: number, target: Int32Array, to: number): void {
  copyInts(source, from, target, to, FENCE_INTS);
}

/** The byte at `index` (< INLINE_BYTES) of the inline key words at `at`. */
function inlineByte(node: Int32Array, at: number, index: number): number {
  return ((node[at + (index >>> 2)]! ^ SIGN) >>> (24 - 8 * (index & 3))) & 0xff;
}

// --- the iterator ----------------------------------------------------------------------------------

/** See `Memtable.iterator`. */
class MemtableIterator implements InternalIterator {
  private readonly tree: Tree;
  private leafId = NIL;
  private position = 0;
  /** The leaf's version when the cursor got there: if it changed, slots may have moved. */
  private version = 0;
  private closed = false;
  // The current entry, read out of its row when positioned (and the key to find it again by).
  private slabId = 0;
  private offset = 0;
  private keyLength = 0;
  private valueLength = 0;
  private currentSeq = 0;
  private currentKind: ValueKind = ValueKind.Put;

  constructor(tree: Tree) {
    this.tree = tree;
  }

  valid(): boolean {
    return this.leafId !== NIL;
  }

  key(): Uint8Array {
    this.requireValid();
    return new Uint8Array(this.tree.buffers[this.slabId]!, this.offset, this.keyLength);
  }

  seq(): number {
    this.requireValid();
    return this.currentSeq;
  }

  kind(): ValueKind {
    this.requireValid();
    return this.currentKind;
  }

  value(): Uint8Array {
    this.requireValid();
    return new Uint8Array(this.tree.buffers[this.slabId]!, this.offset + this.keyLength, this.valueLength);
  }

  seekToFirst(): void {
    this.requireOpen();
    // Leaf 0 is always the first: splits add leaves to the right.
    this.settle(0, 0);
  }

  seekToLast(): void {
    this.requireOpen();
    const last = this.tree.lastLeaf;
    this.settle(last, this.tree.leafChunks[last >>> CHUNK_SHIFT]![(last & CHUNK_MASK) * LEAF_INTS + NODE_SIZE]! - 1);
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.requireOpen();
    const leafId = this.tree.locateTarget(target, seq);
    this.settle(leafId, this.tree.position);
  }

  seekForPrev(target: Uint8Array): void {
    this.requireOpen();
    // Sequence -1 sorts after every version of `target`: the first entry >= it has a greater key.
    const leafId = this.tree.locateTarget(target, -1);
    this.settle(leafId, this.tree.position - 1);
  }

  next(): void {
    this.requireValid();
    this.relocate();
    this.settle(this.leafId, this.position + 1);
  }

  prev(): void {
    this.requireValid();
    this.relocate();
    this.settle(this.leafId, this.position - 1);
  }

  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: memtable iterator closed twice");
    this.closed = true;
    this.leafId = NIL;
  }

  /** Moves to slot `position` of leaf `leafId`, or just past either end into the neighbour leaf. */
  private settle(leafId: number, position: number): void {
    const tree = this.tree;
    let leaf = tree.leafChunks[leafId >>> CHUNK_SHIFT]!;
    let base = (leafId & CHUNK_MASK) * LEAF_INTS;
    // NB: one step is enough: leaves are never empty, except leaf 0 of an empty tree.
    if (position >= leaf[base + NODE_SIZE]!) {
      leafId = leaf[base + LEAF_NEXT]!;
      if (leafId === NIL) {
        this.leafId = NIL;
        return;
      }
      leaf = tree.leafChunks[leafId >>> CHUNK_SHIFT]!;
      base = (leafId & CHUNK_MASK) * LEAF_INTS;
      position = 0;
    } else if (position < 0) {
      leafId = leaf[base + LEAF_PREV]!;
      if (leafId === NIL) {
        this.leafId = NIL;
        return;
      }
      leaf = tree.leafChunks[leafId >>> CHUNK_SHIFT]!;
      base = (leafId & CHUNK_MASK) * LEAF_INTS;
      position = leaf[base + NODE_SIZE]! - 1;
    }
    this.leafId = leafId;
    this.position = position;
    this.version = leaf[base + LEAF_VERSION]!;
    const row = base + LEAF_ROWS + tree.leafOrders[leafId >>> CHUNK_SHIFT]![(base + LEAF_ORDER) * 4 + position]! * LEAF_ROW_INTS;
    this.slabId = leaf[row + ROW_SLAB]!;
    this.offset = leaf[row + ROW_OFFSET]!;
    this.keyLength = leaf[row + ROW_LENGTH]!;
    this.valueLength = leaf[row + ROW_VALUE_LENGTH]!;
    this.currentSeq = leaf[row + ROW_SEQ_HIGH]! * TWO_POW_32 + ((leaf[row + ROW_SEQ_LOW]! ^ SIGN) >>> 0);
    this.currentKind = leaf[row + ROW_KIND] as ValueKind;
  }

  /**
   * When adds changed the current leaf since the cursor got there (its slots shifted, or it split),
   * finds the current entry again by its key and sequence number: entries never move in internal
   * order, so its neighbours are then the right ones.
   */
  private relocate(): void {
    const tree = this.tree;
    const leafId = this.leafId;
    if (tree.leafChunks[leafId >>> CHUNK_SHIFT]![(leafId & CHUNK_MASK) * LEAF_INTS + LEAF_VERSION] === this.version) return;
    const key = new Uint8Array(tree.buffers[this.slabId]!, this.offset, this.keyLength);
    this.leafId = tree.locateTarget(key, this.currentSeq);
    this.position = tree.position;
  }

  private requireOpen(): void {
    if (this.closed) throw new TypeError("auradb/lsm: memtable iterator used after close");
  }

  private requireValid(): void {
    if (this.leafId === NIL) throw new TypeError("auradb/lsm: memtable iterator is not positioned on an entry");
  }
}
