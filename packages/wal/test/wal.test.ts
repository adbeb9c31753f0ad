import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode, readFile } from "@auradb/fs";
import { FaultFs, MemFs } from "@auradb/fs/testing";
import { describeSegment, Wal } from "../src/index.ts";
import { CHUNK_HEADER_BYTES, DEFAULT_BLOCK_BYTES, SEGMENT_HEADER_BYTES } from "../src/format.ts";
import { collect, DIR, equalBytes, openWal, recordBytes, replayAll } from "./helpers.ts";

const encoder = new TextEncoder();

async function newFs(): Promise<MemFs> {
  const fs = new MemFs();
  return fs;
}

function hasCode(code: string) {
  return (error: unknown) => AuraError.isInstance(error) && error.code === code;
}

describe("Wal basics", () => {
  it("numbers records from 1 and replays them byte-identical", async () => {
    const fs = await newFs();
    const wal = await openWal(fs);
    assert.equal(await wal.append(encoder.encode("a")), 1);
    assert.equal(await wal.append(encoder.encode("bb")), 2);
    assert.deepEqual(await wal.appendBatch([encoder.encode("c"), new Uint8Array(0)]), { firstLsn: 3, lastLsn: 4 });
    const records = await collect(wal.replay());
    assert.deepEqual(records.map((record) => record.lsn), [1, 2, 3, 4]);
    assert.deepEqual(records.map((record) => new TextDecoder().decode(record.data)), ["a", "bb", "c", ""]);
    await wal.close();
  });

  it("round-trips records around every block-edge size, across reopen", async () => {
    const fs = await newFs();
    const edge = DEFAULT_BLOCK_BYTES - CHUNK_HEADER_BYTES;
    const sizes = [0, 1, 100, edge - 2, edge - 1, edge, edge + 1, DEFAULT_BLOCK_BYTES, 3 * DEFAULT_BLOCK_BYTES + 7, 200_000];
    const wal = await openWal(fs, { sync: "none" });
    for (const [index, size] of sizes.entries()) await wal.append(recordBytes(index, size));
    await wal.close();
    const reopened = await openWal(fs);
    const records = await collect(reopened.replay());
    assert.equal(records.length, sizes.length);
    for (const [index, size] of sizes.entries()) {
      assert.equal(records[index]!.lsn, index + 1);
      assert.ok(equalBytes(records[index]!.data, recordBytes(index, size)), `record ${index} (${size} B)`);
    }
    assert.equal(await reopened.append(encoder.encode("next")), sizes.length + 1);
    await reopened.close();
  });

  it("replay({ from }) starts at that LSN, across segments", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { segmentBytes: 4096, sync: "none" });
    for (let index = 0; index < 200; index++) await wal.append(recordBytes(index, 100));
    assert.ok(wal.segmentCount > 3, `segments: ${wal.segmentCount}`);
    const tailRecords = await collect(wal.replay({ from: 150 }));
    assert.deepEqual(tailRecords.map((record) => record.lsn), Array.from({ length: 51 }, (_, index) => 150 + index));
    await wal.close();
  });

  it("rolls segments at segmentBytes and removeBefore drops only whole old segments", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { segmentBytes: 2048, sync: "none" });
    for (let index = 0; index < 100; index++) await wal.append(recordBytes(index, 200));
    const before = wal.segmentCount;
    assert.ok(before >= 10);
    const removed = await wal.removeBefore(50);
    assert.ok(removed > 0);
    assert.equal(wal.segmentCount, before - removed);
    const records = await collect(wal.replay());
    assert.ok(records[0]!.lsn <= 50, "no record at or above the bound was removed");
    assert.equal(records[records.length - 1]!.lsn, 100);
    await wal.removeBefore(1_000_000);
    assert.equal(wal.segmentCount, 1, "the segment being written is never removed");
    await wal.close();
    const reopened = await replayAll(fs);
    assert.equal(reopened.records[reopened.records.length - 1]!.lsn, 100);
  });

  it("a crash anywhere inside removeBefore leaves the newer segments contiguous (recovery never finds a gap)", async () => {
    // Two removals under one directory sync could survive in either order: an older segment kept
    // before a newer one removed is a gap, and recovery refuses it as a missing segment.
    let crashes = 0;
    for (let seed = 1; seed <= 4; seed++) {
      for (let call = 1; ; call++) {
        const base = await newFs();
        const fs = new FaultFs(base);
        const wal = await openWal(fs, { segmentBytes: 2048, sync: "none" });
        for (let index = 0; index < 60; index++) await wal.append(recordBytes(index, 200));
        await wal.sync();
        fs.crashAt(fs.callCount + call, { mode: "subset", seed });
        const finished = await wal.removeBefore(45).then(
          () => true,
          () => false,
        );
        // NB: finished before the armed call: the crash would fire in a later call (a close), so
        // the WAL is left as it is; every crash point inside removeBefore has been tried.
        if (finished) break;
        crashes++;
        const image = fs.crashImage!;
        const ids = (await image.list(DIR)).filter((name) => name.endsWith(".wal")).map((name) => Number.parseInt(name, 10)).sort((a, b) => a - b);
        for (let index = 1; index < ids.length; index++) assert.equal(ids[index], ids[index - 1]! + 1, `seed ${seed}, crash at call ${call}: segments ${ids.join(",")}`);
        const { records } = await replayAll(image);
        assert.equal(records[records.length - 1]!.lsn, 60, `seed ${seed}, crash at call ${call}: every synced record is still there`);
      }
    }
    assert.ok(crashes >= 8, `crashes inside removeBefore: ${crashes}`);
  });

  it("roll seals the segment at the call, so removeBefore drops a checkpointed prefix at once", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { sync: "none" });
    for (let index = 0; index < 10; index++) await wal.append(recordBytes(index, 100));
    assert.equal(wal.segmentCount, 1);
    const pending = wal.append(recordBytes(10, 100)); // encoded before the roll: stays in the old segment
    const rolled = wal.roll();
    const after = wal.append(recordBytes(11, 100));
    assert.equal(await pending, 11);
    assert.equal(await rolled, 12, "the new segment starts at the first record appended after the call");
    assert.equal(await after, 12);
    assert.equal(wal.segmentCount, 2);
    assert.equal(await wal.roll(), 13);
    assert.equal(await wal.roll(), 13, "rolling an empty segment is a no-op");
    assert.equal(wal.segmentCount, 3);
    assert.equal(await wal.removeBefore(12), 1, "the segment of records 1..11 goes");
    assert.equal(await wal.removeBefore(13), 1, "the segment of record 12 goes; the empty active one stays");
    await wal.append(recordBytes(12, 100));
    await wal.close();
    const reopened = await replayAll(fs);
    assert.deepEqual(reopened.records.map((record) => record.lsn), [13]);
    assert.deepEqual(reopened.records[0]!.data, recordBytes(12, 100));
  });

  it("appends made in one tick share one group commit (one datasync)", async () => {
    const fs = await newFs();
    const fault = new FaultFs(fs);
    const wal = await openWal(fault, { sync: "always" });
    const before = fault.opCount("datasync");
    const lsns = await Promise.all(Array.from({ length: 64 }, (_, index) => wal.append(recordBytes(index, 50))));
    assert.deepEqual(lsns, Array.from({ length: 64 }, (_, index) => index + 1));
    assert.equal(fault.opCount("datasync") - before, 1);
    await wal.close();
  });

  it("sync() makes 'none' appends durable: they survive a power cut", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { sync: "none" });
    for (let index = 0; index < 10; index++) await wal.append(recordBytes(index, 300));
    await wal.sync();
    const image = fs.crash({ mode: "synced-only", seed: 1 });
    const { records } = await replayAll(image);
    assert.equal(records.length, 10);
  });

  it("a second open of the same directory fails with LockedError", async () => {
    const fs = await newFs();
    const wal = await openWal(fs);
    await assert.rejects(openWal(fs), hasCode(ErrorCode.Locked));
    await wal.close();
    const again = await openWal(fs);
    await again.close();
  });

  it("rejects bad input with typed errors and stays usable", async () => {
    const fs = await newFs();
    await assert.rejects(Wal.open({ dir: "", fs }), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(Wal.open({ dir: DIR, fs, segmentBytes: 5 }), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(Wal.open({ dir: DIR, fs, blockBytes: 1000 }), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(Wal.open({ dir: DIR, fs, sync: { intervalMs: -1 } }), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(Wal.open({ dir: DIR, fs, recovery: "yolo" as never }), hasCode(ErrorCode.InvalidArgument));
    const wal = await openWal(fs, { recordBytesMax: 1000 });
    await assert.rejects(wal.append("text" as never), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(wal.append(new Uint8Array(1001)), hasCode(ErrorCode.InvalidArgument));
    await assert.rejects(wal.removeBefore(Number.NaN), hasCode(ErrorCode.InvalidArgument));
    assert.equal(await wal.append(new Uint8Array(1000)), 1);
    await wal.close();
    await assert.rejects(wal.append(new Uint8Array(1)), hasCode(ErrorCode.Closed));
    await wal.close(); // second close is a no-op
  });

  it("describeSegment prints every chunk of a segment", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { blockBytes: 256, sync: "none" });
    await wal.append(recordBytes(1, 50));
    await wal.append(recordBytes(2, 500));
    await wal.close();
    const names = (await fs.list(DIR)).filter((name) => name.endsWith(".wal"));
    const text = describeSegment(await readFile(fs, `${DIR}/${names[0]}`));
    // The worked example of docs/format/wal.md.
    assert.equal(
      text,
      [
        "segment 1 firstLsn=1 blockBytes=256 size=628",
        "32: FULL len=51 synced=32 lsn=1",
        "94: FIRST len=151 synced=32 lsn=2",
        "256: MIDDLE len=245 synced=32",
        "512: LAST len=105 synced=32",
        "",
      ].join("\n"),
    );
    assert.equal(SEGMENT_HEADER_BYTES, 32);
  });
});

describe("Wal.tail", () => {
  it("yields existing records, then new ones as they commit, until aborted", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { segmentBytes: 1024, sync: "none" });
    await wal.append(encoder.encode("old"));
    const controller = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const record of wal.tail({ signal: controller.signal })) {
        seen.push(record.lsn);
        if (record.lsn === 40) controller.abort();
      }
    })();
    for (let index = 0; index < 39; index++) await wal.append(recordBytes(index, 100)); // rolls segments
    await reading;
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, index) => index + 1));
    await wal.close();
  });

  it("ends when the log is closed", async () => {
    const fs = await newFs();
    const wal = await openWal(fs);
    const reading = collect(wal.tail());
    await wal.append(encoder.encode("x"));
    await wal.close();
    const records = await reading;
    assert.deepEqual(records.map((record) => record.lsn), [1]);
  });
});

