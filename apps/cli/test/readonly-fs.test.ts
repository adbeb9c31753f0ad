import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { AuraDB } from "auradb";
import { nodeFs } from "@auradb/fs/node";
import { ReadOnlyOverlayFs } from "@auradb/fs";
import { fingerprint, keyOf, makeDatabase, tempDir, valueOf } from "./_helpers.ts";

// NB: the overlay's own conformance run is in @auradb/fs (packages/fs/test/overlay.test.ts).
describe("ReadOnlyOverlayFs under the engine", () => {
  const temp = tempDir();
  after(() => temp.cleanup());

  it("the engine opens, writes, flushes, compacts and closes on it; the disk does not change", async () => {
    const dir = join(temp.dir, "db");
    await makeDatabase(dir, 400);
    const before = fingerprint(dir);
    const overlay = new ReadOnlyOverlayFs(nodeFs());
    const db = await AuraDB.open(dir, { fs: overlay, createIfMissing: false });
    assert.equal(new TextDecoder().decode(db.getSync(keyOf(10))), valueOf(10));
    for (let index = 0; index < 200; index++) await db.put(`new:${index}`, valueOf(index), { sync: true });
    await db.delete(keyOf(1));
    await db.flush();
    await db.compactRange();
    assert.equal(db.getSync(keyOf(1)), undefined);
    assert.equal(new TextDecoder().decode(db.getSync("new:10")), valueOf(10));
    await db.close();
    assert.equal(overlay.untouched, false);
    assert.equal(fingerprint(dir), before);

    // Reopened on the real disk: none of it happened.
    const real = await AuraDB.open(dir, { createIfMissing: false });
    assert.equal(new TextDecoder().decode(real.getSync(keyOf(1))), valueOf(1));
    assert.equal(real.getSync("new:10"), undefined);
    await real.close();
  });
});
