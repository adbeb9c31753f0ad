import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { leveledPolicy, lazyLevelingPolicy, ShapedPolicy, tieredPolicy } from "../src/index.ts";
import { isAuraError, MIB, run, table, tree } from "./helpers.ts";

const small = { level1Bytes: 10 * MIB, sizeRatio: 10, levelCount: 5 };

describe("fixed policies", () => {
  it("shapes: leveled K = Z = 1, tiered K = Z = T − 1, lazy leveling K = T − 1, Z = 1", () => {
    assert.deepEqual([leveledPolicy(small).shape().runsUpper, leveledPolicy(small).shape().runsLast], [1, 1]);
    assert.deepEqual([tieredPolicy(small).shape().runsUpper, tieredPolicy(small).shape().runsLast], [9, 9]);
    assert.deepEqual([lazyLevelingPolicy(small).shape().runsUpper, lazyLevelingPolicy(small).shape().runsLast], [9, 1]);
    const shape = leveledPolicy({ l0Trigger: 4 }).shape();
    assert.equal(shape.l0SlowdownTrigger, 8);
    assert.equal(shape.l0StopTrigger, 12);
  });

  it("an empty tree, or one within every limit, needs nothing", () => {
    for (const policy of [leveledPolicy(small), tieredPolicy(small), lazyLevelingPolicy(small)]) {
      assert.equal(policy.pick(tree([])), null);
      assert.equal(policy.pick(tree([[run(1, MIB)], [run(2, 5 * MIB)]])), null);
    }
  });

  it("leveled: L0 at the trigger merges all of L0 into the overlapping tables of L1's run", () => {
    const l1 = { tables: [table(0, 99, MIB, 1), table(100, 199, MIB, 2), table(200, 255, MIB, 3)] };
    const l0 = [{ tables: [table(10, 150, MIB, 11)] }, { tables: [table(20, 120, MIB, 12)] }, { tables: [table(5, 60, MIB, 13)] }, { tables: [table(30, 40, MIB, 14)] }];
    const decision = leveledPolicy(small).pick(tree([l0, [l1]]));
    assert.ok(decision !== null);
    assert.equal(decision.style, "merge-into-run");
    assert.equal(decision.outputLevel, 1);
    assert.equal(decision.targetRun, 0);
    assert.deepEqual(decision.inputs.slice(0, 4).map((input) => input.tables), [[11], [12], [13], [14]]);
    assert.deepEqual(decision.inputs.at(-1), { level: 1, run: 0, tables: [1, 2] });
    assert.equal(decision.inputBytes, 6 * MIB);
    assert.equal(decision.score, 1);
  });

  it("leveled: an over-full level pushes one table at a time, round robin, into the level below", () => {
    const policy = leveledPolicy(small);
    // L1 holds 20 MiB (target 10), L2 holds 80 MiB: L2 is the last level.
    const view = tree([[], [run(4, 20 * MIB)], [run(8, 80 * MIB)]]);
    const first = policy.pick(view);
    const second = policy.pick(view);
    assert.ok(first !== null && second !== null);
    assert.equal(first.inputs[0]!.tables.length, 1);
    assert.notDeepEqual(first.inputs[0]!.tables, second.inputs[0]!.tables);
    assert.equal(first.style, "merge-into-run");
    assert.equal(first.outputLevel, 2);
    // Table 0 of L1 covers keys 0..63: L2's first two tables (0..31, 32..63) overlap it.
    assert.equal(first.inputs[1]!.tables.length, 2);
    assert.equal(policy.scores(view).find((score) => score.level === 1)?.score, 2);
  });

  it("tiered: L0 becomes a new run of L1; a level with more than K runs goes down whole as a new run", () => {
    const policy = tieredPolicy({ ...small, l0Trigger: 2 });
    // 84 MiB in all: L1 (10 MiB) and L2 (100 MiB) hold it, so L2 is the last level.
    const l0Decision = policy.pick(tree([[run(1, MIB), run(1, MIB)], [run(1, 2 * MIB)], [run(2, 80 * MIB)]]));
    assert.ok(l0Decision !== null);
    assert.equal(l0Decision.style, "new-run");
    assert.equal(l0Decision.outputLevel, 1);
    assert.equal(l0Decision.inputs.length, 2);
    const full = Array.from({ length: 10 }, () => run(1, 0.5 * MIB));
    const levelDecision = policy.pick(tree([[], full, [run(2, 80 * MIB)]]));
    assert.ok(levelDecision !== null);
    assert.equal(levelDecision.style, "new-run");
    assert.equal(levelDecision.outputLevel, 2);
    assert.equal(levelDecision.inputs.length, 10);
    assert.ok(levelDecision.score > 1);
  });

  it("tiered: more than Z runs at the last level are merged in place", () => {
    const runs = Array.from({ length: 10 }, () => run(2, 10 * MIB)); // 100 MiB: L2 is the last level
    const decision = tieredPolicy(small).pick(tree([[], [], runs]));
    assert.ok(decision !== null);
    assert.equal(decision.outputLevel, 2);
    assert.equal(decision.style, "new-run");
    assert.equal(decision.inputs.length, 10);
  });

  it("lazy leveling: tiered above, leveled at the last level", () => {
    const policy = lazyLevelingPolicy(small);
    // L1 over its target pushes all its runs into the last level L2, merging into its one run.
    const decision = policy.pick(tree([[], [run(1, 6 * MIB), run(1, 6 * MIB)], [run(4, 80 * MIB)]]));
    assert.ok(decision !== null);
    assert.equal(decision.outputLevel, 2);
    assert.equal(decision.style, "merge-into-run");
    assert.deepEqual(decision.inputs.map((input) => input.level), [1, 1, 2]);
    // The same tree under leveled: L1 has two runs, more than its one: all of L1 goes down too.
    const leveled = leveledPolicy(small).pick(tree([[], [run(1, 6 * MIB), run(1, 6 * MIB)], [run(4, 80 * MIB)]]));
    assert.deepEqual(leveled?.inputs.map((input) => input.level), [1, 1, 2]);
  });

  it("never picks a busy table; returns null when every choice touches one", () => {
    const l0 = [run(1, MIB), run(1, MIB), run(1, MIB), run(1, MIB)];
    const busy = new Set([l0[2]!.tables[0]!.id]);
    assert.equal(leveledPolicy(small).pick(tree([l0, [run(2, 2 * MIB)]], busy)), null);
    const policy = leveledPolicy(small);
    const level1 = run(4, 20 * MIB);
    const decision = policy.pick(tree([[], [level1], [run(8, 200 * MIB)]], new Set([level1.tables[0]!.id])));
    assert.ok(decision !== null);
    assert.notEqual(decision.inputs[0]!.tables[0], level1.tables[0]!.id);
  });

  it("the highest score goes first", () => {
    const l0 = Array.from({ length: 5 }, () => run(1, MIB)); // score 1.25
    const decision = leveledPolicy(small).pick(tree([l0, [run(4, 30 * MIB)], [run(8, 300 * MIB)]])); // L1 score 3
    assert.equal(decision?.inputs[0]!.level, 1);
  });

  it("reshape moves the triggers with the L0 trigger and keeps other knobs", () => {
    const policy = new ShapedPolicy("custom", { ...small, runsUpper: 3 });
    policy.reshape({ l0Trigger: 6 });
    assert.equal(policy.shape().l0StopTrigger, 18);
    assert.equal(policy.shape().runsUpper, 3);
    assert.throws(() => policy.reshape({ runsLast: 0 }), isAuraError("AURADB_INVALID_ARGUMENT"));
  });
});

