import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemFs } from "../src/memfs.ts";
import type { CrashMode, CrashOptions } from "../src/memfs.ts";
import { readFile, writeAll, writeFileAtomic } from "../src/io.ts";
import type { File } from "../src/types.ts";
import { failure, hex } from "./helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string): Uint8Array => encoder.encode(value);
const ALL_MODES: readonly CrashMode[] = ["synced-only", "process", "per-file-prefix", "global-prefix", "subset", "trash"];

async function readText(fs: MemFs, path: string): Promise<string> {
  return decoder.decode(await readFile(fs, path));
}

/** Every path of `fs` with its content (hex) or "dir", for comparing images. */
async function dump(fs: MemFs, dir = "/", into: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of await fs.list(dir)) {
    const path = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if ((await fs.stat(path)).isDirectory) {
      into[path] = "dir";
      await dump(fs, path, into);
    } else {
      into[path] = hex(await readFile(fs, path));
    }
  }
  return into;
}

/** A file with `synced` durable (data and entry), then `unsynced` appended without sync. */
async function fileWithTail(fs: MemFs, path: string, synced: string, unsynced: string[]): Promise<File> {
  const file = await fs.open(path, { create: true });
  await writeAll(file, text(synced), 0);
  await file.sync();
  await fs.syncDir("/");
  let position = synced.length;
  for (const part of unsynced) {
    await writeAll(file, text(part), position);
    position += part.length;
  }
  return file;
}

