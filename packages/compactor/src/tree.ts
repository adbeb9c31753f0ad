/**
 * Validation of a `TreeView` (the compactor trusts nothing it is handed) and the summary policies
 * and the agent read: bytes and runs per level, read amplification, the last level, the bytes over
 * their targets.
 */
import { InvalidArgumentError } from "./errors.ts";
import { compareBytes } from "./keys.ts";
import { lastLevelOf, levelTargetBytes, runsAllowed } from "./shape.ts";
import type { LevelView, RunView, ShapeParameters, TableView, TreeView } from "./types.ts";

/** One level of a {@link TreeSummary}. */
export interface LevelSummary {
  readonly level: number;
  readonly runs: number;
  readonly tables: number;
  readonly bytes: number;
  readonly entries: number;
  /** Target bytes (L0: 0, the last level and below: Infinity, they are never pushed down). */
  readonly targetBytes: number;
  /** Most runs the shape allows here (L0: the trigger). */
  readonly runsAllowed: number;
  /** Smallest and largest key in the level, or null when it is empty. */
  readonly smallestKey: Uint8Array | null;
  readonly largestKey: Uint8Array | null;
}

/** The tree's shape in numbers. */
export interface TreeSummary {
  readonly levels: readonly LevelSummary[];
  readonly l0Runs: number;
  /** Runs a point lookup may probe (every L0 table plus every run below): the read amplification. */
  readonly readAmplification: number;
  readonly lastLevel: number;
  readonly totalBytes: number;
  /** Bytes above their level's target, summed over L1 to the level above the last (RocksDB's "pending compaction bytes", simplified). */
  readonly pendingCompactionBytes: number;
  /** Garbage share of the value log (0 without one). */
  readonly valueLogGarbageRatio: number;
}

/**
 * Checks `tree` and throws `InvalidArgumentError` naming the first problem: a level, run or table
 * that is not an object of the documented shape, a non-integer or negative size or id, a table
 * id seen twice, keys out of order inside a table or a run, more levels than `levelCount`.
 */
export function validateTree(tree: TreeView, levelCount: number): void {
  if (tree === null || typeof tree !== "object" || !Array.isArray(tree.levels)) {
    throw new InvalidArgumentError("auradb/compactor: the tree must be an object with a levels array");
  }
  if (tree.levels.length > levelCount) {
    throw new InvalidArgumentError(`auradb/compactor: the tree has ${tree.levels.length} levels, the policy knows ${levelCount}`);
  }
  const seen = new Set<number>();
  for (let levelIndex = 0; levelIndex < tree.levels.length; levelIndex++) {
    const level: LevelView = tree.levels[levelIndex]!;
    if (level === null || typeof level !== "object" || !Array.isArray(level.runs)) {
      throw new InvalidArgumentError(`auradb/compactor: L${levelIndex} must be an object with a runs array`);
    }
    const runs: readonly RunView[] = level.runs;
    for (let runIndex = 0; runIndex < runs.length; runIndex++) {
      const run: RunView = runs[runIndex]!;
      const where = `L${levelIndex} run ${runIndex}`;
      if (run === null || typeof run !== "object" || !Array.isArray(run.tables) || run.tables.length === 0) {
        throw new InvalidArgumentError(`auradb/compactor: ${where} must be an object with a non-empty tables array`);
      }
      let previous: TableView | null = null;
      for (const table of run.tables) {
        validateTable(table, where);
        if (seen.has(table.id)) throw new InvalidArgumentError(`auradb/compactor: table ${table.id} appears twice in the tree`);
        seen.add(table.id);
        if (previous !== null && compareBytes(previous.largestKey, table.smallestKey) >= 0) {
          throw new InvalidArgumentError(`auradb/compactor: ${where}: tables ${previous.id} and ${table.id} are out of order or overlap`);
        }
        previous = table;
      }
    }
  }
  if (tree.busy !== undefined && !(tree.busy instanceof Set)) throw new InvalidArgumentError("auradb/compactor: busy must be a Set of table ids");
  if (tree.pendingFlushBytes !== undefined) nonNegative("pendingFlushBytes", tree.pendingFlushBytes);
  if (tree.valueLog !== undefined) {
    if (tree.valueLog === null || typeof tree.valueLog !== "object") throw new InvalidArgumentError("auradb/compactor: valueLog must be an object");
    nonNegative("valueLog.bytes", tree.valueLog.bytes);
    nonNegative("valueLog.garbageBytes", tree.valueLog.garbageBytes);
    if (tree.valueLog.garbageBytes > tree.valueLog.bytes) throw new InvalidArgumentError("auradb/compactor: valueLog.garbageBytes exceeds valueLog.bytes");
  }
}

