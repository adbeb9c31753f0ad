/**
 * `onEvent`: the engine tells a listener when background work starts and ends (flushes,
 * compactions, value-log GC), when a flush's or compaction's tables are written and synced, and
 * when the WAL rolls. Used for metrics and by the kill -9 test to aim its kills.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { AuraDB, type AuraEvent } from "../src/index.ts";

const OPTIONS = { memtableBytes: 8 * 1024, targetFileBytes: 4 * 1024, level1Bytes: 16 * 1024, l0CompactionTrigger: 2, valueThreshold: 200 };

async function fill(db: AuraDB, count: number): Promise<void> {
  for (let index = 0; index < count; index++) await db.put(`k${String(index % 150).padStart(4, "0")}`, `${index}`.padEnd(index % 4 === 0 ? 300 : 60, "v"));
}

describe("onEvent", () => {
  it("brackets flushes, compactions and GC, and reports written tables and WAL rolls, in order", async () => {
    const events: AuraEvent[] = [];
    const db = await AuraDB.open("/db", { fs: new MemFs(), ...OPTIONS, onEvent: (event) => events.push(event) });
    await fill(db, 1500);
    await db.flush();
    await db.compactRange();
    await db.gcValueLog({ ratio: 0.01 });
    await db.close();
    const kinds = events.map((event) => event.kind);
    for (const kind of ["wal-roll", "flush-start", "flush-end", "compaction-start", "compaction-end", "tables-written", "gc-start", "gc-end"]) {
      assert.ok(kinds.includes(kind as AuraEvent["kind"]), `${kind} in ${kinds.join(" ")}`);
    }
    // Flushes run one at a time: each start is followed by its tables, then its end.
    let open: "flush" | null = null;
    for (const event of events) {
      if (event.kind === "flush-start") {
        assert.equal(open, null);
        open = "flush";
      } else if (event.kind === "flush-end") {
        assert.equal(open, "flush");
        open = null;
      }
    }
    // Compactions too (one at a time), each end naming the output level of its start.
    let compaction: AuraEvent | null = null;
    for (const event of events) {
      if (event.kind === "compaction-start") {
        assert.equal(compaction, null);
        compaction = event;
      } else if (event.kind === "compaction-end") {
        assert.ok(compaction !== null && compaction.kind === "compaction-start");
        assert.equal(event.outputLevel, compaction.outputLevel);
        compaction = null;
      }
    }
    const flushTables = events.filter((event) => event.kind === "tables-written" && event.level === 0);
    assert.ok(flushTables.length >= kinds.filter((kind) => kind === "flush-end").length);
    assert.equal(kinds.filter((kind) => kind === "gc-start").length, kinds.filter((kind) => kind === "gc-end").length);
  });

  it("a listener that throws changes nothing; a listener that is not a function is refused", async () => {
    const fs = new MemFs();
    let calls = 0;
    const db = await AuraDB.open("/db", {
      fs,
      ...OPTIONS,
      onEvent: () => {
        calls++;
        throw new Error("listener bug");
      },
    });
    await fill(db, 1500);
    await db.flush();
    await db.compactRange();
    assert.ok(calls > 0);
    assert.equal(new TextDecoder().decode(db.getSync("k0001")), "1351".padEnd(60, "v"));
    await db.close();
    await assert.rejects(AuraDB.open("/db", { fs, onEvent: "log" as never }), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.InvalidArgument);
  });
});