describe("bad input", () => {
  const invalid = isAuraError("AURADB_INVALID_ARGUMENT");
  it("knobs: NaN, negative, fractional, out of range", () => {
    for (const options of [{ sizeRatio: Number.NaN }, { sizeRatio: 1 }, { level1Bytes: -1 }, { l0Trigger: 2.5 }, { levelCount: 99 }]) {
      assert.throws(() => leveledPolicy(options), invalid, JSON.stringify(options));
    }
    assert.throws(() => leveledPolicy({ runsUpper: 2 } as never), invalid);
  });

  it("trees: negative sizes, NaN, duplicate ids, unordered runs, empty runs, unknown levels", () => {
    const policy = leveledPolicy(small);
    const cases = [
      tree([[{ tables: [table(0, 10, -5)] }]]),
      tree([[{ tables: [{ ...table(0, 10, 5), entries: Number.NaN }] }]]),
      tree([[{ tables: [table(0, 10, 5, 1)] }, { tables: [table(0, 10, 5, 1)] }]]),
      tree([[], [{ tables: [table(50, 60, 5), table(10, 20, 5)] }]]),
      tree([[], [{ tables: [table(10, 60, 5), table(60, 70, 5)] }]]),
      tree([[{ tables: [] }]]),
      tree([[{ tables: [table(9, 1, 5)] }]]),
      tree([[], [], [], [], [], []]),
      { levels: "nope" },
      null,
    ];
    for (const [index, view] of cases.entries()) assert.throws(() => policy.pick(view as never), invalid, `case ${index}`);
  });
});