describe("MemFs: the FileSystem contract", () => {
  it("reads what was written, zero-fills gaps, truncates both ways", async () => {
    const fs = new MemFs();
    const file = await fs.open("/data", { create: true });
    assert.equal(await file.write(text("abc"), 0), 3);
    assert.equal(file.writeSync(text("xy"), 6), 2);
    assert.equal(await file.size(), 8);
    assert.deepEqual(await readFile(fs, "/data"), new Uint8Array([97, 98, 99, 0, 0, 0, 120, 121]));
    const buffer = new Uint8Array(10);
    assert.equal(await file.read(buffer, 6), 2);
    assert.equal(file.readSync(buffer, 8), 0);
    assert.equal(file.readSync(buffer, 100), 0);
    await file.truncate(2);
    await file.truncate(4);
    assert.deepEqual(await readFile(fs, "/data"), new Uint8Array([97, 98, 0, 0]));
    assert.equal((await fs.stat("/data")).size, 4);
    assert.equal(await file.write(new Uint8Array(0), 0), 0);
    await assert.rejects(file.write(text("a"), -1), RangeError);
    await file.close();
  });

  it("appends many small records in amortised constant time", async () => {
    const fs = new MemFs();
    const file = await fs.open("/wal", { create: true });
    const record = new Uint8Array(16).fill(7);
    const recordCount = 200_000;
    for (let index = 0; index < recordCount; index++) file.writeSync(record, index * 16);
    assert.equal(await file.size(), recordCount * 16);
    assert.equal(fs.pendingWriteCount(), recordCount);
    await file.datasync();
    assert.equal(fs.pendingWriteCount(), 0);
    const image = fs.crash({ mode: "synced-only", dir: "keep" });
    assert.equal((await image.stat("/wal")).size, recordCount * 16);
  });

  it("types its errors: missing paths, existing files, directories, closed and read-only files", async () => {
    const fs = new MemFs();
    assert.equal((await failure(() => fs.open("/missing"))).name, "NotFoundError");
    assert.equal((await failure(() => fs.open("/no/parent", { create: true }))).name, "NotFoundError");
    const created = await fs.open("/a", { create: true });
    const exists = await failure(() => fs.open("/a", { create: true, exclusive: true }));
    assert.equal(exists.name, "IOError");
    assert.equal(exists.systemCode, "EEXIST");
    assert.equal(exists.op, "open");
    assert.equal(exists.path, "/a");
    await fs.mkdir("/d");
    assert.equal((await failure(() => fs.open("/d"))).systemCode, "EISDIR");
    assert.equal((await failure(() => fs.list("/a"))).systemCode, "ENOTDIR");
    assert.equal((await failure(() => fs.mkdir("/a"))).systemCode, "EEXIST");
    assert.equal((await failure(() => fs.stat("/nothing"))).name, "NotFoundError");
    assert.equal((await failure(() => fs.remove("/nothing"))).name, "NotFoundError");
    assert.equal((await failure(() => fs.rename("/nothing", "/x"))).name, "NotFoundError");
    assert.equal((await failure(() => fs.list("/nothing"))).name, "NotFoundError");

    const readOnly = await fs.open("/a", { readOnly: true });
    for (const action of [() => readOnly.write(text("x"), 0), () => readOnly.truncate(0), () => readOnly.sync()]) {
      const error = await failure(action);
      assert.equal(error.name, "IOError");
      assert.equal(error.systemCode, "EBADF");
    }
    assert.equal(fs.openHandleCount(), 2);
    await created.close();
    await created.close();
    assert.equal((await failure(() => created.read(new Uint8Array(1), 0))).name, "ClosedError");
    assert.equal((await failure(() => created.writeSync(text("x"), 0))).name, "ClosedError");
    await readOnly.close();
    assert.equal(fs.openHandleCount(), 0);
  });

  it("opens with truncate", async () => {
    const fs = new MemFs();
    const file = await fs.open("/a", { create: true });
    await file.write(text("hello"), 0);
    await file.close();
    const again = await fs.open("/a", { truncate: true });
    assert.equal(await again.size(), 0);
    await again.close();
  });

  it("lists sorted names, makes parents, stats and removes directories", async () => {
    const fs = new MemFs();
    await fs.mkdir("/db/sub/deeper");
    await fs.mkdir("/db/sub");
    for (const name of ["b", "a", "C", "aa"]) await (await fs.open(`/db/${name}`, { create: true })).close();
    assert.deepEqual(await fs.list("/db"), ["C", "a", "aa", "b", "sub"]);
    assert.deepEqual(await fs.list("/"), ["db"]);
    const stat = await fs.stat("/db/sub");
    assert.equal(stat.isDirectory, true);
    assert.equal(stat.isFile, false);
    assert.equal((await fs.stat("/db/a")).isFile, true);
    assert.equal(await fs.exists("/db/sub/deeper"), true);
    assert.equal(await fs.exists("/db/a/inside"), false);
    const notEmpty = await failure(() => fs.remove("/db/sub"));
    assert.equal(notEmpty.systemCode, "ENOTEMPTY");
    assert.equal(notEmpty.op, "remove");
    await fs.remove("/db/sub", { recursive: true });
    assert.equal(await fs.exists("/db/sub/deeper"), false);
    await fs.remove("/db/a");
    assert.deepEqual(await fs.list("/db"), ["C", "aa", "b"]);
  });

  it("normalises paths: double and trailing slashes, dots, relative paths", async () => {
    const fs = new MemFs();
    await fs.mkdir("db//x/");
    const file = await fs.open("/db/./x/../x//f", { create: true });
    assert.equal(file.path, "/db/./x/../x//f");
    await file.close();
    assert.deepEqual(await fs.list("/db/x/"), ["f"]);
    assert.equal(await fs.exists("db/x/f"), true);
  });

  it("renames files over files, and directories with their children", async () => {
    const fs = new MemFs();
    await writeFileAtomic(fs, "/CURRENT", text("one"));
    await writeFileAtomic(fs, "/CURRENT", text("two"));
    assert.equal(await readText(fs, "/CURRENT"), "two");
    assert.deepEqual(await fs.list("/"), ["CURRENT"]);
    await fs.mkdir("/a/b");
    await writeFileAtomic(fs, "/a/b/f", text("x"));
    await fs.rename("/a", "/z");
    assert.equal(await readText(fs, "/z/b/f"), "x");
    assert.equal(await fs.exists("/a"), false);
    assert.equal((await failure(() => fs.rename("/z", "/z/b/inside"))).systemCode, "EINVAL");
    assert.equal((await failure(() => fs.rename("/CURRENT", "/z"))).systemCode, "EISDIR");
    assert.equal((await failure(() => fs.rename("/z/b", "/CURRENT"))).systemCode, "ENOTDIR");
    await fs.rename("/CURRENT", "/CURRENT");
    assert.equal(await readText(fs, "/CURRENT"), "two");
  });

  it("keeps a handle working after its file is renamed or removed", async () => {
    const fs = new MemFs();
    const file = await fs.open("/a", { create: true });
    await fs.rename("/a", "/b");
    await file.write(text("hi"), 0);
    assert.equal(await readText(fs, "/b"), "hi");
    await fs.remove("/b");
    assert.equal(await file.size(), 2);
    await file.close();
  });

  it("locks exclusively, creates the lock file, releases idempotently", async () => {
    const fs = new MemFs();
    const lock = await fs.lock("/LOCK");
    assert.equal(await fs.exists("/LOCK"), true);
    assert.equal((await failure(() => fs.lock("//LOCK"))).name, "LockedError");
    await lock.release();
    await lock.release();
    const again = await fs.lock("/LOCK");
    assert.equal(fs.openHandleCount(), 0);
    await again.release();
    // Two calls in flight at once: the claim must not straddle an await.
    const outcomes = await Promise.allSettled([fs.lock("/LOCK"), fs.lock("/LOCK")]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ["fulfilled", "rejected"]);
  });

  it("tamper changes content durably", async () => {
    const fs = new MemFs();
    const file = await fileWithTail(fs, "/f", "abcd", ["ef"]);
    fs.tamper("/f", (content) => {
      content[0] = (content[0] as number) ^ 1;
      return content.subarray(0, 5);
    });
    assert.equal(await readText(fs, "/f"), "`bcde");
    assert.equal(fs.pendingWriteCount(), 0);
    assert.equal(await file.size(), 5);
    const image = fs.crash({ mode: "synced-only" });
    assert.equal(await readText(image, "/f"), "`bcde");
  });
});

