/**
 * When a new table gets a learned index: the engine's side of the `learnedIndex` option.
 *
 * `true` fits a model into every table the size rules allow (docs/format/sstable.md); `false`
 * fits none and reads every table by binary search, even tables that have a model; `'auto'`
 * (the default) applies Bourbon's cost-benefit rule (Dai et al., OSDI '20, §4.3) to each table
 * a flush or compaction writes:
 *
 * ```
 *   learn  ⇔  E[lookups over the table's life at its level] × saving per lookup  ≥  fit cost
 *   fit cost          = distinct keys × fit ns per key      (measured on this database's fits)
 *   saving per lookup = LEARNED_SAVING_NS                    (measured end to end, see below)
 *   E[lookups]        = mean index lookups of the last tables that died at that level
 * ```
 *
 * Bourbon learns a file only after it has lived a while, because many die young (L0 and upper
 * levels under writes) and reads a file to learn it. AuraDB fits while it writes the table,
 * for the cost of the fit alone (the keys are at hand), and cannot add a model later without
 * rewriting the table: so the default is to learn, and the rule says no only on evidence, once
 * `EVIDENCE_DEATHS` tables have died at that level. Under a write-only phase, tables at L0 die
 * with no lookups and the rule stops fitting there; under reads, fits resume as soon as dead
 * tables show lookups again.
 */
import type { LearnedIndexOption } from "@auradb/lsm";

/**
 * Nanoseconds one learned lookup saves over a binary search of the index: measured on the
 * tables of a 1,000,000-key database (100-byte values, warm cache), `TableReader.get` with and
 * without the model in 40 interleaved slices: 2.05 µs vs 2.07 µs, medians (BENCHMARKS.md,
 * "Learned index"). Small, because the index search it replaces is a prefix-skipping binary
 * search over an in-memory array (about 5 % of a table lookup in the profile); the rule therefore
 * asks for several lookups per key over a table's life before a fit pays.
 */
export const LEARNED_SAVING_NS = 20;
/**
 * The fit cost per key assumed before this database has measured one: the greedy builder's
 * 56–69 ns per key over six key distributions of 1,000,000 keys (bench/learned-index.ts, ε 8).
 */
export const FIT_NS_PER_KEY_DEFAULT = 60;
/** Deaths at a level before the rule trusts the level's lookup history over the default (learn). */
export const EVIDENCE_DEATHS = 4;
/** Deaths remembered per level: recent enough to follow a shifting workload. */
const DEATHS_REMEMBERED = 32;

export type LearnedIndexMode = boolean | "auto";

/** The per-level figures of the rule, for `stats()`. */
export interface LearnedLevelStats {
  readonly level: number;
  /** Tables that died (compacted away) at this level, among the last remembered. */
  readonly deaths: number;
  /** Their mean index lookups over their lives (null before `EVIDENCE_DEATHS` deaths). */
  readonly lookupsPerLife: number | null;
  /** Tables written to this level that the rule judged worth a model / not worth one. */
  readonly worthIt: number;
  readonly notWorthIt: number;
}

class LevelHistory {
  readonly lookups: number[] = [];
  worthIt = 0;
  notWorthIt = 0;

  died(lookups: number): void {
    this.lookups.push(lookups);
    if (this.lookups.length > DEATHS_REMEMBERED) this.lookups.shift();
  }

  lookupsPerLife(): number | null {
    if (this.lookups.length < EVIDENCE_DEATHS) return null;
    let sum = 0;
    for (const count of this.lookups) sum += count;
    return sum / this.lookups.length;
  }
}

/** Decides, per table written, whether it gets a model (module comment). */
export class LearnedAdvisor {
  readonly mode: LearnedIndexMode;
  readonly #levels: LevelHistory[] = [];
  #fitNanos = 0;
  #fitKeys = 0;

  constructor(mode: LearnedIndexMode) {
    this.mode = mode;
  }

  /** Whether readers should use the models tables have. */
  get readersUseModels(): boolean {
    return this.mode !== false;
  }

  /** The measured fit cost, ns per key (the default until the first fit). */
  get fitNanosPerKey(): number {
    return this.#fitKeys === 0 ? FIT_NS_PER_KEY_DEFAULT : this.#fitNanos / this.#fitKeys;
  }

  /** The builder option for a table written to `level`. */
  builderOption(level: number): LearnedIndexOption | "off" {
    if (this.mode === false) return "off";
    if (this.mode === true) return {};
    return { worthIt: (distinctKeys) => this.#decide(level, distinctKeys) };
  }

  /** A table was written: `fitNanos` spent fitting its `distinctKeys` (0 when it got no model). */
  recordFit(distinctKeys: number, fitNanos: number): void {
    if (fitNanos <= 0 || distinctKeys <= 0) return;
    this.#fitNanos += fitNanos;
    this.#fitKeys += distinctKeys;
  }

  /** A table at `level` was compacted away after `lookups` index lookups. */
  tableDied(level: number, lookups: number): void {
    this.#level(level).died(lookups);
  }

  /** Whether a table of `distinctKeys` written to `level` is worth a model. */
  worthIt(level: number, distinctKeys: number): boolean {
    const expected = this.#level(level).lookupsPerLife();
    if (expected === null) return true;
    return expected * LEARNED_SAVING_NS >= distinctKeys * this.fitNanosPerKey;
  }

  stats(): LearnedLevelStats[] {
    return this.#levels.map((history, level) => ({
      level,
      deaths: history.lookups.length,
      lookupsPerLife: history.lookupsPerLife(),
      worthIt: history.worthIt,
      notWorthIt: history.notWorthIt,
    }));
  }

  #decide(level: number, distinctKeys: number): boolean {
    const worth = this.worthIt(level, distinctKeys);
    const history = this.#level(level);
    if (worth) history.worthIt++;
    else history.notWorthIt++;
    return worth;
  }

  #level(level: number): LevelHistory {
    while (this.#levels.length <= level) this.#levels.push(new LevelHistory());
    return this.#levels[level]!;
  }
}
