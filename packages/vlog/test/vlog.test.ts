/**
 * The ValueLog API: append, read (sync, async, batched), scan, files, rolls, removeFile, close and
 * reopen, group commit, stats and argument checks.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeFs } from "@auradb/fs/node";
import { ErrorCode, type File, type FileSystem, type FsLock, type OpenOptions } from "@auradb/fs";
import { FaultFs, MemFs } from "@auradb/fs/testing";
import { type ValuePointer, ValueLog, vlogFileName } from "../src/index.ts";
import { ENTRY_HEADER_BYTES, HEADER_BYTES } from "../src/format.ts";
import { collect, DIR, equalBytes, fileContent, hasCode, keyOf, openLog, valueBytes, vlogNames } from "./helpers.ts";

const SIZES = [0, 1, 100, 4096 - ENTRY_HEADER_BYTES - 10, 4095, 4096, 4097, 65_536, 65_537, 300_000];

describe("append and read", () => {
  it("reads back every value byte-identical (readSync, read, readMany, readManySync), across reopen", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const pointers = await vlog.append(SIZES.map((size, index) => ({ key: keyOf(index), value: valueBytes(index, size), seq: index + 1 })));
    const check = async (log: typeof vlog) => {
      for (const [index, size] of SIZES.entries()) {
        assert.ok(equalBytes(log.readSync(pointers[index]!, keyOf(index)), valueBytes(index, size)), `readSync ${size}`);
        assert.ok(equalBytes(await log.read(pointers[index]!), valueBytes(index, size)), `read ${size}`);
      }
      const order = [...SIZES.keys()].reverse();
      const many = log.readManySync(order.map((index) => pointers[index]!), order.map((index) => keyOf(index)));
      const manyAsync = await log.readMany(order.map((index) => pointers[index]!));
      order.forEach((index, slot) => {
        assert.ok(equalBytes(many[slot]!, valueBytes(index, SIZES[index]!)), `readManySync ${index}`);
        assert.ok(equalBytes(manyAsync[slot]!, valueBytes(index, SIZES[index]!)), `readMany ${index}`);
      });
    };
    await check(vlog);
    await vlog.close();
    const reopened = await openLog(fs);
    assert.deepEqual(reopened.recovery, { truncated: [], removed: [], corrupted: [] });
    await check(reopened);
    await reopened.close();
    assert.equal(fs.openHandleCount(), 0, "close releases every file");
  });

  it("pointers are final at the call, in call order, across concurrent appends of any size", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const sizes = [10, 100_000, 5, 300_000, 0, 70_000];
    const appends = sizes.map((size, index) => vlog.append([{ key: keyOf(index), value: valueBytes(index, size), seq: index }, { key: keyOf(100 + index), value: valueBytes(100 + index, 7), seq: 100 + index }]));
    const results = await Promise.all(appends);
    let offset = HEADER_BYTES;
    for (const [index, [big, small]] of results.entries()) {
      assert.deepEqual([big!.offset, big!.size], [offset, ENTRY_HEADER_BYTES + keyOf(index).length + sizes[index]!]);
      offset += big!.size;
      assert.equal(small!.offset, offset);
      offset += small!.size;
      assert.ok(equalBytes(vlog.readSync(big!, keyOf(index)), valueBytes(index, sizes[index]!)));
      assert.ok(equalBytes(await vlog.read(small!, keyOf(100 + index)), valueBytes(100 + index, 7)));
    }
    assert.equal(vlog.files()[0]!.bytes, offset);
    await vlog.close();
  });

  it("returns views of fresh buffers the caller owns", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const pointers = await vlog.append([0, 1, 2].map((index) => ({ key: keyOf(index), value: valueBytes(index, 50), seq: index })));
    const [first, firstAgain] = vlog.readManySync([pointers[0]!, pointers[0]!]);
    first!.fill(0);
    assert.ok(equalBytes(firstAgain!, valueBytes(0, 50)), "the same entry asked twice does not alias");
    assert.ok(equalBytes(vlog.readSync(pointers[0]!), valueBytes(0, 50)), "nothing cached is changed");
    const key = keyOf(9);
    const value = valueBytes(9, 100);
    const [pointer] = await vlog.append([{ key, value, seq: 9 }]);
    key.fill(0);
    value.fill(0);
    assert.ok(equalBytes(vlog.readSync(pointer!, keyOf(9)), valueBytes(9, 100)), "append copied its inputs");
    await vlog.close();
  });

  it("readMany joins neighbours into one read and keeps the callers' order", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 64 * 1024 });
    const count = 60;
    const pointers = await vlog.append(Array.from({ length: count }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 3000), seq: index })));
    assert.ok(vlog.files().length >= 3, "spread over several files");
    const shuffled = Array.from({ length: count }, (_, index) => (index * 37) % count);
    const before = vlog.stats.readOps;
    const values = vlog.readManySync(shuffled.map((index) => pointers[index]!), shuffled.map((index) => keyOf(index)));
    shuffled.forEach((index, slot) => assert.ok(equalBytes(values[slot]!, valueBytes(index, 3000))));
    const reads = vlog.stats.readOps - before;
    assert.ok(reads <= vlog.files().length + 1, `${reads} reads for ${count} values in ${vlog.files().length} files`);
    // Far apart (a gap above 16 KiB): separate reads.
    const spread = [0, 10, 20].map((index) => pointers[index]!);
    const beforeSpread = vlog.stats.readOps;
    const spreadValues = await vlog.readMany(spread);
    assert.equal(vlog.stats.readOps - beforeSpread, 3);
    spreadValues.forEach((value, slot) => assert.ok(equalBytes(value, valueBytes(slot * 10, 3000))));
    assert.deepEqual(await vlog.readMany([]), []);
    assert.throws(() => vlog.readManySync([pointers[0]!], []), hasCode(ErrorCode.InvalidArgument));
    await vlog.close();
  });

  it("stats count bytes written, bytes read and reads", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const pointers = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 1000), seq: 0 }]);
    assert.equal(vlog.stats.bytesWritten, HEADER_BYTES + pointers[0]!.size);
    vlog.readSync(pointers[0]!);
    await vlog.read(pointers[0]!);
    assert.equal(vlog.stats.reads, 2);
    assert.equal(vlog.stats.bytesRead, 2 * pointers[0]!.size);
    await collect(vlog.scan(pointers[0]!.fileNumber));
    assert.equal(vlog.stats.bytesRead, 3 * pointers[0]!.size);
    await vlog.close();
  });
});

describe("reads never return a wrong value", () => {
  async function fixture(): Promise<{ fs: MemFs; pointers: ValuePointer[]; name: string }> {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const pointers = await vlog.append([0, 1, 2].map((index) => ({ key: keyOf(index), value: valueBytes(index, 20 + index), seq: index })));
    await vlog.close();
    return { fs, pointers, name: vlogFileName(pointers[0]!.fileNumber) };
  }

  it("a flipped bit anywhere in an entry is a CorruptionError naming the file and offset", async () => {
    const { fs, pointers, name } = await fixture();
    const clean = await fileContent(fs, name);
    const vlog = await openLog(fs, { recoveryScan: "newest" });
    for (const pointer of pointers) {
      for (let bit = 0; bit < pointer.size * 8; bit++) {
        const at = pointer.offset + (bit >>> 3);
        fs.tamper(`${DIR}/${name}`, (content) => {
          content[at]! ^= 1 << (bit & 7);
          return content;
        });
        for (const read of [() => vlog.readSync(pointer), () => vlog.readManySync(pointers)[0]]) {
          assert.throws(read, (error: unknown) => hasCode(ErrorCode.Corruption)(error) && (error as { path: string }).path === `${DIR}/${name}` && (error as { offset: number }).offset === pointer.offset, `bit ${bit}`);
        }
        await assert.rejects(vlog.read(pointer), hasCode(ErrorCode.Corruption));
        fs.tamper(`${DIR}/${name}`, () => clean.slice());
      }
    }
    await vlog.close();
  });

  it("a pointer with a wrong crc, size, offset or file is a CorruptionError; so is a key mismatch", async () => {
    const { fs, pointers } = await fixture();
    const vlog = await openLog(fs);
    const [other] = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 20), seq: 0 }]); // same entry, another file
    const pointer = pointers[0]!;
    assert.notEqual(other!.fileNumber, pointer.fileNumber);
    const wrong: [string, ValuePointer][] = [
      ["crc", { ...pointer, crc: pointer.crc ^ 1 }],
      ["size + 1", { ...pointer, size: pointer.size + 1 }],
      ["size - 1", { ...pointer, size: pointer.size - 1 }],
      ["offset + 1", { ...pointer, offset: pointer.offset + 1 }],
      ["offset of the next entry", { ...pointer, offset: pointers[1]!.offset }],
      ["offset in the header", { ...pointer, offset: 4 }],
      ["past the end", { ...pointer, offset: 10_000 }],
      ["another file with the same entry", { ...pointer, fileNumber: other!.fileNumber }],
      ["a missing file", { ...pointer, fileNumber: 999 }],
      ["file 0", { ...pointer, fileNumber: 0 }],
      ["a huge size", { ...pointer, size: 2 ** 40 }],
    ];
    for (const [what, bad] of wrong) {
      assert.throws(() => vlog.readSync(bad), hasCode(ErrorCode.Corruption), what);
      await assert.rejects(vlog.read(bad), hasCode(ErrorCode.Corruption), what);
      assert.throws(() => vlog.readManySync([pointers[1]!, bad]), hasCode(ErrorCode.Corruption), what);
    }
    assert.throws(() => vlog.readSync(pointer, keyOf(1)), hasCode(ErrorCode.Corruption, /key mismatch/));
    assert.throws(() => vlog.readSync(pointer, new Uint8Array(0)), hasCode(ErrorCode.Corruption, /key mismatch/));
    await assert.rejects(vlog.readMany([pointer], [keyOf(2)]), hasCode(ErrorCode.Corruption, /key mismatch/));
    assert.throws(() => vlog.readSync(null as never), hasCode(ErrorCode.InvalidArgument));
    await vlog.close();
  });
});

describe("scan", () => {
  it("yields a file's entries in order with their pointers, and throws at damage", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const sizes = [0, 5, 2_000_000, 30, 1_500_000, 7];
    const pointers = await vlog.append(sizes.map((size, index) => ({ key: keyOf(index), value: valueBytes(index, size), seq: 100 + index })));
    const entries = await collect(vlog.scan(pointers[0]!.fileNumber));
    assert.equal(entries.length, sizes.length);
    entries.forEach((entry, index) => {
      assert.deepEqual(entry.pointer, pointers[index]);
      assert.ok(equalBytes(entry.key, keyOf(index)));
      assert.ok(equalBytes(entry.value, valueBytes(index, sizes[index]!)));
      assert.equal(entry.seq, 100 + index);
    });
    await assert.rejects(collect(vlog.scan(12345)), hasCode(ErrorCode.NotFound));
    const name = vlogFileName(pointers[0]!.fileNumber);
    fs.tamper(`${DIR}/${name}`, (content) => {
      content[pointers[3]!.offset + 25]! ^= 0x40;
      return content;
    });
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const entry of vlog.scan(pointers[0]!.fileNumber)) seen.push(entry.seq);
      })(),
      (error: unknown) => hasCode(ErrorCode.Corruption)(error) && (error as { offset: number }).offset === pointers[3]!.offset,
    );
    assert.deepEqual(seen, [100, 101, 102], "the entries before the damage");
    await vlog.close();
  });
});

describe("files, rolls and partitions", () => {
  it("rolls at fileBytes, keeps the partitions apart, and reports the files", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 4096 });
    assert.deepEqual(vlog.files(), []);
    const fresh = await vlog.append(Array.from({ length: 30 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 500), seq: index })));
    const gc = await vlog.append(Array.from({ length: 10 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 500), seq: index })), { partition: "gc" });
    const huge = await vlog.append([{ key: keyOf(99), value: valueBytes(99, 10_000), seq: 99 }]);
    const files = vlog.files();
    const freshFiles = files.filter((file) => file.partition === "fresh");
    const gcFiles = files.filter((file) => file.partition === "gc");
    assert.ok(freshFiles.length >= 4 && gcFiles.length >= 2, JSON.stringify(files));
    for (const file of files) {
      if (file.fileNumber !== huge[0]!.fileNumber) assert.ok(file.bytes <= 4096, `file ${file.fileNumber} holds ${file.bytes} bytes`);
    }
    assert.equal(vlog.files().find((file) => file.fileNumber === huge[0]!.fileNumber)!.bytes, HEADER_BYTES + huge[0]!.size, "a larger entry makes a file of its own");
    assert.deepEqual(files.filter((file) => file.active).map((file) => file.partition).sort(), ["fresh", "gc"]);
    assert.ok(gc.every((pointer) => !fresh.some((other) => other.fileNumber === pointer.fileNumber)), "no file mixes partitions");
    assert.deepEqual(files.map((file) => file.fileNumber), [...files.map((file) => file.fileNumber)].sort((a, b) => a - b));
    for (const [index, pointer] of fresh.entries()) assert.ok(equalBytes(vlog.readSync(pointer, keyOf(index)), valueBytes(index, 500)));
    for (const [index, pointer] of gc.entries()) assert.ok(equalBytes(vlog.readSync(pointer, keyOf(index)), valueBytes(index, 500)));
    await vlog.close();
    const reopened = await openLog(fs, { fileBytes: 4096 });
    assert.deepEqual(reopened.files().map((file) => ({ ...file, active: false })), files.map((file) => ({ ...file, active: false })));
    assert.ok(reopened.files().every((file) => !file.active), "nothing is active until the first append");
    await reopened.close();
  });

  it("a sealed file is synced before anything is written to the next one", async () => {
    const log: string[] = [];
    const fs = new LoggingFs(new MemFs(), log);
    const vlog = await openLog(fs, { fileBytes: 2048 });
    for (let round = 0; round < 6; round++) {
      await Promise.all([0, 1, 2].map((slot) => vlog.append([{ key: keyOf(slot), value: valueBytes(round * 3 + slot, 400), seq: slot }])));
    }
    await vlog.close();
    const names = (await vlogNames(fs)).sort();
    assert.ok(names.length >= 3);
    for (let index = 1; index < names.length; index++) {
      const previousSync = log.lastIndexOf(`datasync ${names[index - 1]}`);
      const previousWrite = log.lastIndexOf(`write ${names[index - 1]}`);
      const firstWrite = log.indexOf(`write ${names[index]}`);
      assert.ok(previousWrite < previousSync && previousSync < firstWrite, `${names[index - 1]} synced after its last write and before ${names[index]} is written`);
      assert.ok(log.indexOf(`syncDir`, log.indexOf(`open ${names[index]}`)) < log.indexOf(`write ${names[index]}`, firstWrite + 1), "the directory entry is durable before the first entry");
    }
  });

  it("open never appends to an existing file: each partition starts a new one", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const [first] = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 10), seq: 0 }]);
    await vlog.close();
    const sizeBefore = (await fs.stat(`${DIR}/${vlogFileName(first!.fileNumber)}`)).size;
    const reopened = await openLog(fs);
    const [second] = await reopened.append([{ key: keyOf(1), value: valueBytes(1, 10), seq: 1 }]);
    assert.equal(second!.fileNumber, first!.fileNumber + 1, "default numbers: 1 + the largest found");
    assert.equal(second!.offset, HEADER_BYTES);
    assert.equal((await fs.stat(`${DIR}/${vlogFileName(first!.fileNumber)}`)).size, sizeBefore);
    await reopened.close();
  });

  it("uses the owner's file-number allocator, and refuses a number in use", async () => {
    const fs = new MemFs();
    let next = 40;
    const vlog = await openLog(fs, { newFileNumber: () => (next += 2) });
    const [a] = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 10), seq: 0 }]);
    const [b] = await vlog.append([{ key: keyOf(1), value: valueBytes(1, 10), seq: 1 }], { partition: "gc" });
    assert.deepEqual([a!.fileNumber, b!.fileNumber], [42, 44]);
    assert.deepEqual(await vlogNames(fs), ["000042.vlog", "000044.vlog"]);
    await vlog.close();
    const clash = await openLog(fs, { newFileNumber: () => 42 });
    await assert.rejects(clash.append([{ key: keyOf(2), value: valueBytes(2, 10), seq: 2 }]), hasCode(ErrorCode.InvalidArgument, /in use/));
    await clash.close();
    const broken = await openLog(fs, { newFileNumber: () => -1 });
    await assert.rejects(broken.append([{ key: keyOf(2), value: valueBytes(2, 10), seq: 2 }]), hasCode(ErrorCode.InvalidArgument));
    await broken.close();
  });
});

describe("removeFile", () => {
  it("deletes a non-active file durably; refuses the active one and unknown ones", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 1024 });
    const pointers = await vlog.append(Array.from({ length: 6 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 400), seq: index })), { sync: true });
    const oldest = pointers[0]!.fileNumber;
    const active = vlog.files().find((file) => file.active)!.fileNumber;
    await assert.rejects(vlog.removeFile(active), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(vlog.removeFile(777), hasCode(ErrorCode.NotFound));
    await vlog.removeFile(oldest);
    assert.ok(!vlog.files().some((file) => file.fileNumber === oldest));
    assert.throws(() => vlog.readSync(pointers[0]!), hasCode(ErrorCode.Corruption, /does not exist/));
    assert.ok(equalBytes(vlog.readSync(pointers[5]!), valueBytes(5, 400)));
    await assert.rejects(vlog.removeFile(oldest), hasCode(ErrorCode.NotFound));
    // Durable: a power cut right after keeps it deleted.
    const image = fs.crash({ mode: "synced-only" });
    assert.ok(!(await vlogNames(image)).includes(vlogFileName(oldest)));
    const reopened = await openLog(image);
    assert.ok(equalBytes(reopened.readSync(pointers[5]!), valueBytes(5, 400)));
    await reopened.close();
  });

  it("a file sealed a moment ago is written and synced before it is removed", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 1024 });
    const first = vlog.append([{ key: keyOf(0), value: valueBytes(0, 900), seq: 0 }]);
    const second = vlog.append([{ key: keyOf(1), value: valueBytes(1, 900), seq: 1 }]); // seals the first file
    const [sealed] = await first;
    await vlog.removeFile(sealed!.fileNumber);
    await second;
    assert.deepEqual(await vlogNames(fs), [vlogFileName(sealed!.fileNumber + 1)]);
    await vlog.close();
  });
});

describe("group commit and durability", () => {
  it("concurrent appends share one write and one fdatasync", async () => {
    const fault = new FaultFs(new MemFs());
    const vlog = await openLog(fault);
    await vlog.append([{ key: keyOf(0), value: valueBytes(0, 10), seq: 0 }], { sync: true }); // creates the file
    const syncs = fault.opCount("datasync");
    const writes = fault.opCount("write");
    const results = await Promise.all(Array.from({ length: 64 }, (_, index) => vlog.append([{ key: keyOf(index), value: valueBytes(index, 200), seq: index }], { sync: true })));
    assert.equal(fault.opCount("datasync") - syncs, 1, "one fdatasync for 64 synced appends");
    assert.equal(fault.opCount("write") - writes, 1, "one write");
    const offsets = results.map(([pointer]) => pointer!.offset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), "pointers in call order");
    // Appends made while a group is in flight form the next group: few syncs, not one each.
    const before = fault.opCount("datasync");
    const waves: Promise<unknown>[] = [];
    for (let wave = 0; wave < 5; wave++) {
      waves.push(...Array.from({ length: 20 }, (_, index) => vlog.append([{ key: keyOf(index), value: valueBytes(index, 100_000), seq: index }], { sync: true })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waves);
    assert.ok(fault.opCount("datasync") - before <= 6, `${fault.opCount("datasync") - before} datasyncs for 100 appends`);
    await vlog.close();
  });

  it("an acknowledged append survives a process crash; a synced one (and all before it) a power cut", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 8192 });
    const plain = await vlog.append(Array.from({ length: 20 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 700), seq: index })));
    const processImage = fs.crash({ mode: "process" });
    const afterKill = await openLog(processImage);
    for (const [index, pointer] of plain.entries()) assert.ok(equalBytes(afterKill.readSync(pointer, keyOf(index)), valueBytes(index, 700)));
    await afterKill.close();

    const fs2 = new MemFs();
    const vlog2 = await openLog(fs2, { fileBytes: 8192 });
    const unsynced = await vlog2.append(Array.from({ length: 20 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 700), seq: index })));
    const [synced] = await vlog2.append([{ key: keyOf(20), value: valueBytes(20, 700), seq: 20 }], { sync: true });
    const later = await vlog2.append([{ key: keyOf(21), value: valueBytes(21, 700), seq: 21 }]);
    const powerCut = fs2.crash({ mode: "synced-only" });
    const afterCut = await openLog(powerCut);
    for (const [index, pointer] of [...unsynced, synced!].entries()) assert.ok(equalBytes(afterCut.readSync(pointer, keyOf(index)), valueBytes(index, 700)), `entry ${index}`);
    assert.throws(() => afterCut.readSync(later[0]!), hasCode(ErrorCode.Corruption));
    await afterCut.close();
    await vlog.close().catch(() => {});
    await vlog2.close().catch(() => {});
  });

  it("sync() makes every earlier append durable", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 4096 });
    const fresh = await vlog.append(Array.from({ length: 10 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 900), seq: index })));
    const gc = await vlog.append([{ key: keyOf(50), value: valueBytes(50, 900), seq: 50 }], { partition: "gc" });
    await vlog.sync();
    const image = fs.crash({ mode: "synced-only" });
    const reopened = await openLog(image);
    for (const [index, pointer] of fresh.entries()) assert.ok(equalBytes(reopened.readSync(pointer), valueBytes(index, 900)));
    assert.ok(equalBytes(reopened.readSync(gc[0]!), valueBytes(50, 900)));
    await reopened.close();
    await vlog.close().catch(() => {});
  });
});

describe("on the node:fs adapter", () => {
  it("appends, rolls, reads (sync, async, batched), scans, removes and reopens in a real directory", async () => {
    const root = mkdtempSync(join(tmpdir(), "auradb-vlog-"));
    try {
      const dir = join(root, "vlog");
      const vlog = await ValueLog.open({ dir, fileBytes: 64 * 1024 });
      const sizes = [0, 10, 4096, 70_000, 100, 30_000, 5];
      const pointers = await vlog.append(sizes.map((size, index) => ({ key: keyOf(index), value: valueBytes(index, size), seq: index })), { sync: true });
      const gc = await vlog.append([{ key: keyOf(99), value: valueBytes(99, 1000), seq: 99 }], { partition: "gc" });
      for (const [index, pointer] of pointers.entries()) {
        assert.ok(equalBytes(vlog.readSync(pointer, keyOf(index)), valueBytes(index, sizes[index]!)));
        assert.ok(equalBytes(await vlog.read(pointer, keyOf(index)), valueBytes(index, sizes[index]!)));
      }
      const many = await vlog.readMany([...pointers, ...gc]);
      assert.ok(equalBytes(many[3]!, valueBytes(3, 70_000)) && equalBytes(many[7]!, valueBytes(99, 1000)));
      assert.equal((await collect(vlog.scan(pointers[0]!.fileNumber))).length, pointers.filter((pointer) => pointer.fileNumber === pointers[0]!.fileNumber).length);
      await vlog.removeFile(pointers[0]!.fileNumber);
      await vlog.close();
      const reopened = await ValueLog.open({ dir, fs: nodeFs() });
      assert.deepEqual(reopened.recovery, { truncated: [], removed: [], corrupted: [] });
      assert.ok(equalBytes(reopened.readSync(pointers[6]!, keyOf(6)), valueBytes(6, 5)));
      assert.ok(equalBytes(reopened.readSync(gc[0]!, keyOf(99)), valueBytes(99, 1000)));
      assert.throws(() => reopened.readSync(pointers[0]!), hasCode(ErrorCode.Corruption));
      await reopened.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("arguments and lifecycle", () => {
  it("refuses bad options and bad entries without appending anything", async () => {
    const fs = new MemFs();
    for (const options of [{ dir: "" }, { dir: DIR, fileBytes: 100 }, { dir: DIR, keyBytesMax: -1 }, { dir: DIR, valueBytesMax: 2 ** 29 }, { dir: DIR, recoveryScan: "some" }, { dir: DIR, newFileNumber: 3 }]) {
      await assert.rejects(openLog(fs, options as never), hasCode(ErrorCode.InvalidArgument), JSON.stringify(options));
    }
    const vlog = await openLog(fs, { keyBytesMax: 8, valueBytesMax: 100 });
    const bad = [
      [{ key: new Uint8Array(9), value: new Uint8Array(1), seq: 1 }],
      [{ key: new Uint8Array(1), value: new Uint8Array(101), seq: 1 }],
      [{ key: "k", value: new Uint8Array(1), seq: 1 }],
      [{ key: new Uint8Array(1), value: new Uint8Array(1), seq: -1 }],
      [{ key: new Uint8Array(1), value: new Uint8Array(1), seq: 1.5 }],
      [{ key: new Uint8Array(1), value: new Uint8Array(1), seq: 1 }, null],
      "not an array",
    ];
    for (const entries of bad) await assert.rejects(vlog.append(entries as never), hasCode(ErrorCode.InvalidArgument), JSON.stringify(entries));
    await assert.rejects(vlog.append([], { partition: "other" as never }), hasCode(ErrorCode.InvalidArgument));
    assert.deepEqual(await vlog.append([]), []);
    assert.deepEqual(vlog.files(), [], "nothing was appended");
    await vlog.close();
  });

  it("after close: appends, reads and scans reject with ClosedError; a second close is a no-op", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs);
    const [pointer] = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 10), seq: 0 }]);
    const pending = vlog.append([{ key: keyOf(1), value: valueBytes(1, 10), seq: 1 }]);
    await vlog.close();
    assert.equal((await pending).length, 1, "an append made before close completes");
    await vlog.close();
    await assert.rejects(vlog.append([{ key: keyOf(2), value: valueBytes(2, 10), seq: 2 }]), hasCode(ErrorCode.Closed));
    await assert.rejects(vlog.sync(), hasCode(ErrorCode.Closed));
    assert.throws(() => vlog.readSync(pointer!), hasCode(ErrorCode.Closed));
    await assert.rejects(vlog.read(pointer!), hasCode(ErrorCode.Closed));
    assert.throws(() => vlog.readManySync([pointer!]), hasCode(ErrorCode.Closed));
    await assert.rejects(collect(vlog.scan(pointer!.fileNumber)), hasCode(ErrorCode.Closed));
    await assert.rejects(vlog.removeFile(pointer!.fileNumber), hasCode(ErrorCode.Closed));
  });
});

/** A file system that logs `op name` for opens, writes, datasyncs and directory syncs. */
class LoggingFs implements FileSystem {
  readonly name = "logging";
  readonly supports: FileSystem["supports"];
  private readonly inner: FileSystem;
  private readonly log: string[];
  constructor(inner: FileSystem, log: string[]) {
    this.inner = inner;
    this.log = log;
    this.supports = inner.supports;
  }
  async open(path: string, options?: OpenOptions): Promise<File> {
    const file = await this.inner.open(path, options);
    const name = path.slice(path.lastIndexOf("/") + 1);
    this.log.push(`open ${name}`);
    const log = this.log;
    return {
      path: file.path,
      read: (buffer, position) => file.read(buffer, position),
      readSync: (buffer, position) => file.readSync(buffer, position),
      write: (data, position) => (log.push(`write ${name}`), file.write(data, position)),
      writeSync: (data, position) => (log.push(`write ${name}`), file.writeSync(data, position)),
      sync: () => (log.push(`datasync ${name}`), file.sync()),
      datasync: () => (log.push(`datasync ${name}`), file.datasync()),
      truncate: (size) => file.truncate(size),
      size: () => file.size(),
      close: () => file.close(),
    };
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.inner.remove(path, options);
  }
  stat(path: string) {
    return this.inner.stat(path);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  syncDir(dir: string): Promise<void> {
    this.log.push("syncDir");
    return this.inner.syncDir(dir);
  }
  lock(path: string): Promise<FsLock> {
    return this.inner.lock(path);
  }
}
