import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode, readFile, writeFileAtomic } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";

const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const code = (expected: string) => (error: unknown) => AuraError.isInstance(error) && error.code === expected;

async function openMemory(options: Parameters<typeof AuraDB.open>[1] = {}): Promise<{ fs: MemFs; db: AuraDB }> {
  const fs = new MemFs();
  return { fs, db: await AuraDB.open("/db", { fs, ...options }) };
}

describe("AuraDB API", () => {
  it("puts, gets (sync and async), deletes, batches atomically, iterates both ways", async () => {
    const { db } = await openMemory();
    await db.put("b", "2");
    await db.put(new TextEncoder().encode("a"), new TextEncoder().encode("1"));
    await db.batch([
      { type: "put", key: "c", value: "3" },
      { type: "del", key: "b" },
    ]);
    assert.equal(text(db.getSync("a")), "1");
    assert.equal(text(await db.get("c")), "3");
    assert.equal(db.getSync("b"), undefined);
    await db.delete("a");
    assert.equal(await db.get("a"), undefined);
    await db.put("d", "4");
    const forward = [...db.iterator()].map(([key, value]) => `${text(key)}=${text(value)}`);
    assert.deepEqual(forward, ["c=3", "d=4"]);
    const backward: string[] = [];
    for await (const [key] of db.iterator({ reverse: true })) backward.push(text(key)!);
    assert.deepEqual(backward, ["d", "c"]);
    assert.deepEqual([...db.keys({ gt: "c" })].map(text), ["d"]);
    assert.deepEqual([...db.values({ lte: "c" })].map(text), ["3"]);
    await db.close();
  });

  it("returned values are copies: mutating one does not change the database", async () => {
    const { db } = await openMemory();
    await db.put("k", "value");
    const value = db.getSync("k")!;
    value.fill(0);
    assert.equal(text(db.getSync("k")), "value");
    await db.flush();
    db.getSync("k")!.fill(0);
    assert.equal(text(db.getSync("k")), "value");
    await db.close();
  });

  it("snapshots see the database as it was, across flush and compaction", async () => {
    const { db } = await openMemory({ memtableBytes: 4096 });
    await db.put("k", "old");
    const snapshot = db.snapshot();
    await db.put("k", "new");
    await db.delete("gone");
    await db.compactRange();
    assert.equal(text(snapshot.getSync("k")), "old");
    assert.equal(text(await snapshot.get("k")), "old");
    assert.equal(text(db.getSync("k")), "new");
    snapshot.release();
    snapshot.release(); // no-op
    assert.throws(() => snapshot.getSync("k"), code(ErrorCode.InvalidArgument));
    await db.close();
  });

  it("refuses bad input with typed errors, and writes nothing", async () => {
    const { db } = await openMemory({ keyBytesMax: 10, valueBytesMax: 20 });
    await assert.rejects(db.put("", "x"), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.put("k".repeat(11), "x"), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.put("k", "v".repeat(21)), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.put("k", 42 as never), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.put(null as never, "x"), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.batch("nope" as never), code(ErrorCode.InvalidArgument));
    await assert.rejects(db.batch([{ type: "put", key: "ok", value: "1" }, { type: "merge" } as never]), code(ErrorCode.InvalidArgument));
    assert.equal(db.getSync("ok"), undefined, "a refused batch wrote nothing");
    assert.throws(() => db.iterator({ limit: 1.5 }), code(ErrorCode.InvalidArgument));
    assert.equal(db.stats().sequence, 0);
    await db.close();
    await assert.rejects(db.put("k", "v"), code(ErrorCode.Closed));
    assert.throws(() => db.getSync("k"), code(ErrorCode.Closed));
    await db.close(); // a second close is a no-op
  });

  it("open: locked, missing, foreign, bad options, newer format", async () => {
    const fs = new MemFs();
    await assert.rejects(AuraDB.open("/none", { fs, createIfMissing: false }), code(ErrorCode.NotFound));
    await assert.rejects(AuraDB.open("/db", { fs, memtableBytes: -1 }), code(ErrorCode.InvalidArgument));
    await assert.rejects(AuraDB.open("/db", { fs, compression: "zstd" as never }), code(ErrorCode.InvalidArgument));
    await assert.rejects(AuraDB.open("/db", { fs, compression: 1 as never }), code(ErrorCode.InvalidArgument));
    const db = await AuraDB.open("/db", { fs });
    await assert.rejects(AuraDB.open("/db", { fs }), code(ErrorCode.Locked));
    await db.close();
    await assert.rejects(AuraDB.open("/db", { fs, errorIfExists: true }), code(ErrorCode.InvalidArgument));
    await fs.mkdir("/other");
    await writeFileAtomic(fs, "/other/notes.txt", new TextEncoder().encode("mine"));
    await assert.rejects(AuraDB.open("/other", { fs }), code(ErrorCode.InvalidArgument));
    const current = "/db/CURRENT";
    const body = "AURADB-CURRENT 9 MANIFEST-000001";
    await writeFileAtomic(fs, current, new TextEncoder().encode(`${body} 00000000\n`));
    await assert.rejects(AuraDB.open("/db", { fs }), code(ErrorCode.Corruption));
  });

  it("compression 'snappy': tables are smaller and read back; a database reopens under either setting", async () => {
    const fs = new MemFs();
    const value = (index: number) => JSON.stringify({ id: index, name: `user ${index % 17}`, email: `user${index % 17}@example.com`, active: index % 3 === 0 });
    const sizes: Record<string, number> = {};
    for (const compression of ["none", "snappy"] as const) {
      const db = await AuraDB.open(`/${compression}`, { fs, compression });
      for (let index = 0; index < 2000; index++) await db.put(`user:${String(index).padStart(9, "0")}`, value(index));
      await db.compactRange();
      let tableBytes = 0;
      for (const name of await fs.list(`/${compression}`)) if (name.endsWith(".sst")) tableBytes += (await fs.stat(`/${compression}/${name}`)).size;
      sizes[compression] = tableBytes;
      await db.close();
    }
    assert.ok(sizes.snappy! < sizes.none! * 0.7, `snappy ${sizes.snappy} bytes of tables, none ${sizes.none}`);
    // Reopened with the other setting: the tables say how each block is stored.
    const db = await AuraDB.open("/snappy", { fs, compression: "none" });
    for (const index of [0, 777, 1999]) assert.equal(text(db.getSync(`user:${String(index).padStart(9, "0")}`)), value(index));
    assert.equal([...db.keys()].length, 2000);
    await db.close();
  });

  it("stats report levels, write amplification, cache and bloom figures", async () => {
    const { db } = await openMemory({ memtableBytes: 8192, l0CompactionTrigger: 2 });
    for (let index = 0; index < 2000; index++) await db.put(`key:${String(index).padStart(5, "0")}`, "v".repeat(50));
    await db.flush();
    for (let index = 0; index < 2000; index += 7) db.getSync(`key:${String(index).padStart(5, "0")}`);
    for (let index = 0; index < 500; index++) db.getSync(`key:${String(index).padStart(5, "0")}x`); // absent, inside the key range
    const stats = db.stats();
    assert.ok(stats.flushes > 0);
    assert.ok(stats.levels.some((level) => level.files > 0));
    assert.ok(stats.userBytesWritten >= 2000 * 59);
    assert.ok(stats.writeAmplification >= 1, `write amplification ${stats.writeAmplification}`);
    assert.ok(stats.cache.hits + stats.cache.misses > 0);
    assert.ok(stats.bloom.checks > 0 && stats.bloom.useful > 0);
    assert.equal(stats.backgroundError, null);
    await db.close();
  });

  it("a flush deletes the log it checkpoints: the WAL holds only unflushed writes", async () => {
    const { fs, db } = await openMemory({ memtableBytes: 16 * 1024 });
    const value = "v".repeat(100);
    for (let index = 0; index < 3000; index++) await db.put(`key:${String(index).padStart(5, "0")}`, value);
    await db.flush();
    const walBytes = async () => {
      let total = 0;
      for (const name of await fs.list("/db/wal")) if (name.endsWith(".wal")) total += (await fs.stat(`/db/wal/${name}`)).size;
      return total;
    };
    const written = db.stats().walBytesWritten;
    assert.ok(written > 300_000, `wal bytes written ${written}`);
    // NB: the newest segment is kept (and the one before it when writes were in flight at a switch).
    assert.ok((await walBytes()) < 64 * 1024, `the log was trimmed at each flush: ${await walBytes()} bytes left`);
    await db.close();
    const reopened = await AuraDB.open("/db", { fs });
    assert.equal(new TextDecoder().decode(reopened.getSync("key:02999")), value);
    assert.equal(new TextDecoder().decode(reopened.getSync("key:00000")), value);
    await reopened.close();
  });
});

