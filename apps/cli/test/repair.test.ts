import assert from "node:assert/strict";
import { cpSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuraDB } from "auradb";
import { filesMatching, fingerprint, flipByte, fullSuite, keyOf, makeDatabase, runCli, tempDir, valueOf } from "./_helpers.ts";

interface RepairJson {
  brokenPath: string | null;
  manifest: { used: boolean; message: string };
  scanned: { tables: number; segments: number; vlogFiles: number };
  salvaged: { keys: number };
  lost: { tables: number; blocks: number; records: number; values: number; details: { file: string; offset: number | null; kind: string; entries: number | null; message: string }[] };
}

/** Keys 0..FLUSHED-1 are in tables (every 10th value in the value log); the rest only in the WAL. */
const FLUSHED = 2000;
const UNFLUSHED = 300;
/** Values of the WAL-only keys: ~300 B, so that their records fill several 32 KiB WAL blocks. */
const walValueOf = (index: number): string => `wal-${index}-`.repeat(40).slice(0, 300);
const expectedValue = (index: number): string => (index < FLUSHED ? valueOf(index) : walValueOf(index));

/** What is in the repaired database: a key is absent (lost) or has its right value; never a wrong one. */
async function contents(dir: string): Promise<{ present: Set<number>; wrong: number[] }> {
  const db = await AuraDB.open(dir, { createIfMissing: false });
  const present = new Set<number>();
  const wrong: number[] = [];
  const decoder = new TextDecoder();
  try {
    for (let index = 0; index < FLUSHED + UNFLUSHED; index++) {
      const value = db.getSync(keyOf(index));
      if (value === undefined) continue;
      present.add(index);
      if (decoder.decode(value) !== expectedValue(index)) wrong.push(index);
    }
  } finally {
    await db.close();
  }
  return { present, wrong };
}