describe("MemFs: crash images", () => {
  it("kills the crashed instance and its handles; the image is fresh", async () => {
    const fs = new MemFs();
    const file = await fileWithTail(fs, "/f", "a", ["b"]);
    const lock = await fs.lock("/LOCK");
    const image = fs.crash();
    assert.equal(fs.crashed, true);
    assert.equal(image.crashed, false);
    const calls: (() => unknown)[] = [
      () => fs.open("/f"),
      () => fs.list("/"),
      () => fs.mkdir("/x"),
      () => fs.rename("/f", "/g"),
      () => fs.remove("/f"),
      () => fs.stat("/f"),
      () => fs.exists("/f"),
      () => fs.syncDir("/"),
      () => fs.lock("/other"),
      () => fs.crash(),
      () => fs.pendingWriteCount(),
      () => fs.tamper("/f", (content) => content),
      () => lock.release(),
      () => file.read(new Uint8Array(1), 0),
      () => file.readSync(new Uint8Array(1), 0),
      () => file.write(text("x"), 0),
      () => file.writeSync(text("x"), 0),
      () => file.sync(),
      () => file.datasync(),
      () => file.truncate(0),
      () => file.size(),
      () => file.close(),
    ];
    for (const call of calls) assert.equal((await failure(call)).name, "SimulatedCrash");
    assert.equal(image.openHandleCount(), 0);
    assert.equal(image.pendingWriteCount(), 0);
    await (await image.lock("/LOCK")).release();
  });

  it("keeps synced data in synced entries in every mode", async () => {
    for (const mode of ALL_MODES) {
      for (let seed = 0; seed < 20; seed++) {
        const fs = new MemFs();
        await fs.mkdir("/db");
        await fs.syncDir("/");
        const file = await fs.open("/db/log", { create: true });
        await writeAll(file, text("synced!"), 0);
        await file.datasync();
        await fs.syncDir("/db");
        await writeAll(file, text("-tail-that-may-go".repeat(500)), 7);
        await (await fs.open("/db/new", { create: true })).close();
        const image = fs.crash({ mode, seed, growthFill: seed % 2 === 0 ? "random" : undefined });
        const content = await readText(image, "/db/log");
        assert.ok(content.startsWith("synced!"), `${mode} seed ${seed}: ${content.slice(0, 10)}`);
      }
    }
  });

  it("process mode keeps everything visible, data and entries", async () => {
    const fs = new MemFs();
    await fileWithTail(fs, "/kept", "a", ["b", "c"]);
    await fileWithTail(fs, "/gone", "x", []);
    await fs.remove("/gone");
    await fs.mkdir("/new/dir");
    const unsynced = await fs.open("/new/dir/file", { create: true });
    await unsynced.write(text("fresh"), 0);
    await fs.rename("/kept", "/renamed");
    const visible = await dump(fs);
    const image = fs.crash({ mode: "process", dir: "synced-only", growthFill: "random" });
    assert.deepEqual(await dump(image), visible);
  });

  it("synced-only mode drops every unsynced write and entry operation", async () => {
    const fs = new MemFs();
    await fileWithTail(fs, "/f", "durable", ["-lost"]);
    await fileWithTail(fs, "/removed", "still here", []);
    await fs.remove("/removed");
    await (await fs.open("/created", { create: true })).close();
    await fs.mkdir("/made");
    await fs.rename("/f", "/moved");
    const image = fs.crash({ mode: "synced-only", dir: "synced-only" });
    assert.deepEqual(await image.list("/"), ["f", "removed"]);
    assert.equal(await readText(image, "/f"), "durable");
    assert.equal(await readText(image, "/removed"), "still here");
  });

  it("entry operations survive only after syncDir (dir: synced-only / keep / random)", async () => {
    const build = async (): Promise<MemFs> => {
      const fs = new MemFs();
      const file = await fs.open("/f", { create: true });
      await file.write(text("data"), 0);
      await file.sync();
      return fs;
    };
    assert.equal(await (await build()).crash({ dir: "synced-only" }).exists("/f"), false);
    assert.equal(await readText((await build()).crash({ dir: "keep" }), "/f"), "data");
    const outcomes = new Set<boolean>();
    for (let seed = 0; seed < 20; seed++) outcomes.add(await (await build()).crash({ seed }).exists("/f"));
    assert.deepEqual([...outcomes].sort(), [false, true]);
    for (const mode of ALL_MODES) {
      const fs = await build();
      await fs.syncDir("/");
      assert.equal(await readText(fs.crash({ mode, dir: "synced-only" }), "/f"), "data");
    }
  });

  it("drops entries whose parent directory is not durable", async () => {
    const fs = new MemFs();
    await fs.mkdir("/db");
    const file = await fs.open("/db/f", { create: true });
    await file.write(text("x"), 0);
    await file.sync();
    await fs.syncDir("/db");
    assert.deepEqual(await fs.crash({ mode: "synced-only", dir: "synced-only" }).list("/"), []);
  });

  it("never leaves both names or neither after a rename (same and cross directory)", async () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      for (const dir of ["random", "synced-only", "keep"] as const) {
        const fs = new MemFs();
        await fs.mkdir("/a");
        await fs.mkdir("/b");
        await fs.syncDir("/");
        await writeFileAtomic(fs, "/a/old", text("payload"));
        await writeFileAtomic(fs, "/a/other", text("second"));
        await fs.rename("/a/old", "/a/new");
        await fs.rename("/a/other", "/b/moved");
        if (seed % 3 === 1) await fs.syncDir("/b");
        if (seed % 3 === 2) await fs.syncDir("/a");
        const image = fs.crash({ seed, dir });
        const names = (await image.list("/a")).concat((await image.list("/b")).map((name) => `b/${name}`));
        const first = names.filter((name) => name === "old" || name === "new");
        const second = names.filter((name) => name === "other" || name === "b/moved");
        assert.equal(first.length, 1, `seed ${seed} ${dir}: ${names.join(",")}`);
        assert.equal(second.length, 1, `seed ${seed} ${dir}: ${names.join(",")}`);
        assert.equal(await readText(image, `/a/${first[0]}`), "payload");
        assert.equal(await readText(image, `/${second[0] === "other" ? "a/other" : "b/moved"}`), "second");
        seen.add(`${first[0]} ${second[0]}`);
      }
    }
    assert.equal(seen.size, 4);
  });

  it("per-file-prefix keeps a prefix of each file's writes, torn at any byte", async () => {
    const lengths = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const fs = new MemFs();
      await fileWithTail(fs, "/a", "A", ["0123456789", "abcdefghij"]);
      const content = await readText(fs.crash({ seed, dir: "keep" }), "/a");
      assert.ok("A0123456789abcdefghij".startsWith(content), content);
      lengths.add(content.length);
    }
    assert.ok(lengths.size > 5, `few distinct prefixes: ${[...lengths].join(",")}`);
  });

  it("torn: none keeps whole writes; 512 and 4096 cut at sector boundaries", async () => {
    const big = "x".repeat(10_000);
    const cases = [
      { torn: "none", allowed: [0, 10_000] },
      { torn: 4096, allowed: [0, 4096, 8192, 10_000] },
      { torn: 512, allowed: [0, ...Array.from({ length: 19 }, (_, index) => (index + 1) * 512), 10_000] },
    ] as const;
    for (const { torn, allowed } of cases) {
      const seen = new Set<number>();
      for (let seed = 0; seed < 60; seed++) {
        const fs = new MemFs();
        await fileWithTail(fs, "/a", "", [big]);
        const size = (await fs.crash({ seed, torn, dir: "keep" }).stat("/a")).size;
        assert.ok((allowed as readonly number[]).includes(size), `torn ${torn}: size ${size}`);
        seen.add(size);
      }
      assert.ok(seen.size >= 2, `torn ${torn}: ${[...seen].join(",")}`);
    }
  });

  it("global-prefix keeps a prefix of all writes in issue order", async () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const fs = new MemFs();
      const first = await fileWithTail(fs, "/a", "", []);
      const second = await fileWithTail(fs, "/b", "", []);
      for (let index = 0; index < 5; index++) {
        await first.write(text("aaaa"), index * 4);
        await second.write(text("bbbb"), index * 4);
      }
      const image = fs.crash({ mode: "global-prefix", torn: "none", seed, dir: "keep" });
      const firstCount = (await image.stat("/a")).size / 4;
      const secondCount = (await image.stat("/b")).size / 4;
      assert.ok(firstCount === secondCount || firstCount === secondCount + 1, `${firstCount} ${secondCount}`);
      seen.add(`${firstCount},${secondCount}`);
    }
    assert.ok(seen.size > 3);
  });

  it("subset keeps each 4 KiB page piece independently; trash may fill dropped pieces with garbage", async () => {
    const old = "o".repeat(4 * 4096);
    const build = async (): Promise<MemFs> => {
      const fs = new MemFs();
      const file = await fileWithTail(fs, "/a", old, []);
      await file.write(text("n".repeat(4 * 4096 - 100)), 50);
      return fs;
    };
    const patterns = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const content = await readText((await build()).crash({ mode: "subset", seed, dir: "keep" }), "/a");
      assert.equal(content.length, old.length);
      // The write covers pages partly at both ends; within each page piece, all old or all new.
      const pieces = [content.slice(50, 4096), content.slice(4096, 8192), content.slice(8192, 12_288), content.slice(12_288, 16_334)];
      for (const piece of pieces) assert.ok(/^(o+|n+)$/.test(piece), piece.slice(0, 20));
      patterns.add(pieces.map((piece) => piece[0]).join(""));
    }
    assert.ok(patterns.size > 4, [...patterns].join(","));
    assert.equal(await readText((await build()).crash({ mode: "subset", keepProbability: 1, dir: "keep" }), "/a"), `${old.slice(0, 50)}${"n".repeat(16_284)}${old.slice(-50)}`);
    assert.equal(await readText((await build()).crash({ mode: "subset", keepProbability: 0, dir: "keep" }), "/a"), old);
    assert.equal(await readText((await build()).crash({ mode: "trash", keepProbability: 0, trashProbability: 0, dir: "keep" }), "/a"), old);
    const trashed = await readFile((await build()).crash({ mode: "trash", keepProbability: 0, trashProbability: 1, dir: "keep" }), "/a");
    const middle = trashed.subarray(4096, 8192);
    assert.ok(!middle.every((byte) => byte === "o".charCodeAt(0)) && !middle.every((byte) => byte === "n".charCodeAt(0)));
    assert.ok(new Set(middle).size > 100, "random bytes expected");
  });

  it("growthFill: the size reaches the disk, the data does not", async () => {
    const build = async (): Promise<MemFs> => {
      const fs = new MemFs();
      await fileWithTail(fs, "/a", "head", ["t".repeat(1000)]);
      return fs;
    };
    assert.equal((await (await build()).crash({ mode: "synced-only" }).stat("/a")).size, 4);
    const zeros = await readFile((await build()).crash({ mode: "synced-only", growthFill: "zeros" }), "/a");
    assert.equal(zeros.length, 1004);
    assert.ok(zeros.subarray(4).every((byte) => byte === 0));
    const random = await readFile((await build()).crash({ mode: "synced-only", growthFill: "random" }), "/a");
    assert.equal(random.length, 1004);
    assert.equal(decoder.decode(random.subarray(0, 4)), "head");
    assert.ok(new Set(random.subarray(4)).size > 100);
  });

  it("is deterministic: the same state and seed give the same image", async () => {
    const build = async (): Promise<MemFs> => {
      const fs = new MemFs();
      await fs.mkdir("/db");
      await fs.syncDir("/");
      for (let index = 0; index < 4; index++) {
        const file = await fs.open(`/db/f${index}`, { create: true });
        for (let part = 0; part < 6; part++) await file.write(text(`${index}:${part}:`.repeat(700)), part * 4200);
        if (index === 0) await file.sync();
      }
      await fs.rename("/db/f1", "/db/g1");
      await fs.remove("/db/f2");
      return fs;
    };
    for (const mode of ALL_MODES) {
      const options: CrashOptions = { mode, growthFill: "random", torn: 512 };
      const images = new Set<string>();
      for (let seed = 0; seed < 12; seed++) {
        const first = JSON.stringify(await dump((await build()).crash({ ...options, seed })));
        const second = JSON.stringify(await dump((await build()).crash({ ...options, seed })));
        assert.equal(first, second, `${mode} seed ${seed}`);
        images.add(first);
      }
      if (mode !== "process") assert.ok(images.size > 1, `${mode}: every seed gave the same image`);
    }
  });

  it("_dropPending forgets unsynced writes for good (fsyncgate)", async () => {
    const fs = new MemFs();
    const file = await fileWithTail(fs, "/f", "ok", ["LOST"]);
    fs._dropPending(file);
    assert.equal(await readText(fs, "/f"), "okLOST");
    assert.equal(fs.pendingWriteCount(), 0);
    await file.write(text("later"), 6);
    await file.sync();
    const image = fs.crash({ mode: "synced-only" });
    assert.deepEqual(await readFile(image, "/f"), new Uint8Array([...text("ok"), 0, 0, 0, 0, ...text("later")]));
  });
});

