/**
 * `CompactionAgent`: a compaction policy that learns the tree's shape from measured costs
 * (RusKey, SIGMOD 2023, simplified to tabular learning; the README explains the choices).
 *
 * Each window the engine calls `observe(window, tree)`:
 * ```
 *   state   s = (workload bucket of the window, the shape in force: K, Z, L0 trigger)
 *   reward  r = −ln(cost per operation in the window)              (wall time, latency or device bytes)
 *   learn   V(s) ← V(s) + α · (r + γ · max_a V(s ⊕ a) − V(s))      (TD on afterstates)
 *   act     a = argmax_a V(s ⊕ a), or a random move with probability ε
 *           a ∈ { keep, K ± 1, Z ± 1, K and Z ± 1, L0 trigger ± step }, masked by the safety rule
 *   recall  on a change of bucket, the bucket's best measured shape, if it beats the one in force
 * ```
 * A move's result is known in advance (it sets the shape), so the agent learns the value of the
 * shapes themselves ("afterstates", Sutton & Barto §6.8) rather than of (state, move) pairs: a
 * shape reached by two different moves shares one estimate, which halves what must be sampled.
 * `pick` is the {@link ShapedPolicy} of the shape in force.
 */
import { type AgentConfig, type AgentOptions, type ResolvedAgentOptions, resolveAgentOptions } from "./agent-options.ts";
import { type AgentStateData, type ValueEntry, decodeAgentState, encodeAgentState } from "./agent-state.ts";
import { DecisionLog } from "./decision-log.ts";
import { InvalidArgumentError } from "./errors.ts";
import { Random } from "./random.ts";
import { ShapedPolicy } from "./shaped-policy.ts";
import { type TreeSummary, summarizeTree, validateTree } from "./tree.ts";
import type { CompactionDecision, CompactionPolicy, ShapeParameters, TreeView, WorkloadWindow } from "./types.ts";
import { MIX_BUCKETS, type WorkloadMix, bucketLean, mixBucket, mixBucketName, mixOf, validateWindow } from "./workload.ts";

/** The agent's moves: small and local, as RusKey found works best. Plain strings (no `enum`). */
export const AgentAction = {
  Keep: "keep",
  RunsUpperDown: "runs-upper-down",
  RunsUpperUp: "runs-upper-up",
  RunsLastDown: "runs-last-down",
  RunsLastUp: "runs-last-up",
  RunsDown: "runs-down",
  RunsUp: "runs-up",
  L0TriggerDown: "l0-trigger-down",
  L0TriggerUp: "l0-trigger-up",
  /** Not a move of its own: a jump to a remembered shape (option `recall`), logged as such. */
  Recall: "recall",
} as const;
export type AgentAction = (typeof AgentAction)[keyof typeof AgentAction];

/** Why the agent chose its move. */
export type DecisionKind = "greedy" | "explore" | "rollback" | "safety" | "recall" | "dwell";

/** One entry of the decision log: the state and reward that led to a move. Plain data. */
export interface DecisionRecord {
  /** Windows observed before this one (0 for the first). */
  readonly step: number;
  readonly mix: WorkloadMix;
  readonly bucket: number;
  readonly bucketName: string;
  /** The window's cost per operation (ms or bytes, as the `reward` option says) and its reward. */
  readonly costPerOperation: number;
  readonly reward: number;
  readonly latencyP99Ms: number;
  readonly readAmplification: number;
  readonly l0Runs: number;
  readonly before: AgentConfig;
  readonly after: AgentConfig;
  readonly action: AgentAction;
  readonly kind: DecisionKind;
  /** ε in force for the window's bucket. */
  readonly epsilon: number;
  /** The estimated value of `after` when it was chosen. */
  readonly value: number;
}

/** What the agent knows of one workload bucket. */
export interface BucketStats {
  readonly bucket: number;
  readonly name: string;
  readonly windows: number;
  readonly epsilon: number;
  /** The shape with the best value among those measured in this bucket. */
  readonly best: AgentConfig | null;
}