describe("sync policies", () => {
  it("{ bytes } acknowledges at once and writes+syncs when the threshold is reached", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { sync: { bytes: 4096 } });
    for (let index = 0; index < 100; index++) await wal.append(recordBytes(index, 100));
    // 100 records of ~111 B: at least two thresholds crossed; a power cut keeps those groups.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const image = fs.crash({ mode: "synced-only", seed: 3 });
    await wal.close().catch(() => {}); // its file system was crashed
    const { records } = await replayAll(image);
    // Each record takes 112 B on disk: groups are cut at records 37 and 74; the rest was in memory.
    assert.ok(records.length >= 70 && records.length < 100, `survived ${records.length}`);
    assert.deepEqual(records.map((record) => record.lsn), Array.from({ length: records.length }, (_, index) => index + 1));
  });

  it("{ intervalMs } loses at most the last window, and close() persists everything", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { sync: { intervalMs: 5 } });
    for (let index = 0; index < 20; index++) await wal.append(recordBytes(index, 10));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const image = fs.crash({ mode: "synced-only", seed: 4 });
    assert.equal((await replayAll(image)).records.length, 20, "flushed by the timer");

    const fs2 = await newFs();
    const wal2 = await openWal(fs2, { sync: { intervalMs: 60_000 } });
    for (let index = 0; index < 20; index++) await wal2.append(recordBytes(index, 10));
    await wal2.close();
    assert.equal((await replayAll(fs2)).records.length, 20);
    await wal.close().catch(() => {}); // its file system was crashed
  });

  it("applies back-pressure: unwritten bytes stay under pendingBytesMax", async () => {
    const fs = await newFs();
    const wal = await openWal(fs, { sync: { intervalMs: 60_000 }, pendingBytesMax: 10_000 });
    const appends = Array.from({ length: 500 }, (_, index) => wal.append(recordBytes(index, 100)));
    const lsns = await Promise.all(appends);
    assert.deepEqual(lsns, Array.from({ length: 500 }, (_, index) => index + 1));
    await wal.close();
    assert.equal((await replayAll(fs)).records.length, 500);
  });
});

