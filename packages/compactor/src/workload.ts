/**
 * The workload side of the agent's state: a window's operation mix, and its bucket.
 *
 * Buckets (12): the write fraction in four ranges (under 20%, 20–40%, 40–70%, 70% and over),
 * times the scan share of the reading operations (3): under 5% (point reads dominate), 5–30%,
 * over 30%. The scan thresholds are low because a scan costs one seek per run plus its entries,
 * some 3 to 30 times a point read, so a few percent of scans already decide what a good shape is.
 * The write edges keep the common mixes inside a bucket, away from its edges: 5–10% writes
 * (YCSB B, read-mostly), 50% (YCSB A, balanced) and 90–100% (loads) would flicker between two
 * buckets at plain quarters (a 50/50 window lands on either side of 50%), splitting what the agent
 * learns about one workload in two.
 */
import { InvalidArgumentError } from "./errors.ts";
import type { WorkloadWindow } from "./types.ts";

/** Fractions of the window's operations (summing to 1, or all 0 for an idle window). */
export interface WorkloadMix {
  readonly operations: number;
  readonly writeFraction: number;
  readonly readFraction: number;
  readonly scanFraction: number;
  /** Reads that found nothing, over reads (0 without reads). */
  readonly missFraction: number;
}

/** Upper edges of the write-fraction ranges but the last (module comment). */
const WRITE_EDGES = [0.2, 0.4, 0.7] as const;
const WRITE_BUCKETS = WRITE_EDGES.length + 1;
const WRITE_NAMES = ["w0-20%", "w20-40%", "w40-70%", "w70-100%"] as const;
const SCAN_SHARE_LIMITS = [0.05, 0.3] as const;
const SCAN_BUCKETS = SCAN_SHARE_LIMITS.length + 1;
/** Number of workload buckets ({@link mixBucket} returns 0 .. MIX_BUCKETS − 1). */
export const MIX_BUCKETS: number = WRITE_BUCKETS * SCAN_BUCKETS;

/** Checks every field of `window` (integers for counts, finite >= 0 for the rest). @throws InvalidArgumentError */
export function validateWindow(window: WorkloadWindow): void {
  if (window === null || typeof window !== "object") throw new InvalidArgumentError("auradb/compactor: the workload window must be an object");
  for (const field of ["reads", "readMisses", "writes", "scans", "scannedEntries"] as const) {
    const value = window[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`auradb/compactor: window.${field} must be an integer >= 0, got ${String(value)}`);
    }
  }
  for (const field of ["durationMs", "bytesWritten", "bytesRead", "ioBytes", "latencyMeanMs", "latencyP99Ms"] as const) {
    const value = window[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(`auradb/compactor: window.${field} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  if (window.readMisses > window.reads) throw new InvalidArgumentError("auradb/compactor: window.readMisses exceeds window.reads");
}

/** The mix of a (valid) window. */
export function mixOf(window: WorkloadWindow): WorkloadMix {
  const operations = window.reads + window.writes + window.scans;
  if (operations === 0) return { operations, writeFraction: 0, readFraction: 0, scanFraction: 0, missFraction: 0 };
  return {
    operations,
    writeFraction: window.writes / operations,
    readFraction: window.reads / operations,
    scanFraction: window.scans / operations,
    missFraction: window.reads === 0 ? 0 : window.readMisses / window.reads,
  };
}

/** The bucket of a mix (module comment), in [0, MIX_BUCKETS). */
export function mixBucket(mix: WorkloadMix): number {
  let write = 0;
  while (write < WRITE_EDGES.length && mix.writeFraction >= WRITE_EDGES[write]!) write++;
  const reading = mix.readFraction + mix.scanFraction;
  const share = reading === 0 ? 0 : mix.scanFraction / reading;
  const scan = share < SCAN_SHARE_LIMITS[0] ? 0 : share < SCAN_SHARE_LIMITS[1] ? 1 : 2;
  return write * SCAN_BUCKETS + scan;
}

/**
 * Which way the cost model (Monkey, Dostoevsky) leans in a bucket, where it leans one way only:
 * −1, towards fewer runs, where reads dominate (writes under 40% of the operations) or scans do
 * (over 30% of the reads): every run costs a probe or a seek, and nothing is gained by more. 0
 * elsewhere: where writes dominate, the best shape lies inside the range (more runs save rewrites,
 * to a point, and cost the reads), so a one-way lean would overshoot.
 */
export function bucketLean(bucket: number): -1 | 0 {
  const write = Math.floor(bucket / SCAN_BUCKETS);
  const scan = bucket % SCAN_BUCKETS;
  return write < 2 || scan === 2 ? -1 : 0;
}

/** A readable name of a bucket, e.g. "w70-100% s<5%". */
export function mixBucketName(bucket: number): string {
  const write = Math.floor(bucket / SCAN_BUCKETS);
  const scan = bucket % SCAN_BUCKETS;
  return `${WRITE_NAMES[write]!} s${["<5", "5-30", ">30"][scan]}%`;
}
