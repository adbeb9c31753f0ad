/**
 * The engine with the `@auradb/compactor` policies: the tree view it hands them, the checks on
 * their decisions, reads and tombstones across several runs of a level, the learning agent's
 * state file, and the `compaction` options.
 */
import { describe, it } from "node:test";
import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import { AuraError, ErrorCode, readFile, writeFileAtomic } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { type TableMeta, Version } from "@auradb/lsm";
import type { CompactionDecision } from "@auradb/compactor";
import { AGENT_STATE_FILE, AuraDB, type AuraDBOptions } from "../src/index.ts";
import { jobFromDecision, keyMayExistOutside, rangeJob, treeViewOf } from "../src/compaction.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const code = (expected: string) => (error: unknown) => AuraError.isInstance(error) && error.code === expected;

function table(fileNumber: number, smallest: string, largest: string, run?: number): TableMeta {
  const meta: TableMeta = { fileNumber, fileBytes: 1000 + fileNumber, smallestKey: encode(smallest), smallestSeq: 1, largestKey: encode(largest), largestSeq: 1, entryCount: 10 + fileNumber, deleteCount: 0, minSeq: 1, maxSeq: 2 };
  return run === undefined ? meta : { ...meta, run };
}

/** L0: 30 (newest), 31; L1: one run; L2: runs 40 (newest) and 0. */
function sampleVersion(): Version {
  return new Version([
    [table(31, "b", "x"), table(30, "a", "c")],
    [table(10, "a", "f"), table(11, "g", "p")],
    [table(20, "a", "k", 40), table(21, "m", "z", 40), table(22, "c", "q")],
    [],
  ]);
}

function decision(fields: Partial<CompactionDecision> & Pick<CompactionDecision, "inputs" | "outputLevel" | "style" | "targetRun">): CompactionDecision {
  return { inputBytes: 0, score: 1, reason: "test", ...fields };
}

/** Waits until background compaction has nothing left to do (bounded: fails after ~10 s). */
async function settle(db: AuraDB): Promise<void> {
  for (let turn = 0; turn < 20_000; turn++) {
    const before = db.stats().compactions;
    for (let spin = 0; spin < 5; spin++) await new Promise<void>((resolve) => setImmediate(resolve));
    if (db.stats().compactions === before && db.stats().levels[0]!.files < db.stats().compaction.shape.l0Trigger) return;
  }
  assert.fail("compaction did not settle");
}

