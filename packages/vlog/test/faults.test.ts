/**
 * Fail-stop (ARCHITECTURE invariant 6): after a failed write or fsync the log refuses every later
 * append until reopened, and nothing acknowledged is lost. Named tests per fault, then a sweep
 * that fails the k-th file-system call for every k.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode } from "@auradb/fs";
import { FaultFs, MemFs } from "@auradb/fs/testing";
import type { ValueLog, ValuePointer } from "../src/index.ts";
import { equalBytes, hasCode, keyOf, openLog, valueBytes } from "./helpers.ts";

describe("fail-stop", () => {
  it("a failed fdatasync rejects its whole group, then every append and sync with ReadOnlyError; reads go on", async () => {
    const memory = new MemFs();
    const fault = new FaultFs(memory, { seed: 5 });
    const vlog = await openLog(fault);
    const [kept] = await vlog.append([{ key: keyOf(0), value: valueBytes(0, 100), seq: 0 }], { sync: true });
    fault.addRule({ kind: "fsync-fail", ops: ["datasync"], onCall: 1 });
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, index) => vlog.append([{ key: keyOf(index + 1), value: valueBytes(index + 1, 100), seq: index + 1 }], { sync: true })));
    assert.ok(results.every((result) => result.status === "rejected" && hasCode(ErrorCode.IO)(result.reason)), "every waiter of the failed group sees the IOError");
    fault.clearRules();
    await assert.rejects(vlog.append([{ key: keyOf(99), value: valueBytes(99, 1), seq: 99 }]), hasCode(ErrorCode.ReadOnly));
    await assert.rejects(vlog.sync(), hasCode(ErrorCode.ReadOnly));
    assert.ok(equalBytes(vlog.readSync(kept!, keyOf(0)), valueBytes(0, 100)), "reads keep working");
    await vlog.close();
    // After a power cut the dropped pages are gone: only the first value is certain.
    const reopened = await openLog(memory.crash({ mode: "synced-only", seed: 5 }));
    assert.ok(equalBytes(reopened.readSync(kept!, keyOf(0)), valueBytes(0, 100)));
    await reopened.close();
  });

  for (const kind of ["EIO", "ENOSPC", "short-write"] as const) {
    it(`${kind} on write: the waiters see it (a short write is absorbed), later appends are refused`, async () => {
      const memory = new MemFs();
      const fault = new FaultFs(memory, { seed: 9 });
      const vlog = await openLog(fault);
      const before = await vlog.append(Array.from({ length: 5 }, (_, index) => ({ key: keyOf(index), value: valueBytes(index, 100), seq: index })));
      fault.addRule({ kind, ops: ["write"], onCall: 1 });
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => vlog.append([{ key: keyOf(5 + index), value: valueBytes(5 + index, 100_000), seq: 5 + index }])));
      if (kind === "short-write") {
        assert.ok(results.every((result) => result.status === "fulfilled"));
        for (const [index, result] of results.entries()) {
          const [pointer] = (result as PromiseFulfilledResult<ValuePointer[]>).value;
          assert.ok(equalBytes(vlog.readSync(pointer!, keyOf(5 + index)), valueBytes(5 + index, 100_000)));
        }
      } else {
        assert.ok(results.every((result) => result.status === "rejected" && hasCode(ErrorCode.IO)(result.reason)));
        await assert.rejects(vlog.append([{ key: keyOf(50), value: valueBytes(50, 1), seq: 50 }]), hasCode(ErrorCode.ReadOnly));
      }
      await vlog.close();
      const reopened = await openLog(memory.crash({ mode: "process", seed: 9 }));
      for (const [index, pointer] of before.entries()) assert.ok(equalBytes(reopened.readSync(pointer, keyOf(index)), valueBytes(index, 100)));
      await reopened.close();
    });
  }

  it("a failure while creating a file (header write or directory sync) stops the log", async () => {
    for (const rule of [{ kind: "EIO", ops: ["write"], onCall: 1 }, { kind: "fsync-fail", ops: ["syncDir"], onCall: 1 }, { kind: "EIO", ops: ["open"], onCall: 1 }] as const) {
      const memory = new MemFs();
      const fault = new FaultFs(memory, { seed: 1 });
      const vlog = await openLog(fault);
      fault.addRule(rule);
      await assert.rejects(vlog.append([{ key: keyOf(0), value: valueBytes(0, 10), seq: 0 }]), hasCode(ErrorCode.IO), JSON.stringify(rule));
      fault.clearRules();
      await assert.rejects(vlog.append([{ key: keyOf(1), value: valueBytes(1, 10), seq: 1 }]), hasCode(ErrorCode.ReadOnly));
      await vlog.close();
      const reopened = await openLog(memory.crash({ mode: "synced-only" }));
      assert.equal(reopened.files().length, 0, "nothing half-created is left to append to");
      await reopened.close();
    }
  });
});

describe("fault sweep: fail the k-th file-system call, for every k", () => {
  for (const kind of ["EIO", "ENOSPC", "short-write", "fsync-fail"] as const) {
    it(`${kind}: the error reaches a caller, nothing is acknowledged after it, nothing acknowledged is lost`, async () => {
      let covered = 0;
      for (let call = 1; ; call++) {
        const memory = new MemFs();
        const fault = new FaultFs(memory, { seed: call });
        fault.addRule({ kind, onCall: call });
        const acknowledged: { key: Uint8Array; value: Uint8Array; pointer: ValuePointer; synced: boolean }[] = [];
        let durableCount = 0;
        const errors: unknown[] = [];
        let vlog: ValueLog | null = null;
        try {
          vlog = await openLog(fault, { fileBytes: 4096 });
          for (let round = 0; round < 6; round++) {
            const settled = await Promise.allSettled(
              [0, 1, 2].map((slot) => {
                const id = round * 3 + slot;
                const entry = { key: keyOf(id), value: valueBytes(id, 300 + 900 * slot), seq: id };
                return vlog!.append([entry], { sync: slot === 0, partition: round % 3 === 2 ? "gc" : "fresh" }).then(([pointer]) => {
                  acknowledged.push({ ...entry, pointer: pointer!, synced: slot === 0 });
                  if (slot === 0) durableCount = acknowledged.length;
                });
              }),
            );
            if (errors.length > 0) assert.ok(settled.every((result) => result.status === "rejected"), `call ${call}: an append was acknowledged after a failure`);
            for (const result of settled) if (result.status === "rejected") errors.push(result.reason);
          }
          await vlog.close();
        } catch (error) {
          errors.push(error);
        }
        if (fault.injectedCount === 0) break; // k is past the last call the workload makes
        covered++;
        for (const error of errors) {
          assert.ok(AuraError.isInstance(error), `untyped error at call ${call}: ${String(error)}`);
          assert.ok([ErrorCode.IO, ErrorCode.ReadOnly, ErrorCode.Closed].includes(error.code as never), `call ${call}: ${error.code}`);
        }
        if (kind !== "short-write" && errors.length === 0) assert.fail(`call ${call}: a ${kind} was injected but no caller saw an error`);
        // A power cut (or a kill) after the failure, then a healthy open.
        const mode = call % 2 === 0 ? "process" : "synced-only";
        const reopened = await openLog(memory.crash({ mode, seed: call }), { fileBytes: 4096 });
        for (const [index, entry] of acknowledged.entries()) {
          const required = mode === "process" || index < durableCount;
          try {
            assert.ok(equalBytes(reopened.readSync(entry.pointer, entry.key), entry.value), `call ${call}: wrong value`);
          } catch (error) {
            assert.ok(!required && hasCode(ErrorCode.Corruption)(error), `call ${call} (${kind}, ${mode}): acknowledged entry ${index} lost: ${String(error)}`);
          }
        }
        for (const file of reopened.files()) for await (const _ of reopened.scan(file.fileNumber));
        await reopened.close();
      }
      assert.ok(covered >= (kind === "EIO" ? 40 : 8), `covered ${covered} fault points`);
    });
  }
});
