import { defineConfig, type Options } from "tsup";

/** Shared build settings: ESM + .d.ts, keep `node:` specifiers (Deno needs them). */
export function packageConfig(entry: Record<string, string>): Options {
  return {
    entry,
    format: ["esm"],
    dts: true,
    clean: true,
    target: "es2022",
    platform: "node",
    removeNodeProtocol: false,
    sourcemap: true,
    splitting: true,
  };
}

export default defineConfig(packageConfig({ index: "src/index.ts" }));
