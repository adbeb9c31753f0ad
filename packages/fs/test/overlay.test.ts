import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsConformance } from "../src/conformance.ts";
import { isNotFound } from "../src/errors.ts";
import { nodeFs } from "../src/node.ts";
import { ReadOnlyOverlayFs } from "../src/overlay.ts";

async function temporaryDirectory(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "auradb-fs-overlay-"));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

// A FileSystem like any other while it lives: everything the suite writes lands in memory.
fsConformance({
  name: "ReadOnlyOverlayFs over nodeFs",
  factory: async () => ({ fs: new ReadOnlyOverlayFs(nodeFs()), ...(await temporaryDirectory()) }),
});

describe("ReadOnlyOverlayFs", () => {
  it("reads the disk and keeps every change in memory: the directory is byte for byte the same after", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      await writeFile(join(root, "a"), "disk a");
      await writeFile(join(root, "b"), "disk b");
      const fs = new ReadOnlyOverlayFs(nodeFs());
      assert.equal(fs.untouched, true);
      const a = await fs.open(join(root, "a"));
      await a.write(new TextEncoder().encode("MEMORY"), 0);
      await a.sync();
      const seen = new Uint8Array(6);
      assert.equal(await a.read(seen, 0), 6);
      assert.equal(new TextDecoder().decode(seen), "MEMORY");
      await a.close();
      await fs.rename(join(root, "b"), join(root, "c"));
      const created = await fs.open(join(root, "new"), { create: true });
      await created.close();
      await fs.remove(join(root, "a"));
      await fs.syncDir(root);
      assert.deepEqual(await fs.list(root), ["c", "new"]);
      await assert.rejects(fs.stat(join(root, "a")), isNotFound);
      assert.equal(fs.untouched, false);
      // The disk: as it was.
      assert.deepEqual((await readdir(root)).sort(), ["a", "b"]);
      assert.equal(await readFile(join(root, "a"), "utf8"), "disk a");
      assert.equal(await readFile(join(root, "b"), "utf8"), "disk b");
    } finally {
      await cleanup();
    }
  });
});
