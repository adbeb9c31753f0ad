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
