/**
 * The engine's `learnedIndex` option: models are written and used with `true` and `'auto'`,
 * ignored with `false`, visible per table in `stats()`; the cost-benefit rule of `'auto'` stops
 * fitting at a level whose tables die unread, and resumes when they are read.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import type { AuraDBOptions } from "../src/index.ts";
import { EVIDENCE_DEATHS, FIT_NS_PER_KEY_DEFAULT, LEARNED_SAVING_NS, LearnedAdvisor } from "../src/learned.ts";

const key = (index: number) => `user:${String(index).padStart(8, "0")}`;
const value = (index: number) => `value-${index}-${"x".repeat(index % 40)}`;

async function fill(db: AuraDB, count: number, start = 0): Promise<void> {
  for (let base = start; base < start + count; base += 500) {
    const batch = [];
    for (let index = base; index < Math.min(base + 500, start + count); index++) batch.push({ type: "put" as const, key: key(index), value: value(index) });
    await db.batch(batch);
  }
}

describe("learnedIndex option", () => {
  it("refuses anything but true, false and 'auto'", async () => {
    for (const bad of ["yes", 1, null] as unknown[]) {
      await assert.rejects(
        AuraDB.open("/db", { fs: new MemFs(), learnedIndex: bad as AuraDBOptions["learnedIndex"] }),
        (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.InvalidArgument,
      );
    }
  });

  it("true: tables get models, reads go through them; false: the same tables are read by binary search", async () => {
    const fs = new MemFs();
    const options: AuraDBOptions = { fs, memtableBytes: 256 * 1024, targetFileBytes: 128 * 1024, blockBytes: 1024 };
    let db = await AuraDB.open("/db", { ...options, learnedIndex: true });
    await fill(db, 20_000);
    await db.compactRange();
    let stats = db.stats();
    assert.equal(stats.learnedIndex.mode, true);
    assert.ok((stats.learnedIndex.tablesByStatus.learned ?? 0) >= 4, JSON.stringify(stats.learnedIndex.tablesByStatus));
    assert.ok(stats.learnedIndex.fitNanosPerKey > 0);
    assert.ok(stats.learnedIndex.modelBytes > 0);
    for (let index = 0; index < 20_000; index += 7) assert.equal(new TextDecoder().decode(db.getSync(key(index))), value(index));
    assert.equal(db.getSync("user:x"), undefined);
    stats = db.stats();
    assert.ok(stats.learnedIndex.lookups >= 2000, `lookups ${stats.learnedIndex.lookups}`);
    assert.ok(stats.learnedIndex.hitRate > 0 && stats.learnedIndex.hitRate <= 1);
    assert.ok(stats.learnedIndex.averageWindow >= 1);
    const learnedTable = stats.tables.find((table) => table.learned.status === "learned")!;
    assert.ok(learnedTable.learned.segments >= 1 && learnedTable.learned.epsilon >= 8);
    assert.ok(learnedTable.lookups > 0);
    await db.close();

    db = await AuraDB.open("/db", { ...options, learnedIndex: false });
    for (let index = 1; index < 20_000; index += 7) assert.equal(new TextDecoder().decode(db.getSync(key(index))), value(index));
    stats = db.stats();
    assert.equal(stats.learnedIndex.lookups, 0);
    assert.ok((stats.learnedIndex.tablesByStatus.disabled ?? 0) >= 4, JSON.stringify(stats.learnedIndex.tablesByStatus));
    // New tables written with false carry no model.
    await fill(db, 5000, 20_000);
    await db.flush();
    assert.ok((db.stats().learnedIndex.tablesByStatus.off ?? 0) >= 1);
    await db.close();
  });

  it("'auto' (the default) learns until a level's dead tables show too few lookups to repay a fit", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, memtableBytes: 64 * 1024, blockBytes: 512, l0CompactionTrigger: 2, level1Bytes: 256 * 1024 });
    assert.equal(db.stats().learnedIndex.mode, "auto");
    // Writes only: L0 tables are compacted away without a single lookup.
    // Each round's keys interleave with every other round's: tables overlap, so compactions merge
    // them (a trivial move would not end a table's life).
    for (let round = 0; round < 12; round++) {
      const batch = [];
      for (let index = 0; index < 2000; index++) batch.push({ type: "put" as const, key: key(index * 12 + round), value: value(index) });
      await db.batch(batch);
      await db.flush();
    }
    await db.compactRange();
    const level0 = db.stats().learnedIndex.levels[0]!;
    assert.ok(level0.deaths >= EVIDENCE_DEATHS, JSON.stringify(level0));
    assert.equal(level0.lookupsPerLife, 0);
    assert.ok(level0.worthIt >= 1, "the first tables were learned (no evidence yet)");
    assert.ok(level0.notWorthIt >= 1, "later ones were not");
    await db.close();
  });
});

describe("LearnedAdvisor (the cost-benefit rule)", () => {
  it("learns by default, stops on evidence of too few lookups, resumes when lookups return", () => {
    const advisor = new LearnedAdvisor("auto");
    const keys = 10_000;
    const breakEven = (keys * FIT_NS_PER_KEY_DEFAULT) / LEARNED_SAVING_NS;
    assert.equal(advisor.worthIt(1, keys), true, "no evidence: learn");
    for (let death = 0; death < EVIDENCE_DEATHS; death++) advisor.tableDied(1, 0);
    assert.equal(advisor.worthIt(1, keys), false);
    assert.equal(advisor.worthIt(2, keys), true, "other levels keep their own history");
    for (let death = 0; death < 64; death++) advisor.tableDied(1, breakEven * 2);
    assert.equal(advisor.worthIt(1, keys), true, "the last deaths were read twice the break-even");
    advisor.recordFit(keys, keys * FIT_NS_PER_KEY_DEFAULT * 10);
    assert.equal(advisor.worthIt(1, keys), false, "a measured fit ten times dearer moves the break-even");
  });

  it("true and false ignore the history", () => {
    for (const mode of [true, false]) {
      const advisor = new LearnedAdvisor(mode);
      for (let death = 0; death < 10; death++) advisor.tableDied(0, 0);
      assert.equal(advisor.builderOption(0) === "off", !mode);
      assert.equal(advisor.readersUseModels, mode);
    }
  });
});
