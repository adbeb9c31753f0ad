/**
 * The engine's side of `@auradb/compactor`: the view of the tree a policy reads, the translation
 * of its decision into a job the engine runs (checked: a decision that would put older data above
 * newer data is refused, never executed), and the workload windows the learning policy observes.
 *
 * Ordering rule every job keeps (why a read may stop at the first version it finds): data in a
 * level is newer than data in any level below, and in a level L1+ a run with a higher number is
 * newer than one with a lower number (L0: a higher file number is newer).
 */
import {
  type CompactionDecision,
  type CompactionPolicy as ShapePolicy,
  type ShapeParameters,
  type TreeView,
  type WorkloadWindow,
  lazyLevelingPolicy,
  leveledPolicy,
  ShapedPolicy,
  tieredPolicy,
} from "@auradb/compactor";
import { InvalidArgumentError } from "@auradb/fs";
import { compareBytes, keyRange, type Run, type TableMeta, type Version } from "@auradb/lsm";
import type { ResolvedOptions } from "./options.ts";

/** One table a job reads. */
export interface JobInput {
  readonly level: number;
  readonly table: TableMeta;
}

/** A compaction the engine runs: merge `inputs`, write the output into one run of `outputLevel`. */
export interface CompactionJob {
  readonly inputs: readonly JobInput[];
  readonly outputLevel: number;
  /**
   * The run number the output tables get, or "new" for a run numbered above every run there (the
   * engine draws the number when it runs the job).
   */
  readonly outputRun: number | "new";
  /** Move the single input table without rewriting it (LevelDB's trivial move). */
  readonly trivialMove: boolean;
  readonly reason: string;
}

/**
 * The tree as `@auradb/compactor` sees it: levels → runs (newest first) → tables (id = file number,
 * user-key range). `levelCount` levels at most (the version set keeps that many).
 */
export function treeViewOf(version: Version, busy: ReadonlySet<number>, levelCount: number): TreeView {
  const levels: { runs: { tables: { id: number; bytes: number; entries: number; smallestKey: Uint8Array; largestKey: Uint8Array }[] }[] }[] = [];
  for (let level = 0; level < Math.min(levelCount, version.levels.length); level++) {
    levels.push({
      runs: version.runs(level).map((run) => ({
        tables: run.tables.map((table) => ({ id: table.fileNumber, bytes: table.fileBytes, entries: table.entryCount, smallestKey: table.smallestKey, largestKey: table.largestKey })),
      })),
    });
  }
  return { levels, busy };
}

/** The ordering rule was about to be broken: a bug in a policy, reported rather than executed. */
function refuse(decision: CompactionDecision, why: string): never {
  throw new InvalidArgumentError(`auradb: refused compaction decision (${why}): ${decision.reason}`);
}

/**
 * The job for `decision`, made on `treeViewOf(version)`. Checks, so that no decision can break
 * the ordering rule (module comment) or a run's disjointness:
 * - inputs come from the output level and the level just above it, and name tables of the runs
 *   they say;
 * - a source table (above the output level) leaves no older overlapping table behind in its level;
 * - `merge-into-run`: the output level's inputs are all from the target run, every table of it
 *   overlapping the inputs is an input, and no newer run of the level overlaps them;
 * - `new-run`: the output level's inputs are whole runs, the newest ones when something comes from
 *   above (the output becomes the newest run), else a contiguous group (it takes their place).
 * @throws InvalidArgumentError naming the broken rule.
 */