describe("tree view and decisions", () => {
  it("converts a version: levels → runs newest first → tables with id, bytes, entries, user keys", () => {
    const view = treeViewOf(sampleVersion(), new Set([11]), 7);
    assert.equal(view.levels.length, 4);
    assert.deepEqual(view.levels[0]!.runs.map((run) => run.tables.map((entry) => entry.id)), [[31], [30]]);
    assert.deepEqual(view.levels[1]!.runs.map((run) => run.tables.map((entry) => entry.id)), [[10, 11]]);
    assert.deepEqual(view.levels[2]!.runs.map((run) => run.tables.map((entry) => entry.id)), [[20, 21], [22]]);
    const first = view.levels[2]!.runs[0]!.tables[0]!;
    assert.deepEqual([first.bytes, first.entries, text(first.smallestKey), text(first.largestKey)], [1020, 30, "a", "k"]);
    assert.deepEqual([...view.busy!], [11]);
    assert.equal(treeViewOf(sampleVersion(), new Set(), 2).levels.length, 2, "no more levels than the policy knows");
  });

  it("turns decisions into jobs: new runs, merges into a run, in-place merges of whole runs", () => {
    const version = sampleVersion();
    const push = jobFromDecision(version, decision({ inputs: [{ level: 1, run: 0, tables: [10, 11] }], outputLevel: 2, style: "new-run", targetRun: null }));
    assert.equal(push.outputRun, "new");
    const inPlace = jobFromDecision(
      version,
      decision({
        inputs: [
          { level: 2, run: 0, tables: [20, 21] },
          { level: 2, run: 1, tables: [22] },
        ],
        outputLevel: 2,
        style: "new-run",
        targetRun: null,
      }),
    );
    assert.equal(inPlace.outputRun, 0, "the only run left: run 0, no run tag needed");
    const older = jobFromDecision(version, decision({ inputs: [{ level: 2, run: 1, tables: [22] }], outputLevel: 2, style: "new-run", targetRun: null }));
    assert.equal(older.outputRun, 0, "a merge of the oldest run keeps its place");
    const l0 = jobFromDecision(
      version,
      decision({
        inputs: [
          { level: 0, run: 0, tables: [31] },
          { level: 0, run: 1, tables: [30] },
          { level: 1, run: 0, tables: [10, 11] },
        ],
        outputLevel: 1,
        style: "merge-into-run",
        targetRun: 0,
      }),
    );
    assert.deepEqual([l0.outputRun, l0.inputs.length], [0, 4]);
  });

  it("refuses decisions that would put older data above newer data or break a run", () => {
    const version = sampleVersion();
    const refused = (fields: Parameters<typeof decision>[0]) => assert.throws(() => jobFromDecision(version, decision(fields)), code(ErrorCode.InvalidArgument));
    // The newest L0 table moves down while an older overlapping one stays above it.
    refused({ inputs: [{ level: 0, run: 0, tables: [31] }], outputLevel: 1, style: "new-run", targetRun: null });
    // Merge into run 0 of L1 leaving an overlapping table of that run out.
    refused({ inputs: [{ level: 0, run: 0, tables: [31] }, { level: 0, run: 1, tables: [30] }, { level: 1, run: 0, tables: [10] }], outputLevel: 1, style: "merge-into-run", targetRun: 0 });
    // Merge into the older run of L2 while the newer run overlaps.
    refused({ inputs: [{ level: 1, run: 0, tables: [10] }, { level: 2, run: 1, tables: [22] }], outputLevel: 2, style: "merge-into-run", targetRun: 1 });
    // Data from above as a new run below a newer run it does not take.
    refused({ inputs: [{ level: 1, run: 0, tables: [10, 11] }, { level: 2, run: 1, tables: [22] }], outputLevel: 2, style: "new-run", targetRun: null });
    // Part of a run as a new run; a level skipped; a table not where it is said to be.
    refused({ inputs: [{ level: 2, run: 0, tables: [20] }], outputLevel: 2, style: "new-run", targetRun: null });
    refused({ inputs: [{ level: 0, run: 0, tables: [31] }, { level: 0, run: 1, tables: [30] }], outputLevel: 2, style: "new-run", targetRun: null });
    refused({ inputs: [{ level: 1, run: 0, tables: [22] }], outputLevel: 2, style: "new-run", targetRun: null });
  });

  it("compactRange jobs take every overlapping table of both levels, transitively", () => {
    const version = sampleVersion();
    const job = rangeJob(version, 0, encode("a"), encode("a"))!;
    assert.deepEqual(job.inputs.map((input) => input.table.fileNumber).sort(), [10, 11, 30, 31], "30 overlaps [a]; 31 overlaps 30; 10, 11 overlap both");
    assert.equal(job.outputRun, 0);
    const deeper = rangeJob(version, 1, encode("g"), encode("h"))!;
    assert.deepEqual(deeper.inputs.map((input) => input.table.fileNumber).sort(), [11, 20, 21, 22]);
    assert.equal(deeper.outputRun, 40, "into the newest run of the next level");
    assert.equal(rangeJob(version, 3, undefined, undefined), null);
  });

  it("a tombstone may go only when no run outside the inputs, at the output level or below, holds its key", () => {
    const version = sampleVersion();
    assert.equal(keyMayExistOutside(version, encode("d"), 2, new Set([20])), true, "run 0 of L2 (table 22) holds d");
    assert.equal(keyMayExistOutside(version, encode("d"), 2, new Set([20, 22])), false);
    assert.equal(keyMayExistOutside(version, encode("r"), 2, new Set([21])), false, "nothing else holds r");
    assert.equal(keyMayExistOutside(version, encode("b"), 1, new Set([10])), true, "a deeper level holds b");
  });
});

