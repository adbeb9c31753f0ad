import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

export default defineConfig({
  ...packageConfig({
    index: "src/index.ts",
    node: "src/node.ts",
    bun: "src/bun.ts",
    deno: "src/deno.ts",
    testing: "src/testing.ts",
  }),
  // The conformance suite is written against node:test, which all three runtimes provide.
  external: ["node:test", "node:assert", "node:assert/strict"],
});
