/**
 * The architecture's arrows as a test (ARCHITECTURE.md: layers point down): a package may import
 * only the packages below it, and the pure algorithm packages do no I/O.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** What each package may import (by package name); anything else of ours is forbidden. */
const ALLOWED: Record<string, string[]> = {
  "@auradb/fs": [],
  "@auradb/wal": ["@auradb/fs"],
  "@auradb/vlog": ["@auradb/fs"],
  "@auradb/learned-index": [],
  "@auradb/compactor": [],
  "@auradb/lsm": ["@auradb/fs", "@auradb/wal", "@auradb/learned-index"],
  auradb: ["@auradb/fs", "@auradb/wal", "@auradb/vlog", "@auradb/lsm", "@auradb/learned-index", "@auradb/compactor"],
  "@auradb/cli": ["auradb", "@auradb/fs", "@auradb/wal", "@auradb/vlog", "@auradb/lsm", "@auradb/learned-index", "@auradb/compactor"],
};
const PURE = new Set(["@auradb/learned-index", "@auradb/compactor"]);
const OURS = /^(auradb|@auradb\/[a-z-]+)(\/.*)?$/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

function packages(): { name: string; dir: string; dependencies: string[] }[] {
  const found = [];
  for (const group of ["packages", "apps"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir)) {
      const manifestPath = join(groupDir, name, "package.json");
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
      found.push({ name: manifest.name as string, dir: join(groupDir, name), dependencies: Object.keys(manifest.dependencies ?? {}) });
    }
  }
  return found;
}

describe("architecture", () => {
  const all = packages();
  it("finds the packages", () => {
    assert.ok(all.some((entry) => entry.name === "@auradb/fs"));
    assert.ok(all.some((entry) => entry.name === "@auradb/wal"));
  });
  for (const entry of all) {
    it(`${entry.name} imports only the layers below it`, () => {
      const allowed = ALLOWED[entry.name];
      assert.ok(allowed !== undefined, `${entry.name} has no place in the architecture map`);
      for (const dependency of entry.dependencies) {
        if (OURS.test(dependency)) assert.ok(allowed.includes(dependency), `${entry.name} depends on ${dependency}`);
      }
      const importPattern = /(?:from\s+|import\s*\(\s*|import\s+)["']([^"']+)["']/g;
      for (const file of sourceFiles(join(entry.dir, "src"))) {
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(importPattern)) {
          const specifier = match[1]!;
          const ours = OURS.exec(specifier);
          if (ours !== null && ours[1] !== entry.name) {
            assert.ok(allowed.includes(ours[1]!), `${file} imports ${specifier}`);
            assert.ok(entry.dependencies.includes(ours[1]!), `${file} imports ${specifier}, which package.json does not list`);
          }
          if (PURE.has(entry.name)) {
            assert.ok(!/^(node:)?(fs|fs\/promises|child_process|net)$/.test(specifier), `${file} does I/O (${specifier})`);
          }
        }
      }
    });
  }
});
