/**
 * AuraLevel's own tests, beside abstract-level's shared suite (level-suite.test.ts): what the
 * adapter adds or maps (engine options, error codes, the empty key, seeks with a limit, values
 * on both sides of the value threshold) and the everyday API on a real directory.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { MemFs } from "@auradb/fs/testing";
import { AuraLevel, type AuraLevelOptions } from "../src/level.ts";

const root = mkdtempSync(join(tmpdir(), "auradb-level-"));
after(() => rmSync(root, { recursive: true, force: true }));
let databases = 0;

/** A new, open database in its own directory. */
async function openLevel<K = string, V = string>(options?: AuraLevelOptions<K, V>): Promise<AuraLevel<K, V>> {
  const db = new AuraLevel<K, V>(join(root, `db-${++databases}`), options);
  await db.open();
  return db;
}

/** Error code of a rejected promise (or thrown call). */
async function codeOf(action: () => unknown): Promise<{ code: unknown; cause: unknown }> {
  try {
    await action();
  } catch (error) {
    const { code, cause } = error as { code?: unknown; cause?: unknown };
    return { code, cause };
  }
  assert.fail("expected an error");
}

type AnyIterator = {
  seek(target: string): void;
  next(): Promise<unknown>;
  nextv(size: number): Promise<unknown[]>;
  all(): Promise<unknown[]>;
  close(): Promise<void>;
};

/** An entries, keys or values iterator, for tests that run on all three. */
function iteratorOf(db: AuraLevel, mode: "iterator" | "keys" | "values", options: { gte?: string; lt?: string; reverse?: boolean; limit?: number }): AnyIterator {
  if (mode === "iterator") return db.iterator(options);
  return mode === "keys" ? db.keys(options) : db.values(options);
}

const letters = ["a", "b", "c", "d", "e", "f", "g"];

async function withLetters(): Promise<AuraLevel> {
  const db = await openLevel();
  await db.batch(letters.map((letter) => ({ type: "put" as const, key: letter, value: letter.toUpperCase() })));
  return db;
}

