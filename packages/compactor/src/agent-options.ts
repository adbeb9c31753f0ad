/**
 * The agent's options: defaults and the reason for each number, and validation. The README's
 * "The agent" section explains how they fit together.
 */
import { InvalidArgumentError } from "./errors.ts";
import { integerOption, numberOption, RUNS_MAX, resolveShape } from "./shape.ts";

/** Where the reward comes from. */
export type RewardSource = "latency" | "time" | "io";

/** The part of the shape the agent controls. */
export interface AgentConfig {
  /** K: runs allowed per level above the last. */
  readonly runsUpper: number;
  /** Z: runs allowed at the last level. */
  readonly runsLast: number;
  readonly l0Trigger: number;
}

/** Knobs of {@link CompactionAgent}; all optional. */
export interface AgentOptions {
  /** Seed of the agent's random numbers (exploration, ties). Default 1. */
  readonly seed?: number;
  /** T, fixed for the agent's life (see README: why T is not an action). Default 10. */
  readonly sizeRatio?: number;
  /** Default 10 MiB. */
  readonly level1Bytes?: number;
  /** Default 7. */
  readonly levelCount?: number;
  /** Largest K and Z the agent may choose. Default T − 1, where tiering saturates (Dostoevsky's bound). */
  readonly runsMax?: number;
  /** The L0 trigger ladder: min, max and step. Defaults 2, 8, 2: 2 still batches L0 compactions; 8 is LevelDB's slowdown point; steps of 2 keep the ladder to 4 rungs. */
  readonly l0TriggerMin?: number;
  readonly l0TriggerMax?: number;
  readonly l0TriggerStep?: number;
  /**
   * The shape to start from. Default lazy leveling (K = runsMax, Z = 1, L0 trigger 4): the fixed
   * shape Dostoevsky finds best across mixed workloads, and the best fixed policy in our measured
   * shifting workload (BENCHMARKS.md), so a fresh agent starts where a fixed policy would be good.
   * The safety rule lowers K at the first window in a tree deep enough for it to matter.
   */
  readonly initial?: Partial<AgentConfig>;
  /**
   * γ, the discount. Default 0.5: a move that costs one bad window but opens a better shape within
   * about two moves still wins, and near the best shape the values stay distinct enough to climb
   * under noise (a γ near 1 makes every shape near the best one look alike).
   */
  readonly discount?: number;
  /** α floor. Default 0.1: α = 1/visits averages the first samples, then 0.1 forgets with a half-life of about 7 windows, so values follow a drifting workload. */
  readonly learningRateMin?: number;
  /**
   * ε for a workload bucket never seen. Default 0.1: in the engine each exploration is a reshape
   * that costs real merging, and one noisy window teaches little; the optimism bonus already has
   * every untried neighbour tried once. (0.3, the earlier default, explored twice as often for a
   * worse total in the engine's shifting-workload benchmark.)
   */
  readonly explorationStart?: number;
  /** The exploration floor (RusKey): ε never goes below it, so a changed cost is noticed. Default 0.02 (one window in 50). */
  readonly explorationFloor?: number;
  /** ε halves after this many windows in a bucket. Default 20 windows. */
  readonly explorationHalfLife?: number;
  /**
   * Optimism about an untried neighbouring shape: the relative cost saving assumed before it is
   * measured. Default 0.05: above the window-to-window noise we expect, so the agent tries its
   * neighbours once, and small enough that measured values take over after one visit.
   */
  readonly optimism?: number;
  /**
   * Roll a move back when, in the next window of the same workload bucket, both the p99 latency
   * exceeds the one before the move by this factor and the cost per operation is higher than
   * before it. Default 1.25: a quarter worse is past the noise of a mean; p99 alone is not (one
   * merge landing in a window can double it), hence the second condition.
   */
  readonly rollbackRatio?: number;
  /**
   * On a change of workload bucket, go straight to the bucket's best measured shape (measured over
   * at least `recallVisits` windows) when it beats the shape in force there: what was learned of a
   * workload is used the moment it comes back, not walked back to one move at a time. Default true.
   */
  readonly recall?: boolean;
  /** Windows a shape must have been measured over to be recalled. Default 3: one noisy window is not a measurement. */
  readonly recallVisits?: number;
  /**
   * In read- and scan-heavy buckets (writes under 40% of the operations, or scans over 30% of the
   * reads), give the optimism bonus only to untried moves towards fewer runs, the way the cost
   * model leans there; an untried move towards more runs is guessed that much worse. Default true:
   * with optimism in every direction the agent walked on through shapes whose costs tie (a
   * read-heavy phase, where Bloom filters make every shape cost about the same), changing shape in
   * nearly every window and leaving many runs for the scans that followed. Write-heavy buckets get
   * no lean: their best shape lies inside the range, and a one-way lean overshoots it.
   */
  readonly lean?: boolean;
  /**
   * Most runs a point lookup may probe (L0 trigger + K per upper level + Z). Default 30: with
   * 10-bit Bloom filters (about 1% false positives per run) 30 runs add at most 0.3 I/O to a
   * lookup, and a scan pays at most 30 seeks.
   */
  readonly readAmplificationMax?: number;
  /**
   * Where the reward comes from: `"time"` (default), the window's wall-clock time per operation;
   * `"latency"`, the mean latency of the sampled operations (RusKey's choice); `"io"`, device bytes
   * per operation. Time is the default because it is what a busy database pays: in a
   * single-threaded engine a merge runs between operations, so it delays them without showing in
   * the latency of any one (a synchronous read never waits for it), and the latency reward sees
   * reshaping as free. For a mostly idle database the window's time is the application's pace,
   * the same for every shape: the agent then learns nothing, and harms nothing.
   */
  readonly reward?: RewardSource;
  /**
   * Windows a shape the agent moved to (a greedy or exploring move) is kept, in the same workload
   * bucket, before the next such move. Default 3: in the engine one window's cost swings by a third
   * with the merges that land in it, while shapes differ by a tenth to a quarter; a shape judged on
   * one window was judged on noise, and each move is a reshape that costs real merging (the agent
   * moved in nine windows of ten with no dwell). Safety, rollback and recall still act at once, and a
   * change of bucket ends the dwell.
   */
  readonly dwellWindows?: number;
  /** Records kept in the decision log. Default 256. */
  readonly decisionLogCapacity?: number;
  /** Seed a last-level move's untried value with what the same move measured at the upper levels (RusKey). Default true. */
  readonly shareAcrossLevels?: boolean;
}

