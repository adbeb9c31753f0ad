/**
 * One named test per recovery outcome (docs/format/wal.md, "Recovery"), LevelDB log_test style.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode, readFile } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import type { RecoveryMode } from "../src/index.ts";
import { crc32c, maskCrc } from "@auradb/fs";
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentCrcSeed } from "../src/format.ts";
import { collect, DIR, equalBytes, openWal, recordBytes, replayAll } from "./helpers.ts";

const FIRST = `${DIR}/0000000000000001.wal`;
const SECOND = `${DIR}/0000000000000002.wal`;

function isCode(code: string) {
  return (error: unknown) => AuraError.isInstance(error) && error.code === code;
}

/** A closed log of `count` records (sizes vary) with the given options. */
async function buildLog(count: number, options: Parameters<typeof openWal>[1] = {}): Promise<MemFs> {
  const fs = new MemFs();
  const wal = await openWal(fs, { blockBytes: 256, ...options });
  for (let index = 0; index < count; index++) await wal.append(recordBytes(index, 20 + ((index * 53) % 200)));
  await wal.close();
  return fs;
}

function sizeOf(index: number): number {
  return 20 + ((index * 53) % 200);
}

function checkRecords(records: { lsn: number; data: Uint8Array }[], lsns: number[]): void {
  assert.deepEqual(records.map((record) => record.lsn), lsns);
  for (const record of records) assert.ok(equalBytes(record.data, recordBytes(record.lsn - 1, sizeOf(record.lsn - 1))));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe("WAL recovery outcomes", () => {
  it("zeroedTailIsTorn: zeros after the last record are cut, nothing backed up", async () => {
    const fs = await buildLog(10, { sync: "none" });
    const size = (await fs.stat(FIRST)).size;
    fs.tamper(FIRST, (bytes) => concat(bytes, new Uint8Array(1000)));
    const events: string[] = [];
    const { records, wal } = await replayAll(fs, { onRecovery: (event) => events.push(event.kind) });
    checkRecords(records, range(1, 10));
    assert.deepEqual(events, ["torn-tail"]);
    assert.equal(wal.recovery.events[0]!.offset, size);
    assert.equal(wal.recovery.events[0]!.backupPath, undefined);
    assert.equal((await fs.stat(FIRST)).size, size, "the tail was cut on disk");
  });

  it("garbageTailIsTorn: a half-written record is cut and its bytes kept in a .broken file", async () => {
    const fs = await buildLog(10, { sync: "none" });
    const size = (await fs.stat(FIRST)).size;
    fs.tamper(FIRST, (bytes) => bytes.subarray(0, size - 7));
    const { records, wal } = await replayAll(fs);
    checkRecords(records, range(1, 9));
    const event = wal.recovery.events[0]!;
    assert.equal(event.kind, "torn-tail");
    assert.ok(event.backupPath !== undefined && (await fs.exists(event.backupPath)));
    assert.equal((await readFile(fs, event.backupPath)).length, event.bytesDropped);
  });

  it("absoluteRefusesTornTail", async () => {
    const fs = await buildLog(5, { sync: "none" });
    fs.tamper(FIRST, (bytes) => bytes.subarray(0, bytes.length - 3));
    await assert.rejects(openWal(fs, { recovery: "absolute" }), isCode(ErrorCode.Corruption));
    const clean = await buildLog(5);
    const { records } = await replayAll(clean, { recovery: "absolute" });
    checkRecords(records, range(1, 5));
  });

  it("corruptionBeforeSyncedDataFailsOpen: damage that later chunks promise durable is an error", async () => {
    const fs = await buildLog(20, { sync: "always" });
    fs.tamper(FIRST, (bytes) => flip(bytes, SEGMENT_HEADER_BYTES + 20));
    await assert.rejects(openWal(fs), (error: unknown) => {
      assert.ok(isCode(ErrorCode.Corruption)(error));
      assert.equal((error as AuraError).path, FIRST);
      assert.equal((error as AuraError).offset, SEGMENT_HEADER_BYTES);
      return true;
    });
  });

  it("pointInTimeKeepsThePrefix: records after the damage are dropped for good", async () => {
    const fs = await buildLog(30, { sync: "always", segmentBytes: 2048 });
    assert.ok(await fs.exists(SECOND));
    const damagedAt = 600;
    fs.tamper(FIRST, (bytes) => flip(bytes, damagedAt));
    const { records, wal } = await replayAll(fs, { recovery: "point-in-time" });
    assert.ok(records.length > 0 && records.length < 30);
    checkRecords(records, range(1, records.length));
    assert.ok(wal.recovery.events.some((event) => event.kind === "corruption-truncated"));
    assert.ok(wal.recovery.events.some((event) => event.kind === "segment-dropped"));
    // New appends continue after the kept prefix, and nothing dropped comes back.
    const again = await openWal(fs, { recovery: "point-in-time" });
    assert.equal(await again.append(new Uint8Array([1])), records.length + 1);
    await again.close();
    const { records: after } = await replayAll(fs);
    assert.equal(after.length, records.length + 1);
  });

  it("skipCorruptKeepsLaterRecords: a damaged block is skipped and reported", async () => {
    const fs = await buildLog(30, { sync: "always" });
    fs.tamper(FIRST, (bytes) => flip(bytes, 300)); // inside the second block
    await assert.rejects(openWal(fs), isCode(ErrorCode.Corruption));
    const { records, wal } = await replayAll(fs, { recovery: "skip-corrupt" });
    assert.ok(records.length < 30 && records.length > 20, `kept ${records.length}`);
    for (const record of records) assert.ok(equalBytes(record.data, recordBytes(record.lsn - 1, sizeOf(record.lsn - 1))));
    assert.equal(records[records.length - 1]!.lsn, 30, "records after the damage are kept");
    assert.ok(wal.recovery.events.some((event) => event.kind === "corruption-skipped"));
  });

  it("middleSegmentDamageFailsReplay: a non-last segment is never a torn tail", async () => {
    const fs = await buildLog(30, { sync: "none", segmentBytes: 2048 });
    fs.tamper(FIRST, (bytes) => bytes.subarray(0, bytes.length - 5));
    const wal = await openWal(fs);
    await assert.rejects(collect(wal.replay()), (error: unknown) => isCode(ErrorCode.Corruption)(error) && (error as AuraError).path === FIRST);
    await wal.close();
  });

  it("segmentGapIsCorruption unless the mode accepts it", async () => {
    const fs = await buildLog(60, { sync: "none", segmentBytes: 1024 });
    assert.ok(await fs.exists(`${DIR}/0000000000000003.wal`));
    await fs.remove(SECOND);
    await assert.rejects(openWal(fs), isCode(ErrorCode.Corruption));
    const pointInTime = await replayAll(fs, { recovery: "point-in-time" });
    assert.ok(pointInTime.records.length > 0);
    checkRecords(pointInTime.records, range(1, pointInTime.records.length));
    assert.ok(!(await fs.exists(`${DIR}/0000000000000003.wal`)), "segments after the gap are set aside");
  });

  it("tornSegmentHeader: a crash while a new segment was created leaves a usable log", async () => {
    const fs = await buildLog(10, { sync: "always" });
    const header = encodeSegmentHeader({ segmentId: 2, firstLsn: 11, blockBytes: 256 });
    const file = await fs.open(SECOND, { create: true });
    await file.write(header.subarray(0, 13), 0);
    await file.close();
    const { records, wal } = await replayAll(fs);
    checkRecords(records, range(1, 10));
    assert.ok(wal.recovery.events.some((event) => event.kind === "torn-segment"));
    const again = await openWal(fs);
    assert.equal(await again.append(new Uint8Array([9])), 11);
    await again.close();
  });

  it("newerFormatVersionIsRefused", async () => {
    const fs = await buildLog(3);
    fs.tamper(FIRST, (bytes) => {
      const copy = bytes.slice();
      const view = new DataView(copy.buffer);
      view.setUint16(4, 2, true);
      view.setUint32(28, maskCrc(crc32c(copy.subarray(0, 28))), true);
      return copy;
    });
    await assert.rejects(openWal(fs), (error: unknown) => isCode(ErrorCode.Corruption)(error) && /version 2/.test((error as Error).message));
  });

  it("aSegmentRenamedFromAnotherIdIsCorruption", async () => {
    const fs = await buildLog(40, { sync: "none", segmentBytes: 1024 });
    const second = await readFile(fs, SECOND);
    fs.tamper(FIRST, () => second);
    await assert.rejects(openWal(fs), isCode(ErrorCode.Corruption));
  });

  it("skippableChunkIsIgnored, unknownChunkIsCorruption", async () => {
    for (const [type, ok] of [
      [0x81, true],
      [0x05, false],
    ] as const) {
      const fs = await buildLog(3, { sync: "none" });
      const before = await readFile(fs, FIRST);
      // A chunk a future writer might add: checksummed like any other.
      const body = new TextEncoder().encode("future");
      const chunk = new Uint8Array(11 + body.length);
      chunk[4] = body.length;
      chunk[6] = type;
      chunk.set(body, 11);
      const crc = maskCrc(crc32c(chunk.subarray(4), segmentCrcSeed(1)));
      new DataView(chunk.buffer).setUint32(0, crc, true);
      fs.tamper(FIRST, () => concat(before, chunk));
      const wal = await openWal(fs, { recovery: "absolute" }).catch((error: unknown) => error);
      if (ok) {
        assert.ok(!(wal instanceof Error), String(wal));
        const opened = wal as Awaited<ReturnType<typeof openWal>>;
        assert.equal(await opened.append(recordBytes(3, sizeOf(3))), 4);
        checkRecords(await collect(opened.replay()), range(1, 4));
        await opened.close();
      } else {
        assert.ok(isCode(ErrorCode.Corruption)(wal));
      }
    }
  });

  it("recordLargerThanAllowedIsNotBelieved", async () => {
    const fs = new MemFs();
    const wal = await openWal(fs, { sync: "always" });
    await wal.append(new Uint8Array(100_000));
    await wal.append(new Uint8Array(10));
    await wal.close();
    await assert.rejects(
      (async () => collect((await openWal(fs, { recordBytesMax: 50_000, recovery: "absolute" })).replay()))(),
      isCode(ErrorCode.Corruption),
    );
  });

  for (const mode of ["tolerate-tail", "point-in-time", "skip-corrupt"] as RecoveryMode[]) {
    it(`recoveryIsIdempotent (${mode}): opening twice gives the same records`, async () => {
      const fs = await buildLog(25, { sync: "none", segmentBytes: 2048 });
      fs.tamper(`${DIR}/0000000000000002.wal`, (bytes) => bytes.subarray(0, bytes.length - 9));
      const first = await replayAll(fs, { recovery: mode });
      const second = await replayAll(fs, { recovery: mode });
      assert.deepEqual(second.records.map((record) => record.lsn), first.records.map((record) => record.lsn));
      assert.equal(second.wal.recovery.events.length, 0, "nothing left to repair the second time");
    });
  }
});

function flip(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset]! ^= 0x10;
  return copy;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
