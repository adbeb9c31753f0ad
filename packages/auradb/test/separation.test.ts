/**
 * Key-value separation: large values go to the value log at write time; reads, iterators,
 * recovery (values before pointers, the cut), corruption and value-log GC.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
const big = (tag: string, size = 5000) => (tag + ":").padEnd(size, tag.slice(-1));
const key = (index: number) => `key:${String(index).padStart(5, "0")}`;
const code = (expected: string) => (error: unknown) => AuraError.isInstance(error) && error.code === expected;

async function vlogFiles(fs: MemFs): Promise<string[]> {
  return (await fs.list("/db/vlog")).filter((name) => name.endsWith(".vlog")).sort();
}

describe("key-value separation", () => {
  it("writes large values once to the value log; reads, scans and batches see them", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, valueThreshold: 1024, memtableBytes: 64 * 1024 });
    await db.put("small", "tiny");
    await db.put("large", big("L"));
    await db.batch([
      { type: "put", key: "b1", value: big("B", 2000) },
      { type: "put", key: "b2", value: "inline" },
      { type: "del", key: "small" },
    ]);
    assert.equal(text(db.getSync("large")), big("L"));
    assert.equal(text(await db.get("b1")), big("B", 2000));
    assert.equal(text(db.getSync("b2")), "inline");
    assert.equal(db.getSync("small"), undefined);
    const stats = db.stats();
    assert.equal(stats.valueLog.separatedValueBytes, 7000);
    assert.ok(stats.walBytesWritten < 1000, `the WAL carries pointers, not values: ${stats.walBytesWritten} bytes`);
    const entries: [string, string][] = [];
    for await (const [k, v] of db.iterator()) entries.push([text(k)!, text(v)!]);
    assert.deepEqual(entries, [["b1", big("B", 2000)], ["b2", "inline"], ["large", big("L")]]);
    const reversed = [...db.iterator({ reverse: true })].map(([k, v]) => [text(k), text(v)]);
    assert.deepEqual(reversed, entries.slice().reverse());
    assert.deepEqual([...db.keys()].map(text), ["b1", "b2", "large"]);
    await db.flush();
    await db.compactRange();
    assert.equal(text(db.getSync("large")), big("L"), "flush and compaction copy the pointer, not the value");
    assert.equal(db.stats().valueLog.bytesWritten, stats.valueLog.bytesWritten, "no value was written again");
    await db.close();
    const reopened = await AuraDB.open("/db", { fs, valueThreshold: 1024 });
    assert.equal(text(reopened.getSync("b1")), big("B", 2000));
    await reopened.close();
  });

  it("a damaged value is a CorruptionError on read of that key, never a wrong value", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, valueThreshold: 100 });
    await db.put("a", big("A", 500));
    await db.put("b", big("B", 500));
    await db.flush();
    await db.close();
    const [file] = await vlogFiles(fs);
    fs.tamper(`/db/vlog/${file}`, (content) => {
      content[content.length - 10]! ^= 0x01; // inside b's value (the last entry)
      return content;
    });
    const reopened = await AuraDB.open("/db", { fs, valueThreshold: 100 });
    assert.equal(text(reopened.getSync("a")), big("A", 500));
    assert.throws(() => reopened.getSync("b"), code(ErrorCode.Corruption));
    await assert.rejects(reopened.get("b"), code(ErrorCode.Corruption));
    assert.throws(() => [...reopened.iterator()], code(ErrorCode.Corruption));
    await reopened.close();
  });

  it("recovery cuts the log at the first record whose value did not survive, and never replays it again", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, valueThreshold: 100 });
    await db.put("k1", big("1", 300), { sync: true });
    await db.put("k2", big("2", 300));
    await db.put("k3", "small after");
    const image = fs.crash({ mode: "process" });
    await db.close();
    // The crash kept the WAL records but lost k2's value (as a power cut could, before a sync).
    const [file] = await vlogFiles(image);
    image.tamper(`/db/vlog/${file}`, (content) => content.subarray(0, content.length - 50));
    const recovered = await AuraDB.open("/db", { fs: image, valueThreshold: 100 });
    assert.ok(recovered.recovery.cut !== null, "the cut is reported");
    assert.equal(text(recovered.getSync("k1")), big("1", 300));
    assert.equal(recovered.getSync("k2"), undefined);
    assert.equal(recovered.getSync("k3"), undefined, "records after the cut are dropped: a prefix");
    await recovered.put("k4", "later", { sync: true });
    await recovered.close();
    const again = await AuraDB.open("/db", { fs: image, valueThreshold: 100 });
    assert.equal(again.recovery.cut, null, "the dropped records are not replayed again");
    assert.equal(text(again.getSync("k4")), "later");
    assert.equal(text(again.getSync("k1")), big("1", 300));
    await again.close();
  });

  it("recovery with a cut does not trip over a table file the crash left unrecorded (its number is handed out again)", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, valueThreshold: 100 });
    await db.put("k1", big("1", 300), { sync: true });
    await db.put("k2", big("2", 300));
    const image = fs.crash({ mode: "process" });
    await db.close();
    const [file] = await vlogFiles(image);
    image.tamper(`/db/vlog/${file}`, (content) => content.subarray(0, content.length - 50));
    // Tables written before the crash whose manifest edit did not survive: files no version names.
    for (let number = 1; number <= 40; number++) {
      const orphan = await image.open(`/db/${String(number).padStart(6, "0")}.sst`, { create: true });
      await orphan.write(new TextEncoder().encode("an unrecorded table"), 0);
      await orphan.close();
    }
    const recovered = await AuraDB.open("/db", { fs: image, valueThreshold: 100 });
    assert.ok(recovered.recovery.cut !== null, "the cut is reported (its checkpoint writes a table)");
    assert.equal(text(recovered.getSync("k1")), big("1", 300));
    assert.equal(recovered.getSync("k2"), undefined);
    assert.ok(recovered.stats().levels.some((level) => level.files > 0), "the checkpoint wrote a table");
    await recovered.close();
  });

  it("GC moves live values out of garbage-heavy files, keeps what snapshots read, then deletes", async () => {
    const fs = new MemFs();
    const options = { fs, valueThreshold: 100, valueLogFileBytes: 64 * 1024, valueLogGcRatio: 0, memtableBytes: 16 * 1024 };
    const db = await AuraDB.open("/db", options);
    for (let round = 0; round < 4; round++) {
      for (let index = 0; index < 60; index++) await db.put(key(index), big(`${round}${index % 10}`, 1000));
    }
    const snapshot = db.snapshot();
    for (let index = 0; index < 60; index += 2) await db.delete(key(index));
    await db.compactRange();
    const before = db.stats().valueLog;
    assert.ok(before.garbageBytes > 100_000, `garbage counted: ${before.garbageBytes}`);
    const result = await db.gcValueLog({ ratio: 0.3 });
    assert.ok(result.filesCollected > 0, JSON.stringify(result));
    for (let index = 0; index < 60; index++) {
      assert.equal(text(db.getSync(key(index))), index % 2 === 0 ? undefined : big(`3${index % 10}`, 1000));
      assert.equal(text(snapshot.getSync(key(index))), big(`3${index % 10}`, 1000), "the snapshot still reads its values");
    }
    assert.ok(db.stats().valueLog.filesAwaitingDelete > 0, "files the snapshot may read are kept");
    snapshot.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const after = db.stats().valueLog;
    assert.equal(after.filesAwaitingDelete, 0);
    assert.ok(after.bytes < before.bytes, `value log shrank: ${before.bytes} -> ${after.bytes}`);
    await db.close();
    const reopened = await AuraDB.open("/db", options);
    for (let index = 1; index < 60; index += 2) assert.equal(text(reopened.getSync(key(index))), big(`3${index % 10}`, 1000));
    await reopened.close();
  });

  it("bad options are typed errors", async () => {
    const fs = new MemFs();
    await assert.rejects(AuraDB.open("/db", { fs, valueThreshold: 0 }), code(ErrorCode.InvalidArgument));
    await assert.rejects(AuraDB.open("/db", { fs, valueLogGcRatio: 1.5 }), code(ErrorCode.InvalidArgument));
    const db = await AuraDB.open("/db", { fs, valueThreshold: Infinity });
    await db.put("k", big("x", 100_000));
    assert.equal(db.stats().valueLog.separatedValueBytes, 0, "Infinity keeps every value inline");
    await assert.rejects(db.gcValueLog({ ratio: 2 }), code(ErrorCode.InvalidArgument));
    await db.close();
  });
});

describe("key-value separation under a power cut at every file-system call", () => {
  type State = Map<string, string>;
  const VALUE = 30_000; // two entries per 64 KiB value-log file: files roll, GC has sealed files

  /** The scenario; records the state after each issued write, and which were acknowledged or durable. */
  async function scenario(db: AuraDB, log: { states: State[]; durable: number; acknowledged: number }): Promise<void> {
    const state: State = new Map(log.states[log.states.length - 1]);
    const step = async (write: () => Promise<void>, change: (target: State) => void, sync: boolean) => {
      // NB: a write the cut interrupts may or may not survive: its state is a candidate too.
      change(state);
      log.states.push(new Map(state));
      await write();
      log.acknowledged = log.states.length - 1;
      if (sync) log.durable = log.states.length - 1;
    };
    await step(() => db.put("x", big("x", VALUE)), (s) => s.set("x", big("x", VALUE)), false);
    await step(() => db.put("a", big("a", VALUE), { sync: true }), (s) => s.set("a", big("a", VALUE)), true);
    await step(() => db.put("b", "small b"), (s) => s.set("b", "small b"), false);
    await step(() => db.put("c", big("c", VALUE)), (s) => s.set("c", big("c", VALUE)), false);
    await step(
      () => db.batch([{ type: "put", key: "d", value: big("d", VALUE) }, { type: "put", key: "e", value: "small e" }, { type: "del", key: "a" }], { sync: true }),
      (s) => {
        s.set("d", big("d", VALUE));
        s.set("e", "small e");
        s.delete("a");
      },
      true,
    );
    await step(() => db.put("c", big("C", VALUE)), (s) => s.set("c", big("C", VALUE)), false);
    await step(() => db.delete("b"), (s) => s.delete("b"), false);
    await db.flush();
    await step(() => db.put("f", big("f", VALUE), { sync: true }), (s) => s.set("f", big("f", VALUE)), true);
    await db.compactRange();
    await db.gcValueLog({ ratio: 0 });
    await step(() => db.put("g", big("g", VALUE)), (s) => s.set("g", big("g", VALUE)), false);
    await step(() => db.put("c", "small c", { sync: true }), (s) => s.set("c", "small c"), true);
  }

  const options = { valueThreshold: 1000, valueLogFileBytes: 64 * 1024, valueLogGcRatio: 0 };

  it("recovers a prefix with every synced write, whichever call the cut hits", async () => {
    const { FaultFs } = await import("@auradb/fs/testing");
    // A dry run counts the calls.
    const dry = new FaultFs(new MemFs());
    const dryDb = await AuraDB.open("/db", { fs: dry, ...options });
    const first = dry.callCount;
    await scenario(dryDb, { states: [new Map()], durable: 0, acknowledged: 0 });
    const calls = dry.callCount - first;
    assert.ok(dryDb.stats().valueLog.gcFilesCollected > 0, "the scenario's GC collects files");
    assert.ok(dryDb.stats().valueLog.gcEntriesRelocated > 0, "and relocates live values");
    await dryDb.close();
    assert.ok(calls > 50, `calls: ${calls}`);
    for (let call = 1; call <= calls; call++) {
      for (const mode of ["synced-only", "process"] as const) {
        const memory = new MemFs();
        const fs = new FaultFs(memory);
        const db = await AuraDB.open("/db", { fs, ...options });
        fs.crashAt(fs.callCount + call, { mode, seed: call });
        const log = { states: [new Map()] as State[], durable: 0, acknowledged: 0 };
        await scenario(db, log).catch((error) => {
          if (!(AuraError.isInstance(error) && error.code === ErrorCode.SimulatedCrash) && !(AuraError.isInstance(error) && error.code === ErrorCode.ReadOnly)) throw error;
        });
        await db.close().catch(() => {});
        const image = fs.crashImage;
        assert.ok(image !== undefined, `call ${call}: the cut happened`);
        const recovered = await AuraDB.open("/db", { fs: image, ...options });
        const state: State = new Map();
        for (const [k, v] of recovered.iterator()) state.set(text(k)!, text(v)!);
        const lowest = mode === "process" ? log.acknowledged : log.durable;
        const match = log.states.findIndex((candidate, index) => index >= lowest && candidate.size === state.size && [...candidate].every(([k, v]) => state.get(k) === v));
        assert.ok(match >= 0, `cut at call ${call} (${mode}): the state is no prefix with every ${mode === "process" ? "acknowledged" : "synced"} write: ${[...state.keys()].join(",")} (acknowledged ${log.acknowledged}, durable ${log.durable}, recovery ${JSON.stringify(recovered.recovery)})`);
        await recovered.put("after", "x", { sync: true });
        await recovered.close();
        const again = await AuraDB.open("/db", { fs: image, ...options });
        assert.equal(text(again.getSync("after")), "x");
        await again.close();
      }
    }
  });
});
