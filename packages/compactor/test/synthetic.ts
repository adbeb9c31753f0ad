/**
 * A synthetic environment for the agent: the analytic cost model (src/cost-model.ts) with
 * seeded noise, where the best shape is known by enumeration. The tree handed to the agent is
 * built to match the shape in force (K runs at L1 and L2, Z at L3, half the trigger at L0), so
 * its measured runs agree with the model.
 */
import {
  type AgentConfig,
  type CompactionAgent,
  type CostModelParameters,
  type ModelMix,
  Random,
  type TreeView,
  type WorkloadWindow,
  costPerOperation,
  shapeCosts,
} from "../src/index.ts";

export const MODEL: CostModelParameters = {
  entries: 1_000_000,
  entryBytes: 100,
  pageBytes: 4096,
  memtableEntries: 2_000,
  level1Entries: 20_000,
  sizeRatio: 10,
  bloomBitsPerKey: 10,
  scanLength: 100,
  levelsMax: 6,
};
export const LEVEL1_BYTES = MODEL.level1Entries * MODEL.entryBytes;

export const MIXES = {
  writeHeavy: { write: 0.9, read: 0.1, scan: 0 },
  readHeavy: { write: 0.1, read: 0.9, scan: 0 },
  scanHeavy: { write: 0.1, read: 0, scan: 0.9 },
} as const satisfies Record<string, ModelMix>;

/** Cost of a shape under a mix, in page I/Os per operation. */
export function modelCost(config: AgentConfig, mix: ModelMix): number {
  return costPerOperation(shapeCosts(MODEL, config), mix);
}

/** The best shape the agent may choose (its bounds and safety rule, last level L3), by enumeration. */
export function bestShape(agent: CompactionAgent, mix: ModelMix): { config: AgentConfig; cost: number } {
  const options = agent.options;
  let best: { config: AgentConfig; cost: number } | null = null;
  for (let runsUpper = 1; runsUpper <= options.runsMax; runsUpper++) {
    for (let runsLast = 1; runsLast <= options.runsMax; runsLast++) {
      for (let l0Trigger = options.l0TriggerMin; l0Trigger <= options.l0TriggerMax; l0Trigger += options.l0TriggerStep) {
        if (l0Trigger + 2 * runsUpper + runsLast > options.readAmplificationMax) continue;
        const config = { runsUpper, runsLast, l0Trigger };
        const cost = modelCost(config, mix);
        if (best === null || cost < best.cost) best = { config, cost };
      }
    }
  }
  return best!;
}

let nextId = 1;
function run(bytes: number): { tables: { id: number; bytes: number; entries: number; smallestKey: Uint8Array; largestKey: Uint8Array }[] } {
  return { tables: [{ id: nextId++, bytes, entries: Math.round(bytes / 100), smallestKey: Uint8Array.of(0), largestKey: Uint8Array.of(255) }] };
}

/** A tree shaped like `config`: L0 half full, K runs at L1 and L2, Z runs at L3 holding the data. */
export function treeFor(config: AgentConfig): TreeView {
  const l0 = Array.from({ length: Math.max(1, Math.floor(config.l0Trigger / 2)) }, () => run(200_000));
  const level = (runs: number, bytes: number) => Array.from({ length: runs }, () => run(Math.round(bytes / runs)));
  return {
    levels: [
      { runs: l0 },
      { runs: level(config.runsUpper, LEVEL1_BYTES * 0.5) },
      { runs: level(config.runsUpper, LEVEL1_BYTES * 5) },
      { runs: level(config.runsLast, MODEL.entries * MODEL.entryBytes) },
    ],
  };
}

/** One window of the environment: the model's cost with log-normal noise as the window's latency. */
export function windowFor(config: AgentConfig, mix: ModelMix, random: Random, noise = 0.05): WorkloadWindow {
  const operations = 10_000;
  const cost = modelCost(config, mix) * Math.exp(noise * gaussian(random));
  const writes = Math.round(operations * mix.write);
  const scans = Math.round(operations * mix.scan);
  const reads = operations - writes - scans;
  return {
    durationMs: cost * operations * 0.1,
    reads,
    readMisses: 0,
    writes,
    scans,
    scannedEntries: scans * 100,
    bytesWritten: writes * 100,
    bytesRead: reads * 100,
    ioBytes: cost * operations * 4096,
    latencyMeanMs: cost * 0.1,
    latencyP99Ms: cost * 0.3,
  };
}

/** Runs `steps` windows of `mix`; returns how many windows passed before the shape in force was within `tolerance` of the best. */
/** Also the regret: the sum over the windows of (cost / best cost − 1); and the mean of cost / best over the last `tail` windows. */
export function train(
  agent: CompactionAgent,
  mix: ModelMix,
  steps: number,
  random: Random,
  tolerance = 0.1,
  tail = 20,
): { firstGood: number | null; regret: number; tailRatio: number } {
  const best = bestShape(agent, mix).cost;
  let firstGood: number | null = null;
  let regret = 0;
  let tailSum = 0;
  for (let step = 0; step < steps; step++) {
    const config = agent.config();
    const cost = modelCost(config, mix);
    regret += cost / best - 1;
    if (step >= steps - tail) tailSum += cost / best;
    if (firstGood === null && cost <= best * (1 + tolerance)) firstGood = step;
    agent.observe(windowFor(config, mix, random), treeFor(config));
  }
  return { firstGood, regret, tailRatio: tailSum / Math.min(tail, steps) };
}

function gaussian(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
