import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunFs } from "../src/bun.ts";
import { fsConformance } from "../src/conformance.ts";
import { AuraError, ErrorCode } from "../src/errors.ts";
import { nodeFs } from "../src/node.ts";

const onBun = "Bun" in globalThis;

if (onBun) {
  fsConformance({
    name: "bunFs",
    factory: async () => {
      const root = await mkdtemp(join(tmpdir(), "auradb-fs-bun-"));
      return { fs: bunFs(), root, cleanup: () => rm(root, { recursive: true, force: true }) };
    },
  });

  describe("bunFs on Bun", () => {
    it("is named bun and supports what nodeFs supports", () => {
      const fs = bunFs();
      assert.equal(fs.name, "bun");
      assert.deepEqual(fs.supports, nodeFs().supports);
    });
  });
} else {
  describe("bunFs off Bun", () => {
    it("the module imports, and bunFs() throws NotSupportedError", () => {
      assert.throws(
        () => bunFs(),
        (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.NotSupported && error.message.startsWith("auradb/fs: "),
      );
    });
  });
}
