/**
 * The differential test: random sequences of writes, reads, scans, snapshots, flushes,
 * compactions, reopens and simulated crashes against a plain Map model. Every read must match
 * the model; after a crash, the database must equal the model after some prefix of the writes
 * that includes every write acknowledged with sync.
 */
import { describe, it } from "node:test";
import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type CrashMode, MemFs } from "@auradb/fs/testing";
import { compareBytes } from "@auradb/lsm";
import { AuraDB, type AuraDBOptions, type Snapshot } from "../src/index.ts";

const RUNS = Number(process.env.AURADB_MODEL_RUNS ?? 12);
const OPS = Number(process.env.AURADB_MODEL_OPS ?? 1200);
const DIR = "/db";

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
const fromHex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

type Model = Map<string, string>; // hex key → hex value

/** Keys: a pool with shared prefixes, 0x00/0xff bytes, prefixes of each other. */
function keyOf(index: number): Uint8Array {
  const pool = [[0x00], [0xff], [0x61], [0x61, 0x00], [0x61, 0x61], [0x61, 0x62, 0x63], [0xff, 0xff, 0x00]];
  if (index < pool.length) return Uint8Array.from(pool[index]!);
  return new TextEncoder().encode(`key:${String(index).padStart(4, "0")}`);
}

function valueOf(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[index] = state >>> 24;
  }
  return out;
}

type Op =
  | { type: "put"; key: number; size: number; sync: boolean }
  | { type: "del"; key: number; sync: boolean }
  | { type: "batch"; ops: { key: number; del: boolean; size: number }[]; sync: boolean }
  | { type: "get"; key: number; sync: boolean }
  | { type: "scan"; from: number; to: number; bounds: number; reverse: boolean; limit: number }
  | { type: "snapshot" }
  | { type: "snapshot-read"; which: number; key: number }
  | { type: "release"; which: number }
  | { type: "flush" }
  | { type: "compact" }
  | { type: "reopen" }
  | { type: "crash"; mode: CrashMode }
  | { type: "gc"; crashAfter: number; mode: CrashMode };

const keyArbitrary = fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 400 }));
const sizeArbitrary = fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 120 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 9000 }) });

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 28, arbitrary: fc.record({ type: fc.constant("put" as const), key: keyArbitrary, size: sizeArbitrary, sync: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ type: fc.constant("del" as const), key: keyArbitrary, sync: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      type: fc.constant("batch" as const),
      ops: fc.array(fc.record({ key: keyArbitrary, del: fc.boolean(), size: sizeArbitrary }), { minLength: 1, maxLength: 30 }),
      sync: fc.boolean(),
    }),
  },
  { weight: 18, arbitrary: fc.record({ type: fc.constant("get" as const), key: keyArbitrary, sync: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      type: fc.constant("scan" as const),
      from: keyArbitrary,
      to: keyArbitrary,
      bounds: fc.nat({ max: 8 }),
      reverse: fc.boolean(),
      limit: fc.integer({ min: -1, max: 20 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ type: "snapshot" as const }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant("snapshot-read" as const), which: fc.nat(), key: keyArbitrary }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("release" as const), which: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ type: "flush" as const }) },
  { weight: 2, arbitrary: fc.constant({ type: "compact" as const }) },
  { weight: 2, arbitrary: fc.constant({ type: "reopen" as const }) },
  {
    // Value-log GC; with crashAfter >= 0, a crash image is taken that many event-loop turns into it.
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("gc" as const),
      crashAfter: fc.oneof(fc.constant(-1), fc.nat({ max: 12 })),
      mode: fc.constantFrom<CrashMode>("process", "synced-only", "per-file-prefix", "subset"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("crash" as const),
      mode: fc.constantFrom<CrashMode>("process", "synced-only", "per-file-prefix", "subset", "trash"),
    }),
  },
);

function sortedEntries(model: Model): [string, string][] {
  return [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)); // hex order = byte order
}

function equalModels(a: Model, b: Model): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

async function scanAll(db: AuraDB): Promise<Model> {
  const out: Model = new Map();
  for await (const [key, value] of db.iterator()) out.set(hex(key), hex(value));
  return out;
}

