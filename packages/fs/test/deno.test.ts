import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsConformance } from "../src/conformance.ts";
import { denoFs } from "../src/deno.ts";
import { AuraError, ErrorCode, isIOError } from "../src/errors.ts";
import { nodeFs } from "../src/node.ts";

const onDeno = "Deno" in globalThis;

async function temporaryDirectory(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "auradb-fs-deno-"));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

if (onDeno) {
  fsConformance({
    name: "denoFs",
    factory: async () => ({ fs: denoFs(), ...(await temporaryDirectory()) }),
  });

  describe("denoFs on Deno", () => {
    it("is named deno and supports what nodeFs supports", () => {
      const fs = denoFs();
      assert.equal(fs.name, "deno");
      assert.deepEqual(fs.supports, nodeFs().supports);
    });

    it("native stat and rename map Deno errors like node:fs ones (ENOTDIR is an IOError)", async () => {
      const { root, cleanup } = await temporaryDirectory();
      try {
        const fs = denoFs();
        const file = join(root, "file");
        await (await fs.open(file, { create: true })).close();
        const beneath = join(file, "beneath");
        await assert.rejects(fs.stat(beneath), (error: unknown) => isIOError(error) && error.systemCode === "ENOTDIR" && error.op === "stat");
        assert.equal(await fs.exists(beneath), false);
        await assert.rejects(fs.rename(file, join(beneath, "x")), (error: unknown) => isIOError(error) && error.path === file);
      } finally {
        await cleanup();
      }
    });
  });
} else {
  describe("denoFs off Deno", () => {
    it("the module imports, and denoFs() throws NotSupportedError", () => {
      assert.throws(
        () => denoFs(),
        (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.NotSupported && error.message.startsWith("auradb/fs: "),
      );
    });
  });
}
