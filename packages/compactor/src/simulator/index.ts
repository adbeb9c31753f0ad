/**
 * @module
 * `@auradb/compactor/simulator`: an offline LSM simulator for training and testing compaction
 * policies deterministically, and the shifting workload.
 *
 * ```ts
 * import { leveledPolicy } from "@auradb/compactor";
 * import { simulate, shiftingWorkload } from "@auradb/compactor/simulator";
 *
 * const result = simulate(leveledPolicy({ level1Bytes: 2_000_000 }), shiftingWorkload(60), { seed: 1 });
 * console.log(result.costPerOperation, result.phases.map((phase) => phase.costPerOperation));
 * ```
 */
export {
  type Phase,
  type PhaseResult,
  type SimulatedPolicy,
  type SimulationOptions,
  type SimulationResult,
  Simulator,
  resolveSimulationOptions,
  simulate,
} from "./simulate.ts";
export { type SimLevel, type SimRun, type SimTable, type TreeModelOptions, TreeModel, keyBytes } from "./tree-model.ts";
export { shiftingWorkload } from "./workloads.ts";
