/**
 * `LeveledPolicy`: LevelDB's leveled compaction picker (`VersionSet::Finalize` and
 * `VersionSet::PickCompaction`, `db/version_set.cc`) as a pure function of the tree's shape.
 *
 * ```
 *   L0  [a....k] [c..f] [p..t]        score = tables / l0CompactionTrigger
 *   L1  [a..d][e..j][m..r][s..z]      score = bytes / level1Bytes
 *   L2  ...                           score = bytes / (level1Bytes * sizeRatio)
 *   Ln                                target = level1Bytes * sizeRatio^(n-1)
 * ```
 *
 * The level with the highest score >= 1 is compacted into the next one. From L0, a table is
 * taken with every L0 table overlapping it, transitively: L0 tables overlap, and if a table
 * holding an old version of a key stayed in L0 while the newer version moved down to L1, reads
 * (which look at L0 first) would find the old one. From Ln, the tables are
 * taken round robin, LevelDB's "compact pointer": each pick starts after the largest key of the
 * previous pick at that level, so that every part of the key space gets its turn.
 */
import { compareBytes } from "../compare.ts";
import type { CompactionPlan, CompactionPolicy, LsmShape, TableMeta } from "../types.ts";

const MIB = 1024 * 1024;

/**
 * A trivial move is refused when the moved table would overlap more than this many target-sized
 * files' worth of bytes in the level below its new one (LevelDB's kMaxGrandParentOverlapBytes):
 * a later compaction of that table would otherwise be huge.
 */
const GRANDPARENT_OVERLAP_FILES_MAX = 10;

/** Knobs of `LeveledPolicy`; each has LevelDB's default. */
export interface LeveledPolicyOptions {
  /** L0 is compacted when it holds this many tables (score 1). Default 4. */
  readonly l0CompactionTrigger?: number;
  /** Target bytes of L1 (score 1). Default 10 MiB. */
  readonly level1Bytes?: number;
  /** Each level below L1 targets this many times the bytes of the one above. Default 10. */
  readonly sizeRatio?: number;
  /** Levels of the tree, L0 included; the last one is never compacted further. Default 7. */
  readonly levelCount?: number;
  /** Target bytes of an output table; bounds the overlap a trivial move may cause. Default 2 MiB. */
  readonly targetFileBytes?: number;
}

/** A plan of `LeveledPolicy`: a `CompactionPlan` plus what the policy knows about it. */
export interface LeveledPlan extends CompactionPlan {
  /** The score of `level` that made the policy choose it (>= 1). */
  readonly score: number;
  /**
   * True when the plan has one input and nothing overlapping in the output level (and limited
   * overlap with the level below that): the engine may move the table to `outputLevel` with a
   * manifest edit alone (delete from `level`, add to `outputLevel`), without rewriting it. A
   * move keeps every version and tombstone, so no snapshot can tell. The engine may also run it
   * as an ordinary compaction (to drop garbage), which is always correct.
   */
  readonly trivialMove: boolean;
}

/**
 * Picks compactions LevelDB's way (module comment).
 *
 * Contract:
 * - `pick(shape)` does no I/O and reads only `shape`. It returns null when no level has a score
 *   >= 1, or when every plan it could make touches a table in `shape.busy` (a plan never includes
 *   a busy table, neither as input nor as overlapping).
 * - State: the compact pointer of each level (round robin) lives in the policy object;
 *   `pick` advances the pointer of the level it picks from, whether or not the plan is run.
 *   Pointers are not persisted (LevelDB writes them to the manifest): after a restart the round
 *   robin starts again from the smallest key, which costs nothing in correctness.
 * - @throws RangeError from `pick` when the shape has more levels than `levelCount`.
 */
export class LeveledPolicy implements CompactionPolicy {
  readonly name = "leveled";
  readonly l0CompactionTrigger: number;
  readonly level1Bytes: number;
  readonly sizeRatio: number;
  readonly levelCount: number;
  readonly targetFileBytes: number;
  /** Per level: largest key of the last table picked there, or null (start at the beginning). */
  private readonly compactPointers: (Uint8Array | null)[];

