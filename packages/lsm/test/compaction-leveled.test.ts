/**
 * LeveledPolicy decisions on constructed trees (L0 trigger, transitive L0 overlap, level
 * overflow, score order, round robin, busy tables, trivial moves) and overlappingTables against
 * a brute-force model.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareBytes } from "../src/compare.ts";
import { LeveledPolicy, type LeveledPlan, overlappingTables } from "../src/compaction/leveled.ts";
import type { LsmShape, TableMeta } from "../src/types.ts";

const MIB = 1024 * 1024;
const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

function table(fileNumber: number, smallest: string, largest: string, fileBytes = MIB): TableMeta {
  return { fileNumber, fileBytes, smallestKey: bytes(smallest), smallestSeq: 1, largestKey: bytes(largest), largestSeq: 1, entryCount: 10, deleteCount: 0, minSeq: 1, maxSeq: 10 };
}

function shape(levels: TableMeta[][], busy: number[] = []): LsmShape {
  const full = levels.slice();
  while (full.length < 7) full.push([]);
  return { levels: full, busy: new Set(busy) };
}

const numbers = (tables: readonly TableMeta[]) => tables.map((item) => item.fileNumber).sort((a, b) => a - b);

function summary(plan: LeveledPlan | null): string {
  if (plan === null) return "none";
  return `L${plan.level}[${numbers(plan.inputs).join(",")}] -> L${plan.outputLevel}[${numbers(plan.overlapping).join(",")}]${plan.trivialMove ? " move" : ""}`;
}

describe("LeveledPolicy", () => {
  it("l0BelowTriggerPicksNothing, at the trigger picks the oldest table with its transitive overlaps and L1 overlaps", () => {
    const policy = new LeveledPolicy();
    // L0 newest first. 4 chains with 3 via 2 (a..c ~ b..e ~ e..g); 5 stands alone.
    const level0 = [table(5, "x", "z"), table(4, "e", "g"), table(3, "b", "e"), table(2, "a", "c")];
    const level1 = [table(10, "a", "a"), table(11, "d", "f"), table(12, "h", "k"), table(13, "y", "y")];
    assert.equal(summary(policy.pick(shape([level0.slice(0, 3), level1]))), "none");
    const plan = policy.pick(shape([level0, level1]));
    assert.equal(summary(plan), "L0[2,3,4] -> L1[10,11]");
    assert.equal(plan?.score, 1);
    assert.match(plan!.reason, /L0 holds 4 tables, trigger 4/);
    assert.deepEqual(plan!.inputs.map((item) => item.fileNumber), [4, 3, 2], "inputs keep the level's order (newest first)");
  });

  it("l0BusyMemberSkipsTheGroup, and another group is picked", () => {
    const policy = new LeveledPolicy();
    const level0 = [table(5, "x", "z"), table(4, "e", "g"), table(3, "b", "e"), table(2, "a", "c")];
    assert.equal(summary(policy.pick(shape([level0], [3]))), "L0[5] -> L1[] move");
    assert.equal(summary(policy.pick(shape([level0, [table(20, "y", "y")]], [3]))), "L0[5] -> L1[20]");
    assert.equal(summary(policy.pick(shape([level0, [table(20, "y", "y")]], [3, 20]))), "none", "every group touches a busy table");
  });

  it("levelOverflow picks Ln with its Ln+1 overlaps; higher score wins; the last level is never picked", () => {
    const policy = new LeveledPolicy({ level1Bytes: 10 * MIB });
    const level1 = [table(10, "a", "c", 6 * MIB), table(11, "d", "f", 6 * MIB)]; // 12 MiB: score 1.2
    const level2 = [table(20, "a", "b"), table(21, "c", "d"), table(22, "e", "z")];
    assert.equal(summary(policy.pick(shape([[], level1, level2]))), "L1[10] -> L2[20,21]");
    // L0 at 5 tables (1.25) beats L1 at 1.2.
    const level0 = [1, 2, 3, 4, 5].map((number) => table(number, "q", "r"));
    assert.equal(policy.pick(shape([level0, level1, level2]))?.level, 0);
    // L2 far over its 100 MiB target beats L0.
    const level2Heavy = [table(20, "a", "b", 150 * MIB), table(21, "c", "d", 150 * MIB)];
    const plan = policy.pick(shape([level0, [], level2Heavy]));
    assert.equal(plan?.level, 2);
    assert.equal(plan?.score, 3);
    assert.deepEqual(policy.scores(shape([level0, [], level2Heavy])).map((score) => Number(score.toFixed(2))), [1.25, 0, 3, 0, 0, 0]);
    const last = [table(60, "a", "z", 1e15)];
    assert.equal(summary(policy.pick(shape([[], [], [], [], [], [], last]))), "none");
  });

  it("roundRobin walks the level from the compact pointer and wraps around", () => {
    const policy = new LeveledPolicy({ level1Bytes: 1 });
    const level1 = [table(10, "a", "b"), table(11, "c", "d"), table(12, "e", "f"), table(13, "g", "h")];
    const picks: string[] = [];
    for (let round = 0; round < 6; round++) picks.push(summary(policy.pick(shape([[], level1]))));
    assert.deepEqual(picks, ["L1[10] -> L2[] move", "L1[11] -> L2[] move", "L1[12] -> L2[] move", "L1[13] -> L2[] move", "L1[10] -> L2[] move", "L1[11] -> L2[] move"]);
    assert.deepEqual([...policy.compactPointer(1)!], [...bytes("d")]);
    // The level changed under the pointer (d): the next table past it is the one to take.
    assert.equal(summary(policy.pick(shape([[], [table(14, "a", "c"), table(15, "e", "e"), table(16, "z", "z")]]))), "L1[15] -> L2[] move");
  });

  it("busyTables: a busy input is passed over, a busy overlap blocks its input, all busy gives another level or null", () => {
    const policy = new LeveledPolicy({ level1Bytes: 1, levelCount: 4 });
    const level1 = [table(10, "a", "b"), table(11, "c", "d")];
    const level2 = [table(20, "a", "a"), table(21, "d", "d")];
    assert.equal(summary(policy.pick({ levels: [[], level1, level2, []], busy: new Set([10]) })), "L1[11] -> L2[21]");
    assert.equal(summary(new LeveledPolicy({ level1Bytes: 1, levelCount: 4 }).pick({ levels: [[], level1, level2, []], busy: new Set([20]) })), "L1[11] -> L2[21]");
    // L1 blocked entirely; L2 (score 2 MiB / 10 B) is next in line, its L3 overlap free.
    const blocked = new LeveledPolicy({ level1Bytes: 1, sizeRatio: 10, levelCount: 4 });
    assert.equal(summary(blocked.pick({ levels: [[], level1, level2, []], busy: new Set([20, 21]) })), "none", "L2's tables are the busy ones too");
    assert.equal(summary(blocked.pick({ levels: [[], level1, level2, [table(30, "d", "d")]], busy: new Set([10, 11]) })), "L2[20] -> L3[] move");
  });

  it("trivialMove only with one input, nothing overlapping, and a bounded grandparent overlap", () => {
    const policy = new LeveledPolicy({ level1Bytes: 1, targetFileBytes: MIB });
    const input = table(10, "c", "f");
    assert.equal(policy.pick(shape([[], [input], []]))?.trivialMove, true);
    assert.equal(policy.pick(shape([[], [input], [table(20, "a", "d")]]))?.trivialMove, false);
    const grandparents = Array.from({ length: 11 }, (_, index) => table(30 + index, `d${index}`, `d${index}`, MIB));
    const heavy = new LeveledPolicy({ level1Bytes: 1, targetFileBytes: MIB }).pick(shape([[], [input], [], grandparents]));
    assert.equal(heavy?.trivialMove, false, "11 MiB of L3 under it > 10 x 1 MiB");
    const light = new LeveledPolicy({ level1Bytes: 1, targetFileBytes: MIB }).pick(shape([[], [input], [], grandparents.slice(0, 10)]));
    assert.equal(light?.trivialMove, true);
    assert.match(light!.reason, /trivial move/);
    const fromL0 = new LeveledPolicy({ l0CompactionTrigger: 1 }).pick(shape([[table(1, "a", "b")], [table(10, "c", "d")]]));
    assert.equal(summary(fromL0), "L0[1] -> L1[] move");
  });

  it("validates options and the shape", () => {
    assert.throws(() => new LeveledPolicy({ l0CompactionTrigger: 0 }), RangeError);
    assert.throws(() => new LeveledPolicy({ sizeRatio: 1 }), RangeError);
    assert.throws(() => new LeveledPolicy({ levelCount: 1 }), RangeError);
    assert.throws(() => new LeveledPolicy({ level1Bytes: 1.5 }), RangeError);
    assert.throws(() => new LeveledPolicy({ levelCount: 3 }).pick(shape([])), RangeError);
    assert.equal(new LeveledPolicy().levelTargetBytes(3), 1000 * MIB);
    assert.equal(new LeveledPolicy().name, "leveled");
  });

  it("random trees: a plan never touches a busy table, covers its inputs' range, and L0 inputs are closed under overlap", () => {
    const tree = fc.record({
      level0: fc.array(fc.tuple(fc.nat({ max: 20 }), fc.nat({ max: 6 })), { maxLength: 8 }),
      level1: fc.array(fc.nat({ max: 3 }), { maxLength: 6 }),
      level2: fc.array(fc.nat({ max: 3 }), { maxLength: 10 }),
      busy: fc.array(fc.nat({ max: 101 }), { maxLength: 6 }),
      picks: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(tree, ({ level0, level1, level2, busy, picks }) => {
        const key = (value: number) => String.fromCharCode(97 + value);
        const l0 = level0.map(([start, width], index) => table(100 - index, key(start), key(start + width)));
        // Disjoint levels: consecutive runs of the alphabet.
        const disjoint = (widths: number[], base: number, bytesEach: number) => {
          let start = 0;
          return widths.map((width, index) => {
            const made = table(base + index, key(start), key(start + width), bytesEach);
            start += width + 1;
            return made;
          });
        };
        const levels = [l0, disjoint(level1, 10, 3 * MIB), disjoint(level2, 30, 30 * MIB)];
        const current = shape(levels, busy);
        const policy = new LeveledPolicy();
        for (let round = 0; round < picks; round++) {
          const plan = policy.pick(current);
          if (plan === null) {
            assert.ok(policy.scores(current).every((score) => score < 1) || busy.length > 0, "null only when no score >= 1 or busy tables block");
            continue;
          }
          assert.ok(plan.score >= 1);
          for (const item of [...plan.inputs, ...plan.overlapping]) assert.ok(!current.busy.has(item.fileNumber), "no busy table");
          const smallest = plan.inputs.reduce((low, item) => (compareBytes(item.smallestKey, low) < 0 ? item.smallestKey : low), plan.inputs[0]!.smallestKey);
          const largest = plan.inputs.reduce((high, item) => (compareBytes(item.largestKey, high) > 0 ? item.largestKey : high), plan.inputs[0]!.largestKey);
          const overlapsRange = (item: TableMeta) => compareBytes(item.largestKey, smallest) >= 0 && compareBytes(item.smallestKey, largest) <= 0;
          assert.deepEqual(numbers(plan.overlapping), numbers((levels[plan.outputLevel] ?? []).filter(overlapsRange)));
          if (plan.level === 0) assert.deepEqual(numbers(plan.inputs), numbers(l0.filter(overlapsRange)), "L0 inputs closed under overlap");
          const grandparentBytes = (levels[plan.outputLevel + 1] ?? []).filter(overlapsRange).reduce((sum, item) => sum + item.fileBytes, 0);
          assert.equal(plan.trivialMove, plan.inputs.length === 1 && plan.overlapping.length === 0 && grandparentBytes <= 10 * policy.targetFileBytes);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("overlappingTables", () => {
  const rangeArbitrary = fc.tuple(fc.option(fc.nat({ max: 30 }), { nil: undefined }), fc.option(fc.nat({ max: 30 }), { nil: undefined }));
  const key = (value: number) => Uint8Array.of(value);
  const make = (fileNumber: number, low: number, high: number): TableMeta => ({
    fileNumber, fileBytes: 1, smallestKey: key(low), smallestSeq: 1, largestKey: key(high), largestSeq: 1, entryCount: 1, deleteCount: 0, minSeq: 1, maxSeq: 1,
  });
  const intersects = (item: TableMeta, low: Uint8Array | undefined, high: Uint8Array | undefined) =>
    (low === undefined || compareBytes(item.largestKey, low) >= 0) && (high === undefined || compareBytes(item.smallestKey, high) <= 0);

  it("sorted levels: exactly the tables intersecting the range (binary search = filter)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 })), { maxLength: 10 }), rangeArbitrary, (shapes, [low, high]) => {
        let start = 0;
        const level = shapes.map(([gap, width], index) => {
          const made = make(index, start + gap, start + gap + width);
          start += gap + width + 1;
          return made;
        });
        const lowKey = low === undefined ? undefined : key(low);
        const highKey = high === undefined ? undefined : key(high);
        assert.deepEqual(overlappingTables(level, lowKey, highKey, false), level.filter((item) => intersects(item, lowKey, highKey)));
      }),
      { numRuns: 500 },
    );
  });

  it("L0: the fixpoint of widening the range by every table that intersects it", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 25 }), fc.nat({ max: 5 })), { maxLength: 10 }), rangeArbitrary, (shapes, [low, high]) => {
        const level = shapes.map(([start, width], index) => make(index, start, start + width));
        let lowKey: Uint8Array | undefined = low === undefined ? undefined : key(low);
        let highKey: Uint8Array | undefined = high === undefined ? undefined : key(high);
        for (let changed = true; changed; ) {
          changed = false;
          for (const item of level) {
            if (!intersects(item, lowKey, highKey)) continue;
            if (lowKey !== undefined && compareBytes(item.smallestKey, lowKey) < 0) (lowKey = item.smallestKey), (changed = true);
            if (highKey !== undefined && compareBytes(item.largestKey, highKey) > 0) (highKey = item.largestKey), (changed = true);
          }
        }
        const expected = level.filter((item) => intersects(item, lowKey, highKey));
        assert.deepEqual(overlappingTables(level, low === undefined ? undefined : key(low), high === undefined ? undefined : key(high), true), expected);
      }),
      { numRuns: 500 },
    );
  });
});
