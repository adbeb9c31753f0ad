/**
 * Shape parameters: defaults, validation, and the derived quantities every policy shares
 * (level targets, which level is the last, how many runs a level may hold).
 */
import { InvalidArgumentError } from "./errors.ts";
import type { ShapeParameters } from "./types.ts";

const MIB = 1024 * 1024;

/** Most runs per level, and most L0 runs a trigger may name: a bound so hostile knobs cannot ask for absurd trees. */
export const RUNS_MAX = 64;
/** Largest size ratio (it is a byte in the agent's state format). */
export const SIZE_RATIO_MAX = 255;
/** Most levels (L0 included); 64 levels at T = 2 would already hold 2^63 × L1. */
export const LEVEL_COUNT_MAX = 64;

/** Knobs of a shaped policy; every field optional, defaults are LevelDB's. */
export interface ShapeOptions {
  /** T, an integer in [2, 255]. Default 10 (LevelDB, RocksDB). */
  readonly sizeRatio?: number;
  /** Default 10 MiB (LevelDB's L1). */
  readonly level1Bytes?: number;
  /** Levels including L0, in [2, 64]. Default 7 (LevelDB). */
  readonly levelCount?: number;
  /** K in [1, 64]. Default 1 (leveling). */
  readonly runsUpper?: number;
  /** Z in [1, 64]. Default 1 (leveling). */
  readonly runsLast?: number;
  /** In [1, 64]. Default 4 (LevelDB's kL0_CompactionTrigger). */
  readonly l0Trigger?: number;
  /** Default 2 × l0Trigger (LevelDB's 8 for a trigger of 4). */
  readonly l0SlowdownTrigger?: number;
  /** Default 3 × l0Trigger (LevelDB's 12 for a trigger of 4); at least the slowdown trigger. */
  readonly l0StopTrigger?: number;
}

/** Full, validated shape parameters from options. @throws InvalidArgumentError for a knob out of range. */
export function resolveShape(options: ShapeOptions = {}): ShapeParameters {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb/compactor: shape options must be an object");
  const sizeRatio = integerOption("sizeRatio", options.sizeRatio, 10, 2, SIZE_RATIO_MAX);
  const level1Bytes = integerOption("level1Bytes", options.level1Bytes, 10 * MIB, 1, Number.MAX_SAFE_INTEGER);
  const levelCount = integerOption("levelCount", options.levelCount, 7, 2, LEVEL_COUNT_MAX);
  const runsUpper = integerOption("runsUpper", options.runsUpper, 1, 1, RUNS_MAX);
  const runsLast = integerOption("runsLast", options.runsLast, 1, 1, RUNS_MAX);
  const l0Trigger = integerOption("l0Trigger", options.l0Trigger, 4, 1, RUNS_MAX);
  const l0SlowdownTrigger = integerOption("l0SlowdownTrigger", options.l0SlowdownTrigger, 2 * l0Trigger, l0Trigger, 4 * RUNS_MAX);
  const l0StopTrigger = integerOption("l0StopTrigger", options.l0StopTrigger, Math.max(3 * l0Trigger, l0SlowdownTrigger), l0SlowdownTrigger, 4 * RUNS_MAX);
  return { sizeRatio, level1Bytes, levelCount, runsUpper, runsLast, l0Trigger, l0SlowdownTrigger, l0StopTrigger };
}

/** Target bytes of `level` (>= 1): level1Bytes · T^(level − 1). */
export function levelTargetBytes(shape: ShapeParameters, level: number): number {
  return shape.level1Bytes * shape.sizeRatio ** (level - 1);
}

/**
 * The last level: the deepest level holding data, or, when deeper, the first level `l` such that
 * L1..Ll together target at least `totalBytes` (where the data would settle if the tree were in
 * shape); capped at `levelCount − 1`. Lazy leveling treats this level differently, so it must
 * follow the data as the tree grows: the last level of a 100 MiB tree is L2 at T = 10, not L6.
 */
export function lastLevelOf(shape: ShapeParameters, levelBytes: readonly number[], totalBytes: number): number {
  let deepest = 0;
  for (let level = 1; level < levelBytes.length; level++) if (levelBytes[level]! > 0) deepest = level;
  let level = 1;
  let capacity = levelTargetBytes(shape, 1);
  while (capacity < totalBytes && level < shape.levelCount - 1) {
    level++;
    capacity += levelTargetBytes(shape, level);
  }
  return Math.min(shape.levelCount - 1, Math.max(level, deepest));
}

/** How many runs `level` (>= 1) may hold: K above the last level, Z from it on. */
export function runsAllowed(shape: ShapeParameters, level: number, lastLevel: number): number {
  return level >= lastLevel ? shape.runsLast : shape.runsUpper;
}

/** `value` as an integer in [minimum, maximum], or `fallback` when undefined. */
export function integerOption(name: string, value: number | undefined, fallback: number, minimum: number, maximum: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(`auradb/compactor: ${name} must be an integer in [${minimum}, ${maximum}], got ${String(value)}`);
  }
  return value;
}

/** `value` as a finite number in [minimum, maximum], or `fallback` when undefined. */
export function numberOption(name: string, value: number | undefined, fallback: number, minimum: number, maximum: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(`auradb/compactor: ${name} must be a number in [${minimum}, ${maximum}], got ${String(value)}`);
  }
  return value;
}
