/**
 * An analytic LSM cost model in the style of Monkey and Dostoevsky: the I/O of a write, a point
 * lookup and a short scan as functions of the tree's shape, in pages (one page = one device I/O).
 * It is the "known answer" the agent is tested against (a synthetic environment whose best shape
 * can be found by enumeration), and a quick way to reason about a shape.
 *
 * With N entries, B entries per page, T the size ratio, K runs per upper level, Z at the last,
 * t the L0 trigger, M entries per memtable, C1 entries at L1, L levels below L0 and p the Bloom
 * filter's false-positive rate per run:
 * ```
 *   runs R      = t/2 + (L−1)·(K+1)/2 + (Z+1)/2          average runs (a level fills from 1 to its limit)
 *   write       = (1 + 2·Σ rewrites per level) / B          a flush writes once; each merge reads and writes
 *                 rewrites into L1 = C1/(2·t·M) + 1 if L1 is leveled, else 1
 *                 rewrites into an upper level = (T+1)/2 if leveled (K = 1), else 1
 *                 rewrites into the last level = (T+1)/2 if Z = 1, else T/Z + 1 (Z runs, then all merged)
 *   point read  = 1 + p·(R − 1)                            the page holding the key, plus false positives
 *   empty read  = p·R
 *   scan of s   = R + s/B                                  one seek per run, then the entries' pages
 * ```
 * These are averages under uniform keys, with no cache: a model, not a measurement.
 */
import { InvalidArgumentError } from "./errors.ts";
import { numberOption } from "./shape.ts";

/** The tree and device the model describes. */
export interface CostModelParameters {
  /** Entries in the tree (N). */
  readonly entries: number;
  readonly entryBytes: number;
  readonly pageBytes: number;
  readonly memtableEntries: number;
  readonly level1Entries: number;
  readonly sizeRatio: number;
  /** Bloom filter bits per key; the false-positive rate is e^(−bits · ln²2). */
  readonly bloomBitsPerKey: number;
  /** Entries a scan returns. */
  readonly scanLength: number;
  /** Levels below L0 at most (levelCount − 1). */
  readonly levelsMax: number;
}

/** The shape being costed. */
export interface ModelShape {
  readonly runsUpper: number;
  readonly runsLast: number;
  readonly l0Trigger: number;
}

/** Page I/Os per operation of each kind. */
export interface ShapeCosts {
  readonly levels: number;
  readonly runs: number;
  readonly write: number;
  readonly pointRead: number;
  readonly emptyRead: number;
  readonly scan: number;
}

/** Fractions of an operation mix (they need not sum to 1; they are weights). */
export interface ModelMix {
  readonly write: number;
  readonly read: number;
  readonly scan: number;
  /** Share of reads that find nothing. Default 0. */
  readonly miss?: number;
}

/** The per-operation costs of `shape`. @throws InvalidArgumentError for a parameter that is not a finite positive number. */
export function shapeCosts(parameters: CostModelParameters, shape: ModelShape): ShapeCosts {
  const entries = required("entries", parameters.entries, 1, Number.MAX_SAFE_INTEGER);
  const entryBytes = required("entryBytes", parameters.entryBytes, 1, 2 ** 32);
  const pageBytes = required("pageBytes", parameters.pageBytes, 1, 2 ** 32);
  const memtableEntries = required("memtableEntries", parameters.memtableEntries, 1, Number.MAX_SAFE_INTEGER);
  const level1Entries = required("level1Entries", parameters.level1Entries, 1, Number.MAX_SAFE_INTEGER);
  const sizeRatio = required("sizeRatio", parameters.sizeRatio, 2, 255);
  const bits = required("bloomBitsPerKey", parameters.bloomBitsPerKey, 0, 64);
  const scanLength = required("scanLength", parameters.scanLength, 0, Number.MAX_SAFE_INTEGER);
  const levelsMax = required("levelsMax", parameters.levelsMax, 1, 63);
  for (const [name, value] of Object.entries(shape)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`auradb/compactor: shape.${name} must be an integer >= 1, got ${String(value)}`);
  }
  const perPage = Math.max(1, pageBytes / entryBytes);
  const falsePositive = Math.exp(-bits * Math.LN2 * Math.LN2);
  let levels = 1;
  let capacity = level1Entries;
  while (capacity < entries && levels < levelsMax) {
    levels++;
    capacity += level1Entries * sizeRatio ** (levels - 1);
  }
  const { runsUpper, runsLast, l0Trigger } = shape;
  const runs = l0Trigger / 2 + (levels - 1) * ((runsUpper + 1) / 2) + (runsLast + 1) / 2;
  const leveledRewrites = (sizeRatio + 1) / 2;
  let rewrites = 0;
  for (let level = 1; level <= levels; level++) {
    const isLast = level === levels;
    const allowed = isLast ? runsLast : runsUpper;
    if (level === 1) rewrites += allowed === 1 ? level1Entries / (2 * l0Trigger * memtableEntries) + 1 : 1;
    else if (!isLast) rewrites += allowed === 1 ? leveledRewrites : 1;
    else rewrites += allowed === 1 ? leveledRewrites : sizeRatio / allowed + 1;
  }
  return {
    levels,
    runs,
    write: (1 + 2 * rewrites) / perPage,
    pointRead: 1 + falsePositive * (runs - 1),
    emptyRead: falsePositive * runs,
    scan: runs + scanLength / perPage,
  };
}

function required(name: string, value: number, minimum: number, maximum: number): number {
  if (value === undefined) throw new InvalidArgumentError(`auradb/compactor: cost model parameter ${name} is required`);
  return numberOption(name, value, 0, minimum, maximum);
}

/** Expected page I/Os per operation of `mix` (weights normalised). @throws InvalidArgumentError */
export function costPerOperation(costs: ShapeCosts, mix: ModelMix): number {
  const write = numberOption("mix.write", mix.write, 0, 0, 1e12);
  const read = numberOption("mix.read", mix.read, 0, 0, 1e12);
  const scan = numberOption("mix.scan", mix.scan, 0, 0, 1e12);
  const miss = numberOption("mix.miss", mix.miss, 0, 0, 1);
  const total = write + read + scan;
  if (total === 0) throw new InvalidArgumentError("auradb/compactor: the mix has no operations");
  const readCost = (1 - miss) * costs.pointRead + miss * costs.emptyRead;
  return (write * costs.write + read * readCost + scan * costs.scan) / total;
}
