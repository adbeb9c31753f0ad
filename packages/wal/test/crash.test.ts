/**
 * The WAL's core guarantee, as properties (RELIABILITY-PLAN W1–W6): after any crash, replay
 * yields exactly a prefix of the records written, and that prefix holds every record whose
 * append was acknowledged as synced.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode, writeAll } from "@auradb/fs";
import { type CrashMode, FaultFs, MemFs } from "@auradb/fs/testing";
import type { Wal } from "../src/index.ts";
import { CHUNK_HEADER_BYTES, DEFAULT_BLOCK_BYTES } from "../src/format.ts";
import { collect, DIR, equalBytes, openWal, recordBytes, replayAll } from "./helpers.ts";

const RUNS = Number(process.env.AURADB_PROPERTY_RUNS ?? 150);
const MODES: CrashMode[] = ["synced-only", "process", "per-file-prefix", "global-prefix", "subset", "trash"];
const EDGE = DEFAULT_BLOCK_BYTES - CHUNK_HEADER_BYTES;

/** Record sizes: mostly small, with every block edge and multi-block sizes. */
const sizeArbitrary = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 244, 245, 246, 256, 257, EDGE - 2, EDGE - 1, EDGE, EDGE + 1) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 3 * DEFAULT_BLOCK_BYTES }) },
);

// NB: `roll` 0 seals the segment before the group (about one group in six).
const operationArbitrary = fc.record({ size: sizeArbitrary, sync: fc.boolean(), concurrent: fc.nat({ max: 4 }), roll: fc.nat({ max: 5 }) });

function isCrash(error: unknown): boolean {
  return AuraError.isInstance(error) && error.code === ErrorCode.SimulatedCrash;
}

interface Outcome {
  /** Records issued, in LSN order (index i has LSN i + 1). */
  issued: Uint8Array[];
  /** Count of leading records covered by an acknowledged synced append. */
  durableCount: number;
  /** Count of leading records covered by any acknowledged append. */
  acknowledgedCount: number;
}

/**
 * Runs appends (some concurrent, some synced) against `fs` until they end or the FS crashes.
 * Every rejection must be the simulated crash.
 */
async function runWorkload(
  wal: Wal,
  operations: { size: number; sync: boolean; concurrent: number; roll: number }[],
  salt: number,
  outcome: Outcome,
): Promise<void> {
  let index = 0;
  while (index < operations.length) {
    const group = operations.slice(index, index + 1 + operations[index]!.concurrent);
    index += group.length;
    const rolled = group[0]!.roll === 0 ? [wal.roll()] : [];
    const settled = await Promise.allSettled([
      ...rolled,
      ...group.map((operation) => {
        const data = recordBytes(salt + outcome.issued.length, operation.size);
        const lsn = outcome.issued.push(data);
        return wal.append(data, { sync: operation.sync }).then((got) => {
          assert.equal(got, lsn);
          outcome.acknowledgedCount = Math.max(outcome.acknowledgedCount, lsn);
          if (operation.sync) outcome.durableCount = Math.max(outcome.durableCount, lsn);
        });
      }),
    ]);
    for (const result of settled) {
      if (result.status === "rejected") {
        if (!isCrash(result.reason)) throw result.reason;
        return;
      }
    }
  }
}

/** Checks the recovered records against what was issued and acknowledged. */
function checkPrefix(records: { lsn: number; data: Uint8Array }[], outcome: Outcome, mode: CrashMode, note: string): void {
  assert.ok(records.length <= outcome.issued.length, `${note}: more records than issued`);
  for (const [index, record] of records.entries()) {
    assert.equal(record.lsn, index + 1, `${note}: LSNs are consecutive from 1`);
    assert.ok(equalBytes(record.data, outcome.issued[index]!), `${note}: record ${record.lsn} is byte-identical`);
  }
  const required = mode === "process" ? outcome.acknowledgedCount : outcome.durableCount;
  assert.ok(records.length >= required, `${note}: ${records.length} recovered < ${required} acknowledged (${mode})`);
}