describe("engine with several runs per level", () => {
  const tiered: AuraDBOptions = { compaction: "tiered", l0CompactionTrigger: 1, memtableBytes: 4096, sizeRatio: 4, level1Bytes: 1 << 20 };

  it("reads the newest version from the newest run of a level, after reopen too", async () => {
    const fs = new MemFs();
    let db = await AuraDB.open("/db", { fs, ...tiered });
    await db.put("k", "v1");
    await db.put("other", "x");
    await db.flush();
    await settle(db);
    await db.put("k", "v2");
    await db.flush();
    await settle(db);
    const level1 = db.stats().levels[1]!;
    assert.equal(level1.runs, 2, "each L0 flush became a run of L1");
    assert.equal(text(db.getSync("k")), "v2");
    assert.deepEqual([...db.iterator()].map(([key, value]) => `${text(key)}=${text(value)}`), ["k=v2", "other=x"]);
    await db.close();
    db = await AuraDB.open("/db", { fs, ...tiered });
    assert.equal(db.stats().levels[1]!.runs, 2, "run membership survives the reopen");
    assert.equal(text(await db.get("k")), "v2");
    await db.close();
    // A leveled open merges the runs back into one (its fallback policy), keeping the newest version.
    db = await AuraDB.open("/db", { fs, l0CompactionTrigger: 1 });
    await settle(db);
    assert.equal(db.stats().levels.filter((level) => level.level > 0 && level.runs > 1).length, 0);
    assert.equal(text(db.getSync("k")), "v2");
    await db.close();
  });

  it("keeps a tombstone while an older run holds its key, and drops both once merged", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, ...tiered });
    await db.put("k", "old");
    await db.put("z", "keep");
    await db.flush();
    await settle(db);
    await db.delete("k");
    await db.flush();
    await settle(db);
    assert.equal(db.stats().levels[1]!.runs, 2);
    assert.equal(db.getSync("k"), undefined, "the tombstone in the newer run hides the older run's value");
    const tables = db.stats().tables.filter((entry) => entry.level > 0);
    assert.equal(tables.reduce((sum, entry) => sum + entry.entries, 0), 3, "k, its tombstone and z: nothing dropped yet");
    await db.compactRange();
    assert.equal(db.getSync("k"), undefined);
    assert.deepEqual([...db.keys()].map(text), ["z"]);
    assert.equal(db.stats().tables.reduce((sum, entry) => sum + entry.entries, 0), 1, "merged with the value it hid, the tombstone went");
    await db.close();
  });

  it("back-pressure and stats follow the policy's shape", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, compaction: "lazy-leveling", l0CompactionTrigger: 3, l0SlowdownFiles: 5, l0StopFiles: 9, sizeRatio: 5 });
    const stats = db.stats().compaction;
    assert.equal(stats.policy, "lazy-leveling");
    assert.deepEqual([stats.shape.runsUpper, stats.shape.runsLast, stats.shape.l0Trigger, stats.shape.l0SlowdownTrigger, stats.shape.l0StopTrigger], [4, 1, 3, 5, 9]);
    assert.equal(stats.agent, null);
    await db.close();
  });
});

describe("fluid compaction (K and Z set by the user)", () => {
  it("enforces runsPerLevel above the last level and runsLastLevel at it, and reads stay right", async () => {
    const fs = new MemFs();
    const options: AuraDBOptions = { fs, compaction: "fluid", runsPerLevel: 2, runsLastLevel: 3, l0CompactionTrigger: 1, memtableBytes: 4096, sizeRatio: 4, level1Bytes: 16 << 10 };
    let db = await AuraDB.open("/db", options);
    const shape = db.stats().compaction.shape;
    assert.equal(db.stats().compaction.policy, "fluid");
    assert.deepEqual([shape.runsUpper, shape.runsLast, shape.l0Trigger], [2, 3, 1]);
    const expected = new Map<string, string>();
    for (let round = 0; round < 12; round++) {
      for (let index = 0; index < 200; index++) {
        const key = `key${String((index * 37 + round * 11) % 500).padStart(4, "0")}`;
        const value = `r${round}-${index}-${"x".repeat(40)}`;
        await db.put(key, value);
        expected.set(key, value);
      }
      await db.flush();
      await settle(db);
      const levels = db.stats().compaction.levels.filter((level) => level.level > 0 && level.tables > 0);
      const last = levels[levels.length - 1]!;
      for (const level of levels) assert.ok(level.runs <= (level === last ? 3 : 2), `round ${round}: L${level.level} holds ${level.runs} runs`);
    }
    assert.ok(db.stats().compaction.levels.some((level) => level.level > 0 && level.runs > 1), "several runs somewhere: the shape is not leveling");
    for (const [key, value] of expected) assert.equal(text(db.getSync(key)), value, key);
    await db.close();
    db = await AuraDB.open("/db", options);
    assert.deepEqual([...db.iterator()].length, expected.size);
    await db.close();
  });
});

