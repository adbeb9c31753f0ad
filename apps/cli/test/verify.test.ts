import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { filesMatching, fingerprint, flipByte, fullSuite, makeDatabase, runCli, tempDir } from "./_helpers.ts";

interface VerifyJson {
  clean: boolean;
  problems: { file: string; offset: number | null; message: string }[];
  reports: { file: string; kind: string }[];
}

describe("auradb verify", () => {
  const temp = tempDir();
  const pristine = join(temp.dir, "pristine");
  let copies = 0;
  before(async () => makeDatabase(pristine));
  after(() => temp.cleanup());

  /** A fresh copy of the database to damage. */
  const copy = (): string => {
    const dir = join(temp.dir, `copy-${++copies}`);
    cpSync(pristine, dir, { recursive: true });
    return dir;
  };

  const verifyJson = async (dir: string): Promise<{ code: number | null; result: VerifyJson }> => {
    const run = await runCli(["verify", dir, "--json"]);
    return { code: run.code, result: JSON.parse(run.stdout) as VerifyJson };
  };

  it("a clean database: exit 0, every kind of file checked", async () => {
    const run = await runCli(["verify", pristine]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /clean: \d+ files/);
    const { result } = await verifyJson(pristine);
    assert.equal(result.clean, true);
    const kinds = new Set(result.reports.map((report) => report.kind));
    for (const kind of ["current", "manifest", "table", "wal", "vlog"]) assert.ok(kinds.has(kind), `no ${kind} checked`);
  });

  it("a flipped byte inside an SSTable data block: exit 1, the table and the block's offset", { skip: !fullSuite }, async () => {
    const dir = copy();
    const table = filesMatching(dir, /\.sst$/)[0]!;
    // The first data block starts right after the 12-byte table header.
    flipByte(join(dir, table), 12 + 40);
    const { code, result } = await verifyJson(dir);
    assert.equal(code, 1);
    const problem = result.problems.find((item) => item.file === table);
    assert.ok(problem !== undefined, JSON.stringify(result.problems));
    assert.equal(problem.offset, 12);
    assert.match(problem.message, /data 0 block: checksum mismatch/);
    const text = await runCli(["verify", dir]);
    assert.match(text.stdout, new RegExp(`DAMAGED ${table.replace(".", "\\.")}`));
    assert.match(text.stdout, /offset 12: data 0 block: checksum mismatch/);
  });

  it("a flipped byte inside a WAL record: exit 1, the segment and the chunk's offset", { skip: !fullSuite }, async () => {
    const dir = copy();
    const segment = filesMatching(join(dir, "wal"), /\.wal$/).at(-1)!;
    flipByte(join(dir, "wal", segment), 32 + 12); // inside the first chunk (the segment header is 32 bytes)
    const { code, result } = await verifyJson(dir);
    assert.equal(code, 1);
    const problem = result.problems.find((item) => item.file === `wal/${segment}`);
    assert.ok(problem !== undefined, JSON.stringify(result.problems));
    assert.equal(problem.offset, 32);
  });

  it("a flipped byte inside a value-log entry: exit 1, the file and the entry's offset", { skip: !fullSuite }, async () => {
    const dir = copy();
    const file = filesMatching(join(dir, "vlog"), /\.vlog$/)[0]!;
    flipByte(join(dir, "vlog", file), 32 + 100); // inside the first entry (the file header is 32 bytes)
    const { code, result } = await verifyJson(dir);
    assert.equal(code, 1);
    const problem = result.problems.find((item) => item.file === `vlog/${file}`);
    assert.ok(problem !== undefined, JSON.stringify(result.problems));
    assert.equal(problem.offset, 32);
    assert.match(problem.message, /checksum mismatch/);
  });

  it("a flipped byte in the manifest and in CURRENT: exit 1, each named", { skip: !fullSuite }, async () => {
    const dir = copy();
    const manifest = filesMatching(dir, /^MANIFEST-/)[0]!;
    flipByte(join(dir, manifest), 32 + 10);
    const { code, result } = await verifyJson(dir);
    assert.equal(code, 1);
    // Both the per-file check (with the chunk's offset) and the open check (the manifest is unusable) name it.
    const offsets = result.problems.filter((item) => item.file === manifest).map((item) => item.offset);
    assert.ok(offsets.includes(32), JSON.stringify(result.problems));

    const other = copy();
    flipByte(join(other, "CURRENT"), 20);
    const current = await verifyJson(other);
    assert.equal(current.code, 1);
    assert.ok(current.result.problems.some((item) => item.file === "CURRENT"), JSON.stringify(current.result.problems));
  });

  it("verify never changes what it reads, even a damaged database", { skip: !fullSuite }, async () => {
    const dir = copy();
    flipByte(join(dir, filesMatching(dir, /^MANIFEST-/)[0]!), 32 + 10);
    const before = fingerprint(dir);
    await runCli(["verify", dir]);
    assert.equal(fingerprint(dir), before);
  });
});