describe("background sync of large unsynced regions", () => {
  it("'none' appends past 8 MiB get synced in the background; a failure there stops the log", async () => {
    const fs = new MemFs();
    const fault = new FaultFs(fs, { seed: 2 });
    const wal = await openWal(fault, { sync: "none" });
    const before = fault.opCount("datasync");
    for (let index = 0; index < 40; index++) await wal.appendBatch(Array.from({ length: 64 }, (_, slot) => recordBytes(index * 64 + slot, 4000)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(fault.opCount("datasync") > before, "a background datasync ran");
    const image = fs.crash({ mode: "synced-only", seed: 2 });
    await wal.close().catch(() => {});
    const { records } = await replayAll(image);
    assert.ok(records.length >= 1000, `a synced prefix survived a power cut without any explicit sync: ${records.length}`);

    const fs2 = new MemFs();
    const fault2 = new FaultFs(fs2, { seed: 3 });
    const wal2 = await openWal(fault2, { sync: "none" });
    fault2.addRule({ kind: "fsync-fail", ops: ["datasync"], after: 0 });
    let refused = false;
    for (let index = 0; index < 60 && !refused; index++) {
      await wal2.appendBatch(Array.from({ length: 64 }, (_, slot) => recordBytes(slot, 4000))).catch((error: unknown) => {
        assert.ok(AuraError.isInstance(error), String(error));
        refused = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(refused, "appends are refused after a background sync failed");
    await wal2.close().catch(() => {});
  });
});
