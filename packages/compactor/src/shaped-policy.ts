/**
 * `ShapedPolicy`: one picker for the whole leveling–tiering spectrum, driven by the shape
 * parameters (Dostoevsky's "fluid LSM": K runs per level above the last, Z at the last, size
 * ratio T). Leveled, tiered and lazy leveling are three settings of it (policies.ts); the agent
 * changes the settings as it learns.
 *
 * Scores (the highest one >= 1 is compacted first; on a tie, the shallower level):
 * ```
 *   L0                    runs / l0Trigger               → all of L0 into L1
 *   L1 .. last−1          max(bytes / target, runs / K)   → pushed into the level below
 *                         (runs / K counts only when runs > K)
 *   last                  runs / Z when runs > Z          → all its runs merged in place
 * ```
 * Where the output goes (the "push" rule): into a level allowed one run, the output merges into
 * that run (only the run's tables overlapping the input range are rewritten: leveling); into a
 * level allowed several runs, it becomes a new run there (tiering: nothing below is rewritten).
 *
 * What is pushed: from a leveled level into a leveled level, one table at a time, round robin
 * (LevelDB's compact pointer), so each compaction is small; otherwise the whole level, all runs
 * merged (a tiered level is emptied at once, as in size-tiered compaction, and a leveled level
 * above a tiered one must not send it a run per table).
 */
import { compareBytes } from "./keys.ts";
import { type ShapeOptions, resolveShape, runsAllowed } from "./shape.ts";
import { type TreeSummary, summarizeTree, validateTree } from "./tree.ts";
import type { CompactionDecision, CompactionInput, CompactionPolicy, ShapeParameters, TableView, TreeView } from "./types.ts";

/** A level's score and why; see the module comment. */
export interface LevelScore {
  readonly level: number;
  readonly score: number;
  readonly why: string;
}

/**
 * A compaction policy enforcing a shape (module comment).
 *
 * Contract: `pick` validates the tree (`InvalidArgumentError` on anything malformed), does no
 * I/O, and returns null when no level has a score >= 1 or every decision it could make touches a
 * busy table. State: one round-robin pointer per level, advanced when a partial compaction is
 * picked (whether or not it runs); not persisted, a restart begins at the smallest key again.
 */
export class ShapedPolicy implements CompactionPolicy {
  readonly name: string;
  #shape: ShapeParameters;
  #pointers: (Uint8Array | null)[];

  /** @throws InvalidArgumentError for a knob out of range. */
  constructor(name: string, options: ShapeOptions = {}) {
    this.name = name;
    this.#shape = resolveShape(options);
    this.#pointers = Array.from({ length: this.#shape.levelCount }, () => null);
  }

  /** The shape enforced now. */
  shape(): ShapeParameters {
    return this.#shape;
  }

