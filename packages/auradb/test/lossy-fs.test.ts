/**
 * `LossyFs` (the crash test's power-cut flavour): it must be a correct file system while the
 * process lives (the fs conformance suite), and after a "kill" (the process's memory dropped)
 * the real directory must hold exactly what a power cut may leave: synced bytes only, and
 * directory operations up to some point after the last `syncDir` that covers them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsConformance } from "@auradb/fs/testing";
import { nodeFs } from "@auradb/fs/node";
import { LossyFs, undoUnsyncedDirOps } from "./lossy-fs.ts";

function scratch(): { root: string; side: string; cleanup: () => Promise<void> } {
  const root = mkdtempSync(join(tmpdir(), "auradb-lossy-"));
  const side = `${root}.side`;
  return {
    root,
    side,
    cleanup: async () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(side, { recursive: true, force: true });
    },
  };
}

/** Runs `body` in a fresh scratch directory and side directory, removed afterwards. */
async function inScratch(body: (root: string, side: string) => Promise<void>): Promise<void> {
  const { root, side, cleanup } = scratch();
  try {
    await body(root, side);
  } finally {
    await cleanup();
  }
}

fsConformance({
  name: "LossyFs over nodeFs",
  factory: async () => {
    const { root, side, cleanup } = scratch();
    return { fs: new LossyFs(nodeFs(), side), root, cleanup };
  },
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (path: string) => readFileSync(path, "utf8");

describe("LossyFs: what a kill leaves", () => {
  it("unsynced bytes are seen by reads in the process but never reach the real file; synced ones do, in order", async () => {
    await inScratch(async (root, side) => {
      const fs = new LossyFs(nodeFs(), side);
      const path = join(root, "f");
      const file = await fs.open(path, { create: true });
      await file.write(bytes("hello world"), 0);
      await file.truncate(5);
      await file.write(bytes("!"), 7);
      const seen = new Uint8Array(8);
      assert.equal(await file.read(seen, 0), 8);
      assert.deepEqual([...seen], [...bytes("hello"), 0, 0, ...bytes("!")]);
      assert.equal(await file.size(), 8);
      assert.equal((await fs.stat(path)).size, 8);
      // Another handle sees the same unsynced bytes (the page cache).
      const other = await fs.open(path);
      const again = new Uint8Array(8);
      assert.equal(other.readSync(again, 0), 8);
      assert.deepEqual(again, seen);
      assert.equal(text(path), "", "nothing unsynced on the real file");
      await file.sync();
      assert.equal(text(path), "hello\0\0!");
      await file.write(bytes("lost"), 0);
      assert.equal(text(path), "hello\0\0!", "written after the sync: not on the real file");
      await file.close();
      await other.close();
      fs.close();
    });
  });

  it("concurrent syncs of one file apply each change once", async () => {
    await inScratch(async (root, side) => {
      const fs = new LossyFs(nodeFs(), side);
      const path = join(root, "f");
      const file = await fs.open(path, { create: true });
      const syncs: Promise<void>[] = [];
      for (let index = 0; index < 20; index++) {
        await file.write(bytes(String.fromCharCode(97 + index)), index);
        syncs.push(file.sync());
      }
      await Promise.all(syncs);
      assert.equal(text(path), "abcdefghijklmnopqrst");
      await file.close();
      fs.close();
    });
  });

  it("directory operations no syncDir covered are undone as a suffix, newest first; covered ones stay", async () => {
    for (let undo = 0; undo <= 3; undo++) {
      await inScratch(async (root, side) => {
        const fs = new LossyFs(nodeFs(), side);
        const write = async (name: string, content: string) => {
          const file = await fs.open(join(root, name), { create: true });
          await file.write(bytes(content), 0);
          await file.sync();
          await file.close();
        };
        await write("old", "old");
        await write("current", "v1");
        await fs.syncDir(root);
        // Three unsynced directory operations: a create, a rename over "current", a remove.
        await write("tmp", "v2");
        await fs.rename(join(root, "tmp"), join(root, "current"));
        await fs.remove(join(root, "old"));
        fs.close();
        // random() picks how many of the 3 are undone: floor(r · 4).
        const undone = undoUnsyncedDirOps(side, () => undo / 4 + 0.01);
        assert.equal(undone, undo);
        assert.equal(existsSync(side), false, "the side directory is emptied");
        // Newest first: the remove, then the rename, then the create.
        assert.equal(existsSync(join(root, "old")), undo >= 1);
        if (undo >= 1) assert.equal(text(join(root, "old")), "old");
        assert.equal(text(join(root, "current")), undo >= 2 ? "v1" : "v2");
        assert.equal(existsSync(join(root, "tmp")), undo === 2, "the renamed file is back under its old name until its create is undone too");
        if (undo === 2) assert.equal(text(join(root, "tmp")), "v2");
      });
    }
  });

  it("a syncDir covers only the operations journaled before it began", async () => {
    await inScratch(async (root, side) => {
      const fs = new LossyFs(nodeFs(), side);
      const created = await fs.open(join(root, "a"), { create: true });
      await created.close();
      await fs.syncDir(root);
      const late = await fs.open(join(root, "b"), { create: true });
      await late.close();
      fs.close();
      assert.equal(undoUnsyncedDirOps(side, () => 0.99), 1);
      assert.equal(existsSync(join(root, "a")), true, "synced: kept");
      assert.equal(existsSync(join(root, "b")), false, "unsynced: undone");
    });
  });

  it("property: reads see every change at once; after the kill the real file holds exactly the bytes of the last sync", async () => {
    type Step = { op: "write"; at: number; length: number; fill: number } | { op: "truncate"; size: number } | { op: "sync" } | { op: "reopen" };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ op: fc.constant("write" as const), at: fc.nat({ max: 300 }), length: fc.integer({ min: 1, max: 120 }), fill: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ op: fc.constant("truncate" as const), size: fc.nat({ max: 350 }) }),
      fc.record({ op: fc.constant("sync" as const) }),
      fc.record({ op: fc.constant("reopen" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        await inScratch(async (root, side) => {
          const fs = new LossyFs(nodeFs(), side);
          const path = join(root, "f");
          let file = await fs.open(path, { create: true });
          // The model: what reads must see, and what the last sync made real.
          let content = new Uint8Array(0);
          let synced = new Uint8Array(0);
          for (const each of steps) {
            if (each.op === "write") {
              const grown = new Uint8Array(Math.max(content.length, each.at + each.length));
              grown.set(content);
              grown.fill(each.fill, each.at, each.at + each.length);
              content = grown;
              await file.write(new Uint8Array(each.length).fill(each.fill), each.at);
            } else if (each.op === "truncate") {
              const cut = new Uint8Array(each.size);
              cut.set(content.subarray(0, Math.min(each.size, content.length)));
              content = cut;
              await file.truncate(each.size);
            } else if (each.op === "sync") {
              await file.sync();
              synced = content.slice();
            } else {
              await file.close();
              file = await fs.open(path);
            }
            assert.equal(await file.size(), content.length);
            const seen = new Uint8Array(content.length + 8).fill(0xee);
            assert.equal(file.readSync(seen, 0), content.length);
            assert.deepEqual(seen.subarray(0, content.length), content);
            assert.ok(seen.subarray(content.length).every((byte) => byte === 0xee), "no byte past the read is touched");
          }
          await file.close();
          fs.close();
          assert.deepEqual(new Uint8Array(readFileSync(path)), synced);
        });
      }),
      { numRuns: 60 },
    );
  });
});
