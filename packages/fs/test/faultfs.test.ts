import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FaultFs } from "../src/faultfs.ts";
import type { FaultRule } from "../src/faultfs.ts";
import { MemFs } from "../src/memfs.ts";
import { dropUnsyncedTail, isFailedDataSync, readFile, writeAll, writeAllSync } from "../src/io.ts";
import type { File } from "../src/types.ts";
import { failure, hex } from "./helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string): Uint8Array => encoder.encode(value);

/** Runs `count` one-byte appends on `file`; returns which of them (1-based) failed. */
async function failingWrites(file: File, count: number): Promise<number[]> {
  const failed: number[] = [];
  for (let index = 1; index <= count; index++) {
    try {
      await file.write(text("x"), await file.size());
    } catch (error) {
      assert.equal((error as { name: string }).name, "IOError");
      failed.push(index);
    }
  }
  return failed;
}

async function setup(rules: FaultRule[] = [], seed?: number): Promise<{ memory: MemFs; fs: FaultFs; file: File }> {
  const memory = new MemFs();
  const fs = new FaultFs(memory, { seed, rules });
  const file = await fs.open("/f", { create: true });
  return { memory, fs, file };
}

describe("FaultFs: forwarding and counting", () => {
  it("forwards every call, names itself after the inner fs, counts each call", async () => {
    const memory = new MemFs();
    const fs = new FaultFs(memory);
    assert.equal(fs.name, "fault(mem)");
    assert.deepEqual(fs.supports, memory.supports);
    assert.equal(fs.unwrap(), memory);
    await fs.mkdir("/db"); // 1
    const file = await fs.open("/db/a", { create: true }); // 2
    await writeAll(file, text("hello"), 0); // 3
    assert.equal(file.writeSync(text("!"), 5), 1); // 4
    await file.datasync(); // 5
    await file.sync(); // 6
    const buffer = new Uint8Array(6);
    assert.equal(await file.read(buffer, 0), 6); // 7
    assert.equal(file.readSync(buffer, 0), 6); // 8
    assert.equal(decoder.decode(buffer), "hello!");
    await file.truncate(5); // 9
    assert.equal(await file.size(), 5); // 10
    await file.close(); // 11
    assert.deepEqual(await fs.list("/db"), ["a"]); // 12
    await fs.rename("/db/a", "/db/b"); // 13
    assert.equal((await fs.stat("/db/b")).size, 5); // 14
    assert.equal(await fs.exists("/db/a"), false); // 15
    await fs.syncDir("/db"); // 16
    const lock = await fs.lock("/db/LOCK"); // 17
    await lock.release(); // 18
    await fs.remove("/db/b"); // 19
    assert.equal(fs.callCount, 19);
    assert.equal(fs.injectedCount, 0);
    assert.equal(memory.openHandleCount(), 0);
    assert.equal((await failure(() => fs.open("/missing"))).name, "NotFoundError");
    assert.equal(fs.callCount, 20);
  });

  it("rejects invalid rules", () => {
    const fs = new FaultFs(new MemFs());
    assert.throws(() => fs.addRule({ kind: "short-write", ops: ["read"] }), TypeError);
    assert.throws(() => fs.addRule({ kind: "bitflip-read", ops: ["write"] }), TypeError);
    assert.throws(() => fs.addRule({ kind: "EIO", onCall: 0 }), RangeError);
    assert.throws(() => fs.addRule({ kind: "EIO", probability: 2 }), RangeError);
    assert.throws(() => fs.crashAt(0), RangeError);
  });
});