async function runSequence(ops: Op[], options: AuraDBOptions, seed: number): Promise<void> {
  let disk = new MemFs();
  const open = () => AuraDB.open(DIR, { ...options, fs: disk });
  let db = await open();
  let model: Model = new Map();
  /** Model states after each write since the last point where everything was durable. */
  let durableBase: Model = new Map();
  let pending: Model[] = [];
  let snapshots: { snapshot: Snapshot; model: Model }[] = [];
  let step = 0;

  const applyWrite = (change: (target: Model) => void, sync: boolean) => {
    change(model);
    if (sync || options.sync === "always") {
      durableBase = new Map(model);
      pending = [];
    } else {
      pending.push(new Map(model));
    }
  };

  try {
    for (const op of ops) {
      step++;
      const where = `step ${step} (${op.type})`;
      switch (op.type) {
        case "put": {
          const key = keyOf(op.key);
          const value = valueOf(seed + step, op.size);
          await db.put(key, value, { sync: op.sync });
          applyWrite((target) => target.set(hex(key), hex(value)), op.sync);
          break;
        }
        case "del": {
          const key = keyOf(op.key);
          await db.delete(key, { sync: op.sync });
          applyWrite((target) => target.delete(hex(key)), op.sync);
          break;
        }
        case "batch": {
          const operations = op.ops.map((entry, index) =>
            entry.del
              ? { type: "del" as const, key: keyOf(entry.key) }
              : { type: "put" as const, key: keyOf(entry.key), value: valueOf(seed + step * 100 + index, entry.size) },
          );
          await db.batch(operations, { sync: op.sync });
          applyWrite((target) => {
            for (const operation of operations) {
              if (operation.type === "del") target.delete(hex(operation.key));
              else target.set(hex(operation.key), hex(operation.value));
            }
          }, op.sync);
          break;
        }
        case "get": {
          const key = keyOf(op.key);
          const got = op.sync ? db.getSync(key) : await db.get(key);
          assert.equal(got === undefined ? undefined : hex(got), model.get(hex(key)), `${where}: get ${hex(key)}`);
          break;
        }
        case "scan": {
          // NB: also a moment to note the tree's shape (runs come and go with background compaction).
          observeShape(db);
          const low = keyOf(Math.min(op.from, op.to));
          const high = keyOf(Math.max(op.from, op.to));
          const range: Record<string, Uint8Array> = {};
          if (op.bounds & 1) range[op.bounds & 4 ? "gt" : "gte"] = low;
          if (op.bounds & 2) range[op.bounds & 8 ? "lt" : "lte"] = high;
          const got: [string, string][] = [];
          for await (const [key, value] of db.iterator({ ...range, reverse: op.reverse, limit: op.limit })) got.push([hex(key), hex(value)]);
          let expected = sortedEntries(model).filter(([key]) => {
            const bytes = fromHex(key);
            const cmpLow = compareBytes(bytes, low);
            const cmpHigh = compareBytes(bytes, high);
            if (range.gt !== undefined && cmpLow <= 0) return false;
            if (range.gte !== undefined && cmpLow < 0) return false;
            if (range.lt !== undefined && cmpHigh >= 0) return false;
            if (range.lte !== undefined && cmpHigh > 0) return false;
            return true;
          });
          if (op.reverse) expected = expected.reverse();
          if (op.limit >= 0) expected = expected.slice(0, op.limit);
          assert.deepEqual(got, expected, `${where}: scan ${JSON.stringify(op)}`);
          break;
        }
        case "snapshot":
          snapshots.push({ snapshot: db.snapshot(), model: new Map(model) });
          break;
        case "snapshot-read": {
          if (snapshots.length === 0) break;
          const { snapshot, model: seen } = snapshots[op.which % snapshots.length]!;
          const key = keyOf(op.key);
          const got = snapshot.getSync(key);
          assert.equal(got === undefined ? undefined : hex(got), seen.get(hex(key)), `${where}: snapshot get ${hex(key)}`);
          const all = new Map<string, string>();
          for (const [entryKey, value] of snapshot.iterator()) all.set(hex(entryKey), hex(value));
          assert.ok(equalModels(all, seen), `${where}: snapshot scan`);
          break;
        }
        case "release": {
          if (snapshots.length === 0) break;
          const [released] = snapshots.splice(op.which % snapshots.length, 1);
          released!.snapshot.release();
          break;
        }
        case "flush":
          await db.flush();
          observeShape(db);
          break;
        case "compact":
          await db.compactRange();
          break;
        case "reopen":
          await db.close();
          db = await open();
          snapshots = [];
          durableBase = new Map(model);
          pending = [];
          assert.ok(equalModels(await scanAll(db), model), `${where}: state after a clean reopen`);
          break;
        case "gc":
        case "crash": {
          let image: MemFs;
          if (op.type === "gc") {
            const running = db.gcValueLog({ ratio: 0 });
            if (op.crashAfter < 0) {
              await running;
              const gcStats = db.stats().valueLog;
              assert.ok(gcStats.gcRuns > 0, `${where}: gc ran`);
              assert.ok(equalModels(await scanAll(db), model), `${where}: state after GC`);
              break;
            }
            for (let turn = 0; turn < op.crashAfter; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
            image = disk.crash({ mode: op.mode, seed: seed + step });
            await running.catch(() => {});
          } else {
            image = disk.crash({ mode: op.mode, seed: seed + step });
          }
          await db.close().catch(() => {});
          disk = image;
          db = await open();
          snapshots = [];
          const state = await scanAll(db);
          // Which prefix survived? Every write up to the last synced one must have.
          const candidates = op.mode === "process" ? [model] : [durableBase, ...pending];
          const match = candidates.findIndex((candidate) => equalModels(candidate, state));
          if (match < 0 && process.env.AURADB_MODEL_DEBUG) {
            const last = candidates[candidates.length - 1]!;
            for (const [k, v] of last) if (state.get(k) !== v) console.log("differs", k, v.length, state.get(k)?.length, db.recovery);
            for (const [k, v] of state) if (!last.has(k)) console.log("extra", k, v.length / 2, JSON.stringify(db.recovery), JSON.stringify(db.stats().valueLog));
          }
          assert.ok(match >= 0, `${where}: after a ${op.mode} crash the state is no prefix of the writes (last synced + ${pending.length} unsynced)`);
          model = new Map(candidates[match]!);
          durableBase = new Map(model);
          pending = [];
          break;
        }
      }
    }
    assert.ok(equalModels(await scanAll(db), model), "final state");
    learnedLookupsSeen += db.stats().learnedIndex.lookups;
    observeShape(db);
  } finally {
    await db.close().catch(() => {});
  }
}

const CONFIGURATIONS: { name: string; options: AuraDBOptions }[] = [
  {
    name: "tiny memtable, eager compaction, snappy",
    options: { memtableBytes: 4096, blockBytes: 256, l0CompactionTrigger: 2, level1Bytes: 16 * 1024, sizeRatio: 4, targetFileBytes: 8192, cacheBytes: 64 * 1024, compression: "snappy" },
  },
  { name: "defaults, no bloom", options: { bloomBitsPerKey: 0, memtableBytes: 64 * 1024 } },
  { name: "sync always, values from 50 B separated", options: { sync: "always", memtableBytes: 16 * 1024, blockBytes: 256, valueThreshold: 50 } },
  {
    name: "values from 100 B separated, small value-log files, eager compaction",
    options: { valueThreshold: 100, valueLogFileBytes: 64 * 1024, memtableBytes: 8192, l0CompactionTrigger: 2, level1Bytes: 32 * 1024, sizeRatio: 4, targetFileBytes: 8192 },
  },
];

/** The most sorted runs one level L1+ held, and the agent's shapes, seen in the current variant (the policies' paths are exercised). */
let mostRunsSeen = 0;
const agentShapesSeen = new Set<string>();

function observeShape(db: AuraDB): void {
  const stats = db.stats();
  for (const level of stats.levels) if (level.level > 0) mostRunsSeen = Math.max(mostRunsSeen, level.runs);
  for (const record of stats.compaction.agent?.decisions ?? []) agentShapesSeen.add(JSON.stringify(record.after));
}

/** Lookups located by learned indexes in the final databases of the runs so far (the learned path is exercised). */
let learnedLookupsSeen = 0;
let learnedOnLookups = 0;

/**
 * Every configuration runs twice: with learned indexes (`learnedIndex: true`, every table large
 * and regular enough gets a model and reads use it) and without (`false`, binary search only).
 */
const TINY_EAGER = CONFIGURATIONS[0]!.options;

/**
 * The other compaction policies on the tiny, eagerly compacted tree (several runs per level, run
 * membership through crashes and reopens): tiered, a fluid shape between tiering and leveling,
 * and the learning agent with windows of a few
 * operations and much exploration, so that it re-shapes the tree (tiered ⇄ leveled, L0 trigger)
 * many times in one sequence.
 */
const POLICY_VARIANTS: { name: string; options: AuraDBOptions }[] = [
  { name: "tiny memtable, eager compaction, tiered, learned index off", options: { ...TINY_EAGER, compaction: "tiered", learnedIndex: false } },
  {
    name: "tiny memtable, eager compaction, fluid K 2 Z 3, learned index on",
    options: { ...TINY_EAGER, compaction: "fluid", runsPerLevel: 2, runsLastLevel: 3, learnedIndex: true },
  },
  {
    name: "tiny memtable, eager compaction, learned compaction, learned index on",
    options: {
      ...TINY_EAGER,
      compaction: "learned",
      // NB: no dwell: a move every window puts the most reshaping under the crashes.
      compactionAgent: { windowOperations: 25, explorationStart: 0.9, explorationFloor: 0.4, persistEveryWindows: 3, dwellWindows: 1 },
      learnedIndex: true,
    },
  },
];

const VARIANTS = [
  ...CONFIGURATIONS.flatMap((configuration) =>
    [true, false].map((learned) => ({
      name: `${configuration.name}, learned index ${learned ? "on" : "off"}`,
      options: { ...configuration.options, learnedIndex: learned },
    })),
  ),
  ...POLICY_VARIANTS,
];

/** Where a failing sequence is saved; replay it with AURADB_MODEL_REPLAY=<that file>. */
const FAILURE_FILE = new URL("../../../.ci/out/model-failure.json", import.meta.url).pathname;

async function runAndSave(ops: Op[], configuration: (typeof VARIANTS)[number], seed: number): Promise<void> {
  try {
    await runSequence(ops, configuration.options, seed);
  } catch (error) {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(new URL(".", `file://${FAILURE_FILE}`).pathname, { recursive: true });
    writeFileSync(FAILURE_FILE, JSON.stringify({ configuration: configuration.name, seed, ops }));
    throw error;
  }
}

describe("engine vs model", () => {
  const replay = process.env.AURADB_MODEL_REPLAY;
  if (replay !== undefined) {
    it(`replays ${replay}`, async () => {
      const { readFileSync } = await import("node:fs");
      const saved = JSON.parse(readFileSync(replay, "utf8")) as { configuration: string; seed: number; ops: Op[] };
      const configuration = VARIANTS.find((candidate) => candidate.name === saved.configuration)!;
      await runSequence(saved.ops, configuration.options, saved.seed);
    });
    return;
  }
  for (const configuration of VARIANTS) {
    it(`random operations, crashes and reopens: ${configuration.name}`, async () => {
      const lookupsBefore = learnedLookupsSeen;
      mostRunsSeen = 0;
      agentShapesSeen.clear();
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: OPS / 2, maxLength: OPS }), fc.nat(), async (ops, seed) => {
          await runAndSave(ops, configuration, seed);
        }),
        { numRuns: RUNS },
      );
      if (configuration.options.learnedIndex) learnedOnLookups += learnedLookupsSeen - lookupsBefore;
      else assert.equal(learnedLookupsSeen, lookupsBefore, "no lookup went through a learned index");
      const compaction = configuration.options.compaction ?? "leveled";
      if (compaction === "leveled") assert.ok(mostRunsSeen <= 1, "leveled keeps one run per level");
      // NB: the agent may spend a short sequence leveled (it starts there): only its moves are certain.
      else if (compaction !== "learned") assert.ok(mostRunsSeen > 1, `${compaction}: some level held several runs (seen ${mostRunsSeen})`);
      if (compaction === "learned") assert.ok(agentShapesSeen.size > 1, `the agent moved between shapes (${[...agentShapesSeen].join(" ")})`);
    });
  }
  it("the learned-index variants read through models (tables of separated values may all be too small for one)", () => {
    assert.ok(learnedOnLookups > 0, "some lookups went through a learned index");
  });
});