describe("DbIterator.seek", () => {
  it("limit counts the entries returned, not those read ahead (a seek after creation or reads)", async () => {
    const { db } = await openMemory();
    for (let index = 0; index < 10; index++) await db.put(`k${index}`, `v${index}`);
    const name = (entry: [Uint8Array, Uint8Array] | undefined) => (entry === undefined ? "end" : text(entry[0]));
    const one = db.iterator({ limit: 1 });
    one.seek("k5");
    assert.deepEqual([name(one.nextSync()), name(one.nextSync())], ["k5", "end"]);
    const two = db.iterator({ limit: 2 });
    assert.equal(name(two.nextSync()), "k0");
    two.seek("k7");
    assert.deepEqual([name(two.nextSync()), name(two.nextSync())], ["k7", "end"]);
    await db.close();
  });

  it("repositions within the bounds, in both directions", async () => {
    const fs = new MemFs();
    const db = await AuraDB.open("/db", { fs, memtableBytes: 4096 });
    for (let index = 0; index < 300; index++) await db.put(`k${String(index).padStart(3, "0")}`, `v${index}`);
    await db.flush();
    const iterator = db.iterator({ lt: "k200" });
    iterator.seek("k150");
    assert.equal(text(iterator.nextSync()![0]), "k150");
    iterator.seek("k1995"); // between keys: the next one, but k200 is out of bounds
    assert.equal(iterator.nextSync(), undefined);
    const reverse = db.iterator({ reverse: true });
    reverse.seek("k0505");
    assert.equal(text(reverse.nextSync()![0]), "k050");
    reverse.close();
    await db.close();
  });

  it("a flipped byte in an old MANIFEST record refuses to open, and deletes no table", async () => {
    const fs = new MemFs();
    let db = await AuraDB.open("/db", { fs });
    for (let round = 0; round < 4; round++) {
      await db.put(`key${round}`, `value${round}`);
      await db.flush();
    }
    await db.close();
    const names = await fs.list("/db");
    const manifest = names.find((name) => name.startsWith("MANIFEST-"))!;
    const tables = names.filter((name) => name.endsWith(".sst"));
    assert.equal(tables.length, 4);
    const bytes = await readFile(fs, `/db/${manifest}`);
    // Inside the second edit record: the first chunk starts after the 32-byte file header; its
    // 11-byte header holds the body length at bytes 4..5.
    const second = 32 + 11 + (bytes[36]! | (bytes[37]! << 8));
    const at = second + 14;
    assert.ok(at < bytes.length - 100, "more records follow the damaged one");
    bytes[at]! ^= 0x04;
    await writeFileAtomic(fs, `/db/${manifest}`, bytes);
    await assert.rejects(AuraDB.open("/db", { fs }), code(ErrorCode.Corruption));
    assert.deepEqual((await fs.list("/db")).filter((name) => name.endsWith(".sst")), tables, "no table deleted");
    bytes[at]! ^= 0x04;
    await writeFileAtomic(fs, `/db/${manifest}`, bytes);
    db = await AuraDB.open("/db", { fs });
    assert.equal(text(db.getSync("key0")), "value0");
    await db.close();
  });
});
