/**
 * What `ValueLog.open` does with what it finds, one named test per outcome (docs/format/vlog.md,
 * "Recovery"): torn-header remnants, damaged and newer headers, torn tails cut at every byte,
 * damage in older files kept and reported.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crc32c, ErrorCode, maskCrc } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { vlogFileName } from "../src/index.ts";
import type { ValuePointer } from "../src/index.ts";
import { encodeFileHeader, HEADER_BYTES, HEADER_CRC_OFFSET, writeU32 } from "../src/format.ts";
import { collect, DIR, equalBytes, fileContent, hasCode, keyOf, openLog, putFile, valueBytes, vlogNames } from "./helpers.ts";

/** A log with one closed file (number 1) of `count` entries; returns the pointers and the bytes. */
async function oneFile(count: number, size = 40): Promise<{ fs: MemFs; pointers: ValuePointer[]; bytes: Uint8Array }> {
  const fs = new MemFs();
  const vlog = await openLog(fs);
  const pointers = await vlog.append(Array.from({ length: count }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, size + index), seq: index })));
  await vlog.close();
  return { fs, pointers, bytes: await fileContent(fs, vlogFileName(1)) };
}

describe("torn and damaged headers", () => {
  it("a file of fewer than 32 bytes, or of 32 bytes with a bad magic or checksum, is a remnant: removed", async () => {
    const { fs, pointers } = await oneFile(3);
    const header = encodeFileHeader({ fileNumber: 5, partition: "fresh" });
    const badCrc = header.slice();
    badCrc[HEADER_CRC_OFFSET]! ^= 1;
    const remnants: [number, Uint8Array][] = [
      [2, new Uint8Array(0)],
      [3, header.subarray(0, 10)],
      [4, header.subarray(0, 31)],
      [5, badCrc],
      [6, new Uint8Array(32)],
      [7, new Uint8Array(32).fill(0xa5)],
    ];
    for (const [number, bytes] of remnants) await putFile(fs, vlogFileName(number), bytes);
    const vlog = await openLog(fs);
    assert.deepEqual(vlog.recovery.removed, [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(vlog.recovery.truncated, []);
    assert.deepEqual(await vlogNames(fs), [vlogFileName(1)]);
    assert.ok(equalBytes(vlog.readSync(pointers[2]!, keyOf(2)), valueBytes(2, 42)));
    // Numbers of removed remnants are not reused by the default allocator.
    const [next] = await vlog.append([{ key: keyOf(9), value: valueBytes(9, 1), seq: 9 }]);
    assert.equal(next!.fileNumber, 8);
    await vlog.close();
    // The removal is durable.
    const image = fs.crash({ mode: "synced-only" });
    assert.ok(!(await vlogNames(image)).includes(vlogFileName(2)));
  });

  it("a bad header in a file that holds more than a header is a CorruptionError", async () => {
    const { fs, bytes } = await oneFile(2);
    const damaged = bytes.slice();
    damaged[3]! ^= 0x10;
    fs.tamper(`${DIR}/${vlogFileName(1)}`, () => damaged);
    await assert.rejects(openLog(fs), (error: unknown) => hasCode(ErrorCode.Corruption, /bad magic/)(error) && (error as { path: string }).path === `${DIR}/000001.vlog`);
    assert.equal(fs.openHandleCount(), 0, "a failed open leaks no file");
  });

  it("a header naming another file number is a CorruptionError", async () => {
    const { fs, bytes } = await oneFile(1);
    await putFile(fs, vlogFileName(9), bytes);
    await assert.rejects(openLog(fs), hasCode(ErrorCode.Corruption, /holds file 1/));
  });

  it("a file written in a newer format version is refused (NotSupportedError), with or without entries", async () => {
    for (const withEntries of [false, true]) {
      const { fs, bytes } = await oneFile(2);
      const newer = withEntries ? bytes.slice() : bytes.slice(0, HEADER_BYTES);
      newer[8] = 2;
      writeU32(newer, HEADER_CRC_OFFSET, maskCrc(crc32c(newer.subarray(0, HEADER_CRC_OFFSET))));
      fs.tamper(`${DIR}/${vlogFileName(1)}`, () => newer);
      await assert.rejects(openLog(fs), hasCode(ErrorCode.NotSupported, /newer format \(version 2; this code reads up to 1\)/));
      assert.deepEqual(await vlogNames(fs), [vlogFileName(1)], "the file is left alone");
    }
  });
});

describe("torn tails", () => {
  it("a file cut at any byte is truncated to its last whole entry, durably; earlier values read back", async () => {
    const { bytes, pointers } = await oneFile(6, 30);
    const ends = pointers.map((pointer) => pointer.offset + pointer.size);
    for (let cut = HEADER_BYTES; cut <= bytes.length; cut++) {
      const fs = new MemFs();
      await putFile(fs, vlogFileName(1), bytes.subarray(0, cut));
      const vlog = await openLog(fs);
      const validBytes = Math.max(HEADER_BYTES, ...ends.filter((end) => end <= cut));
      if (validBytes === cut) assert.deepEqual(vlog.recovery.truncated, [], `cut ${cut}`);
      else assert.deepEqual(vlog.recovery.truncated, [{ fileNumber: 1, validBytes, fileBytes: cut }], `cut ${cut}`);
      for (const [index, pointer] of pointers.entries()) {
        if (pointer.offset + pointer.size <= validBytes) assert.ok(equalBytes(vlog.readSync(pointer, keyOf(index)), valueBytes(index, 30 + index)));
        else assert.throws(() => vlog.readSync(pointer), hasCode(ErrorCode.Corruption), `cut ${cut}, entry ${index}`);
      }
      assert.equal((await collect(vlog.scan(1))).length, ends.filter((end) => end <= cut).length);
      // The cut is durable before open resolves: a power cut now keeps it.
      const image = fs.crash({ mode: "synced-only" });
      assert.equal((await image.stat(`${DIR}/${vlogFileName(1)}`)).size, validBytes);
    }
  });

  it("garbage or zeros after the last entry are cut", async () => {
    for (const tail of [new Uint8Array(100), new Uint8Array(100).fill(0x5a), valueBytes(7, 5000)]) {
      const { bytes, pointers } = await oneFile(3);
      const fs = new MemFs();
      await putFile(fs, vlogFileName(1), Uint8Array.from([...bytes, ...tail]));
      const vlog = await openLog(fs);
      assert.deepEqual(vlog.recovery.truncated, [{ fileNumber: 1, validBytes: bytes.length, fileBytes: bytes.length + tail.length }]);
      assert.ok(equalBytes(vlog.readSync(pointers[2]!, keyOf(2)), valueBytes(2, 42)));
      await vlog.close();
    }
  });

  it("damage in the newest file cuts everything after it (it cannot be told from a torn tail)", async () => {
    const { fs, bytes, pointers } = await oneFile(5);
    const damaged = bytes.slice();
    damaged[pointers[2]!.offset + 30]! ^= 0x01;
    fs.tamper(`${DIR}/${vlogFileName(1)}`, () => damaged);
    const vlog = await openLog(fs);
    assert.deepEqual(vlog.recovery.truncated, [{ fileNumber: 1, validBytes: pointers[2]!.offset, fileBytes: bytes.length }]);
    assert.throws(() => vlog.readSync(pointers[3]!), hasCode(ErrorCode.Corruption));
    await vlog.close();
  });
});

describe("what open makes durable", () => {
  it("a newest file kept whole is synced: entries a killed process left in the page cache survive a later power cut", async () => {
    const { bytes, pointers } = await oneFile(4);
    const fs = new MemFs();
    await putFile(fs, vlogFileName(1), bytes.subarray(0, HEADER_BYTES));
    // The entries reached the page cache only (a process crash before any fdatasync).
    const file = await fs.open(`${DIR}/${vlogFileName(1)}`);
    await file.write(bytes.subarray(HEADER_BYTES), HEADER_BYTES);
    await file.close();
    const vlog = await openLog(fs);
    assert.deepEqual(vlog.recovery.truncated, []);
    const image = fs.crash({ mode: "synced-only" });
    const reopened = await openLog(image);
    for (const [index, pointer] of pointers.entries()) assert.ok(equalBytes(reopened.readSync(pointer, keyOf(index)), valueBytes(index, 40 + index)));
    await reopened.close();
  });
});

describe("older files", () => {
  /** Three fresh files and one gc file; returns the pointers of each. */
  async function fourFiles(): Promise<{ fs: MemFs; fresh: ValuePointer[]; gc: ValuePointer[] }> {
    const fs = new MemFs();
    const vlog = await openLog(fs, { fileBytes: 1024 });
    const fresh = await vlog.append(Array.from({ length: 6 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 400), seq: index })));
    const gc = await vlog.append([{ key: keyOf(50), value: valueBytes(50, 400), seq: 50 }], { partition: "gc" });
    await vlog.close();
    assert.deepEqual(await vlogNames(fs), ["000001.vlog", "000002.vlog", "000003.vlog", "000004.vlog"]);
    return { fs, fresh, gc };
  }

  it("damage in a file that is not the newest of its partition is reported, not cut", async () => {
    const { fs, fresh, gc } = await fourFiles();
    const damaged = fresh[1]!; // the second entry of file 1
    assert.equal(damaged.fileNumber, 1);
    const before = await fileContent(fs, vlogFileName(1));
    fs.tamper(`${DIR}/${vlogFileName(1)}`, (content) => {
      content[damaged.offset + 40]! ^= 0x08;
      return content;
    });
    const vlog = await openLog(fs);
    assert.deepEqual(vlog.recovery.truncated, []);
    assert.deepEqual(vlog.recovery.corrupted, [{ fileNumber: 1, offset: damaged.offset, reason: "checksum mismatch" }]);
    assert.equal((await fileContent(fs, vlogFileName(1))).length, before.length, "the file keeps its bytes");
    assert.ok(equalBytes(vlog.readSync(fresh[0]!, keyOf(0)), valueBytes(0, 400)));
    assert.throws(() => vlog.readSync(damaged), hasCode(ErrorCode.Corruption));
    assert.ok(equalBytes(vlog.readSync(gc[0]!, keyOf(50)), valueBytes(50, 400)));
    await assert.rejects(collect(vlog.scan(1)), hasCode(ErrorCode.Corruption));
    await vlog.close();
  });

  it("recoveryScan 'newest' reads only the newest file of each partition", async () => {
    const { fs, fresh } = await fourFiles();
    fs.tamper(`${DIR}/${vlogFileName(1)}`, (content) => {
      content[fresh[0]!.offset + 30]! ^= 0x08;
      return content;
    });
    fs.tamper(`${DIR}/${vlogFileName(3)}`, (content) => Uint8Array.from([...content, 1, 2, 3]));
    const vlog = await openLog(fs, { recoveryScan: "newest" });
    assert.deepEqual(vlog.recovery.corrupted, [], "file 1 was not scanned");
    assert.deepEqual(vlog.recovery.truncated.map((entry) => entry.fileNumber), [3]);
    assert.throws(() => vlog.readSync(fresh[0]!), hasCode(ErrorCode.Corruption), "the damage is still found by the read");
    await vlog.close();
  });
});
