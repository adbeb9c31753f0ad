/**
 * Injected faults (RELIABILITY-PLAN §3a): fail-stop after a failed fsync, and the k-th-call sweep
 * of fault-harness.ts over a fixed workload for EIO (any call), ENOSPC and short writes (writes)
 * and failed fsyncs (sync, datasync, directory sync). CI samples every AURADB_FAULT_STRIDE-th
 * point (10 on Node, 25 on Bun and Deno); `npm run fault-test` sweeps every point in both crash
 * image modes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode } from "@auradb/fs";
import { FaultFs, MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import { FAULT_DB_OPTIONS, runFaultPoint, sweep } from "./fault-harness.ts";
import type { SweepReport } from "./fault-harness.ts";

const globals = globalThis as { Bun?: unknown; Deno?: unknown };
const onNode = globals.Bun === undefined && globals.Deno === undefined;
const STRIDE = Number(process.env.AURADB_FAULT_STRIDE ?? (onNode ? 10 : 25));

const code = (expected: string) => (error: unknown) => AuraError.isInstance(error) && error.code === expected;
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

/** Opens a database on `FaultFs(MemFs)`, writes `before`, then arms a failing fsync of files matching `path`. */
async function withFailingSync(path: string): Promise<{ memory: MemFs; fs: FaultFs; db: AuraDB }> {
  const memory = new MemFs();
  const fs = new FaultFs(memory);
  const db = await AuraDB.open("/db", { ...FAULT_DB_OPTIONS, fs });
  await db.put("before", "kept", { sync: true });
  fs.addRule({ kind: "fsync-fail", ops: ["datasync", "sync"], path, persistence: "once" });
  return { memory, fs, db };
}

/** Every kind of write, each must be refused with ReadOnlyError (the fsync failure is not forgotten). */
async function assertRefusesWrites(db: AuraDB): Promise<void> {
  await assert.rejects(db.put("later", "x"), code(ErrorCode.ReadOnly));
  await assert.rejects(db.put("later", "x", { sync: true }), code(ErrorCode.ReadOnly));
  await assert.rejects(db.put("later-large", "L".repeat(2000), { sync: true }), code(ErrorCode.ReadOnly));
  await assert.rejects(db.delete("before"), code(ErrorCode.ReadOnly));
  await assert.rejects(db.batch([{ type: "put", key: "b", value: "x" }]), code(ErrorCode.ReadOnly));
  // Reads go on: the failure took nothing acknowledged away.
  assert.equal(text(db.getSync("before")), "kept");
}

describe("fail-stop after a failed fsync (fsyncgate)", () => {
  it("a failed WAL fdatasync rejects that write with IOError, then every write until reopen", async () => {
    const { memory, fs, db } = await withFailingSync("/wal/");
    await assert.rejects(db.put("k", "v", { sync: true }), code(ErrorCode.IO));
    assert.equal(fs.injectedCount, 1);
    await assertRefusesWrites(db);
    await db.close().catch(() => {});
    // Reopened on a healthy disk (power cut: the failed sync's bytes are gone): writes work again.
    const image = memory.crash({ mode: "synced-only" });
    const reopened = await AuraDB.open("/db", { ...FAULT_DB_OPTIONS, fs: image });
    assert.equal(text(reopened.getSync("before")), "kept");
    assert.equal(reopened.getSync("k"), undefined, "never acknowledged, and its bytes were dropped by the failed fsync");
    await reopened.put("after", "ok", { sync: true });
    assert.equal(text(reopened.getSync("after")), "ok");
    await reopened.close();
  });

  it("a failed value-log fdatasync rejects the separated write with IOError, then every write until reopen", async () => {
    const { memory, db } = await withFailingSync("/vlog/");
    await assert.rejects(db.put("large", "V".repeat(3000), { sync: true }), code(ErrorCode.IO));
    await assertRefusesWrites(db);
    await db.close().catch(() => {});
    const image = memory.crash({ mode: "synced-only" });
    const reopened = await AuraDB.open("/db", { ...FAULT_DB_OPTIONS, fs: image });
    assert.equal(text(reopened.getSync("before")), "kept");
    assert.equal(reopened.getSync("large"), undefined);
    await reopened.put("after", "ok", { sync: true });
    await reopened.close();
  });
});

describe(`fault sweep over a fixed workload (every ${STRIDE}th fault point; crash images alternate process / synced-only)`, () => {
  let report: SweepReport | undefined;
  const run = async (): Promise<SweepReport> => (report ??= await sweep({ stride: STRIDE, modes: "alternate" }));

  it("every fault surfaces as a typed error or is tolerated; fail-stop holds; every image recovers a prefix with every acknowledged write", async () => {
    const result = await run();
    assert.deepEqual(
      result.failures.map((failure) => `${failure.kind} k=${failure.k} (${failure.call}) ${failure.mode}: ${failure.problems.join(" | ")}`),
      [],
    );
    for (const kind of result.kinds) {
      assert.ok(kind.points > 0 && kind.run > 0, `${kind.kind}: the workload makes calls of this kind`);
      assert.equal(kind.surfaced + kind.tolerated, kind.injected, `${kind.kind}: every injected fault either surfaced or was tolerated`);
    }
  });

  it("short writes are always tolerated (writes loop), failed fsyncs never are", async () => {
    const result = await run();
    const shortWrite = result.kinds.find((kind) => kind.kind === "short-write")!;
    assert.ok(shortWrite.injected > 0);
    assert.equal(shortWrite.tolerated, shortWrite.injected, `short writes surfaced: ${JSON.stringify(shortWrite.codes)}`);
    const fsyncFail = result.kinds.find((kind) => kind.kind === "fsync-fail")!;
    assert.ok(fsyncFail.injected > 0);
    assert.deepEqual(fsyncFail.toleratedPoints, [], "a failed fsync always reaches the caller");
  });

  // Found by this sweep: an I/O error while AuraDB.open created a database (EIO on the rename of
  // CURRENT.tmp, ENOSPC on the first MANIFEST write) left files behind that every later open
  // refused ("not empty and holds no database"). Open now starts such a creation over.
  it("a fault while creating the database leaves a directory that opens (EIO k=21, ENOSPC k=1)", async () => {
    for (const [kind, k] of [["EIO", 21], ["ENOSPC", 1]] as const) {
      const result = await runFaultPoint(kind, k, "process");
      assert.deepEqual(result.problems, [], `${kind} k=${k}`);
    }
  });
});
