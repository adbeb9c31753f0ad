/**
 * The simulated tree: levels of runs of tables, each table a key interval [lo, hi] over a space of
 * `keySpace` integer keys holding `entries` of them, spread evenly. No keys are stored: a merge
 * computes how many distinct keys survive from the densities of its inputs (uniform random
 * writes), which is what makes a tiered tree write less and a leveled tree hold fewer stale versions.
 *
 * Merge arithmetic: over a stretch of keys covered by input tables with densities d1, d2, …
 * (entries / keys in range), a key is present in the output with probability 1 − Π(1 − di),
 * assuming the inputs chose their keys independently (true for uniform random writes).
 */
import { InvalidArgumentError } from "../errors.ts";
import type { CompactionDecision, TableView } from "../types.ts";

/** A simulated table: a {@link TableView} plus the key interval it covers. */
export interface SimTable extends TableView {
  /** First and last key number of the interval (inclusive). */
  readonly lo: number;
  readonly hi: number;
}

export interface SimRun {
  tables: SimTable[];
}

export interface SimLevel {
  runs: SimRun[];
}

/** Sizes the simulated tree needs. */
export interface TreeModelOptions {
  readonly keySpace: number;
  readonly entryBytes: number;
  readonly tableEntries: number;
}

/** The 4-byte big-endian key of key number `key`. */
export function keyBytes(key: number): Uint8Array {
  return Uint8Array.of(key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff);
}

/** The simulated LSM tree (module comment). */
export class TreeModel {
  readonly levels: SimLevel[];
  readonly options: TreeModelOptions;
  #nextId = 1;
  /** Bumped on every change, so costs derived from the shape can be cached. */
  version = 0;

  constructor(levelCount: number, options: TreeModelOptions) {
    this.levels = Array.from({ length: levelCount }, () => ({ runs: [] }));
    this.options = options;
  }

  /** Adds a flushed memtable of `writes` uniform random writes as the newest L0 run. Returns its bytes. */
  flush(writes: number): number {
    const { keySpace, entryBytes } = this.options;
    // Distinct keys among `writes` uniform draws from keySpace.
    const entries = Math.max(1, Math.round(keySpace * -Math.expm1(-writes / keySpace)));
    const table = this.#table(0, keySpace - 1, entries);
    this.levels[0]!.runs.unshift({ tables: [table] });
    this.version++;
    return table.bytes;
  }

  /**
   * Runs `decision`: merges its input tables and places the output as its style says.
   * Returns { readBytes, writtenBytes }. @throws InvalidArgumentError when the decision names a
   * table, run or level the tree does not have (a policy bug the simulator must not hide).
   */
  execute(decision: CompactionDecision): { readBytes: number; writtenBytes: number } {
    const inputs: SimTable[] = [];
    const touched: { run: SimRun; ids: Set<number> }[] = [];
    for (const input of decision.inputs) {
      const run = this.levels[input.level]?.runs[input.run];
      if (run === undefined) throw new InvalidArgumentError(`simulator: no run ${input.run} in L${input.level}`);
      const ids = new Set(input.tables);
      const found = run.tables.filter((table) => ids.has(table.id));
      if (found.length !== ids.size) throw new InvalidArgumentError(`simulator: L${input.level} run ${input.run} lacks some of tables ${input.tables.join(",")}`);
      inputs.push(...found);
      touched.push({ run, ids });
    }
    const outputLevel = this.levels[decision.outputLevel];
    if (outputLevel === undefined) throw new InvalidArgumentError(`simulator: no level ${decision.outputLevel}`);
    let target: SimRun | null = null;
    if (decision.style === "merge-into-run") {
      target = outputLevel.runs[decision.targetRun ?? -1] ?? null;
      if (target === null) throw new InvalidArgumentError(`simulator: no target run ${String(decision.targetRun)} in L${decision.outputLevel}`);
    }
    const outputs = this.#merge(inputs);
    for (const { run, ids } of touched) run.tables = run.tables.filter((table) => !ids.has(table.id));
    if (target !== null) {
      target.tables.push(...outputs);
      target.tables.sort((a, b) => a.lo - b.lo);
    } else if (outputs.length > 0) {
      outputLevel.runs.unshift({ tables: outputs });
    }
    for (const level of this.levels) level.runs = level.runs.filter((run) => run.tables.length > 0);
    this.version++;
    let readBytes = 0;
    let writtenBytes = 0;
    for (const table of inputs) readBytes += table.bytes;
    for (const table of outputs) writtenBytes += table.bytes;
    return { readBytes, writtenBytes };
  }

  /** Every run, newest first: L0's tables, then each level's runs. */
  runs(): SimRun[] {
    const runs: SimRun[] = [];
    for (const level of this.levels) runs.push(...level.runs);
    return runs;
  }

  /** The output tables of merging `inputs` (module comment), cut at about `tableEntries` each. */
  #merge(inputs: readonly SimTable[]): SimTable[] {
    // Sweep the interval ends: at each stretch between two ends, the sum of ln(1 − d) of the
    // covering tables (saturated tables, d = 1, counted apart: ln 0 is −∞).
    const events: { at: number; logMissing: number; saturated: number }[] = [];
    for (const table of inputs) {
      const density = Math.min(1, table.entries / (table.hi - table.lo + 1));
      const saturated = density >= 1 ? 1 : 0;
      const logMissing = saturated ? 0 : Math.log1p(-density);
      events.push({ at: table.lo, logMissing, saturated });
      events.push({ at: table.hi + 1, logMissing: -logMissing, saturated: -saturated });
    }
    events.sort((a, b) => a.at - b.at);
    const target = this.options.tableEntries;
    const outputs: SimTable[] = [];
    let logMissing = 0;
    let saturated = 0;
    let start = -1; // first key of the table being cut, -1 when none
    let last = -1; // last key with a positive density so far
    let accumulated = 0;
    for (let index = 0; index < events.length; ) {
      const at = events[index]!.at;
      while (index < events.length && events[index]!.at === at) {
        logMissing += events[index]!.logMissing;
        saturated += events[index]!.saturated;
        index++;
      }
      if (index === events.length) break;
      const end = events[index]!.at; // the stretch is [at, end)
      const present = saturated > 0 ? 1 : -Math.expm1(logMissing);
      if (present <= 1e-12 || end <= at) continue;
      let position = at;
      while (position < end) {
        if (start < 0) start = position;
        const need = target - accumulated;
        const room = (end - position) * present;
        if (room < need) {
          accumulated += room;
          last = end - 1;
          break;
        }
        // Cut inside the stretch: enough keys to reach the target, at least one.
        const keys = Math.max(1, Math.min(end - position, Math.round(need / present)));
        accumulated += keys * present;
        last = position + keys - 1;
        outputs.push(this.#table(start, last, accumulated));
        start = -1;
        accumulated = 0;
        position += keys;
      }
    }
    if (start >= 0 && accumulated > 0) outputs.push(this.#table(start, last, accumulated));
    return outputs;
  }

  #table(lo: number, hi: number, entries: number): SimTable {
    const rounded = Math.min(hi - lo + 1, Math.max(1, Math.round(entries)));
    return {
      id: this.#nextId++,
      bytes: rounded * this.options.entryBytes,
      entries: rounded,
      smallestKey: keyBytes(lo),
      largestKey: keyBytes(hi),
      lo,
      hi,
    };
  }
}