export function jobFromDecision(version: Version, decision: CompactionDecision): CompactionJob {
  const outputLevel = decision.outputLevel;
  if (!Number.isInteger(outputLevel) || outputLevel < 1 || outputLevel >= version.levels.length) refuse(decision, `output level ${outputLevel}`);
  const inputs: JobInput[] = [];
  const runsTaken = new Map<number, Map<number, Set<number>>>(); // level → run index → table ids
  for (const input of decision.inputs) {
    if (input.level !== outputLevel && input.level !== outputLevel - 1) refuse(decision, `input level ${input.level} for output level ${outputLevel}`);
    const run = version.runs(input.level)[input.run];
    if (run === undefined) refuse(decision, `no run ${input.run} in L${input.level}`);
    let byRun = runsTaken.get(input.level);
    if (byRun === undefined) runsTaken.set(input.level, (byRun = new Map()));
    const ids = byRun.get(input.run) ?? new Set<number>();
    byRun.set(input.run, ids);
    for (const id of input.tables) {
      const table = run!.tables.find((candidate) => candidate.fileNumber === id);
      if (table === undefined || ids.has(id)) refuse(decision, `table ${id} is not (once) in L${input.level} run ${input.run}`);
      ids.add(id);
      inputs.push({ level: input.level, table: table! });
    }
  }
  if (inputs.length === 0) refuse(decision, "no input");
  const taken = new Set(inputs.map((input) => input.table.fileNumber));
  const [smallest, largest] = keyRange(inputs.map((input) => input.table));

  const sources = runsTaken.get(outputLevel - 1);
  if (sources !== undefined) {
    // A table of the source level left behind in a run older than a taken one, overlapping the
    // sources, would sit above the newer data moved down: a read would find it first.
    const sourceTables = inputs.filter((input) => input.level === outputLevel - 1).map((input) => input.table);
    const [sourceSmallest, sourceLargest] = keyRange(sourceTables);
    const runs = version.runs(outputLevel - 1);
    for (let index = Math.min(...sources.keys()); index < runs.length; index++) {
      for (const table of runs[index]!.tables) {
        if (!taken.has(table.fileNumber) && overlaps(table, sourceSmallest, sourceLargest)) refuse(decision, `L${outputLevel - 1} table ${table.fileNumber} overlaps and stays`);
      }
    }
  }

  const runs = version.runs(outputLevel);
  const atOutput = runsTaken.get(outputLevel) ?? new Map<number, Set<number>>();
  if (decision.style === "merge-into-run") {
    const target = decision.targetRun;
    if (target === null || runs[target] === undefined) refuse(decision, `no target run ${String(target)}`);
    for (const index of atOutput.keys()) if (index !== target) refuse(decision, `L${outputLevel} input from run ${index}, target ${String(target)}`);
    for (const table of runs[target!]!.tables) {
      if (!taken.has(table.fileNumber) && overlaps(table, smallest, largest)) refuse(decision, `target run table ${table.fileNumber} overlaps and is no input`);
    }
    for (let index = 0; index < target!; index++) {
      for (const table of runs[index]!.tables) if (overlaps(table, smallest, largest)) refuse(decision, `newer run ${index} overlaps the inputs`);
    }
    return { inputs, outputLevel, outputRun: runs[target!]!.id, trivialMove: false, reason: decision.reason };
  }
  if (decision.style !== "new-run") refuse(decision, `style ${String(decision.style)}`);
  const indexes = [...atOutput.keys()].sort((a, b) => a - b);
  for (const index of indexes) {
    if (atOutput.get(index)!.size !== runs[index]!.tables.length) refuse(decision, `new-run takes part of L${outputLevel} run ${index}`);
  }
  for (let position = 1; position < indexes.length; position++) {
    if (indexes[position] !== indexes[position - 1]! + 1) refuse(decision, `new-run takes runs ${indexes.join(", ")}, not contiguous`);
  }
  if (indexes.length > 0 && indexes[0] !== 0) {
    if (sources !== undefined) refuse(decision, "data from above would land below newer runs");
    return { inputs, outputLevel, outputRun: runs[indexes[0]!]!.id, trivialMove: false, reason: decision.reason };
  }
  // NB: when the output is all that will remain of the level, run 0 keeps the manifest free of run tags.
  const remaining = runs.length - indexes.length;
  return { inputs, outputLevel, outputRun: remaining === 0 ? 0 : "new", trivialMove: false, reason: decision.reason };
}

/**
 * The job that compacts every table of `level` within [low, high] into the next level (the
 * manual `compactRange`): the next level's tables overlapping the inputs, transitively across
 * its runs, are inputs too, and the output joins the next level's newest run. Null when the
 * range holds nothing at `level`.
 */