describe("learned compaction", () => {
  const learned: AuraDBOptions = { compaction: "learned", memtableBytes: 4096, l0CompactionTrigger: 2, compactionAgent: { windowOperations: 50, seed: 3 } };

  async function workload(db: AuraDB, rounds: number): Promise<void> {
    for (let index = 0; index < rounds; index++) {
      await db.put(`key${index % 97}`, `value${index}`);
      db.getSync(`key${(index * 7) % 97}`);
      if (index % 20 === 0) for (const _entry of db.iterator({ gte: `key${index % 50}`, limit: 10 })) void _entry;
    }
  }

  it("observes windows, reports its state, and keeps what it learned across a reopen", async () => {
    const fs = new MemFs();
    let db = await AuraDB.open("/db", { fs, ...learned });
    await workload(db, 600);
    const before = db.stats().compaction.agent!;
    assert.ok(before.windows >= 10, `windows observed: ${before.windows}`);
    assert.equal(before.stateFile.status, "fresh");
    assert.ok(before.state !== null && before.lastAction !== null);
    assert.ok(before.decisions.length > 0 && before.decisions.length <= 20);
    assert.equal(before.recentRewards.length, before.decisions.length);
    const log = db.compactionDecisions();
    assert.equal(log.length, before.windows, "the whole log since the open (fewer windows than its capacity)");
    assert.deepEqual(log.slice(-before.decisions.length), before.decisions, "stats() shows its tail");
    assert.ok(before.explorationRate > 0 && before.explorationRate <= 1);
    await db.close();
    assert.ok((await readFile(fs, `/db/${AGENT_STATE_FILE}`)).length > 0, "state written at close");
    db = await AuraDB.open("/db", { fs, ...learned });
    const after = db.stats().compaction.agent!;
    assert.equal(after.stateFile.status, "restored");
    assert.equal(after.windows, before.windows, "the step count continues");
    assert.deepEqual(after.config, before.config, "the shape in force continues");
    await workload(db, 100);
    assert.ok(db.stats().compaction.agent!.windows > before.windows);
    await db.close();
  });

  it("a damaged state file starts a fresh agent, reported in stats; the open never fails", async () => {
    const fs = new MemFs();
    let db = await AuraDB.open("/db", { fs, ...learned });
    await workload(db, 200);
    await db.close();
    const bytes = await readFile(fs, `/db/${AGENT_STATE_FILE}`);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFileAtomic(fs, `/db/${AGENT_STATE_FILE}`, bytes);
    db = await AuraDB.open("/db", { fs, ...learned });
    const agent = db.stats().compaction.agent!;
    assert.equal(agent.stateFile.status, "reset");
    assert.ok(agent.stateFile.error !== null && agent.stateFile.error.length > 0);
    assert.equal(agent.windows, 0);
    await db.put("a", "1");
    assert.equal(text(db.getSync("a")), "1");
    await db.close();
    // State learned under another size ratio is not used either.
    db = await AuraDB.open("/db", { fs, ...learned, sizeRatio: 6 });
    assert.equal(db.stats().compaction.agent!.stateFile.status, "reset");
    await db.close();
  });
});

describe("compaction options", () => {
  it("rejects bad values with InvalidArgumentError", async () => {
    const bad: unknown[] = [
      { compaction: "lazy" },
      { compaction: 3 },
      { compaction: "tiered", compactionAgent: {} },
      { compactionAgent: { seed: 1 } },
      { compaction: "tiered", sizeRatio: 300 },
      { compaction: "lazy-leveling", l0CompactionTrigger: 100 },
      { compaction: "learned", compactionAgent: { windowOperations: 0 } },
      { compaction: "learned", compactionAgent: { windowMs: -1 } },
      { compaction: "learned", compactionAgent: { sizeRatio: 4 } },
      { compaction: "learned", compactionAgent: { discount: 2 } },
      { compaction: "learned", compactionAgent: { reward: "speed" } },
      { compaction: "learned", compactionAgent: null },
      { compaction: "learned", compactionAgent: { recall: 1 } },
      { compaction: "tiered", runsPerLevel: 2 },
      { runsLastLevel: 2 },
      { compaction: "fluid", runsPerLevel: 0 },
      { compaction: "fluid", runsLastLevel: 65 },
      { compaction: "fluid", runsPerLevel: 1.5 },
    ];
    for (const options of bad) {
      await assert.rejects(AuraDB.open("/db", { fs: new MemFs(), ...(options as AuraDBOptions) }), code(ErrorCode.InvalidArgument), JSON.stringify(options));
    }
    for (const compaction of ["leveled", "tiered", "lazy-leveling", "fluid", "learned"] as const) {
      const db = await AuraDB.open("/db", { fs: new MemFs(), compaction });
      assert.equal(db.stats().compaction.policy, compaction);
      assert.deepEqual(db.compactionDecisions(), []);
      await db.close();
    }
  });
});
