/**
 * The read-only open (`readOnly: true`): it reads everything a normal open would (tables, the
 * log's unflushed records, separated values), refuses every write with `ReadOnlyError`, and leaves
 * the directory byte for byte as it found it, even when recovery has work to do (a torn log tail).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, crc32c, ErrorCode, type FileSystem, joinPath, readFile } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";

const code = (expected: string) => (error: unknown) => AuraError.isInstance(error) && error.code === expected;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const OPTIONS = { valueThreshold: 256, memtableBytes: 16 * 1024, targetFileBytes: 8 * 1024 };

/** Every file under `dir` with its length and CRC-32C, sorted by path. */
async function snapshot(fs: FileSystem, dir: string): Promise<string[]> {
  const result: string[] = [];
  for (const name of await fs.list(dir)) {
    const path = joinPath(dir, name);
    if ((await fs.stat(path)).isDirectory) result.push(...(await snapshot(fs, path)));
    else {
      const data = await readFile(fs, path);
      result.push(`${path} ${data.length} ${crc32c(data)}`);
    }
  }
  return result.sort();
}

/** A database with flushed tables, separated values, deletes and unflushed records in the log; closed. */
async function build(fs: MemFs): Promise<Map<string, string>> {
  const db = await AuraDB.open("/db", { fs, ...OPTIONS });
  const model = new Map<string, string>();
  for (let index = 0; index < 600; index++) {
    const key = `k${String(index % 400).padStart(4, "0")}`;
    const value = `${index}:`.padEnd(index % 5 === 0 ? 600 : 40, "v");
    await db.put(key, value);
    model.set(key, value);
    if (index % 7 === 0) {
      await db.delete(`k${String(index % 300).padStart(4, "0")}`);
      model.delete(`k${String(index % 300).padStart(4, "0")}`);
    }
    if (index === 300) await db.flush();
  }
  await db.close();
  return model;
}

describe("readOnly open", () => {
  it("reads everything (tables, unflushed log records, separated values) and changes no byte", async () => {
    const fs = new MemFs();
    const model = await build(fs);
    const before = await snapshot(fs, "/db");
    const db = await AuraDB.open("/db", { fs, ...OPTIONS, readOnly: true });
    assert.ok(db.recovery.replayedRecords > 0, "the log held unflushed records");
    for (const [key, value] of model) {
      assert.equal(text(db.getSync(key)), value, key);
      assert.equal(text(await db.get(key)), value, key);
    }
    const scanned = [...db.iterator()].map(([key, value]) => [text(key), text(value)]);
    assert.deepEqual(scanned, [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await db.close();
    assert.deepEqual(await snapshot(fs, "/db"), before);
  });

  it("refuses every write with ReadOnlyError", async () => {
    const fs = new MemFs();
    await build(fs);
    const before = await snapshot(fs, "/db");
    const db = await AuraDB.open("/db", { fs, ...OPTIONS, readOnly: true });
    const readOnly = code(ErrorCode.ReadOnly);
    await assert.rejects(db.put("a", "b"), readOnly);
    await assert.rejects(db.delete("k0001"), readOnly);
    await assert.rejects(db.batch([{ type: "put", key: "a", value: "b" }]), readOnly);
    await assert.rejects(db.flush(), readOnly);
    await assert.rejects(db.compactRange(), readOnly);
    await assert.rejects(db.gcValueLog(), readOnly);
    assert.equal(db.getSync("a"), undefined);
    await db.close();
    assert.deepEqual(await snapshot(fs, "/db"), before);
  });

  it("cuts a torn log tail in memory only: the file keeps its bytes", async () => {
    const fs = new MemFs();
    const model = await build(fs);
    const walDir = "/db/wal";
    const segments = (await fs.list(walDir)).sort();
    const newest = joinPath(walDir, segments[segments.length - 1]!);
    const file = await fs.open(newest);
    const size = await file.size();
    await file.write(bytes("a torn record that never finished"), size);
    await file.sync();
    await file.close();
    const before = await snapshot(fs, "/db");
    const db = await AuraDB.open("/db", { fs, ...OPTIONS, readOnly: true });
    for (const [key, value] of model) assert.equal(text(db.getSync(key)), value, key);
    await db.close();
    assert.deepEqual(await snapshot(fs, "/db"), before);
    // A normal open still finds (and cuts) the tail: the read-only one did not hide it.
    const writable = await AuraDB.open("/db", { fs, ...OPTIONS });
    for (const [key, value] of model) assert.equal(text(writable.getSync(key)), value, key);
    await writable.close();
  });

  it("does not take the lock: it opens beside a writer and sees the database as of its open", async () => {
    const fs = new MemFs();
    await build(fs);
    const writer = await AuraDB.open("/db", { fs, ...OPTIONS });
    await writer.put("before", "1");
    const reader = await AuraDB.open("/db", { fs, ...OPTIONS, readOnly: true });
    await writer.put("after", "2");
    assert.equal(text(reader.getSync("before")), "1");
    assert.equal(reader.getSync("after"), undefined);
    assert.equal(text(writer.getSync("after")), "2");
    await reader.close();
    await writer.close();
  });

  it("reads what the compaction agent learned and never saves it", async () => {
    const fs = new MemFs();
    const learned = { ...OPTIONS, compaction: "learned" as const, compactionAgent: { windowOperations: 50, persistEveryWindows: 1 } };
    const writer = await AuraDB.open("/db", { fs, ...learned });
    for (let index = 0; index < 400; index++) await writer.put(`k${index % 97}`, `v${index}`);
    await writer.close();
    const before = await snapshot(fs, "/db");
    const db = await AuraDB.open("/db", { fs, ...learned, readOnly: true });
    for (let index = 0; index < 400; index++) await db.get(`k${index % 97}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const agent = db.stats().compaction.agent;
    assert.equal(agent?.stateFile.status, "restored");
    assert.ok(agent!.windows > 0, "the agent observed windows (each would have been saved)");
    assert.equal(agent?.stateFile.saves, 0);
    await db.close();
    assert.deepEqual(await snapshot(fs, "/db"), before);
  });

  it("a missing database is a NotFoundError and nothing is created; readOnly with errorIfExists is refused", async () => {
    const fs = new MemFs();
    await assert.rejects(AuraDB.open("/none", { fs, readOnly: true }), code(ErrorCode.NotFound));
    assert.equal(await fs.exists("/none"), false);
    await fs.mkdir("/empty");
    await assert.rejects(AuraDB.open("/empty", { fs, readOnly: true }), code(ErrorCode.NotFound));
    assert.deepEqual(await fs.list("/empty"), []);
    await assert.rejects(AuraDB.open("/db", { fs, readOnly: true, errorIfExists: true }), code(ErrorCode.InvalidArgument));
    await assert.rejects(AuraDB.open("/db", { fs, readOnly: "yes" as never }), code(ErrorCode.InvalidArgument));
  });
});