export function rangeJob(version: Version, level: number, low: Uint8Array | undefined, high: Uint8Array | undefined): CompactionJob | null {
  const inRange = (table: TableMeta) => (low === undefined || compareBytes(table.largestKey, low) >= 0) && (high === undefined || compareBytes(table.smallestKey, high) <= 0);
  const levelTables = version.levels[level] ?? [];
  const sources = levelTables.filter(inRange);
  if (sources.length === 0) return null;
  const taken = new Set<number>(sources.map((table) => table.fileNumber));
  // A table of the same level overlapping the inputs' extent (L0, or another run) must go down
  // too: left behind, its older versions would sit above the newer ones moved down. Widen until
  // nothing else overlaps (LevelDB's L0 rule), then the same in the next level.
  let [smallest, largest] = widenWithinLevel(levelTables, sources, taken);
  const inputs: JobInput[] = sources.map((table) => ({ level, table }));
  const below: Run[] = [...version.runs(level + 1)];
  // The output replaces every overlapping table of the next level: widen until nothing else overlaps.
  for (let grew = true; grew; ) {
    grew = false;
    for (const run of below) {
      for (const table of run.tables) {
        if (taken.has(table.fileNumber) || !overlaps(table, smallest, largest)) continue;
        taken.add(table.fileNumber);
        inputs.push({ level: level + 1, table });
        if (compareBytes(table.smallestKey, smallest) < 0) smallest = table.smallestKey;
        if (compareBytes(table.largestKey, largest) > 0) largest = table.largestKey;
        grew = true;
      }
    }
  }
  const outputRun = below.length === 0 ? 0 : below[0]!.id;
  return { inputs, outputLevel: level + 1, outputRun, trivialMove: false, reason: `compactRange: L${level} into L${level + 1}` };
}

/**
 * Adds to `chosen` (and `taken`) every table of `levelTables` overlapping the chosen tables' key
 * extent, until none is left that does; returns that extent. REQUIRES `chosen` non-empty and
 * `taken` holding exactly its file numbers.
 */
function widenWithinLevel(levelTables: readonly TableMeta[], chosen: TableMeta[], taken: Set<number>): [Uint8Array, Uint8Array] {
  let [smallest, largest] = keyRange(chosen);
  for (let grew = true; grew; ) {
    grew = false;
    for (const table of levelTables) {
      if (taken.has(table.fileNumber) || !overlaps(table, smallest, largest)) continue;
      taken.add(table.fileNumber);
      chosen.push(table);
      [smallest, largest] = keyRange(chosen);
      grew = true;
    }
  }
  return [smallest, largest];
}

/**
 * The job that merges, in place, every run of `level` within [low, high] (the manual
 * `compactRange` at the last level, where a tiered tree keeps several runs): tables overlapping
 * the range in any run, widened until no other table of the level overlaps them, into the level's
 * newest run. Null when fewer than two runs hold keys in the range.
 */
export function mergeRunsJob(version: Version, level: number, low: Uint8Array | undefined, high: Uint8Array | undefined): CompactionJob | null {
  const runs = version.runs(level);
  const tables = version.levels[level] ?? [];
  const inRange = (table: TableMeta) => (low === undefined || compareBytes(table.largestKey, low) >= 0) && (high === undefined || compareBytes(table.smallestKey, high) <= 0);
  const chosen = tables.filter(inRange);
  if (chosen.length === 0) return null;
  const taken = new Set(chosen.map((table) => table.fileNumber));
  widenWithinLevel(tables, chosen, taken);
  const runsTouched = runs.filter((run) => run.tables.some((table) => taken.has(table.fileNumber))).length;
  if (runsTouched < 2) return null;
  // NB: no table left in the level overlaps the output, so the newest run may take it.
  return { inputs: chosen.map((table) => ({ level, table })), outputLevel: level, outputRun: runs[0]!.id, trivialMove: false, reason: `compactRange: ${runsTouched} runs of L${level} merged` };
}

/** True when a run of a level at or below `outputLevel`, other than the inputs, may hold `key`. */
export function keyMayExistOutside(version: Version, key: Uint8Array, outputLevel: number, inputs: ReadonlySet<number>): boolean {
  // NB: called per droppable tombstone: a binary search per run. Conservative: any table outside
  // the inputs whose range holds the key keeps the tombstone (newer data there would not need it,
  // but telling them apart is not worth the risk).
  for (let level = outputLevel; level < version.levels.length; level++) {
    for (const run of version.runs(level)) {
      const table = tableHolding(run.tables, key);
      if (table !== undefined && !inputs.has(table.fileNumber)) return true;
    }
  }
  return false;
}

/** In a sorted, disjoint run: the table whose key range holds `key`, if any. */
export function tableHolding(tables: readonly TableMeta[], key: Uint8Array): TableMeta | undefined {
  let low = 0;
  let high = tables.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareBytes(tables[middle]!.largestKey, key) < 0) low = middle + 1;
    else high = middle;
  }
  const table = tables[low];
  return table === undefined || compareBytes(key, table.smallestKey) < 0 ? undefined : table;
}

