/**
 * `valueThreshold: 'auto'`: the separation threshold follows the observed value sizes.
 *
 * What separation buys is proportional to value bytes (compaction stops rewriting them); what it
 * costs is per value (a pointer in the tree, a second read on `get`, a GC relocation). So the
 * rule separates as few values as possible while still taking most of the bytes out of the tree:
 * the threshold is the largest power of two such that values at or above it carry at least
 * `BYTES_SHARE` of the value bytes, clamped to [FLOOR, CEILING]. Examples: all values 4 KiB →
 * 4 KiB (all separated); all 100 B → 512 B (none); 90 % of writes 100 B and 10 % 16 KiB → 16 KiB
 * (only the large ones). The histogram decays by half at each recomputation, so the threshold
 * follows a shifting workload within a few recomputations.
 */

/** Share of value bytes the separated values must carry. */
const BYTES_SHARE = 0.8;
/** Never separate below this (a pointer and a second read cost more than they save). */
export const AUTO_THRESHOLD_FLOOR = 512;
const CEILING = 1024 * 1024;
/** Puts between recomputations. */
const RECOMPUTE_EVERY = 4096;
const BUCKETS = 32;

export class AutoThreshold {
  /** Bytes of observed values per bucket: bucket b holds sizes in [2^b, 2^(b+1)). */
  private readonly bytes = new Float64Array(BUCKETS);
  private observed = 0;
  /** The current threshold. Before any observation: 4 KiB. */
  current = 4096;

  /** Records one value size (a put); recomputes the threshold every RECOMPUTE_EVERY calls. */
  observe(size: number): void {
    const bucket = size === 0 ? 0 : 31 - Math.clz32(size);
    this.bytes[bucket]! += size;
    if (++this.observed >= RECOMPUTE_EVERY) this.recompute();
  }

  /** Sets `current` from the histogram, then halves the histogram (decay). */
  recompute(): void {
    this.observed = 0;
    let total = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) total += this.bytes[bucket]!;
    if (total === 0) return;
    // From the top: the first bucket boundary where the bytes at or above it reach the share.
    let above = 0;
    let threshold = AUTO_THRESHOLD_FLOOR;
    for (let bucket = BUCKETS - 1; bucket >= 0; bucket--) {
      above += this.bytes[bucket]!;
      if (above >= BYTES_SHARE * total) {
        threshold = 2 ** bucket;
        break;
      }
    }
    this.current = Math.min(CEILING, Math.max(AUTO_THRESHOLD_FLOOR, threshold));
    for (let bucket = 0; bucket < BUCKETS; bucket++) this.bytes[bucket]! *= 0.5;
  }
}
