import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuraError, ErrorCode } from "@auradb/fs";
import { Wal } from "../src/index.ts";
import { collect } from "./helpers.ts";

const FIXTURE = new URL("./fixtures/hold-lock.mjs", import.meta.url).pathname;

function runtimeArgs(script: string, dir: string): string[] {
  const versions = process.versions as Record<string, string | undefined>;
  return versions.deno !== undefined ? ["run", "-A", script, dir] : [script, dir];
}

describe("WAL lock across processes", () => {
  it("a log held by a child process gives LockedError; after SIGKILL it opens at once", async () => {
    const root = await mkdtemp(join(tmpdir(), "auradb-wal-lock-"));
    const dir = join(root, "wal");
    const child = spawn(process.execPath, runtimeArgs(FIXTURE, dir), { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        let output = "";
        child.stdout!.setEncoding("utf8");
        child.stdout!.on("data", (chunk: string) => {
          output += chunk;
          if (output.includes("open\n")) resolve();
        });
        child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
      });
      await assert.rejects(Wal.open({ dir }), (error: unknown) => {
        assert.ok(AuraError.isInstance(error) && error.code === ErrorCode.Locked, String(error));
        return true;
      });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      const wal = await Wal.open({ dir });
      const records = await collect(wal.replay());
      assert.deepEqual(records.map((record) => new TextDecoder().decode(record.data)), ["held"]);
      await wal.close();
    } finally {
      child.kill("SIGKILL");
      await rm(root, { recursive: true, force: true });
    }
  });
});