describe("FaultFs: rules", () => {
  it("onCall fails exactly the k-th matching call, with a typed error and nothing done", async () => {
    const { fs, file } = await setup([{ kind: "EIO", ops: ["write"], onCall: 3 }]);
    assert.deepEqual(await failingWrites(file, 6), [3]);
    assert.equal(await file.size(), 5);
    assert.equal(fs.injectedCount, 1);
  });

  it("the error carries op, path and systemCode", async () => {
    const { fs, file } = await setup([{ kind: "EIO", ops: ["write", "exists", "rename"] }]);
    const write = await failure(() => file.write(text("x"), 0));
    assert.equal(write.name, "IOError");
    assert.equal(write.op, "write");
    assert.equal(write.path, "/f");
    assert.equal(write.systemCode, "EIO");
    assert.equal((await failure(() => fs.exists("/f"))).op, "stat");
    const rename = await failure(() => fs.rename("/f", "/g"));
    assert.equal(rename.op, "rename");
    assert.equal(await fs.unwrap().exists("/f"), true);
  });

  it("after fails every matching call after the n-th", async () => {
    const { file } = await setup([{ kind: "EIO", ops: ["write"], after: 2 }]);
    assert.deepEqual(await failingWrites(file, 5), [3, 4, 5]);
  });

  it("once fires a single time; sticky keeps firing after the first", async () => {
    const once = await setup([{ kind: "EIO", ops: ["write"], after: 1, persistence: "once" }]);
    assert.deepEqual(await failingWrites(once.file, 5), [2]);
    const sticky = await setup([{ kind: "EIO", ops: ["write"], probability: 0.3, persistence: "sticky" }], 3);
    const failed = await failingWrites(sticky.file, 30);
    assert.ok(failed.length > 0);
    const first = failed[0] as number;
    assert.deepEqual(failed, Array.from({ length: 31 - first }, (_, index) => first + index));
  });

  it("filters by path substring or pattern; counts only matching calls", async () => {
    const memory = new MemFs();
    const fs = new FaultFs(memory, { rules: [{ kind: "EIO", ops: ["open"], path: "wal", onCall: 2 }] });
    await fs.mkdir("/db");
    await (await fs.open("/db/wal-1", { create: true })).close();
    await (await fs.open("/db/sst-1", { create: true })).close();
    assert.equal((await failure(() => fs.open("/db/wal-2", { create: true }))).path, "/db/wal-2");
    await (await fs.open("/db/wal-3", { create: true })).close();
    fs.clearRules();
    fs.addRule({ kind: "EIO", ops: ["remove"], path: /sst-\d+$/g });
    await fs.remove("/db/wal-1");
    assert.equal((await failure(() => fs.remove("/db/sst-1"))).systemCode, "EIO");
    assert.equal((await failure(() => fs.remove("/db/sst-1"))).systemCode, "EIO");
    assert.deepEqual(await memory.list("/db"), ["sst-1", "wal-3"]);
  });

  it("probability is seeded: the same seed fails the same calls", async () => {
    const pattern = async (seed: number): Promise<number[]> => {
      const { file } = await setup([{ kind: "EIO", ops: ["write"], probability: 0.3 }], seed);
      return failingWrites(file, 60);
    };
    const first = await pattern(42);
    assert.deepEqual(await pattern(42), first);
    assert.ok(first.length > 5 && first.length < 40, `${first.length} failures`);
    assert.notDeepEqual(await pattern(43), first);
  });

  it("a rule's draws do not depend on rules added after it", async () => {
    const pattern = async (rules: FaultRule[]): Promise<number[]> => {
      const { file } = await setup(rules, 9);
      return failingWrites(file, 40);
    };
    const alone = await pattern([{ kind: "EIO", ops: ["write"], probability: 0.2 }]);
    // The second rule draws on every write too (and never fires): a shared stream would shift the first.
    const withOther = await pattern([
      { kind: "EIO", ops: ["write"], probability: 0.2 },
      { kind: "EIO", ops: ["write"], probability: 0 },
    ]);
    assert.ok(alone.length > 0);
    assert.deepEqual(withOther, alone);
  });

  it("short-write returns fewer bytes (at least one), and writeAll still completes", async () => {
    const { memory, fs, file } = await setup([{ kind: "short-write" }], 5);
    const data = text("0123456789abcdef");
    const written = await file.write(data, 0);
    assert.ok(written >= 1 && written < data.length, `${written}`);
    assert.equal(await file.size(), written);
    writeAllSync(file, data, 0);
    await writeAll(file, data, 16);
    assert.equal(decoder.decode(await readFile(memory, "/f")), "0123456789abcdef0123456789abcdef");
    assert.ok(fs.injectedCount > 3);
    // A single byte cannot be split: it is written whole, and no fault is counted.
    const before = fs.injectedCount;
    assert.equal(await file.write(text("z"), 0), 1);
    assert.equal(fs.injectedCount, before);
  });

  it("ENOSPC writes a seeded prefix, then fails", async () => {
    const sizes = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const { memory, file } = await setup([{ kind: "ENOSPC", onCall: 1 }], seed);
      const error = await failure(() => file.write(text("0123456789"), 0));
      assert.equal(error.systemCode, "ENOSPC");
      assert.equal(error.op, "write");
      const content = decoder.decode(await readFile(memory, "/f"));
      assert.ok("0123456789".startsWith(content) && content.length < 10, content);
      sizes.add(content.length);
    }
    assert.ok(sizes.size > 3);
  });

  it("ENOSPC on an entry operation does not perform it", async () => {
    const memory = new MemFs();
    const fs = new FaultFs(memory, { rules: [{ kind: "ENOSPC", ops: ["mkdir", "open"] }] });
    assert.equal((await failure(() => fs.mkdir("/db"))).systemCode, "ENOSPC");
    assert.equal((await failure(() => fs.open("/f", { create: true }))).systemCode, "ENOSPC");
    assert.deepEqual(await memory.list("/"), []);
  });

  it("fsync-fail forgets the unsynced writes: visible, but in no crash image, even after a later sync", async () => {
    const { memory, fs, file } = await setup([{ kind: "fsync-fail", onCall: 3 }]);
    await fs.syncDir("/"); // the 1st matching call
    await writeAll(file, text("durable"), 0);
    await file.datasync();
    await writeAll(file, text("+lost"), 7);
    const error = await failure(() => file.datasync());
    assert.equal(error.systemCode, "EIO");
    assert.equal(error.op, "datasync");
    assert.equal(error.dataLoss, true);
    assert.equal(decoder.decode(await readFile(fs, "/f")), "durable+lost");
    assert.equal(memory.pendingWriteCount(), 0);
    await writeAll(file, text("!"), 12);
    await file.sync();
    const image = memory.crash({ mode: "synced-only" });
    assert.deepEqual(await readFile(image, "/f"), new Uint8Array([...text("durable"), 0, 0, 0, 0, 0, ...text("!")]));
  });

  it("fsync-fail reaches a MemFs under two FaultFs layers; EIO on sync keeps the writes pending", async () => {
    const memory = new MemFs();
    const outer = new FaultFs(new FaultFs(memory), { rules: [{ kind: "fsync-fail", ops: ["sync"], onCall: 1 }] });
    const file = await outer.open("/f", { create: true });
    await file.write(text("abc"), 0);
    assert.equal((await failure(() => file.sync())).systemCode, "EIO");
    assert.equal(memory.pendingWriteCount(), 0);

    const plain = await setup([{ kind: "EIO", ops: ["sync"], onCall: 1 }]);
    await plain.file.write(text("abc"), 0);
    await failure(() => plain.file.sync());
    assert.equal(plain.memory.pendingWriteCount(), 1);
    await plain.file.sync();
    assert.equal(plain.memory.pendingWriteCount(), 0);
  });

  it("fsync-fail on syncDir leaves the entries non-durable", async () => {
    const { memory, fs, file } = await setup([{ kind: "fsync-fail", ops: ["syncDir"] }]);
    await file.close();
    assert.equal((await failure(() => fs.syncDir("/"))).op, "syncDir");
    assert.deepEqual(await memory.crash({ dir: "synced-only" }).list("/"), []);
  });

  it("bitflip-read flips exactly one bit of the bytes read", async () => {
    const { memory, fs, file } = await setup([{ kind: "bitflip-read", onCall: 1 }], 11);
    const data = text("some bytes to read back");
    await writeAll(file, data, 0);
    const buffer = new Uint8Array(data.length);
    assert.equal(await file.read(buffer, 0), data.length);
    let flippedBits = 0;
    for (let index = 0; index < data.length; index++) {
      let difference = (buffer[index] as number) ^ (data[index] as number);
      for (; difference !== 0; difference &= difference - 1) flippedBits++;
    }
    assert.equal(flippedBits, 1);
    assert.equal(fs.injectedCount, 1);
    assert.deepEqual(await readFile(memory, "/f"), data);
    assert.equal(file.readSync(buffer, 0), data.length);
    assert.deepEqual(buffer, data);
  });

  it("close releases the handle even when it reports an error", async () => {
    const { memory, file } = await setup([{ kind: "EIO", ops: ["close"] }]);
    assert.equal((await failure(() => file.close())).op, "close");
    assert.equal(memory.openHandleCount(), 0);
  });

  it("property: a fault schedule replays exactly from its seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), async (seed, probability) => {
        const run = async (): Promise<string> => {
          const { memory, fs, file } = await setup(
            [
              { kind: "short-write", probability },
              { kind: "EIO", ops: ["sync"], probability },
              { kind: "bitflip-read", probability },
            ],
            seed,
          );
          const outcomes: string[] = [];
          for (let index = 0; index < 10; index++) {
            outcomes.push(String(await file.write(text("0123456789"), index * 10)));
            outcomes.push(await file.sync().then(() => "ok", () => "failed"));
            const buffer = new Uint8Array(10);
            await file.read(buffer, 0);
            outcomes.push(hex(buffer));
          }
          outcomes.push(hex(await readFile(memory, "/f")), String(fs.injectedCount));
          return outcomes.join(" ");
        };
        assert.equal(await run(), await run());
      }),
      { numRuns: 50 },
    );
  });
});