describe("auradb repair", () => {
  const temp = tempDir();
  const pristine = join(temp.dir, "pristine");
  let copies = 0;
  before(async () => {
    await makeDatabase(pristine, FLUSHED);
    // More unflushed writes: a WAL of several blocks.
    const db = await AuraDB.open(pristine);
    for (let index = FLUSHED; index < FLUSHED + UNFLUSHED; index++) await db.put(keyOf(index), walValueOf(index));
    await db.close();
  });
  after(() => temp.cleanup());

  const copy = (): string => {
    const dir = join(temp.dir, `copy-${++copies}`);
    cpSync(pristine, dir, { recursive: true });
    // NB: makeDatabase's last 20 keys (FLUSHED..FLUSHED+19) were overwritten above: same keys, WAL values.
    return dir;
  };

  /** Runs repair --json on `dir`, checks exit 0, verify clean afterwards and the damaged original kept as it was. */
  const repair = async (dir: string): Promise<RepairJson> => {
    const before = fingerprint(dir);
    const run = await runCli(["repair", dir, "--json"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as RepairJson;
    assert.ok(report.brokenPath !== null && report.brokenPath.startsWith(`${dir}.broken-`), String(report.brokenPath));
    assert.equal(fingerprint(report.brokenPath), before, "the damaged original must be kept unchanged");
    const verify = await runCli(["verify", dir, "--quiet"]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    return report;
  };

  it("a clean database: nothing lost, every key kept, the original moved aside", async () => {
    const dir = copy();
    const report = await repair(dir);
    assert.deepEqual(report.lost.details, []);
    assert.equal(report.salvaged.keys, FLUSHED + UNFLUSHED);
    assert.ok(report.manifest.used);
    const { present, wrong } = await contents(dir);
    assert.equal(present.size, FLUSHED + UNFLUSHED);
    assert.deepEqual(wrong, []);
  });

  it("a damaged table block: that block's entries are lost, every other key is there", { skip: !fullSuite }, async () => {
    const dir = copy();
    const table = filesMatching(dir, /\.sst$/)[0]!;
    flipByte(join(dir, table), 12 + 40); // inside data block 0 (after the 12-byte table header)
    const report = await repair(dir);
    assert.equal(report.lost.blocks, 1, JSON.stringify(report.lost.details));
    const loss = report.lost.details[0]!;
    assert.equal(loss.file, table);
    assert.equal(loss.offset, 12);
    assert.ok(loss.entries !== null && loss.entries > 0);
    const { present, wrong } = await contents(dir);
    assert.deepEqual(wrong, []);
    const missing = [...Array(FLUSHED + UNFLUSHED).keys()].filter((index) => !present.has(index));
    assert.equal(missing.length, loss.entries);
    // The lost keys are one run (one block holds neighbouring keys), all from the tables.
    assert.equal(missing.at(-1)! - missing[0]! + 1, missing.length);
    assert.ok(missing.every((index) => index < FLUSHED));
  });

  it("a damaged WAL record: the records outside its block survive", { skip: !fullSuite }, async () => {
    const dir = copy();
    const segment = filesMatching(join(dir, "wal"), /\.wal$/).at(-1)!;
    flipByte(join(dir, "wal", segment), 32 + 12); // inside the first chunk of the newest segment (its header is 32 bytes)
    const report = await repair(dir);
    assert.ok(report.lost.records >= 1);
    assert.ok(report.lost.details.some((loss) => loss.file === `wal/${segment}` && loss.offset === 32), JSON.stringify(report.lost.details));
    const { present, wrong } = await contents(dir);
    assert.deepEqual(wrong, []);
    const missing = [...Array(FLUSHED + UNFLUSHED).keys()].filter((index) => !present.has(index));
    // What is lost is the first WAL block's records only: a run from the first WAL-only key,
    // fewer than all of them (the later blocks were salvaged); every table key is there.
    assert.ok(missing.length > 0 && missing.length < UNFLUSHED, `${missing.length} lost`);
    assert.equal(missing[0], FLUSHED);
    assert.equal(missing.at(-1)! - missing[0]! + 1, missing.length);
  });

  it("a damaged value-log value: only its key is lost", { skip: !fullSuite }, async () => {
    const dir = copy();
    const file = filesMatching(join(dir, "vlog"), /\.vlog$/)[0]!;
    flipByte(join(dir, "vlog", file), 32 + 100); // inside the first entry: key:000000's value
    const report = await repair(dir);
    assert.equal(report.lost.values, 1, JSON.stringify(report.lost.details));
    assert.deepEqual(
      report.lost.details.map((loss) => [loss.file, loss.offset, loss.kind]),
      [[`vlog/${file}`, 32, "value"]],
    );
    const { present, wrong } = await contents(dir);
    assert.deepEqual(wrong, []);
    assert.deepEqual([...Array(FLUSHED + UNFLUSHED).keys()].filter((index) => !present.has(index)), [0]);
  });

  it("a damaged MANIFEST and no CURRENT: every key is rebuilt from the tables and the WAL", { skip: !fullSuite }, async () => {
    const dir = copy();
    flipByte(join(dir, filesMatching(dir, /^MANIFEST-/)[0]!), 32 + 10);
    rmSync(join(dir, "CURRENT"));
    const report = await repair(dir);
    assert.equal(report.manifest.used, false);
    assert.deepEqual(report.lost.details, []);
    const { present, wrong } = await contents(dir);
    assert.equal(present.size, FLUSHED + UNFLUSHED);
    assert.deepEqual(wrong, []);
  });

  it("--dry-run writes nothing; a directory without a database is exit code 1", { skip: !fullSuite }, async () => {
    const dir = copy();
    const before = fingerprint(dir);
    const run = await runCli(["repair", dir, "--dry-run"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /nothing lost; salvaged 2,300 keys/);
    assert.match(run.stdout, /dry run: nothing was written/);
    assert.equal(fingerprint(dir), before);
    assert.deepEqual(readdirSync(temp.dir).filter((name) => name.startsWith(`copy-${copies}.`)), []);
    const empty = join(temp.dir, "empty");
    cpSync(join(pristine, "CURRENT"), join(empty, "CURRENT"));
    const refused = await runCli(["repair", empty]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no database at/);
  });
});