function validateTable(table: TableView, where: string): void {
  if (table === null || typeof table !== "object") throw new InvalidArgumentError(`auradb/compactor: ${where}: a table must be an object`);
  if (!Number.isSafeInteger(table.id) || table.id < 0) throw new InvalidArgumentError(`auradb/compactor: ${where}: table id must be an integer >= 0, got ${String(table.id)}`);
  for (const field of ["bytes", "entries"] as const) {
    const value = table[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`auradb/compactor: ${where}: table ${table.id} ${field} must be an integer >= 0, got ${String(value)}`);
    }
  }
  if (!(table.smallestKey instanceof Uint8Array) || !(table.largestKey instanceof Uint8Array)) {
    throw new InvalidArgumentError(`auradb/compactor: ${where}: table ${table.id} keys must be Uint8Arrays`);
  }
  if (compareBytes(table.smallestKey, table.largestKey) > 0) {
    throw new InvalidArgumentError(`auradb/compactor: ${where}: table ${table.id} smallestKey > largestKey`);
  }
}

function nonNegative(name: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`auradb/compactor: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** The summary of a tree under `shape`. REQUIRES a tree `validateTree` accepted. */
export function summarizeTree(tree: TreeView, shape: ShapeParameters): TreeSummary {
  const levelBytes: number[] = [];
  let totalBytes = 0;
  for (const level of tree.levels) {
    let bytes = 0;
    for (const run of level.runs) for (const table of run.tables) bytes += table.bytes;
    levelBytes.push(bytes);
    totalBytes += bytes;
  }
  const lastLevel = lastLevelOf(shape, levelBytes, totalBytes);
  const levels: LevelSummary[] = [];
  let readAmplification = 0;
  let pendingCompactionBytes = 0;
  for (let index = 0; index < Math.max(tree.levels.length, lastLevel + 1); index++) {
    const runs = tree.levels[index]?.runs ?? [];
    let tables = 0;
    let entries = 0;
    let smallestKey: Uint8Array | null = null;
    let largestKey: Uint8Array | null = null;
    for (const run of runs) {
      tables += run.tables.length;
      for (const table of run.tables) entries += table.entries;
      const first = run.tables[0]!.smallestKey;
      const last = run.tables[run.tables.length - 1]!.largestKey;
      if (smallestKey === null || compareBytes(first, smallestKey) < 0) smallestKey = first;
      if (largestKey === null || compareBytes(last, largestKey) > 0) largestKey = last;
    }
    readAmplification += runs.length;
    const bytes = levelBytes[index] ?? 0;
    const targetBytes = index === 0 ? 0 : index >= lastLevel ? Infinity : levelTargetBytes(shape, index);
    if (index > 0 && index < lastLevel && bytes > targetBytes) pendingCompactionBytes += bytes - targetBytes;
    levels.push({
      level: index,
      runs: runs.length,
      tables,
      bytes,
      entries,
      targetBytes,
      runsAllowed: index === 0 ? shape.l0Trigger : runsAllowed(shape, index, lastLevel),
      smallestKey,
      largestKey,
    });
  }
  const valueLog = tree.valueLog;
  const valueLogGarbageRatio = valueLog === undefined || valueLog.bytes === 0 ? 0 : valueLog.garbageBytes / valueLog.bytes;
  return {
    levels,
    l0Runs: levels[0]?.runs ?? 0,
    readAmplification,
    lastLevel,
    totalBytes,
    pendingCompactionBytes,
    valueLogGarbageRatio,
  };
}