// ---- property tests against an independent model of the pending writes ----

type ModelWrite = { kind: "write"; offset: number; bytes: Uint8Array; seq: number } | { kind: "truncate"; size: number; seq: number };

function applyModel(content: Uint8Array, write: ModelWrite): Uint8Array {
  if (write.kind === "truncate") {
    const result = new Uint8Array(write.size);
    result.set(content.subarray(0, Math.min(write.size, content.length)));
    return result;
  }
  const result = new Uint8Array(Math.max(content.length, write.offset + write.bytes.length));
  result.set(content);
  result.set(write.bytes, write.offset);
  return result;
}

/** Every content the file can have after keeping `writes` whole, then maybe a torn prefix of `next`. */
function* candidates(base: Uint8Array, writes: readonly ModelWrite[], next: ModelWrite | undefined): Generator<Uint8Array> {
  let content = base;
  for (const write of writes) content = applyModel(content, write);
  yield content;
  if (next?.kind === "write") {
    for (let cut = 1; cut < next.bytes.length; cut++) yield applyModel(content, { ...next, bytes: next.bytes.subarray(0, cut) });
  }
}

const equalBytes = (left: Uint8Array, right: Uint8Array): boolean => left.length === right.length && left.every((byte, index) => byte === right[index]);

const operation = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), file: fc.nat(1), offset: fc.nat(64), append: fc.boolean(), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({ kind: fc.constant("truncate" as const), file: fc.nat(1), size: fc.nat(80) }),
  fc.record({ kind: fc.constant("sync" as const), file: fc.nat(1) }),
);

