/**
 * The table's Bloom filter over user keys (docs/format/sstable.md, "Filter block"): murmur3
 * (x86, 32-bit), then LevelDB's double hashing confined to one 512-bit line (a cache-local, or
 * "blocked", Bloom filter as in RocksDB), k stored in the block.
 *
 * NB: why blocked. A lookup of a present key tests all k bits. Spread over the whole array (1.25
 * MB for a million keys) those are k cache misses: measured at 12 % of a cached `get` on a
 * million-entry table. In one line they are one or two misses. Picking the line and the bits from
 * the same hash bits correlates them (2.5 % false positives measured at 10 bits per key); the
 * probes therefore start from a remix of the hash, which measured 1.03-1.05 % (decimal and random
 * keys), the same as unblocked double hashing over the same 32-bit hash (1.03-1.10 %).
 */
import { CorruptionError } from "@auradb/fs";
import { assert } from "./_assert.ts";
import { BLOOM_HASH_SEED, BLOOM_LINE_BITS, BLOOM_PROBES_MAX, BLOOM_PROBES_MIN, BLOOM_REMIX_MULTIPLIER } from "./format.ts";

const LINE_BYTES = BLOOM_LINE_BITS / 8;
/** Bits of the in-line bit number, taken from the top of the probe state. */
const LINE_SHIFT = 32 - Math.log2(BLOOM_LINE_BITS);

/**
 * MurmurHash3 x86 32-bit of `data` with `seed` (Austin Appleby's reference), as an unsigned 32-bit
 * integer. Little-endian 4-byte blocks, so the result is the same on every platform.
 */
export function murmur3(data: Uint8Array, seed: number): number {
  const length = data.length;
  const blocksEnd = length & ~3;
  let hash = seed | 0;
  for (let index = 0; index < blocksEnd; index += 4) {
    let block = data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24);
    block = Math.imul(block, 0xcc9e2d51);
    block = (block << 15) | (block >>> 17);
    block = Math.imul(block, 0x1b873593);
    hash ^= block;
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  const tailLength = length & 3;
  if (tailLength !== 0) {
    let tail = 0;
    if (tailLength === 3) tail ^= data[blocksEnd + 2]! << 16;
    if (tailLength >= 2) tail ^= data[blocksEnd + 1]! << 8;
    tail ^= data[blocksEnd]!;
    tail = Math.imul(tail, 0xcc9e2d51);
    tail = (tail << 15) | (tail >>> 17);
    tail = Math.imul(tail, 0x1b873593);
    hash ^= tail;
  }
  hash ^= length;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The filter hash of a user key. */
export function bloomHash(key: Uint8Array): number {
  return murmur3(key, BLOOM_HASH_SEED);
}

/** Probes per key for `bitsPerKey`: round(bitsPerKey × ln 2) (the optimum), clamped to 1..30. */
export function bloomProbeCount(bitsPerKey: number): number {
  return Math.min(BLOOM_PROBES_MAX, Math.max(BLOOM_PROBES_MIN, Math.round(bitsPerKey * Math.LN2)));
}

/**
 * Collects key hashes and encodes the filter block. The caller adds each distinct user key once
 * (the table builder skips repeats of the previous key).
 */
export class BloomFilterBuilder {
  readonly bitsPerKey: number;
  #hashes: Uint32Array = new Uint32Array(1024);
  #count = 0;

  /** REQUIRES: `bitsPerKey` is an integer >= 1. */
  constructor(bitsPerKey: number) {
    assert(Number.isInteger(bitsPerKey) && bitsPerKey >= 1, "auradb/lsm: bitsPerKey must be an integer >= 1");
    this.bitsPerKey = bitsPerKey;
  }

  /** Keys added. */
  get keyCount(): number {
    return this.#count;
  }

  addKey(key: Uint8Array): void {
    if (this.#count === this.#hashes.length) {
      const grown = new Uint32Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#count++] = bloomHash(key);
  }

  /** Encodes the filter block contents (bit array, then k). A new array owned by the caller. */
  finish(): Uint8Array {
    const lineCount = Math.max(1, Math.ceil((this.#count * this.bitsPerKey) / BLOOM_LINE_BITS));
    const probes = bloomProbeCount(this.bitsPerKey);
    const contents = new Uint8Array(lineCount * LINE_BYTES + 1);
    const hashes = this.#hashes;
    for (let index = 0; index < this.#count; index++) {
      const hash = hashes[index]!;
      const lineBit = Math.floor((hash * lineCount) / 2 ** 32) * BLOOM_LINE_BITS;
      let state = Math.imul(hash ^ (hash >>> 15), BLOOM_REMIX_MULTIPLIER) >>> 0;
      const delta = ((state >>> 17) | (state << 15)) >>> 0;
      for (let probe = 0; probe < probes; probe++) {
        const bit = lineBit + (state >>> LINE_SHIFT);
        contents[bit >>> 3] = contents[bit >>> 3]! | (1 << (bit & 7));
        state = (state + delta) >>> 0;
      }
    }
    contents[lineCount * LINE_BYTES] = probes;
    return contents;
  }
}

/**
 * A decoded filter block. `mayContain(key)` is false only when the key was never added: no false
 * negatives, about 1 % false positives at 10 bits per key.
 */
export class BloomFilter {
  /** The bit array (a view of the filter block, never modified): whole 512-bit lines. */
  readonly bits: Uint8Array;
  readonly bitCount: number;
  readonly lineCount: number;
  readonly probeCount: number;

  private constructor(bits: Uint8Array, probeCount: number) {
    this.bits = bits;
    this.bitCount = bits.length * 8;
    this.lineCount = bits.length / LINE_BYTES;
    this.probeCount = probeCount;
  }

  /**
   * Checks and wraps filter block contents (kept, not copied). `path` and `fileOffset` name the
   * block in errors.
   * @throws CorruptionError when the bit array is not whole 64-byte lines (at least one) or the
   *   probe count is outside 1..30.
   */
  static decode(contents: Uint8Array, path: string, fileOffset: number): BloomFilter {
    const bitBytes = contents.length - 1;
    if (bitBytes < LINE_BYTES || bitBytes % LINE_BYTES !== 0) {
      throw new CorruptionError(`auradb/lsm: sstable filter block at ${fileOffset} is not whole 64-byte lines (${contents.length} bytes)`, {
        path,
        offset: fileOffset,
      });
    }
    const probes = contents[bitBytes]!;
    if (probes < BLOOM_PROBES_MIN || probes > BLOOM_PROBES_MAX) {
      throw new CorruptionError(`auradb/lsm: sstable filter block at ${fileOffset} has invalid probe count ${probes}`, {
        path,
        offset: fileOffset + bitBytes,
      });
    }
    return new BloomFilter(contents.subarray(0, bitBytes), probes);
  }

  /** False only when `key` is certainly not in the table. Allocation-free. */
  mayContain(key: Uint8Array): boolean {
    return this.mayContainHash(bloomHash(key));
  }

  /** {@link mayContain} for a precomputed {@link bloomHash} (lookups in several tables hash once). */
  mayContainHash(hash: number): boolean {
    const bits = this.bits;
    const lineBit = Math.floor((hash * this.lineCount) / 2 ** 32) * BLOOM_LINE_BITS;
    let state = Math.imul(hash ^ (hash >>> 15), BLOOM_REMIX_MULTIPLIER) >>> 0;
    const delta = ((state >>> 17) | (state << 15)) >>> 0;
    for (let probe = this.probeCount; probe > 0; probe--) {
      const bit = lineBit + (state >>> LINE_SHIFT);
      if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      state = (state + delta) >>> 0;
    }
    return true;
  }
}
