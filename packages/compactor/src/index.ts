/**
 * @module
 * `@auradb/compactor`: what to compact next in an LSM tree, as pure decisions (no I/O). The
 * engine hands over a view of the tree (and, for the learning policy, of the last workload
 * window) and runs the decision it gets back.
 *
 * ```ts
 * import { lazyLevelingPolicy, CompactionAgent } from "@auradb/compactor";
 *
 * const policy = lazyLevelingPolicy({ sizeRatio: 10 });
 * const decision = policy.pick(tree);          // { inputs, outputLevel, style, reason } | null
 *
 * const agent = new CompactionAgent({ seed: 7 }); // learns K, Z and the L0 trigger
 * agent.observe(window, tree);                   // after each window: learn, maybe re-shape
 * agent.pick(tree);                              // decisions under the shape it chose
 * const bytes = agent.serialize();               // the engine keeps these in the database directory
 * ```
 */
export {
  type CompactionDecision,
  type CompactionInput,
  type CompactionPolicy,
  type LevelView,
  MergeStyle,
  type RunView,
  type ShapeParameters,
  type TableView,
  type TreeView,
  type WorkloadWindow,
} from "./types.ts";
export { type ShapeOptions, resolveShape, levelTargetBytes, lastLevelOf, runsAllowed, RUNS_MAX, SIZE_RATIO_MAX, LEVEL_COUNT_MAX } from "./shape.ts";
export { type LevelSummary, type TreeSummary, summarizeTree, validateTree } from "./tree.ts";
export { type LevelScore, ShapedPolicy } from "./shaped-policy.ts";
export { type FixedPolicyOptions, leveledPolicy, tieredPolicy, lazyLevelingPolicy } from "./policies.ts";
export { type WorkloadMix, MIX_BUCKETS, mixBucket, mixBucketName, mixOf, validateWindow } from "./workload.ts";
export { type AgentConfig, type AgentOptions, type ResolvedAgentOptions, type RewardSource, resolveAgentOptions } from "./agent-options.ts";
export {
  AgentAction,
  type AgentStats,
  type BucketStats,
  CompactionAgent,
  type DecisionKind,
  type DecisionRecord,
} from "./agent.ts";
export { STATE_FORMAT_VERSION, STATE_MAGIC } from "./agent-state.ts";
export { DecisionLog } from "./decision-log.ts";
export { type CostModelParameters, type ModelMix, type ModelShape, type ShapeCosts, costPerOperation, shapeCosts } from "./cost-model.ts";
export { Random } from "./random.ts";
export { crc32c } from "./crc32c.ts";
export { compareBytes } from "./keys.ts";
export { CorruptionError, ErrorCode, InvalidArgumentError, NotSupportedError } from "./errors.ts";
