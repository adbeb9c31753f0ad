/**
 * Simulated cost of leveled, tiered, lazy leveling and the learning agent on the shifting
 * A-B-C-D-A workload, same seed for all, side by side. Simulator numbers (page I/Os per
 * operation from the cost model in src/simulator), not measurements of the engine.
 *
 *   node packages/compactor/bench/simulate.ts [--windows 60] [--seeds 1,2,3] [--agent '{"dwellWindows":1}']
 *
 * `--agent` takes the agent's options as JSON (AgentOptions), to compare a knob against the defaults.
 */
import { type AgentOptions, CompactionAgent, lazyLevelingPolicy, leveledPolicy, tieredPolicy } from "../src/index.ts";
import { type SimulationResult, shiftingWorkload, simulate } from "../src/simulator/index.ts";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1]! : fallback;
}

const windows = Number(argument("windows", "60"));
const seeds = argument("seeds", "1").split(",").map(Number);
const agentOptions = JSON.parse(argument("agent", "{}")) as AgentOptions;
/** The simulator's defaults: 1M keys of 100 bytes, 200 KB memtables, so L1 of 2 MB at T = 10. */
const shape = { level1Bytes: 2_000_000, sizeRatio: 10 };
const phases = shiftingWorkload(windows);

const format = (value: number) => value.toFixed(3).padStart(8);
console.log(`Shifting workload, ${windows} windows of 20,000 operations per phase; cost = page I/Os per operation (simulated).`);
const ratios: number[] = [];
for (const seed of seeds) {
  const results: SimulationResult[] = [
    simulate(leveledPolicy(shape), phases, { seed }),
    simulate(tieredPolicy(shape), phases, { seed }),
    simulate(lazyLevelingPolicy(shape), phases, { seed }),
    simulate(new CompactionAgent({ ...shape, seed, ...agentOptions }), phases, { seed }),
  ];
  console.log(`\nseed ${seed}`);
  console.log(`${"policy".padEnd(14)}${phases.map((phase) => phase.name.padStart(15)).join("")}${"total".padStart(10)}`);
  for (const result of results) {
    const cells = result.phases.map((phase) => format(phase.costPerOperation).padStart(15)).join("");
    console.log(`${result.policy.padEnd(14)}${cells}${format(result.costPerOperation).padStart(10)}`);
  }
  const fixed = results.slice(0, 3);
  const agent = results[3]!;
  const best = fixed.reduce((a, b) => (a.costPerOperation <= b.costPerOperation ? a : b));
  const perPhase = phases.map((_, index) => Math.min(...fixed.map((result) => result.phases[index]!.costPerOperation)));
  ratios.push(agent.costPerOperation / best.costPerOperation);
  console.log(`agent / best fixed (${best.policy}): ${(agent.costPerOperation / best.costPerOperation).toFixed(3)}`);
  console.log(`agent / best fixed per phase: ${agent.phases.map((phase, index) => (phase.costPerOperation / perPhase[index]!).toFixed(2)).join("  ")}`);
  console.log(`agent's shape at each phase end (K, Z, L0 trigger): ${agent.phases.map((phase) => `${phase.runsUpper},${phase.runsLast},${phase.l0Trigger}`).join("  ")}`);
}
if (seeds.length > 1) console.log(`\nagent / best fixed over seeds: ${ratios.map((ratio) => ratio.toFixed(3)).join(" ")}`);