describe("AuraLevel", () => {
  it("put, get, getSync, getMany, has, hasMany, del, batch (utf8 by default)", async () => {
    const db = await openLevel();
    await db.put("a", "1");
    await db.put("b", "2", { sync: true });
    assert.equal(await db.get("a"), "1");
    assert.equal(db.getSync("b"), "2");
    assert.deepEqual(await db.getMany(["a", "x", "b"]), ["1", undefined, "2"]);
    assert.equal(await db.has("a"), true);
    assert.deepEqual(await db.hasMany(["x", "b"]), [false, true]);
    await db.del("a", { sync: true });
    assert.equal(await db.get("a"), undefined);
    await db.batch(
      [
        { type: "put", key: "c", value: "3" },
        { type: "del", key: "b" },
      ],
      { sync: true },
    );
    await db.batch().put("d", "4").del("c").write();
    assert.deepEqual(await db.iterator().all(), [["d", "4"]]);
    await db.close();
  });

  it("iterates in byte order, within gt/gte/lt/lte, in reverse, up to a limit", async () => {
    const db = await withLetters();
    assert.deepEqual(await db.keys().all(), letters);
    assert.deepEqual(await db.keys({ gt: "b", lte: "e" }).all(), ["c", "d", "e"]);
    assert.deepEqual(await db.keys({ gte: "b", lt: "e", reverse: true }).all(), ["d", "c", "b"]);
    assert.deepEqual(await db.iterator({ gte: "c", limit: 2 }).all(), [
      ["c", "C"],
      ["d", "D"],
    ]);
    assert.deepEqual(await db.values({ reverse: true, limit: 3 }).all(), ["G", "F", "E"]);
    // abstract-level: gte wins over gt, lte over lt (the engine alone would take the stricter).
    assert.deepEqual(await db.keys({ gt: "c", gte: "b", lt: "e", lte: "f" }).all(), ["b", "c", "d", "e", "f"]);
    assert.deepEqual(await db.iterator({ keys: false }).next(), [undefined, "A"]);
    assert.deepEqual(await db.iterator({ values: false }).next(), ["a", undefined]);
    await db.close();
  });

  it("sorts keys by bytes: control characters, digits, then multi-byte UTF-8", async () => {
    // The shared suite's "sorts lexicographically" minus its empty key (see README).
    const db = await openLevel();
    const keys = ["🐄", "~", "ff", "f", "e", "d", "b", "a🐄", "a", "2", "12", "\t"];
    await db.batch(keys.map((key) => ({ type: "put" as const, key, value: key })));
    assert.deepEqual(await db.keys().all(), ["\t", "12", "2", "a", "a🐄", "b", "d", "e", "f", "ff", "~", "🐄"]);
    await db.close();
  });

  it("seeks forward and in reverse, within the range, with and without a limit", async () => {
    const db = await withLetters();
    for (const mode of ["iterator", "keys", "values"] as const) {
      const forward = iteratorOf(db, mode, { lt: "f" });
      forward.seek("c");
      assert.deepEqual(await forward.nextv(2), mode === "iterator" ? [["c", "C"], ["d", "D"]] : mode === "keys" ? ["c", "d"] : ["C", "D"], mode);
      forward.seek("a"); // seeking back is allowed
      assert.deepEqual(await forward.next(), mode === "iterator" ? ["a", "A"] : mode === "keys" ? "a" : "A", mode);
      forward.seek("z"); // past the upper bound: the end
      assert.equal(await forward.next(), undefined, mode);
      await forward.close();

      // NB: a limit counts returned entries, also across seeks (the engine's iterator alone would
      // count entries it fetched ahead).
      const limited = iteratorOf(db, mode, { reverse: true, limit: 2 });
      assert.deepEqual(await limited.next(), mode === "iterator" ? ["g", "G"] : mode === "keys" ? "g" : "G", mode);
      limited.seek("c!");
      assert.deepEqual(await limited.next(), mode === "iterator" ? ["c", "C"] : mode === "keys" ? "c" : "C", mode);
      assert.equal(await limited.next(), undefined, `${mode}: limit reached`);
      await limited.close();

      const ended = iteratorOf(db, mode, { gte: "f" });
      assert.equal((await ended.all()).length, 2, mode);
      const again = iteratorOf(db, mode, { gte: "f" });
      assert.equal((await again.nextv(10)).length, 2, mode);
      assert.deepEqual(await again.nextv(10), [], mode);
      again.seek("a"); // after its end, and before the range: resumes at the range's start
      assert.deepEqual(await again.next(), mode === "iterator" ? ["f", "F"] : mode === "keys" ? "f" : "F", mode);
      await again.close();
    }
    await db.close();
  });

  it("iterators read the state of their creation; explicit snapshots hold for get and iterators", async () => {
    const db = await withLetters();
    const iterator = db.iterator({ gte: "f" });
    const snapshot = db.snapshot();
    await db.del("f");
    await db.put("g", "changed");
    await db.put("h", "H");
    assert.deepEqual(await iterator.all(), [
      ["f", "F"],
      ["g", "G"],
    ]);
    assert.equal(await db.get("g", { snapshot }), "G");
    assert.equal(db.getSync("f", { snapshot }), "F");
    assert.deepEqual(await db.keys({ gte: "f", snapshot }).all(), ["f", "g"]);
    assert.deepEqual(await db.keys({ gte: "f" }).all(), ["g", "h"]);
    await snapshot.close();
    await db.close();
  });

  it("clears a range, as of the moment it is called", async () => {
    const db = await withLetters();
    await db.clear({ gt: "b", lt: "f" });
    assert.deepEqual(await db.keys().all(), ["a", "b", "f", "g"]);
    await db.clear({ reverse: true, limit: 1 });
    assert.deepEqual(await db.keys().all(), ["a", "b", "f"]);
    await db.clear();
    assert.deepEqual(await db.keys().all(), []);
    await db.close();
  });

  it("encodings: utf8, json, view (Uint8Array, the native form) and buffer", async () => {
    const db = await openLevel<string, unknown>({ valueEncoding: "json" });
    await db.put("doc", { name: "Ada", tags: ["x"], n: 1 });
    assert.deepEqual(await db.get("doc"), { name: "Ada", tags: ["x"], n: 1 });
    const view = await db.get("doc", { valueEncoding: "view" });
    assert.ok(view instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(view as Uint8Array), JSON.stringify({ name: "Ada", tags: ["x"], n: 1 }));
    assert.equal(await db.get("doc", { valueEncoding: "utf8" }), '{"name":"Ada","tags":["x"],"n":1}');
    const bytes = Uint8Array.from([0, 1, 254, 255]);
    await db.put("bin", bytes, { valueEncoding: "view" });
    assert.deepEqual([...((await db.get("bin", { valueEncoding: "view" })) as Uint8Array)], [0, 1, 254, 255]);
    assert.deepEqual(await db.get("bin", { valueEncoding: "buffer" }), Buffer.from([0, 1, 254, 255]));
    // A binary key, iterated back as a view.
    await db.put(Uint8Array.from([0xff, 0]), "1", { keyEncoding: "view", valueEncoding: "utf8" });
    const [last] = await db.keys({ keyEncoding: "view", reverse: true, limit: 1 }).all();
    assert.deepEqual([...(last as unknown as Uint8Array)], [0xff, 0]);
    // An Int32Array key (any ArrayBufferView is accepted by the 'view' encoding) is its bytes.
    const wide = new Int32Array([1]);
    await db.put(wide, "wide", { keyEncoding: "view", valueEncoding: "utf8" });
    assert.equal(await db.get(new Uint8Array(wide.buffer), { keyEncoding: "view", valueEncoding: "utf8" }), "wide");
    await db.close();
  });

  it("values below, at and above the engine's valueThreshold read back alike", async () => {
    const threshold = 100;
    const db = await openLevel<string, Uint8Array>({ valueEncoding: "view", valueThreshold: threshold });
    const sizes = [0, threshold - 1, threshold, threshold + 1, 70_000];
    const value = (size: number) => Uint8Array.from({ length: size }, (_, index) => (index * 31 + size) & 0xff);
    for (const size of sizes) await db.put(`v${String(size).padStart(6, "0")}`, value(size));
    for (const size of sizes) {
      const key = `v${String(size).padStart(6, "0")}`;
      assert.deepEqual(await db.get(key), value(size), `get ${size}`);
      assert.deepEqual(db.getSync(key), value(size), `getSync ${size}`);
    }
    assert.deepEqual(await db.values().all(), sizes.map(value));
    assert.deepEqual(await db.getMany(sizes.map((size) => `v${String(size).padStart(6, "0")}`)), sizes.map(value));
    // The three at or above the threshold went to the value log, the others inline.
    assert.equal(db.auradb.stats().valueLog.separatedValueBytes, threshold + threshold + 1 + 70_000);
    // Survives a reopen (WAL replay resolves the value pointers).
    await db.close();
    await db.open();
    assert.deepEqual(await db.get("v070000"), value(70_000));
    await db.close();
  });

  it("keeps data across close and open; passes engine options through (fs, memtableBytes)", async () => {
    const db = await openLevel();
    await db.put("kept", "yes");
    await db.close();
    await db.open();
    assert.equal(await db.get("kept"), "yes");
    await db.close();

    const fs = new MemFs();
    const location = join(root, "in-memory");
    const memory = new AuraLevel(location, { fs, memtableBytes: 4096 });
    for (let index = 0; index < 200; index++) await memory.put(`key${index}`, "x".repeat(100));
    assert.ok(memory.auradb.stats().levels.some((level) => level.files > 0), "a 4 KiB memtable was flushed to a table");
    await memory.close();
    assert.equal(existsSync(location), false, "the database lives in the MemFs, not on disk");
    assert.equal(await fs.exists(location), true);
  });

  it("maps errors: the empty key, a missing database, an existing one, a locked one", async () => {
    const db = await openLevel();
    assert.equal((await codeOf(() => db.put("", "x"))).code, "LEVEL_INVALID_KEY");
    assert.equal((await codeOf(() => db.put(new Uint8Array(0), "x", { keyEncoding: "view" }))).code, "LEVEL_INVALID_KEY");
    assert.equal((await codeOf(() => db.del(""))).code, "LEVEL_INVALID_KEY");
    const batch = await codeOf(() =>
      db.batch([
        { type: "put", key: "first", value: "1" },
        { type: "put", key: "", value: "2" },
      ]),
    );
    assert.equal(batch.code, "LEVEL_INVALID_KEY");
    assert.equal(await db.get("first"), undefined, "the batch wrote nothing");
    assert.equal(await db.get(""), undefined, "reading the empty key is no error");

    const second = new AuraLevel(db.location);
    const locked = await codeOf(() => second.open());
    assert.equal(locked.code, "LEVEL_DATABASE_NOT_OPEN");
    assert.equal((locked.cause as { code?: unknown }).code, "LEVEL_LOCKED");
    await db.close();

    const missing = new AuraLevel(join(root, "missing"), { createIfMissing: false });
    const notFound = await codeOf(() => missing.open());
    assert.equal(notFound.code, "LEVEL_DATABASE_NOT_OPEN");
    assert.equal((notFound.cause as { code?: unknown }).code, "AURADB_NOT_FOUND");
    assert.match((notFound.cause as Error).message, /does not exist/);

    const exists = await codeOf(() => db.open({ errorIfExists: true }));
    assert.equal(exists.code, "LEVEL_DATABASE_NOT_OPEN");
    assert.match((exists.cause as Error).message, /exists/);
  });

  it("the main entry does not load abstract-level: only auradb/level does", () => {
    // The static import graph of src/index.ts, followed through relative imports.
    const source = join(dirname(fileURLToPath(import.meta.url)), "..", "src");
    const seen = new Set<string>();
    const pending = ["index.ts"];
    const external = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(join(source, file), "utf8");
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
        const specifier = match[1]!;
        if (specifier.startsWith("./")) pending.push(specifier.slice(2));
        else external.add(specifier);
      }
    }
    assert.ok(seen.has("db.ts"), "the walk reached the engine");
    assert.equal(seen.has("level.ts"), false);
    assert.equal(external.has("abstract-level"), false, [...external].join(", "));
  });
});