/** Options with every default applied and checked. */
export interface ResolvedAgentOptions {
  readonly seed: number;
  readonly sizeRatio: number;
  readonly level1Bytes: number;
  readonly levelCount: number;
  readonly runsMax: number;
  readonly l0TriggerMin: number;
  readonly l0TriggerMax: number;
  readonly l0TriggerStep: number;
  readonly initial: AgentConfig;
  readonly discount: number;
  readonly learningRateMin: number;
  readonly explorationStart: number;
  readonly explorationFloor: number;
  readonly explorationHalfLife: number;
  readonly optimism: number;
  readonly rollbackRatio: number;
  readonly recall: boolean;
  readonly recallVisits: number;
  readonly lean: boolean;
  readonly readAmplificationMax: number;
  readonly reward: RewardSource;
  readonly dwellWindows: number;
  readonly decisionLogCapacity: number;
  readonly shareAcrossLevels: boolean;
}

/** @throws InvalidArgumentError for any knob out of range or inconsistent. */
export function resolveAgentOptions(options: AgentOptions = {}): ResolvedAgentOptions {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb/compactor: agent options must be an object");
  const shape = resolveShape({ sizeRatio: options.sizeRatio, level1Bytes: options.level1Bytes, levelCount: options.levelCount });
  const seed = integerOption("seed", options.seed, 1, 0, 0xffffffff);
  const runsMax = integerOption("runsMax", options.runsMax, Math.max(1, shape.sizeRatio - 1), 1, RUNS_MAX);
  const l0TriggerMin = integerOption("l0TriggerMin", options.l0TriggerMin, 2, 1, RUNS_MAX);
  const l0TriggerMax = integerOption("l0TriggerMax", options.l0TriggerMax, Math.max(8, l0TriggerMin), l0TriggerMin, RUNS_MAX);
  const l0TriggerStep = integerOption("l0TriggerStep", options.l0TriggerStep, 2, 1, RUNS_MAX);
  if ((l0TriggerMax - l0TriggerMin) % l0TriggerStep !== 0) {
    throw new InvalidArgumentError(`auradb/compactor: l0TriggerMax − l0TriggerMin must be a multiple of l0TriggerStep`);
  }
  const initialOption = options.initial ?? {};
  if (initialOption === null || typeof initialOption !== "object") throw new InvalidArgumentError("auradb/compactor: initial must be an object");
  const initial: AgentConfig = {
    runsUpper: integerOption("initial.runsUpper", initialOption.runsUpper, runsMax, 1, runsMax),
    runsLast: integerOption("initial.runsLast", initialOption.runsLast, 1, 1, runsMax),
    l0Trigger: integerOption("initial.l0Trigger", initialOption.l0Trigger, Math.min(l0TriggerMax, Math.max(l0TriggerMin, 4)), l0TriggerMin, l0TriggerMax),
  };
  if ((initial.l0Trigger - l0TriggerMin) % l0TriggerStep !== 0) throw new InvalidArgumentError("auradb/compactor: initial.l0Trigger is not on the trigger ladder");
  const reward = options.reward ?? "time";
  if (reward !== "latency" && reward !== "time" && reward !== "io") throw new InvalidArgumentError(`auradb/compactor: reward must be "latency", "time" or "io", got ${String(reward)}`);
  const shareAcrossLevels = options.shareAcrossLevels ?? true;
  if (typeof shareAcrossLevels !== "boolean") throw new InvalidArgumentError("auradb/compactor: shareAcrossLevels must be a boolean");
  const recall = options.recall ?? true;
  if (typeof recall !== "boolean") throw new InvalidArgumentError("auradb/compactor: recall must be a boolean");
  const lean = options.lean ?? true;
  if (typeof lean !== "boolean") throw new InvalidArgumentError("auradb/compactor: lean must be a boolean");
  const explorationStart = numberOption("explorationStart", options.explorationStart, 0.1, 0, 1);
  return {
    seed,
    sizeRatio: shape.sizeRatio,
    level1Bytes: shape.level1Bytes,
    levelCount: shape.levelCount,
    runsMax,
    l0TriggerMin,
    l0TriggerMax,
    l0TriggerStep,
    initial,
    discount: numberOption("discount", options.discount, 0.5, 0, 0.99),
    learningRateMin: numberOption("learningRateMin", options.learningRateMin, 0.1, 0.001, 1),
    explorationStart,
    explorationFloor: numberOption("explorationFloor", options.explorationFloor, Math.min(0.02, explorationStart), 0, explorationStart),
    explorationHalfLife: numberOption("explorationHalfLife", options.explorationHalfLife, 20, 1, 1e9),
    optimism: numberOption("optimism", options.optimism, 0.05, 0, 0.9),
    rollbackRatio: numberOption("rollbackRatio", options.rollbackRatio, 1.25, 1, 1e9),
    recall,
    lean,
    recallVisits: integerOption("recallVisits", options.recallVisits, 3, 1, 1_000_000),
    readAmplificationMax: integerOption("readAmplificationMax", options.readAmplificationMax, 30, 2, 4 * RUNS_MAX * RUNS_MAX),
    reward,
    dwellWindows: integerOption("dwellWindows", options.dwellWindows, 3, 1, 1_000_000),
    decisionLogCapacity: integerOption("decisionLogCapacity", options.decisionLogCapacity, 256, 1, 1 << 20),
    shareAcrossLevels,
  };
}