  /**
   * Changes the shape; fields left out keep their current value, except the L0 slowdown and stop
   * triggers, which follow a new `l0Trigger` unless given. The tree converges to the new shape
   * through the compactions `pick` then returns. @throws InvalidArgumentError
   */
  reshape(options: ShapeOptions): void {
    const current = this.#shape;
    const followsTrigger = options.l0Trigger !== undefined && options.l0Trigger !== current.l0Trigger;
    this.#shape = resolveShape({
      ...current,
      ...(followsTrigger ? { l0SlowdownTrigger: undefined, l0StopTrigger: undefined } : {}),
      ...options,
    });
    if (this.#pointers.length !== this.#shape.levelCount) this.#pointers = Array.from({ length: this.#shape.levelCount }, () => null);
  }

  /** Every level's score (levels with nothing to do score 0). @throws InvalidArgumentError */
  scores(tree: TreeView): LevelScore[] {
    validateTree(tree, this.#shape.levelCount);
    return this.#scores(summarizeTree(tree, this.#shape));
  }

  /** The compaction to run next, or null (class contract). @throws InvalidArgumentError */
  pick(tree: TreeView): CompactionDecision | null {
    const shape = this.#shape;
    validateTree(tree, shape.levelCount);
    const summary = summarizeTree(tree, shape);
    const candidates = this.#scores(summary).filter((candidate) => candidate.score >= 1);
    candidates.sort((a, b) => b.score - a.score || a.level - b.level);
    const busy = tree.busy ?? new Set<number>();
    for (const { level, score, why } of candidates) {
      const decision = this.#planLevel(tree, summary, busy, level, score, why);
      if (decision !== null) return decision;
    }
    return null;
  }

  #scores(summary: TreeSummary): LevelScore[] {
    const shape = this.#shape;
    const scores: LevelScore[] = [];
    for (const level of summary.levels) {
      if (level.level === 0) {
        scores.push({ level: 0, score: level.runs / shape.l0Trigger, why: `L0 holds ${level.runs} runs, trigger ${shape.l0Trigger}` });
        continue;
      }
      const allowed = level.runsAllowed;
      const runScore = level.runs > allowed ? level.runs / allowed : 0;
      if (level.level >= summary.lastLevel) {
        scores.push({ level: level.level, score: runScore, why: `L${level.level} (last) holds ${level.runs} runs, allowed ${allowed}` });
        continue;
      }
      const byteScore = level.bytes / level.targetBytes;
      const why =
        runScore > byteScore
          ? `L${level.level} holds ${level.runs} runs, allowed ${allowed}`
          : `L${level.level} holds ${formatBytes(level.bytes)}, target ${formatBytes(level.targetBytes)}`;
      scores.push({ level: level.level, score: Math.max(runScore, byteScore), why });
    }
    return scores;
  }

  #planLevel(tree: TreeView, summary: TreeSummary, busy: ReadonlySet<number>, level: number, score: number, why: string): CompactionDecision | null {
    const runs = tree.levels[level]?.runs ?? [];
    if (runs.length === 0) return null;
    const shape = this.#shape;
    const last = summary.lastLevel;
    if (level >= last) {
      // Too many runs at the last level: merge them all into one, in place.
      const inputs = wholeLevel(runs, level);
      if (touchesBusy(inputs, busy)) return null;
      return decision(tree, inputs, level, "new-run", null, score, `${why} (score ${score.toFixed(2)}): ${runs.length} runs merged in place`);
    }
    const partial = level > 0 && runs.length === 1 && runsAllowed(shape, level, last) === 1 && runsAllowed(shape, level + 1, last) === 1;
    if (!partial) {
      const inputs = wholeLevel(runs, level);
      if (touchesBusy(inputs, busy)) return null;
      const [smallest, largest] = rangeOf(runs.flatMap((run) => run.tables));
      return this.#push(tree, summary, busy, inputs, smallest, largest, level + 1, score, `${why} (score ${score.toFixed(2)}): all of L${level}`);
    }
    const tables = runs[0]!.tables;
    const pointer = this.#pointers[level] ?? null;
    let start = 0;
    if (pointer !== null) {
      // The first table past the pointer; past the end wraps to the front.
      while (start < tables.length && compareBytes(tables[start]!.largestKey, pointer) <= 0) start++;
      if (start === tables.length) start = 0;
    }
    for (let step = 0; step < tables.length; step++) {
      const table = tables[(start + step) % tables.length]!;
      if (busy.has(table.id)) continue;
      const inputs: CompactionInput[] = [{ level, run: 0, tables: [table.id] }];
      const pushed = this.#push(tree, summary, busy, inputs, table.smallestKey, table.largestKey, level + 1, score, `${why} (score ${score.toFixed(2)}): table ${table.id}`);
      if (pushed === null) continue;
      this.#pointers[level] = table.largestKey.slice();
      return pushed;
    }
    return null;
  }

  /** Sends `sources` (covering [smallest, largest]) into `target` by the push rule (module comment). */
  #push(
    tree: TreeView,
    summary: TreeSummary,
    busy: ReadonlySet<number>,
    sources: CompactionInput[],
    smallest: Uint8Array,
    largest: Uint8Array,
    target: number,
    score: number,
    why: string,
  ): CompactionDecision | null {
    const targetRuns = tree.levels[target]?.runs ?? [];
    if (runsAllowed(this.#shape, target, summary.lastLevel) > 1 || targetRuns.length === 0) {
      return decision(tree, sources, target, "new-run", null, score, `${why} → new run in L${target}`);
    }
    // NB: with several runs at a leveled level (K was just lowered), merge into the newest one;
    // the level's own run score merges the rest.
    const overlapping = targetRuns[0]!.tables.filter((table) => compareBytes(table.largestKey, smallest) >= 0 && compareBytes(table.smallestKey, largest) <= 0);
    if (overlapping.some((table) => busy.has(table.id))) return null;
    const inputs = overlapping.length === 0 ? sources : [...sources, { level: target, run: 0, tables: overlapping.map((table) => table.id) }];
    return decision(tree, inputs, target, "merge-into-run", 0, score, `${why} → merged with ${overlapping.length} tables of L${target}`);
  }
}

function wholeLevel(runs: readonly { readonly tables: readonly TableView[] }[], level: number): CompactionInput[] {
  return runs.map((run, index) => ({ level, run: index, tables: run.tables.map((table) => table.id) }));
}

function touchesBusy(inputs: readonly CompactionInput[], busy: ReadonlySet<number>): boolean {
  return inputs.some((input) => input.tables.some((id) => busy.has(id)));
}

function rangeOf(tables: readonly TableView[]): [Uint8Array, Uint8Array] {
  let smallest = tables[0]!.smallestKey;
  let largest = tables[0]!.largestKey;
  for (const table of tables) {
    if (compareBytes(table.smallestKey, smallest) < 0) smallest = table.smallestKey;
    if (compareBytes(table.largestKey, largest) > 0) largest = table.largestKey;
  }
  return [smallest, largest];
}

function decision(
  tree: TreeView,
  inputs: readonly CompactionInput[],
  outputLevel: number,
  style: "merge-into-run" | "new-run",
  targetRun: number | null,
  score: number,
  reason: string,
): CompactionDecision {
  let inputBytes = 0;
  for (const input of inputs) {
    const run = tree.levels[input.level]!.runs[input.run]!;
    const ids = new Set(input.tables);
    for (const table of run.tables) if (ids.has(table.id)) inputBytes += table.bytes;
  }
  return { inputs, outputLevel, style, targetRun, inputBytes, score, reason };
}

function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "∞";
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