/** `agent.stats()`: plain data for the engine's stats() and the CLI. */
export interface AgentStats {
  readonly steps: number;
  readonly config: AgentConfig;
  readonly shape: ShapeParameters;
  /** (bucket, shape) pairs with a learned value. */
  readonly learnedStates: number;
  readonly explorations: number;
  readonly rollbacks: number;
  readonly safetyMoves: number;
  /** Jumps to a bucket's best measured shape on a change of workload (option `recall`). */
  readonly recalls: number;
  readonly buckets: readonly BucketStats[];
}

interface Move {
  readonly action: AgentAction;
  readonly runsUpper: number;
  readonly runsLast: number;
  /** In steps of the L0 trigger ladder. */
  readonly l0Steps: number;
}

const MOVES: readonly Move[] = [
  { action: AgentAction.Keep, runsUpper: 0, runsLast: 0, l0Steps: 0 },
  { action: AgentAction.RunsUpperDown, runsUpper: -1, runsLast: 0, l0Steps: 0 },
  { action: AgentAction.RunsUpperUp, runsUpper: 1, runsLast: 0, l0Steps: 0 },
  { action: AgentAction.RunsLastDown, runsUpper: 0, runsLast: -1, l0Steps: 0 },
  { action: AgentAction.RunsLastUp, runsUpper: 0, runsLast: 1, l0Steps: 0 },
  { action: AgentAction.RunsDown, runsUpper: -1, runsLast: -1, l0Steps: 0 },
  { action: AgentAction.RunsUp, runsUpper: 1, runsLast: 1, l0Steps: 0 },
  { action: AgentAction.L0TriggerDown, runsUpper: 0, runsLast: 0, l0Steps: -1 },
  { action: AgentAction.L0TriggerUp, runsUpper: 0, runsLast: 0, l0Steps: 1 },
];

/**
 * A cost of 0 (everything served from memory) would give an infinite reward; costs are floored
 * at a millionth of a millisecond or byte, far below anything a real window measures.
 */
const COST_FLOOR = 1e-6;

/**
 * How many windows the guess an untried shape was chosen on counts for when its first window is
 * learned. 1: in the engine one window's cost varies by a third, and a first value resting on that
 * window alone decided the next move as much as the shape did.
 */
const PRIOR_WEIGHT = 1;

/** Values closer than this are a tie (broken at random, so no move is favoured by its position in MOVES). */
const TIE = 1e-12;

/**
 * The learning compaction policy (module comment). Deterministic: the same seed, options and
 * sequence of `observe` calls give the same decisions, also across `serialize`/`deserialize`.
 * Not thread-safe (the engine calls it from its one compaction scheduler).
 */
export class CompactionAgent implements CompactionPolicy {
  readonly name = "agent";
  readonly options: ResolvedAgentOptions;
  readonly #policy: ShapedPolicy;
  #config: AgentConfig;
  #random: Random;
  readonly #values = new Map<number, ValueEntry>();
  readonly #bucketWindows: number[];
  #steps = 0;
  #explorations = 0;
  #rollbacks = 0;
  #safetyMoves = 0;
  /** The last move, to roll it back if the next window's p99 is much worse and its cost worse too. */
  #pending: { bucket: number; before: AgentConfig; p99BeforeMs: number; costBefore: number } | null = null;
  /** The bucket of the last window (not kept across a restart: the first window after one is a change). */
  #lastBucket = -1;
  /** The estimate an untried shape was chosen on, to be its prior when its first window is learned. */
  #guess: { bucket: number; config: AgentConfig; value: number } | null = null;
  #recalls = 0;
  /** Windows the shape moved to must still be kept before the next greedy or exploring move (option `dwellWindows`). */
  #dwell = 0;
  readonly #log: DecisionLog<DecisionRecord>;

