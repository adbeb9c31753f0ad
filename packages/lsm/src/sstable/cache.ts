/**
 * The block cache: decoded data blocks of every open table, under one byte budget (ARCHITECTURE,
 * invariant 7), evicted by CLOCK (second chance), an approximation of least recently used.
 */
import { assert } from "./_assert.ts";
import type { Block } from "./block.ts";
import { DATA_BLOCK_COUNT_MAX, FILE_NUMBER_MAX } from "./format.ts";

/** Counters of a {@link BlockCache}: a snapshot, owned by the caller. */
export interface BlockCacheStats {
  /** Lookups that found their block. */
  readonly hits: number;
  /** Lookups that did not (the reader then reads the block from its file). */
  readonly misses: number;
  /** Blocks inserted. */
  readonly inserts: number;
  /** Blocks dropped to stay under the capacity (not counting `evictFile` and `clear`). */
  readonly evictions: number;
  /** Bytes charged for the blocks held now (their `chargeBytes`). */
  readonly bytes: number;
  /** Blocks held now. */
  readonly entries: number;
  readonly capacityBytes: number;
}

/**
 * A byte-budgeted cache of decoded blocks, shared by all the tables of a database.
 *
 * Keys: a block is named by its table's file number and its block number (the data block's
 * position in the table's index), packed into one safe integer, `fileNumber * 2^22 + blockNumber`,
 * so a lookup is one `Map` probe without allocating a key. Block numbers rather than file offsets:
 * an offset needs 32+ bits, which would leave 21 bits (2 million) for file numbers, a count a busy
 * database can exhaust; block numbers leave 31 bits. File numbers are never reused, so a key
 * never names two different blocks.
 *
 * Eviction: CLOCK. Blocks sit in a ring of slots, each with a reference bit that a hit sets. To
 * make room, a hand sweeps the ring: a referenced block loses its bit and stays (a second
 * chance), an unreferenced one is evicted. A newly inserted block starts unreferenced: a block
 * read once goes before the blocks hit since the hand last passed them. NB: not strict LRU, on
 * purpose.
 * An LRU over a `Map` must delete and re-insert the key on every hit, which measured ~400 ns per
 * hit on V8 at 26,000 blocks (its ordered hash table fills with deleted entries and rehashes),
 * against ~25 ns for the `Map.get` plus bit write of CLOCK: 10 % of a cached `get`.
 *
 * A block larger than the whole capacity is not inserted (it would flush everything for nothing).
 * Blocks handed out stay valid after eviction (they are immutable; eviction only drops the
 * cache's reference), so the budget bounds what the cache holds, not what iterators pin.
 * Synchronous; not shared between threads (a JS cache lives in one isolate).
 */
export class BlockCache {
  readonly capacityBytes: number;
  /** Packed key -> slot. */
  #slots = new Map<number, number>();
  /** Per slot: its key, block (undefined: free) and reference bit. */
  #keys: number[] = [];
  #blocks: Array<Block | undefined> = [];
  #referenced: Uint8Array = new Uint8Array(64);
  /** Free slots (left by `evictFile`, replacements and clears), reused before the ring grows. */
  #free: number[] = [];
  #hand = 0;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #inserts = 0;
  #evictions = 0;

  /** REQUIRES: `capacityBytes` is a safe integer >= 0 (0 caches nothing). */
  constructor(capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, "auradb/lsm: BlockCache capacityBytes must be a safe integer >= 0");
    this.capacityBytes = capacityBytes;
  }

  /** The packed key of (fileNumber, blockNumber). REQUIRES: both in range (see the class doc). */
  static key(fileNumber: number, blockNumber: number): number {
    return fileNumber * DATA_BLOCK_COUNT_MAX + blockNumber;
  }

  /**
   * The cached block, marked referenced; `undefined` on a miss. Counts a hit or a miss. The block
   * is shared: never modify its bytes.
   */
  lookup(fileNumber: number, blockNumber: number): Block | undefined {
    const slot = this.#slots.get(fileNumber * DATA_BLOCK_COUNT_MAX + blockNumber);
    if (slot === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#referenced[slot] = 1;
    return this.#blocks[slot];
  }

  /**
   * Inserts (or replaces) a block, charging `block.chargeBytes`, then evicts until the cache
   * fits (never the block just inserted). A block over the whole capacity is not kept. The cache
   * keeps a reference to `block`: the caller must not modify it afterwards.
   */
  insert(fileNumber: number, blockNumber: number, block: Block): void {
    assert(Number.isInteger(fileNumber) && fileNumber >= 0 && fileNumber <= FILE_NUMBER_MAX, "auradb/lsm: file number out of range");
    assert(Number.isInteger(blockNumber) && blockNumber >= 0 && blockNumber < DATA_BLOCK_COUNT_MAX, "auradb/lsm: block number out of range");
    const key = fileNumber * DATA_BLOCK_COUNT_MAX + blockNumber;
    const previous = this.#slots.get(key);
    if (previous !== undefined) this.#release(previous);
    if (block.chargeBytes > this.capacityBytes) return;
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#blocks.length;
      this.#keys.push(key);
      this.#blocks.push(block);
      if (slot >= this.#referenced.length) {
        const grown = new Uint8Array(this.#referenced.length * 2);
        grown.set(this.#referenced);
        this.#referenced = grown;
      }
    } else {
      this.#keys[slot] = key;
      this.#blocks[slot] = block;
    }
    this.#referenced[slot] = 0;
    this.#slots.set(key, slot);
    this.#bytes += block.chargeBytes;
    this.#inserts++;
    if (this.#bytes > this.capacityBytes) this.#evict(slot);
  }

  /**
   * Drops every block of table `fileNumber` (call when the table's file is deleted). Costs one
   * pass over the cache: tables are deleted per compaction, not per read. Returns the blocks dropped.
   */
  evictFile(fileNumber: number): number {
    let dropped = 0;
    for (const [key, slot] of this.#slots) {
      if (Math.floor(key / DATA_BLOCK_COUNT_MAX) === fileNumber) {
        this.#release(slot);
        dropped++;
      }
    }
    return dropped;
  }

  /** Drops every block (counters are kept). */
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#blocks = [];
    this.#free = [];
    this.#hand = 0;
    this.#bytes = 0;
  }

  /** A snapshot of the counters. */
  stats(): BlockCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      inserts: this.#inserts,
      evictions: this.#evictions,
      bytes: this.#bytes,
      entries: this.#slots.size,
      capacityBytes: this.capacityBytes,
    };
  }

  /** Empties `slot` (its block leaves the cache) and makes it free. */
  #release(slot: number): void {
    const block = this.#blocks[slot]!;
    this.#slots.delete(this.#keys[slot]!);
    this.#blocks[slot] = undefined;
    this.#bytes -= block.chargeBytes;
    this.#free.push(slot);
  }

  /** Sweeps the hand until the cache fits its capacity, sparing `protectedSlot`. */
  #evict(protectedSlot: number): void {
    const blocks = this.#blocks;
    const referenced = this.#referenced;
    // Invariant: the protected block fits the capacity alone, so other blocks remain while the
    // cache is over it; each of them is evicted within two turns of the hand (one clears its bit).
    while (this.#bytes > this.capacityBytes) {
      const slot = this.#hand;
      this.#hand = slot + 1 < blocks.length ? slot + 1 : 0;
      if (slot === protectedSlot || blocks[slot] === undefined) continue;
      if (referenced[slot] !== 0) {
        referenced[slot] = 0;
        continue;
      }
      this.#release(slot);
      this.#evictions++;
    }
  }
}