  /** @throws RangeError for an option out of range. */
  constructor(options: LeveledPolicyOptions = {}) {
    this.l0CompactionTrigger = integerOption("l0CompactionTrigger", options.l0CompactionTrigger, 4, 1);
    this.level1Bytes = integerOption("level1Bytes", options.level1Bytes, 10 * MIB, 1);
    this.sizeRatio = integerOption("sizeRatio", options.sizeRatio, 10, 2);
    this.levelCount = integerOption("levelCount", options.levelCount, 7, 2);
    this.targetFileBytes = integerOption("targetFileBytes", options.targetFileBytes, 2 * MIB, 1);
    this.compactPointers = Array.from({ length: this.levelCount }, () => null);
  }

  /** Target bytes of `level` (1 and deeper): level1Bytes * sizeRatio^(level - 1). */
  levelTargetBytes(level: number): number {
    if (!Number.isInteger(level) || level < 1) throw new RangeError(`auradb/lsm: levelTargetBytes takes a level >= 1, got ${level}`);
    return this.level1Bytes * this.sizeRatio ** (level - 1);
  }

  /**
   * The score of each level that may be compacted (0 to levelCount - 2): L0 by table count
   * over the trigger, deeper levels by bytes over their target. A score >= 1 asks for compaction.
   */
  scores(shape: LsmShape): number[] {
    this.checkShape(shape);
    const scores: number[] = [];
    for (let level = 0; level < this.levelCount - 1; level++) {
      const tables = shape.levels[level] ?? [];
      if (level === 0) {
        scores.push(tables.length / this.l0CompactionTrigger);
        continue;
      }
      let bytes = 0;
      for (const table of tables) bytes += table.fileBytes;
      scores.push(bytes / this.levelTargetBytes(level));
    }
    return scores;
  }

  /** The compaction to run next, or null (see the class contract). */
  pick(shape: LsmShape): LeveledPlan | null {
    const scores = this.scores(shape);
    const candidates: number[] = [];
    for (let level = 0; level < scores.length; level++) if (scores[level]! >= 1) candidates.push(level);
    // Highest score first; on a tie the shallower level (its data is newer and reads hit it first).
    candidates.sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (const level of candidates) {
      const plan = level === 0 ? this.pickLevel0(shape, scores[0]!) : this.pickLevel(shape, level, scores[level]!);
      if (plan !== null) return plan;
    }
    return null;
  }

  /** The compact pointer of `level` (a copy), or null when the next pick starts at the front. */
  compactPointer(level: number): Uint8Array | null {
    return this.compactPointers[level]?.slice() ?? null;
  }

  private pickLevel0(shape: LsmShape, score: number): LeveledPlan | null {
    const level0 = shape.levels[0] ?? [];
    // Oldest first: its data has waited longest, and compacting it first keeps L0 ordered by age.
    const seeds = level0.slice().sort((a, b) => a.fileNumber - b.fileNumber);
    const tried = new Set<number>();
    for (const seed of seeds) {
      if (shape.busy.has(seed.fileNumber) || tried.has(seed.fileNumber)) continue;
      const inputs = overlappingTables(level0, seed.smallestKey, seed.largestKey, true);
      for (const table of inputs) tried.add(table.fileNumber);
      if (inputs.some((table) => shape.busy.has(table.fileNumber))) continue;
      const plan = this.plan(shape, 0, inputs, score, `L0 holds ${level0.length} tables, trigger ${this.l0CompactionTrigger}`);
      if (plan !== null) return plan;
    }
    return null;
  }

  private pickLevel(shape: LsmShape, level: number, score: number): LeveledPlan | null {
    const tables = shape.levels[level] ?? [];
    if (tables.length === 0) return null;
    const pointer = this.compactPointers[level] ?? null;
    let start = 0;
    if (pointer !== null) {
      // The first table whose largest key is past the pointer; past the end wraps to the front.
      while (start < tables.length && compareBytes(tables[start]!.largestKey, pointer) <= 0) start++;
      if (start === tables.length) start = 0;
    }
    const why = `L${level} holds ${formatMiB(sumBytes(tables))}, target ${formatMiB(this.levelTargetBytes(level))}`;
    for (let step = 0; step < tables.length; step++) {
      const table = tables[(start + step) % tables.length]!;
      if (shape.busy.has(table.fileNumber)) continue;
      const plan = this.plan(shape, level, [table], score, why);
      if (plan === null) continue;
      this.compactPointers[level] = table.largestKey.slice();
      return plan;
    }
    return null;
  }