describe("WAL crash properties", () => {
  it("W1/W6: crash at any FS call in any mode → a prefix holding every acknowledged synced record", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom(...MODES),
        fc.constantFrom(1024, 4096, 1 << 20),
        fc.constantFrom(256, 1024, DEFAULT_BLOCK_BYTES),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (operations, crashCall, mode, segmentBytes, blockBytes, seed) => {
          const memory = new MemFs();
          const fault = new FaultFs(memory, { seed });
          fault.crashAt(crashCall, { mode, seed });
          const outcome: Outcome = { issued: [], durableCount: 0, acknowledgedCount: 0 };
          let wal: Wal | null = null;
          try {
            wal = await openWal(fault, { segmentBytes, blockBytes, sync: "none" });
            await runWorkload(wal, operations, seed, outcome);
          } catch (error) {
            if (!isCrash(error)) throw error;
          }
          const image = fault.crashImage ?? memory.crash({ mode, seed });
          const { records } = await replayAll(image);
          checkPrefix(records, outcome, mode, `mode=${mode} crashCall=${crashCall}`);
          void wal;
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("W4: recover, append more, crash again → still a prefix of the realized history", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 15 }),
        fc.array(operationArbitrary, { minLength: 1, maxLength: 15 }),
        fc.constantFrom(...MODES),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (first, second, mode, seed) => {
          const memory = new MemFs();
          const outcome: Outcome = { issued: [], durableCount: 0, acknowledgedCount: 0 };
          const wal = await openWal(memory, { segmentBytes: 2048, blockBytes: 256, sync: "none" });
          await runWorkload(wal, first, seed, outcome);
          const image = memory.crash({ mode, seed });
          const recovered = await openWal(image, { segmentBytes: 2048, blockBytes: 256, sync: "none" });
          const survivors = await collect(recovered.replay());
          checkPrefix(survivors, outcome, mode, "first crash");
          // The realized history: what survived, then the new appends.
          const realized: Outcome = {
            issued: survivors.map((record) => record.data),
            durableCount: survivors.length,
            acknowledgedCount: survivors.length,
          };
          await runWorkload(recovered, second, seed + 1, realized);
          const secondImage = image.crash({ mode, seed: seed + 1 });
          const { records } = await replayAll(secondImage);
          checkPrefix(records, realized, mode, "second crash");
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

describe("W2: a log truncated at every byte of its tail", () => {
  it("yields exactly the records whose last chunk ends at or before the cut", async () => {
    const memory = new MemFs();
    const sizes = [0, 5, 240, 245, 300, 700, 33, 1];
    const wal = await openWal(memory, { blockBytes: 256, sync: "none" });
    const ends: number[] = [];
    const name = "0000000000000001.wal";
    for (const [index, size] of sizes.entries()) {
      await wal.append(recordBytes(index, size));
      ends.push((await memory.stat(`${DIR}/${name}`)).size);
    }
    await wal.close();
    const full = (await collect((await openWalOnBytes(await fileBytes(memory, `${DIR}/${name}`), name)).replay())).length;
    assert.equal(full, sizes.length);
    const bytes = await fileBytes(memory, `${DIR}/${name}`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const truncated = await openWalOnBytes(bytes.subarray(0, cut), name);
      const records = await collect(truncated.replay());
      const expected = ends.filter((end) => end <= cut).length;
      assert.equal(records.length, expected, `cut at ${cut}`);
      for (const record of records) assert.ok(equalBytes(record.data, recordBytes(record.lsn - 1, sizes[record.lsn - 1]!)));
      // Appending after the repair continues the LSNs with no gap.
      assert.equal(await truncated.append(new Uint8Array([7])), expected + 1);
      await truncated.close();
    }
  });
});

async function fileBytes(fs: MemFs, path: string): Promise<Uint8Array> {
  const file = await fs.open(path, { readOnly: true });
  const bytes = new Uint8Array(await file.size());
  await file.read(bytes, 0);
  await file.close();
  return bytes;
}

/** A fresh MemFs holding one segment file with `bytes`, opened as a log. */
async function openWalOnBytes(bytes: Uint8Array, name: string, options: Parameters<typeof openWal>[1] = {}): Promise<Wal> {
  const fs = new MemFs();
  await fs.mkdir(DIR);
  const file = await fs.open(`${DIR}/${name}`, { create: true });
  await writeAll(file, bytes, 0);
  await file.sync();
  await file.close();
  await fs.syncDir(DIR);
  return openWal(fs, options);
}

describe("W3: bit flips never yield a wrong record", () => {
  it("default mode: a prefix and a CorruptionError naming the segment, or a cut tail", async () => {
    const memory = new MemFs();
    const wal = await openWal(memory, { blockBytes: 256, sync: "always" });
    const count = 40;
    for (let index = 0; index < count; index++) await wal.append(recordBytes(index, (index * 37) % 300));
    await wal.close();
    const name = "0000000000000001.wal";
    const bytes = await fileBytes(memory, `${DIR}/${name}`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), fc.constantFrom("tolerate-tail", "skip-corrupt", "point-in-time", "absolute"), async (bit, mode) => {
        const flipped = bytes.slice();
        flipped[bit >>> 3]! ^= 1 << (bit & 7);
        let records: { lsn: number; data: Uint8Array }[] = [];
        try {
          const opened = await openWalOnBytes(flipped, name, { recovery: mode as never });
          try {
            for await (const record of opened.replay()) records.push(record);
          } finally {
            await opened.close();
          }
        } catch (error) {
          assert.ok(AuraError.isInstance(error) && error.code === ErrorCode.Corruption, `unexpected ${String(error)}`);
          assert.ok(typeof error.path === "string" && error.path.endsWith(name), "the error names the segment");
          if ((bit >>> 3) >= 32) assert.equal(typeof error.offset, "number", "and the offset");
        }
        let previous = 0;
        for (const record of records) {
          assert.ok(record.lsn > previous, "LSNs increase");
          previous = record.lsn;
          const index = record.lsn - 1;
          assert.ok(equalBytes(record.data, recordBytes(index, (index * 37) % 300)), `record ${record.lsn} is not what was written`);
        }
        if (mode !== "skip-corrupt") {
          records.forEach((record, index) => assert.equal(record.lsn, index + 1, "a prefix"));
        }
        records = [];
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("W5: failures stop the log (fsyncgate)", () => {
  it("a failed fsync rejects every waiter of the group and every later append until reopen", async () => {
    const memory = new MemFs();
    const fault = new FaultFs(memory, { seed: 5 });
    const wal = await openWal(fault, { sync: "always" });
    await wal.append(recordBytes(0, 10));
    fault.addRule({ kind: "fsync-fail", ops: ["datasync"], onCall: 1 });
    const results = await Promise.allSettled(Array.from({ length: 64 }, (_, index) => wal.append(recordBytes(index + 1, 100))));
    assert.ok(results.every((result) => result.status === "rejected"), "no waiter of the failed group is acknowledged");
    for (const result of results) {
      const reason = (result as PromiseRejectedResult).reason;
      assert.ok(AuraError.isInstance(reason) && reason.code === ErrorCode.IO, `typed error: ${String(reason)}`);
    }
    fault.clearRules();
    await assert.rejects(wal.append(recordBytes(99, 1)), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.ReadOnly);
    await assert.rejects(wal.sync(), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.ReadOnly);
    await wal.close().catch(() => {});
    // After a power cut the dropped pages are gone: only the first record is certain.
    const { records } = await replayAll(memory.crash({ mode: "synced-only", seed: 5 }));
    assert.equal(records.length, 1);
  });

  for (const kind of ["EIO", "ENOSPC", "short-write"] as const) {
    it(`${kind} on write: waiters see it (or it is absorbed), later appends are refused, the log stays a prefix`, async () => {
      const memory = new MemFs();
      const fault = new FaultFs(memory, { seed: 9 });
      const wal = await openWal(fault, { sync: "always" });
      for (let index = 0; index < 5; index++) await wal.append(recordBytes(index, 100));
      fault.addRule({ kind, ops: ["write"], onCall: 1 });
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => wal.append(recordBytes(5 + index, 100))));
      if (kind === "short-write") {
        // A short write is not an error: the log writes the rest.
        assert.ok(results.every((result) => result.status === "fulfilled"));
      } else {
        assert.ok(results.every((result) => result.status === "rejected"));
        await assert.rejects(wal.append(recordBytes(50, 1)), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.ReadOnly);
      }
      await wal.close().catch(() => {});
      const { records } = await replayAll(memory.crash({ mode: "process", seed: 9 }));
      if (kind === "short-write") assert.equal(records.length, 13);
      // A partial write may have completed some records before the error: never acknowledged,
      // but still a prefix (never a record that was not written).
      else assert.ok(records.length >= 5 && records.length <= 13, `recovered ${records.length}`);
      records.forEach((record, index) => {
        assert.equal(record.lsn, index + 1);
        assert.ok(equalBytes(record.data, recordBytes(index, 100)));
      });
    });
  }
});

describe("fault sweep: fail the k-th file-system call, for every k", () => {
  for (const kind of ["EIO", "ENOSPC", "short-write", "fsync-fail"] as const) {
    it(`${kind}: the error reaches the caller, nothing acknowledged is lost, the log reopens clean`, async () => {
      let covered = 0;
      for (let call = 1; ; call++) {
        const memory = new MemFs();
        const fault = new FaultFs(memory, { seed: call });
        // EIO may hit any call (open, list, syncDir, close…); the others hit the ops they model.
        fault.addRule({ kind, onCall: call });
        const outcome: Outcome = { issued: [], durableCount: 0, acknowledgedCount: 0 };
        const errors: unknown[] = [];
        let wal: Wal | null = null;
        try {
          wal = await openWal(fault, { segmentBytes: 1024, blockBytes: 256, sync: "none" });
          for (let round = 0; round < 6; round++) {
            const settled = await Promise.allSettled(
              [0, 1, 2].map((slot) => {
                const data = recordBytes(outcome.issued.length, 60 + 90 * slot);
                const lsn = outcome.issued.push(data);
                const sync = slot === 0;
                return wal!.append(data, { sync }).then(() => {
                  outcome.acknowledgedCount = Math.max(outcome.acknowledgedCount, lsn);
                  if (sync) outcome.durableCount = Math.max(outcome.durableCount, lsn);
                });
              }),
            );
            if (errors.length > 0) {
              // Fail-stop: once a caller saw the failure, no later append is acknowledged.
              assert.ok(settled.every((result) => result.status === "rejected"), `call ${call}: an append was acknowledged after a failure`);
            }
            for (const result of settled) if (result.status === "rejected") errors.push(result.reason);
          }
          await wal.close();
        } catch (error) {
          errors.push(error);
        }
        if (fault.injectedCount === 0) break; // k is past the last call the workload makes
        covered++;
        for (const error of errors) {
          assert.ok(AuraError.isInstance(error), `untyped error at call ${call}: ${String(error)}`);
          assert.ok([ErrorCode.IO, ErrorCode.ReadOnly, ErrorCode.Closed].includes(error.code as never), `call ${call}: ${error.code}`);
        }
        if (kind !== "short-write" && fault.injectedCount > 0 && errors.length === 0) {
          assert.fail(`call ${call}: a ${kind} was injected but no caller saw an error`);
        }
        // A power cut after the failure, then a healthy open: still a prefix with every
        // acknowledged synced record (and, for a process crash, every acknowledged one).
        const mode = call % 2 === 0 ? "process" : "synced-only";
        const { records } = await replayAll(memory.crash({ mode, seed: call }));
        checkPrefix(records, outcome, mode, `${kind} at call ${call}, ${mode}`);
      }
      // Every call of the kinds this fault targets was failed once (9 writes, 11 datasyncs and
      // 5 directory syncs, 38 calls in all, in this workload).
      assert.ok(covered >= (kind === "EIO" ? 30 : kind === "fsync-fail" ? 12 : 8), `covered ${covered} fault points`);
    });
  }
});
