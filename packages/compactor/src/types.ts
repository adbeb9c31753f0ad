/**
 * The shared vocabulary of `@auradb/compactor`: the view of the tree and of the workload a policy
 * reads, the decision it returns, and the shape parameters it wants the engine to follow. All
 * plain data: the engine builds the views, the compactor never touches a file.
 *
 * ```
 *   L0   run [a......z]  run [b....y]  run [a.....x]     every L0 table is a run of its own
 *   L1   run [a..f][g..p][q..z]                          leveled level: one run
 *   L2   run [a...k][l....z]   run [a.....z]   run ...   tiered level: up to K runs
 *   L3   run [a..c][d..h][i..n][o..t][u..z]              the last level: up to Z runs
 * ```
 */

/** One table (SSTable) as a policy sees it. */
export interface TableView {
  /** The table's file number: unique in the tree, a safe integer >= 0. */
  readonly id: number;
  /** Size of the file in bytes (integer >= 0). */
  readonly bytes: number;
  /** Entries in the table, tombstones included (integer >= 0). */
  readonly entries: number;
  /** Smallest and largest user key of the table (bytewise order, inclusive). */
  readonly smallestKey: Uint8Array;
  readonly largestKey: Uint8Array;
}

/** A sorted run: tables sorted by key, key ranges disjoint. A read probes one table per run. */
export interface RunView {
  readonly tables: readonly TableView[];
}

/**
 * One level: its runs, **newest first** (run 0 holds the newest data). In L0 every table is a
 * run of its own (L0 tables overlap); a leveled level has one run, a tiered level up to K.
 */
export interface LevelView {
  readonly runs: readonly RunView[];
}

/** The tree as a policy sees it. */
export interface TreeView {
  /** levels[0] is L0. Missing deeper levels are empty. At most the policy's `levelCount`. */
  readonly levels: readonly LevelView[];
  /** File numbers being compacted now: a decision never includes one of them. */
  readonly busy?: ReadonlySet<number>;
  /** Bytes in memtables waiting to be flushed (informational; >= 0). */
  readonly pendingFlushBytes?: number;
  /** The value log, when values are separated: its bytes and how many of them are garbage. */
  readonly valueLog?: { readonly bytes: number; readonly garbageBytes: number };
}

/**
 * What the workload did in the last window, as the engine measured it. Counts are integers >= 0;
 * durations, bytes and latencies are finite numbers >= 0.
 */
export interface WorkloadWindow {
  /** Length of the window (wall time). */
  readonly durationMs: number;
  /** Point lookups, and how many of them found nothing. */
  readonly reads: number;
  readonly readMisses: number;
  /** Puts and deletes (a batch counts its operations). */
  readonly writes: number;
  /** Range scans (iterators opened), and the entries they returned. */
  readonly scans: number;
  readonly scannedEntries: number;
  /** User bytes written (keys + values) and returned by reads and scans. */
  readonly bytesWritten: number;
  readonly bytesRead: number;
  /** Device bytes read and written for any reason in the window: flushes, compactions, lookups. */
  readonly ioBytes: number;
  /** Mean and 99th-percentile latency of the operations of the window. */
  readonly latencyMeanMs: number;
  readonly latencyP99Ms: number;
}

/** How the output of a compaction joins its output level. Plain strings (no `enum`). */
export const MergeStyle = {
  /**
   * The output replaces the overlapping tables of an existing run of the output level (those
   * tables are among the inputs): leveling. The run stays sorted and disjoint.
   */
  MergeIntoRun: "merge-into-run",
  /**
   * The output is a new run of the output level, newer than every run left there: tiering (a
   * run appended), or several runs of a level merged into one in place.
   */
  NewRun: "new-run",
} as const;
export type MergeStyle = (typeof MergeStyle)[keyof typeof MergeStyle];

/** Tables of one run taken by a compaction. */
export interface CompactionInput {
  readonly level: number;
  /** Index of the run in `tree.levels[level].runs` (0 = newest) of the tree the decision was made on. */
  readonly run: number;
  /** Table ids, in the run's key order. */
  readonly tables: readonly number[];
}

/** One compaction to run. The engine merges every input table and places the output as `style` says. */
export interface CompactionDecision {
  /** Source runs first (newest data first), then, for merge-into-run, the target run's overlapping tables. */
  readonly inputs: readonly CompactionInput[];
  readonly outputLevel: number;
  readonly style: MergeStyle;
  /** For merge-into-run: the run of `outputLevel` merged into (its tables are the last input). Else null. */
  readonly targetRun: number | null;
  /** Sum of the input tables' bytes. */
  readonly inputBytes: number;
  /** The score that made the policy choose it (>= 1: the level is over a limit). */
  readonly score: number;
  /** Why, for logs and stats. */
  readonly reason: string;
}

/**
 * The shape a policy wants the tree to have. The engine's write-stall rules follow
 * `l0SlowdownTrigger` and `l0StopTrigger`; everything else is what `pick` enforces.
 */
export interface ShapeParameters {
  /** T: each level below L1 targets T times the bytes of the one above. */
  readonly sizeRatio: number;
  /** Target bytes of L1. Level n targets level1Bytes · T^(n−1). */
  readonly level1Bytes: number;
  /** Levels of the tree, L0 included. */
  readonly levelCount: number;
  /** K: most runs of a level from L1 to the one above the last (1 = leveling). */
  readonly runsUpper: number;
  /** Z: most runs of the last level (1 = leveling). */
  readonly runsLast: number;
  /** L0 is compacted when it holds this many runs (tables). */
  readonly l0Trigger: number;
  /** The engine slows writes from this many L0 runs on. */
  readonly l0SlowdownTrigger: number;
  /** The engine stops writes from this many L0 runs on, until a compaction lowers it. */
  readonly l0StopTrigger: number;
}

/**
 * Decides what to compact next. Contract: `pick` does no I/O, reads only its argument (and the
 * policy's own state, such as round-robin pointers), never returns a decision touching a busy
 * table, and throws `InvalidArgumentError` for a malformed tree.
 */
export interface CompactionPolicy {
  readonly name: string;
  /** The shape the policy enforces now (a policy that learns may change it after `observe`). */
  shape(): ShapeParameters;
  /** The compaction to run next, or null when the tree is within every limit. */
  pick(tree: TreeView): CompactionDecision | null;
}