  /** The plan compacting `inputs` of `level` into the next level, or null when it touches a busy table. */
  private plan(shape: LsmShape, level: number, inputs: readonly TableMeta[], score: number, why: string): LeveledPlan | null {
    const outputLevel = level + 1;
    const [smallestKey, largestKey] = keyRange(inputs);
    const overlapping = overlappingTables(shape.levels[outputLevel] ?? [], smallestKey, largestKey, false);
    if (overlapping.some((table) => shape.busy.has(table.fileNumber))) return null;
    let trivialMove = false;
    if (inputs.length === 1 && overlapping.length === 0) {
      const grandparents = overlappingTables(shape.levels[outputLevel + 1] ?? [], smallestKey, largestKey, false);
      trivialMove = sumBytes(grandparents) <= GRANDPARENT_OVERLAP_FILES_MAX * this.targetFileBytes;
    }
    const reason = `${why} (score ${score.toFixed(2)}): ${inputs.length} + ${overlapping.length} tables into L${outputLevel}${trivialMove ? ", trivial move" : ""}`;
    return { level, inputs, outputLevel, overlapping, reason, score, trivialMove };
  }

  private checkShape(shape: LsmShape): void {
    if (shape.levels.length > this.levelCount) {
      throw new RangeError(`auradb/lsm: the tree has ${shape.levels.length} levels, the policy ${this.levelCount}`);
    }
  }
}

/**
 * The tables of `level` whose key range intersects [smallestKey, largestKey] (user keys, both
 * ends inclusive; undefined: unbounded on that side), in the level's order.
 *
 * With `isL0`, the range grows to take in every table it reaches, until no table outside
 * overlaps it: the result is closed under overlap, as a compaction out of L0 needs (LevelDB's
 * `GetOverlappingInputs` for level 0). Otherwise REQUIRES `level` sorted and disjoint, and the
 * result is found by binary search.
 */
export function overlappingTables(level: readonly TableMeta[], smallestKey: Uint8Array | undefined, largestKey: Uint8Array | undefined, isL0: boolean): TableMeta[] {
  const result: TableMeta[] = [];
  if (!isL0) {
    let low = 0;
    if (smallestKey !== undefined) {
      let high = level.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (compareBytes(level[middle]!.largestKey, smallestKey) < 0) low = middle + 1;
        else high = middle;
      }
    }
    for (let index = low; index < level.length; index++) {
      const table = level[index]!;
      if (largestKey !== undefined && compareBytes(table.smallestKey, largestKey) > 0) break;
      result.push(table);
    }
    return result;
  }
  let low = smallestKey;
  let high = largestKey;
  for (let index = 0; index < level.length; ) {
    const table = level[index++]!;
    if ((low !== undefined && compareBytes(table.largestKey, low) < 0) || (high !== undefined && compareBytes(table.smallestKey, high) > 0)) continue;
    result.push(table);
    // A table sticking out of the range widens it; tables skipped before may now overlap: restart.
    if (low !== undefined && compareBytes(table.smallestKey, low) < 0) {
      low = table.smallestKey;
      result.length = 0;
      index = 0;
    } else if (high !== undefined && compareBytes(table.largestKey, high) > 0) {
      high = table.largestKey;
      result.length = 0;
      index = 0;
    }
  }
  return result;
}

/** The user-key range covering `tables` (REQUIRES at least one). */
export function keyRange(tables: readonly TableMeta[]): [Uint8Array, Uint8Array] {
  let smallest = tables[0]!.smallestKey;
  let largest = tables[0]!.largestKey;
  for (const table of tables) {
    if (compareBytes(table.smallestKey, smallest) < 0) smallest = table.smallestKey;
    if (compareBytes(table.largestKey, largest) > 0) largest = table.largestKey;
  }
  return [smallest, largest];
}

function sumBytes(tables: readonly TableMeta[]): number {
  let bytes = 0;
  for (const table of tables) bytes += table.fileBytes;
  return bytes;
}

function formatMiB(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function integerOption(name: string, value: number | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`auradb/lsm: ${name} must be an integer >= ${minimum}, got ${value}`);
  return value;
}