  /** @throws InvalidArgumentError for an option out of range. */
  constructor(options: AgentOptions = {}) {
    this.options = resolveAgentOptions(options);
    this.#config = this.options.initial;
    this.#random = new Random(this.options.seed);
    this.#bucketWindows = new Array<number>(MIX_BUCKETS).fill(0);
    this.#log = new DecisionLog(this.options.decisionLogCapacity);
    this.#policy = new ShapedPolicy("agent", {
      sizeRatio: this.options.sizeRatio,
      level1Bytes: this.options.level1Bytes,
      levelCount: this.options.levelCount,
      ...this.#config,
    });
  }

  /** The shape in force. */
  shape(): ShapeParameters {
    return this.#policy.shape();
  }

  /** The part of the shape the agent controls. */
  config(): AgentConfig {
    return this.#config;
  }

  /** The compaction to run next under the shape in force (see {@link ShapedPolicy.pick}). */
  pick(tree: TreeView): CompactionDecision | null {
    return this.#policy.pick(tree);
  }

  /**
   * Learns from the window just ended (spent under the shape in force) and sets the shape for the
   * next one. Returns the decision record, or null for a window without operations (nothing to
   * learn from; the shape stays). @throws InvalidArgumentError for a malformed window or tree.
   */
  observe(window: WorkloadWindow, tree: TreeView): DecisionRecord | null {
    validateWindow(window);
    validateTree(tree, this.options.levelCount);
    const mix = mixOf(window);
    if (mix.operations === 0) return null;
    const options = this.options;
    const bucket = mixBucket(mix);
    const costPerOperation =
      options.reward === "time" && window.durationMs > 0
        ? window.durationMs / mix.operations
        : options.reward === "latency" && window.latencyMeanMs > 0
          ? window.latencyMeanMs
          : window.ioBytes / mix.operations;
    const reward = -Math.log(Math.max(costPerOperation, COST_FLOOR));
    const summary = summarizeTree(tree, this.#policy.shape());
    const before = this.#config;

    const measured = measuredRuns(summary);
    const guess = this.#guess !== null && this.#guess.bucket === bucket && sameConfig(this.#guess.config, before) ? this.#guess.value : null;
    this.#guess = null;
    this.#learn(bucket, before, reward, measured, guess);
    const windows = this.#bucketWindows[bucket]!;
    const epsilon = Math.max(options.explorationFloor, options.explorationStart * 0.5 ** (windows / options.explorationHalfLife));
    this.#bucketWindows[bucket] = windows + 1;

    let after: AgentConfig;
    let kind: DecisionKind;
    let recalled: AgentConfig | null = null;
    const pending = this.#pending;
    this.#pending = null;
    if (this.#unsafe(before, summary)) {
      after = this.#saferThan(before, summary, measured);
      kind = "safety";
      this.#safetyMoves++;
    } else if (
      pending !== null &&
      pending.bucket === bucket &&
      pending.p99BeforeMs > 0 &&
      window.latencyP99Ms > options.rollbackRatio * pending.p99BeforeMs &&
      costPerOperation > pending.costBefore &&
      !this.#unsafe(pending.before, summary)
    ) {
      after = pending.before;
      kind = "rollback";
      this.#rollbacks++;
    } else if (options.recall && bucket !== this.#lastBucket && (recalled = this.#recalled(bucket, before, summary)) !== null) {
      after = recalled;
      kind = "recall";
      this.#recalls++;
    } else if (this.#dwell > 0 && bucket === this.#lastBucket) {
      after = before;
      kind = "dwell";
    } else {
      const candidates = this.#candidates(before, summary, measured);
      if (candidates.length > 1 && this.#random.next() < epsilon) {
        const moves = candidates.filter((candidate) => !sameConfig(candidate, before));
        after = moves[this.#random.below(moves.length)]!;
        kind = "explore";
        this.#explorations++;
      } else {
        after = this.#greedy(bucket, before, candidates);
        kind = "greedy";
      }
      if (!sameConfig(after, before)) this.#pending = { bucket, before, p99BeforeMs: window.latencyP99Ms, costBefore: costPerOperation };
    }
    this.#dwell = kind === "dwell" ? this.#dwell - 1 : sameConfig(after, before) ? 0 : options.dwellWindows - 1;
    this.#lastBucket = bucket;
    this.#apply(after);
    const estimate = this.#estimate(bucket, before, after);
    if (!this.#values.has(packKey(bucket, after))) this.#guess = { bucket, config: after, value: estimate };
    const record: DecisionRecord = Object.freeze({
      step: this.#steps,
      mix: Object.freeze({ ...mix }),
      bucket,
      bucketName: mixBucketName(bucket),
      costPerOperation,
      reward,
      latencyP99Ms: window.latencyP99Ms,
      readAmplification: summary.readAmplification,
      l0Runs: summary.l0Runs,
      before,
      after,
      action: kind === "recall" ? AgentAction.Recall : actionBetween(before, after, options.l0TriggerStep),
      kind,
      epsilon,
      value: estimate,
    });
    this.#steps++;
    this.#log.append(record);
    return record;
  }

  /** The decision log, oldest first (at most `decisionLogCapacity` records). */
  decisions(): DecisionRecord[] {
    return this.#log.toArray();
  }

  /** Plain-data statistics for the engine's stats() and the CLI. */
  stats(): AgentStats {
    const buckets: BucketStats[] = [];
    for (let bucket = 0; bucket < MIX_BUCKETS; bucket++) {
      const windows = this.#bucketWindows[bucket]!;
      if (windows === 0) continue;
      const { explorationFloor, explorationStart, explorationHalfLife } = this.options;
      const epsilon = Math.max(explorationFloor, explorationStart * 0.5 ** (windows / explorationHalfLife));
      buckets.push({ bucket, name: mixBucketName(bucket), windows, epsilon, best: this.bestConfig(bucket) });
    }
    return {
      steps: this.#steps,
      config: this.#config,
      shape: this.shape(),
      learnedStates: this.#values.size,
      explorations: this.#explorations,
      rollbacks: this.#rollbacks,
      safetyMoves: this.#safetyMoves,
      recalls: this.#recalls,
      buckets,
    };
  }

  /** The measured shape with the best value in `bucket`, or null if none was measured there. */
  bestConfig(bucket: number): AgentConfig | null {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= MIX_BUCKETS) throw new InvalidArgumentError(`auradb/compactor: no workload bucket ${String(bucket)}`);
    let best: AgentConfig | null = null;
    let bestValue = -Infinity;
    for (const [key, entry] of this.#values) {
      const config = unpackKey(key);
      if (config.bucket !== bucket || entry.value <= bestValue) continue;
      bestValue = entry.value;
      best = { runsUpper: config.runsUpper, runsLast: config.runsLast, l0Trigger: config.l0Trigger };
    }
    return best;
  }

  /**
   * The learned state as bytes, for the engine to keep in the database directory: format in
   * docs/format/compactor-state.md (versioned, CRC-32C). The decision log and the counters of
   * `stats()` are not kept; the random generator's state is, so a restart continues the same
   * deterministic sequence.
   */
  serialize(): Uint8Array {
    const options = this.options;
    const entries: { key: number; entry: ValueEntry }[] = [];
    for (const [key, entry] of this.#values) entries.push({ key, entry });
    entries.sort((a, b) => a.key - b.key);
    const data: AgentStateData = {
      sizeRatio: options.sizeRatio,
      runsMax: options.runsMax,
      l0TriggerMin: options.l0TriggerMin,
      l0TriggerMax: options.l0TriggerMax,
      l0TriggerStep: options.l0TriggerStep,
      config: this.#config,
      steps: Math.min(this.#steps, 0xffffffff),
      random: this.#random.state(),
      bucketWindows: this.#bucketWindows.map((windows) => Math.min(windows, 0xffffffff)),
      entries: entries.map(({ key, entry }) => ({ ...unpackKey(key), visits: Math.min(entry.visits, 0xffffffff), value: entry.value })),
    };
    return encodeAgentState(data);
  }

  /**
   * An agent continuing from `bytes` under `options`. The bounds the state was learned under (T,
   * the most runs, the L0 trigger ladder) must equal the options': a different tree makes the
   * learned costs meaningless. @throws CorruptionError for damaged bytes, NotSupportedError for a
   * newer format, InvalidArgumentError for state learned under other bounds.
   */
  static deserialize(bytes: Uint8Array, options: AgentOptions = {}): CompactionAgent {
    const data = decodeAgentState(bytes);
    const agent = new CompactionAgent(options);
    const resolved = agent.options;
    for (const field of ["sizeRatio", "runsMax", "l0TriggerMin", "l0TriggerMax", "l0TriggerStep"] as const) {
      if (data[field] !== resolved[field]) {
        throw new InvalidArgumentError(`auradb/compactor: the agent state was learned with ${field} ${data[field]}, the options say ${resolved[field]}; start a fresh agent`);
      }
    }
    agent.#restore(data);
    return agent;
  }

  #restore(data: AgentStateData): void {
    for (const entry of data.entries) {
      this.#values.set(packKey(entry.bucket, entry), { value: entry.value, visits: entry.visits });
    }
    for (let bucket = 0; bucket < MIX_BUCKETS; bucket++) this.#bucketWindows[bucket] = data.bucketWindows[bucket]!;
    this.#steps = data.steps;
    this.#random = Random.fromState(data.random);
    this.#apply(data.config);
  }

  /** The TD update of V(bucket, config) with the window's reward (module comment). */
  #learn(bucket: number, config: AgentConfig, reward: number, measured: MeasuredRuns, guess: number | null): void {
    const key = packKey(bucket, config);
    const entry = this.#values.get(key);
    const discount = this.options.discount;
    if (entry === undefined) {
      // First sample: the return if this reward went on for ever, averaged with the guess the shape
      // was chosen on (worth PRIOR_WEIGHT windows) when there was one.
      const sample = reward / (1 - discount);
      const value = guess === null ? sample : (guess * PRIOR_WEIGHT + sample) / (PRIOR_WEIGHT + 1);
      this.#values.set(key, { value, visits: 1 });
      return;
    }
    let best = entry.value;
    for (const move of MOVES) {
      const next = this.#applyMove(config, move, measured);
      if (next !== null) best = Math.max(best, this.#estimate(bucket, config, next));
    }
    entry.visits++;
    const rate = Math.max(this.options.learningRateMin, 1 / entry.visits);
    entry.value += rate * (reward + discount * best - entry.value);
  }

  /**
   * V(bucket, to), seen from `from` (REQUIRES V(bucket, from) known). An untried shape is guessed
   * by extending the slope measured along the same axis (from the shape on the other side of
   * `from`): after a step that helped, the next step in that direction looks good, after one that
   * hurt, it does not. With no slope measured, the guess is V(from) plus the optimism bonus, so
   * the shape gets tried. An untried last-level move with no slope of its own borrows the slope
   * the same move measured at the upper levels (sharing, RusKey).
   */
  #estimate(bucket: number, from: AgentConfig, to: AgentConfig): number {
    const known = this.#values.get(packKey(bucket, to));
    if (known !== undefined) return known.value;
    const base = this.#values.get(packKey(bucket, from))?.value ?? 0;
    const options = this.options;
    const optimism = -Math.log(1 - options.optimism) / (1 - options.discount);
    // Where the cost model leans one way (fewer runs, in read- and scan-heavy buckets), the optimism
    // goes to untried moves that way only; an untried move the other way is guessed as much worse:
    // it is tried by exploration, or once measured neighbours point there (option `lean`).
    const lean = options.lean ? bucketLean(bucket) : 0;
    const runsDelta = Math.sign(to.runsUpper - from.runsUpper + to.runsLast - from.runsLast + (to.l0Trigger - from.l0Trigger) / options.l0TriggerStep);
    const bonus = lean === 0 || runsDelta === 0 || runsDelta === lean ? optimism : -optimism;
    const opposite: AgentConfig = {
      runsUpper: from.runsUpper - Math.sign(to.runsUpper - from.runsUpper),
      runsLast: from.runsLast - Math.sign(to.runsLast - from.runsLast),
      l0Trigger: from.l0Trigger - Math.sign(to.l0Trigger - from.l0Trigger) * options.l0TriggerStep,
    };
    const behind = this.#values.get(packKey(bucket, opposite));
    // NB: the lean caps a slope too: two equal shapes measured with a little noise between them
    // must not carry the agent on towards more runs in a bucket where the model leans to fewer.
    if (behind !== undefined) return bonus < 0 ? Math.min(base + (base - behind.value), base + bonus) : base + (base - behind.value);
    const delta = Math.sign(to.runsLast - from.runsLast);
    if (options.shareAcrossLevels && delta !== 0 && to.runsUpper === from.runsUpper && to.l0Trigger === from.l0Trigger) {
      const upper = this.#values.get(packKey(bucket, { ...from, runsUpper: from.runsUpper + delta }));
      if (upper !== undefined) return upper.value + bonus;
    }
    return base + bonus;
  }

  /**
   * Recall (option `recall`): the bucket's best shape measured over at least `recallVisits`
   * windows, when it is not the shape in force, is safe, and beats the value of the shape in force
   * in this bucket (an unmeasured one counts as worse). Null otherwise.
   */
  #recalled(bucket: number, config: AgentConfig, summary: TreeSummary): AgentConfig | null {
    let best: AgentConfig | null = null;
    let bestValue = this.#values.get(packKey(bucket, config))?.value ?? -Infinity;
    for (const [key, entry] of this.#values) {
      if (entry.visits < this.options.recallVisits || entry.value <= bestValue + TIE) continue;
      const candidate = unpackKey(key);
      if (candidate.bucket !== bucket) continue;
      const shape: AgentConfig = Object.freeze({ runsUpper: candidate.runsUpper, runsLast: candidate.runsLast, l0Trigger: candidate.l0Trigger });
      if (this.#unsafe(shape, summary)) continue;
      best = shape;
      bestValue = entry.value;
    }
    return best === null || sameConfig(best, config) ? null : best;
  }

  /** Shapes reachable in one move that the safety rule allows (the current one first). */
  #candidates(config: AgentConfig, summary: TreeSummary, measured: MeasuredRuns): AgentConfig[] {
    const result: AgentConfig[] = [];
    for (const move of MOVES) {
      const next = this.#applyMove(config, move, measured);
      if (next !== null && (move.action === AgentAction.Keep || !this.#unsafe(next, summary))) result.push(next);
    }
    return result;
  }

  #greedy(bucket: number, config: AgentConfig, candidates: readonly AgentConfig[]): AgentConfig {
    let bestValue = -Infinity;
    let ties: AgentConfig[] = [];
    for (const candidate of candidates) {
      const value = this.#estimate(bucket, config, candidate);
      if (value > bestValue + TIE) {
        bestValue = value;
        ties = [candidate];
      } else if (value >= bestValue - TIE) ties.push(candidate);
    }
    return ties.length === 1 ? ties[0]! : ties[this.#random.below(ties.length)]!;
  }

  /**
   * The safety rule: a shape is unsafe when its worst-case read amplification (L0 trigger + K per
   * level above the last + Z) exceeds the bound, or when the tree measured now does.
   */
  #unsafe(config: AgentConfig, summary: TreeSummary): boolean {
    return this.#shapeUnsafe(config, summary) || summary.readAmplification > this.options.readAmplificationMax;
  }

  /** The shape's own part of the safety rule: its worst case alone, whatever the tree holds now. */
  #shapeUnsafe(config: AgentConfig, summary: TreeSummary): boolean {
    return config.l0Trigger + config.runsUpper * (summary.lastLevel - 1) + config.runsLast > this.options.readAmplificationMax;
  }

  /**
   * The shape the safety rule moves to: K lowered first (it counts once per upper level), to the
   * largest value that makes the worst case fit, then Z, then the L0 trigger, one rung at a time;
   * never below the runs a move down may reach (see {@link #applyMove}). A correction, not a probe,
   * so it may be more than one step: a tree past the bound is fixed at once.
   */
  #saferThan(config: AgentConfig, summary: TreeSummary, measured: MeasuredRuns): AgentConfig {
    let next = config;
    const down = (action: AgentAction) => this.#applyMove(next, MOVES.find((move) => move.action === action)!, measured);
    for (const action of [AgentAction.RunsUpperDown, AgentAction.RunsLastDown, AgentAction.L0TriggerDown]) {
      for (let step = down(action); step !== null && this.#shapeUnsafe(next, summary); step = down(action)) next = step;
    }
    if (sameConfig(next, config)) {
      // The tree itself is past the bound: one move down forces a merge.
      for (const action of [AgentAction.RunsUpperDown, AgentAction.RunsLastDown, AgentAction.L0TriggerDown]) {
        const step = down(action);
        if (step !== null) return step;
      }
    }
    return next;
  }

  /**
   * The shape one move away, or null when out of bounds. A move down lowers the limit by one, or
   * to the runs the tree holds when they are fewer: lowering a limit the tree does not reach
   * changes nothing the agent could measure, so the move drops the slack, and the next move down
   * merges. It never goes further (a merge of many runs at once is the costly, irreversible kind
   * of move RusKey warns about).
   */
  #applyMove(config: AgentConfig, move: Move, measured: MeasuredRuns): AgentConfig | null {
    const options = this.options;
    const runsUpper = move.runsUpper < 0 ? Math.min(config.runsUpper, Math.max(1, measured.upper)) - 1 : config.runsUpper + move.runsUpper;
    const runsLast = move.runsLast < 0 ? Math.min(config.runsLast, Math.max(1, measured.last)) - 1 : config.runsLast + move.runsLast;
    const l0Trigger = config.l0Trigger + move.l0Steps * options.l0TriggerStep;
    if (runsUpper < 1 || runsUpper > options.runsMax || runsLast < 1 || runsLast > options.runsMax) return null;
    if (l0Trigger < options.l0TriggerMin || l0Trigger > options.l0TriggerMax) return null;
    if (move.action === AgentAction.Keep) return config;
    return Object.freeze({ runsUpper, runsLast, l0Trigger });
  }

  #apply(config: AgentConfig): void {
    this.#config = config;
    this.#policy.reshape({ runsUpper: config.runsUpper, runsLast: config.runsLast, l0Trigger: config.l0Trigger });
  }
}

