import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fullSuite, runCli, tempDir } from "./_helpers.ts";

describe("auradb demo", () => {
  const temp = tempDir();
  after(() => temp.cleanup());

  it("loads, reads, scans, survives a SIGKILLed writer, and says where the files are", async () => {
    const dir = join(temp.dir, "demo");
    const result = await runCli(["demo", "--keys", "3000", "--dir", dir], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = result.stdout;
    assert.match(out, /\[1\/5\] Loading 3,000 keys/);
    assert.match(out, /60 large values went to the value log/);
    assert.match(out, /every value correct/);
    assert.match(out, /user:000001500 {2}\[large value 1500\]/);
    const killed = /writer killed after ([\d,]+) acknowledged synced puts/.exec(out);
    assert.ok(killed !== null, out);
    assert.ok(Number(killed[1]!.replace(/,/g, "")) > 0);
    assert.match(out, /✓ all [\d,]+ acknowledged writes survived/);
    assert.match(out, /✓ 3,000 of 3,000 loaded keys are there/);
    assert.ok(out.includes(`Your database is in ${dir}`));
    assert.match(out, /every check passed/);
    // Not a terminal: the progress bar is plain lines, without cursor movement.
    assert.match(out, /^ {2}loading .* 100% \| 3000\/3000 keys/m);
    assert.doesNotMatch(out, /\r|\x1b\[/);
    // The database it leaves is readable by the other commands.
    const count = await runCli(["scan", dir, "--prefix", "user:", "--count"]);
    assert.equal(count.stdout, "3000\n");
  });

  it("refuses a --dir that already holds something", { skip: !fullSuite }, async () => {
    const dir = join(temp.dir, "occupied");
    mkdirSync(dir);
    writeFileSync(join(dir, "file.txt"), "mine");
    const result = await runCli(["demo", "--dir", dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not empty/);
  });
});
