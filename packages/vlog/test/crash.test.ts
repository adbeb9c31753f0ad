/**
 * The value log's core guarantee, as properties: after a crash at any file-system call, in any
 * crash mode, a reopened log reads back every value an acknowledged synced append covered (and,
 * after a process crash, every acknowledged one) byte-identical; any other pointer reads back
 * identical or fails with a CorruptionError, never a wrong value; every file scans clean; and the
 * log takes new appends. fast-check prints the seed and the shrunk case on failure
 * (AURADB_PROPERTY_RUNS sets the number of runs).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode } from "@auradb/fs";
import { type CrashMode, FaultFs, MemFs } from "@auradb/fs/testing";
import type { ValueLog, ValuePointer } from "../src/index.ts";
import { ENTRY_HEADER_BYTES } from "../src/format.ts";
import { equalBytes, keyOf, openLog, valueBytes } from "./helpers.ts";

const RUNS = Number(process.env.AURADB_PROPERTY_RUNS ?? 150);
const MODES: CrashMode[] = ["synced-only", "process", "per-file-prefix", "global-prefix", "subset", "trash"];
const KEY_BYTES = keyOf(0).length;
/** A value size that makes an entry end exactly on a 4 KiB page boundary (of a fresh file). */
const PAGE_EDGE = 4096 - 32 - ENTRY_HEADER_BYTES - KEY_BYTES;

/** Value sizes: mostly small, with 4 KiB page edges and values spanning several pages. */
const sizeArbitrary = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom(PAGE_EDGE - 1, PAGE_EDGE, PAGE_EDGE + 1, 4095, 4096, 4097, 8192) },
  { weight: 1, arbitrary: fc.integer({ min: 5000, max: 70_000 }) },
);

const operationArbitrary = fc.record({
  sizes: fc.array(sizeArbitrary, { minLength: 1, maxLength: 3 }),
  sync: fc.boolean(),
  /** How many of the following operations are issued in the same tick as this one. */
  concurrent: fc.nat({ max: 3 }),
  gc: fc.nat({ max: 4 }).map((draw) => draw === 0),
});
type Operation = { sizes: number[]; sync: boolean; concurrent: number; gc: boolean };

interface Issued {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly seq: number;
  /** The append call that carried it (calls are numbered in call order). */
  readonly call: number;
  pointer: ValuePointer | null;
}

interface Outcome {
  issued: Issued[];
  calls: number;
  /** Every entry of a call up to this one is covered by an acknowledged synced append. */
  durableCall: number;
}

function isCrash(error: unknown): boolean {
  return AuraError.isInstance(error) && error.code === ErrorCode.SimulatedCrash;
}

/** Runs the operations (some concurrent) until they end or the file system crashes. */
async function runWorkload(vlog: ValueLog, operations: Operation[], outcome: Outcome, salt: number): Promise<void> {
  let index = 0;
  while (index < operations.length) {
    const group = operations.slice(index, index + 1 + operations[index]!.concurrent);
    index += group.length;
    const settled = await Promise.allSettled(
      group.map((operation) => {
        const call = ++outcome.calls;
        const entries = operation.sizes.map((size) => {
          const id = outcome.issued.length;
          const issued: Issued = { key: keyOf(salt + id), value: valueBytes(salt + id, size), seq: salt + id, call, pointer: null };
          outcome.issued.push(issued);
          return issued;
        });
        return vlog.append(entries, { sync: operation.sync, partition: operation.gc ? "gc" : "fresh" }).then((pointers) => {
          assert.equal(pointers.length, entries.length);
          entries.forEach((entry, slot) => (entry.pointer = pointers[slot]!));
          if (operation.sync) outcome.durableCall = Math.max(outcome.durableCall, call);
        });
      }),
    );
    for (const result of settled) {
      if (result.status === "rejected") {
        if (!isCrash(result.reason)) throw result.reason;
        return;
      }
    }
  }
}

/**
 * Checks a reopened log against what was issued: the required values read back identical, the
 * other acknowledged ones identical or a CorruptionError; every file scans clean, holding only
 * issued entries. Returns the entries that read back (the realized history).
 */