function overlaps(table: TableMeta, smallest: Uint8Array, largest: Uint8Array): boolean {
  return compareBytes(table.largestKey, smallest) >= 0 && compareBytes(table.smallestKey, largest) <= 0;
}


/** The fixed shaped policy of `compaction` ('tiered', 'lazy-leveling' or 'fluid'; 'leveled' as the fallback for several runs). */
export function fixedPolicy(style: "leveled" | "tiered" | "lazy-leveling" | "fluid", options: ResolvedOptions, levelCount: number): ShapePolicy {
  const knobs = {
    sizeRatio: options.sizeRatio,
    level1Bytes: options.level1Bytes,
    levelCount,
    l0Trigger: Math.min(options.l0CompactionTrigger, 64),
    l0SlowdownTrigger: Math.min(options.l0SlowdownFiles, 256),
    l0StopTrigger: Math.min(options.l0StopFiles, 256),
  };
  if (style === "tiered") return tieredPolicy(knobs);
  if (style === "lazy-leveling") return lazyLevelingPolicy(knobs);
  if (style === "fluid") return new ShapedPolicy("fluid", { ...knobs, runsUpper: options.runsPerLevel, runsLast: options.runsLastLevel });
  return leveledPolicy({ ...knobs, sizeRatio: Math.min(options.sizeRatio, 255) });
}

/** The shape the engine's LevelDB picker (`'leveled'`) enforces, in the compactor's terms (for stats). */
export function leveledShape(options: ResolvedOptions, levelCount: number): ShapeParameters {
  return {
    sizeRatio: options.sizeRatio,
    level1Bytes: options.level1Bytes,
    levelCount,
    runsUpper: 1,
    runsLast: 1,
    l0Trigger: options.l0CompactionTrigger,
    l0SlowdownTrigger: options.l0SlowdownFiles,
    l0StopTrigger: options.l0StopFiles,
  };
}

/** Latency samples a window keeps at most (a ring: the newest win). */
const LATENCY_SAMPLES_MAX = 4096;
/** One operation in this many is timed (a `performance.now()` pair costs about as much as a cached get). */
export const LATENCY_SAMPLE_EVERY = 16;

/**
 * The counters of one workload window (`WorkloadWindow`), filled by the engine's operations.
 * Plain fields: incremented on the hot path.
 */
export class WindowRecorder {
  startedMs = performance.now();
  reads = 0;
  readMisses = 0;
  writes = 0;
  scans = 0;
  scannedEntries = 0;
  bytesWritten = 0;
  bytesRead = 0;
  /** The engine's I/O byte counter when the window began. */
  ioBytesAtStart: number;
  /** Operations counted, for the sampling and the end of the window. */
  operations = 0;
  readonly #latencies: number[] = [];
  #latencyNext = 0;

  constructor(ioBytesAtStart: number) {
    this.ioBytesAtStart = ioBytesAtStart;
  }

  /** Keeps one sampled latency. */
  latency(ms: number): void {
    if (this.#latencies.length < LATENCY_SAMPLES_MAX) this.#latencies.push(ms);
    else {
      this.#latencies[this.#latencyNext] = ms;
      this.#latencyNext = (this.#latencyNext + 1) % LATENCY_SAMPLES_MAX;
    }
  }

  /** The window so far, as the agent reads it. */
  window(ioBytesNow: number): WorkloadWindow {
    const latencies = this.#latencies.slice().sort((a, b) => a - b);
    let sum = 0;
    for (const latency of latencies) sum += latency;
    return {
      durationMs: Math.max(0, performance.now() - this.startedMs),
      reads: this.reads,
      readMisses: this.readMisses,
      writes: this.writes,
      scans: this.scans,
      scannedEntries: this.scannedEntries,
      bytesWritten: this.bytesWritten,
      bytesRead: this.bytesRead,
      ioBytes: Math.max(0, ioBytesNow - this.ioBytesAtStart),
      latencyMeanMs: latencies.length === 0 ? 0 : sum / latencies.length,
      latencyP99Ms: latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!,
    };
  }

  /** Starts the next window. */
  reset(ioBytesNow: number): void {
    this.startedMs = performance.now();
    this.reads = this.readMisses = this.writes = this.scans = this.scannedEntries = 0;
    this.bytesWritten = this.bytesRead = 0;
    this.operations = 0;
    this.ioBytesAtStart = ioBytesNow;
    this.#latencies.length = 0;
    this.#latencyNext = 0;
  }
}