describe("MemFs: crash properties", () => {
  it("prefix modes: each file is its durable content plus a (torn) prefix of its pending writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { maxLength: 30 }),
        fc.integer(),
        fc.constantFrom("per-file-prefix" as const, "global-prefix" as const),
        fc.constantFrom("none" as const, "byte" as const, 512 as const, 4096 as const),
        async (operations, seed, mode, torn) => {
          const fs = new MemFs();
          const paths = ["/f0", "/f1"];
          const files = [await fs.open("/f0", { create: true }), await fs.open("/f1", { create: true })];
          await fs.syncDir("/");
          const durable: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
          const pending: ModelWrite[][] = [[], []];
          let seq = 0;
          for (const operation of operations) {
            const file = files[operation.file] as File;
            const model = pending[operation.file] as ModelWrite[];
            if (operation.kind === "write") {
              const offset = operation.append ? await file.size() : operation.offset;
              await file.write(operation.bytes, offset);
              model.push({ kind: "write", offset, bytes: operation.bytes.slice(), seq: seq++ });
            } else if (operation.kind === "truncate") {
              await file.truncate(operation.size);
              model.push({ kind: "truncate", size: operation.size, seq: seq++ });
            } else {
              await file.sync();
              for (const write of model) durable[operation.file] = applyModel(durable[operation.file] as Uint8Array, write);
              model.length = 0;
            }
          }
          const image = fs.crash({ mode, torn, seed });
          const contents = [await readFile(image, "/f0"), await readFile(image, "/f1")];
          const matches = (index: number, keptCount: number, next: ModelWrite | undefined): boolean => {
            const writes = (pending[index] as ModelWrite[]).slice(0, keptCount);
            for (const candidate of candidates(durable[index] as Uint8Array, writes, next)) {
              if (equalBytes(candidate, contents[index] as Uint8Array)) return true;
            }
            return false;
          };
          if (mode === "per-file-prefix") {
            for (const index of [0, 1]) {
              const writes = pending[index] as ModelWrite[];
              const found = writes.some((next, keptCount) => matches(index, keptCount, next)) || matches(index, writes.length, undefined);
              assert.ok(found, `${paths[index]} is not a prefix image`);
            }
          } else {
            const all = [...(pending[0] as ModelWrite[]), ...(pending[1] as ModelWrite[])].sort((left, right) => left.seq - right.seq);
            let found = false;
            for (let keptCount = 0; keptCount <= all.length && !found; keptCount++) {
              const next = all[keptCount];
              found = [0, 1].every((index) => {
                const own = pending[index] as ModelWrite[];
                const ownKept = own.filter((write) => next === undefined || write.seq < next.seq).length;
                return matches(index, ownKept, next !== undefined && own.includes(next) ? next : undefined);
              });
            }
            assert.ok(found, "no global prefix explains the image");
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("appends: the image starts with the durable bytes and is a prefix of the visible bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constant("sync" as const)), { maxLength: 40 }),
        fc.integer(),
        fc.constantFrom<CrashMode>("per-file-prefix", "global-prefix", "synced-only", "process"),
        async (steps, seed, mode) => {
          const fs = new MemFs();
          const file = await fs.open("/log", { create: true });
          await fs.syncDir("/");
          let durableBytes = 0;
          for (const step of steps) {
            if (step === "sync") {
              await file.datasync();
              durableBytes = await file.size();
            } else {
              await writeAll(file, step, await file.size());
            }
          }
          const visible = await readFile(fs, "/log");
          const content = await readFile(fs.crash({ mode, seed }), "/log");
          assert.ok(content.length >= durableBytes);
          assert.ok(equalBytes(content, visible.subarray(0, content.length)));
          if (mode === "synced-only") assert.equal(content.length, durableBytes);
          if (mode === "process") assert.equal(content.length, visible.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