async function checkRecovered(vlog: ValueLog, outcome: Outcome, mode: CrashMode, note: string): Promise<Issued[]> {
  assert.deepEqual(vlog.recovery.corrupted, [], `${note}: only the newest file of a partition can be torn`);
  const survivors: Issued[] = [];
  for (const entry of outcome.issued) {
    if (entry.pointer === null) continue; // never acknowledged: the test never saw its pointer
    const required = entry.call <= outcome.durableCall || mode === "process";
    try {
      const value = vlog.readSync(entry.pointer, entry.key);
      assert.ok(equalBytes(value, entry.value), `${note}: entry ${entry.seq} reads back a wrong value`);
      survivors.push(entry);
    } catch (error) {
      if (!(AuraError.isInstance(error) && error.code === ErrorCode.Corruption)) throw error;
      assert.ok(!required, `${note}: entry ${entry.seq} (call ${entry.call}, durable through call ${outcome.durableCall}) is lost: ${error.message}`);
    }
  }
  const bySeq = new Map(outcome.issued.map((entry) => [entry.seq, entry]));
  for (const file of vlog.files()) {
    for await (const found of vlog.scan(file.fileNumber)) {
      const issued = bySeq.get(found.seq);
      assert.ok(issued !== undefined && equalBytes(found.key, issued.key) && equalBytes(found.value, issued.value), `${note}: file ${file.fileNumber} holds an entry never issued`);
      if (issued.pointer !== null) assert.deepEqual(found.pointer, issued.pointer, `${note}: entry ${found.seq} moved`);
    }
  }
  return survivors;
}

/** Appends after recovery, and reads them back. */
async function checkAppendsWork(vlog: ValueLog, salt: number): Promise<void> {
  const entries = [0, 1, 2].map((slot) => ({ key: keyOf(salt + slot), value: valueBytes(salt + slot, 100 * slot + 5000 * (slot === 2 ? 1 : 0)), seq: salt + slot }));
  const pointers = await vlog.append(entries, { sync: true });
  entries.forEach((entry, slot) => assert.ok(equalBytes(vlog.readSync(pointers[slot]!, entry.key), entry.value)));
}

describe("value-log crash properties", () => {
  it("crash at any FS call in any mode → required values intact, others intact or CorruptionError, files scan clean", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom(...MODES),
        fc.constantFrom(1024, 8192, 1 << 20),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (operations, crashCall, mode, fileBytes, seed) => {
          const memory = new MemFs();
          const fault = new FaultFs(memory, { seed });
          fault.crashAt(crashCall, { mode, seed });
          const outcome: Outcome = { issued: [], calls: 0, durableCall: 0 };
          try {
            const vlog = await openLog(fault, { fileBytes });
            await runWorkload(vlog, operations, outcome, 0);
          } catch (error) {
            if (!isCrash(error)) throw error;
          }
          const image = fault.crashImage ?? memory.crash({ mode, seed });
          const recovered = await openLog(image, { fileBytes });
          await checkRecovered(recovered, outcome, mode, `mode=${mode} crashCall=${crashCall}`);
          await checkAppendsWork(recovered, 1_000_000);
          await recovered.close();
          assert.equal(image.openHandleCount(), 0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("recover, append more, crash again → what survived the first crash survives the second", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 15 }),
        fc.array(operationArbitrary, { minLength: 1, maxLength: 15 }),
        fc.constantFrom(...MODES),
        fc.constantFrom(...MODES),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (first, second, firstMode, secondMode, seed) => {
          const memory = new MemFs();
          const outcome: Outcome = { issued: [], calls: 0, durableCall: 0 };
          const vlog = await openLog(memory, { fileBytes: 4096 });
          await runWorkload(vlog, first, outcome, 0);
          const image = memory.crash({ mode: firstMode, seed });
          const recovered = await openLog(image, { fileBytes: 4096 });
          const survivors = await checkRecovered(recovered, outcome, firstMode, "first crash");
          // Recovery made the survivors durable: they are required after any second crash.
          const realized: Outcome = { issued: survivors, calls: Math.max(0, ...survivors.map((entry) => entry.call)), durableCall: 0 };
          realized.durableCall = realized.calls;
          await runWorkload(recovered, second, realized, 500_000);
          const secondImage = image.crash({ mode: secondMode, seed: seed + 1 });
          const reopened = await openLog(secondImage, { fileBytes: 4096 });
          await checkRecovered(reopened, realized, secondMode, "second crash");
          await checkAppendsWork(reopened, 2_000_000);
          await reopened.close();
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