/** Runs the tree holds: the most at any level above the last, and at the last. */
interface MeasuredRuns {
  readonly upper: number;
  readonly last: number;
}

function measuredRuns(summary: TreeSummary): MeasuredRuns {
  let upper = 0;
  for (const level of summary.levels) if (level.level > 0 && level.level < summary.lastLevel) upper = Math.max(upper, level.runs);
  return { upper, last: summary.levels[summary.lastLevel]?.runs ?? 0 };
}

function sameConfig(a: AgentConfig, b: AgentConfig): boolean {
  return a.runsUpper === b.runsUpper && a.runsLast === b.runsLast && a.l0Trigger === b.l0Trigger;
}

function actionBetween(before: AgentConfig, after: AgentConfig, step: number): AgentAction {
  if (after.runsUpper !== before.runsUpper && after.runsLast !== before.runsLast) return after.runsUpper < before.runsUpper ? AgentAction.RunsDown : AgentAction.RunsUp;
  if (after.runsUpper !== before.runsUpper) return after.runsUpper < before.runsUpper ? AgentAction.RunsUpperDown : AgentAction.RunsUpperUp;
  if (after.runsLast !== before.runsLast) return after.runsLast < before.runsLast ? AgentAction.RunsLastDown : AgentAction.RunsLastUp;
  if (after.l0Trigger !== before.l0Trigger) return after.l0Trigger < before.l0Trigger - step / 2 ? AgentAction.L0TriggerDown : AgentAction.L0TriggerUp;
  return AgentAction.Keep;
}

/** (bucket, K, Z, trigger) in one integer; each field is below 256 (bucket < 12, K, Z, trigger <= 64). */
function packKey(bucket: number, config: AgentConfig): number {
  return bucket * 0x1000000 + config.runsUpper * 0x10000 + config.runsLast * 0x100 + config.l0Trigger;
}

function unpackKey(key: number): { bucket: number; runsUpper: number; runsLast: number; l0Trigger: number } {
  return {
    bucket: Math.floor(key / 0x1000000),
    runsUpper: Math.floor(key / 0x10000) % 0x100,
    runsLast: Math.floor(key / 0x100) % 0x100,
    l0Trigger: key % 0x100,
  };
}
