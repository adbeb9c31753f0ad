import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CompactionAgent, lazyLevelingPolicy, leveledPolicy, tieredPolicy } from "../src/index.ts";
import { type Phase, TreeModel, shiftingWorkload, simulate } from "../src/simulator/index.ts";
import { isAuraError } from "./helpers.ts";

/** The simulator's default tree: 2 MB L1 (20,000 entries of 100 bytes), T = 10. */
const shape = { level1Bytes: 2_000_000, sizeRatio: 10 };
const writeHeavy: Phase[] = [{ name: "write", windows: 40, write: 0.9, read: 0.1, scan: 0 }];
const scanHeavy: Phase[] = [{ name: "scan", windows: 20, write: 0.1, read: 0, scan: 0.9 }];

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

describe("simulator", () => {
  it("the cost model behaves: tiering writes cheaper, leveling scans cheaper", () => {
    const tieredWrite = simulate(tieredPolicy(shape), writeHeavy, { seed: 1 });
    const leveledWrite = simulate(leveledPolicy(shape), writeHeavy, { seed: 1 });
    assert.ok(tieredWrite.costPerOperation < 0.5 * leveledWrite.costPerOperation);
    const tieredScan = simulate(tieredPolicy(shape), scanHeavy, { seed: 1 });
    const leveledScan = simulate(leveledPolicy(shape), scanHeavy, { seed: 1 });
    assert.ok(leveledScan.costPerOperation < tieredScan.costPerOperation);
    assert.ok(leveledWrite.phases[0]!.runs < tieredWrite.phases[0]!.runs);
  });

  it("a merge keeps the distinct keys of uniform random writes", () => {
    const model = new TreeModel(3, { keySpace: 100_000, entryBytes: 100, tableEntries: 5_000 });
    model.flush(50_000);
    model.flush(50_000);
    const [newer, older] = model.levels[0]!.runs;
    const ids = [newer!.tables[0]!.id, older!.tables[0]!.id];
    const { readBytes, writtenBytes } = model.execute({
      inputs: [
        { level: 0, run: 0, tables: [ids[0]!] },
        { level: 0, run: 1, tables: [ids[1]!] },
      ],
      outputLevel: 1,
      style: "new-run",
      targetRun: null,
      inputBytes: 0,
      score: 1,
      reason: "test",
    });
    // Each flush holds 1 − e^(−1/2) of the keys; both together 1 − e^(−1).
    const expected = 100_000 * (1 - Math.exp(-1));
    const entries = model.levels[1]!.runs[0]!.tables.reduce((sum, table) => sum + table.entries, 0);
    assert.ok(Math.abs(entries - expected) < 0.01 * expected, `${entries} vs ${expected}`);
    assert.equal(writtenBytes, entries * 100);
    assert.ok(readBytes > writtenBytes);
    assert.equal(model.levels[0]!.runs.length, 0);
    assert.throws(() => model.execute({ inputs: [{ level: 0, run: 0, tables: [1] }], outputLevel: 1, style: "new-run", targetRun: null, inputBytes: 0, score: 1, reason: "" }), isAuraError("AURADB_INVALID_ARGUMENT"));
  });

  it("agent, write-heavy: moves towards tiering and costs less than leveled once adapted", () => {
    for (const seed of [1, 2]) {
      const agent = simulate(new CompactionAgent({ ...shape, seed }), writeHeavy, { seed });
      const leveled = simulate(leveledPolicy(shape), writeHeavy, { seed });
      const phase = agent.phases[0]!;
      assert.ok(phase.runsUpper + phase.runsLast > 2, `seed ${seed}: K ${phase.runsUpper}, Z ${phase.runsLast}`);
      assert.ok(mean(phase.windowCosts.slice(20)) < 0.7 * mean(leveled.phases[0]!.windowCosts.slice(20)), `seed ${seed}`);
    }
  });

  it("shifting A-B-C-D-A: the agent's total beats the best fixed policy (seed 1)", () => {
    const phases = shiftingWorkload(60);
    const fixed = [leveledPolicy(shape), tieredPolicy(shape), lazyLevelingPolicy(shape)].map((policy) => simulate(policy, phases, { seed: 1 }));
    const best = Math.min(...fixed.map((result) => result.costPerOperation));
    const agent = simulate(new CompactionAgent({ ...shape, seed: 1 }), phases, { seed: 1 });
    assert.ok(agent.costPerOperation < best, `agent ${agent.costPerOperation.toFixed(3)}, best fixed ${best.toFixed(3)}`);
    // Phase C (scans): the agent must have left tiering behind, whatever it did before.
    const tieredScan = fixed[1]!.phases[2]!.costPerOperation;
    assert.ok(agent.phases[2]!.costPerOperation < tieredScan);
  });

  it("is deterministic under a seed", () => {
    const run = () => simulate(new CompactionAgent({ ...shape, seed: 3 }), shiftingWorkload(4), { seed: 5 });
    assert.deepEqual(run(), run());
  });

  it("bad options and phases are refused with a typed error", () => {
    const invalid = isAuraError("AURADB_INVALID_ARGUMENT");
    assert.throws(() => simulate(leveledPolicy(shape), [], {}), invalid);
    assert.throws(() => simulate(leveledPolicy(shape), [{ name: "x", windows: 0, write: 1, read: 0, scan: 0 }]), invalid);
    assert.throws(() => simulate(leveledPolicy(shape), [{ name: "x", windows: 1, write: 0, read: 0, scan: 0 }], { preloadWrites: 0 }), invalid);
    assert.throws(() => simulate(leveledPolicy(shape), writeHeavy, { keySpace: -1 }), invalid);
    assert.throws(() => simulate(leveledPolicy(shape), writeHeavy, { noise: Number.NaN }), invalid);
  });
});