describe("FaultFs: crashAt", () => {
  it("takes the image just before call k, then every call throws SimulatedCrash", async () => {
    const memory = new MemFs();
    const fs = new FaultFs(memory);
    const file = await fs.open("/f", { create: true }); // 1
    await fs.syncDir("/"); // 2
    await file.write(text("first"), 0); // 3
    await file.sync(); // 4
    fs.crashAt(7, { mode: "process" });
    await file.write(text("+second"), 5); // 5
    await fs.exists("/f"); // 6
    assert.equal(fs.crashImage, undefined);
    assert.equal((await failure(() => file.write(text("+never"), 12))).name, "SimulatedCrash"); // 7
    assert.equal(fs.crashed, true);
    assert.equal(memory.crashed, true);
    const image = fs.crashImage;
    assert.ok(image !== undefined);
    assert.equal(decoder.decode(await readFile(image, "/f")), "first+second");
    for (const call of [() => file.sync(), () => file.close(), () => fs.list("/"), () => fs.open("/f"), () => file.readSync(new Uint8Array(1), 0)]) {
      assert.equal((await failure(call)).name, "SimulatedCrash");
    }
  });

  it("uses the crash options: synced-only loses the unsynced tail", async () => {
    const memory = new MemFs();
    const fs = new FaultFs(memory);
    const file = await fs.open("/f", { create: true });
    await fs.syncDir("/");
    await file.write(text("first"), 0);
    await file.sync();
    await file.write(text("+second"), 5);
    fs.crashAt(fs.callCount + 1, { mode: "synced-only" });
    await failure(() => file.sync());
    assert.equal(decoder.decode(await readFile(fs.crashImage as MemFs, "/f")), "first");
  });

  it("stops a non-MemFs inner file system without an image", async () => {
    const fs = new FaultFs(new FaultFs(new MemFs()));
    const inner = fs.unwrap() as FaultFs;
    inner.crashAt(1);
    assert.equal((await failure(() => fs.mkdir("/x"))).name, "SimulatedCrash");
    assert.ok(inner.crashImage !== undefined);
    assert.equal(fs.crashImage, undefined);
  });
});

describe("after a failed data sync: isFailedDataSync and dropUnsyncedTail", () => {
  it("recognise the failed fdatasync and cut the file back to what was durable", async () => {
    const { file } = await setup([{ kind: "fsync-fail", ops: ["datasync"], after: 1, persistence: "once" }]);
    await file.write(Uint8Array.of(1, 2, 3, 4), 0);
    await file.datasync(); // the first datasync succeeds: 4 bytes durable
    const progress = { writtenOffset: 10, syncedOffset: 4 };
    await file.write(Uint8Array.of(5, 6, 7, 8, 9, 10), 4);
    const error = await file.datasync().then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(isFailedDataSync(error), `a failed datasync: ${String(error)}`);
    assert.equal(isFailedDataSync(new Error("other")), false);
    await dropUnsyncedTail(file, progress);
    assert.equal(await file.size(), 4, "the unsynced tail is gone");
    assert.equal(progress.writtenOffset, 4);
    await dropUnsyncedTail(file, progress); // nothing unsynced: a no-op
    assert.equal(await file.size(), 4);
  });
});
