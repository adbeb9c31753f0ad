/**
 * Every package README's Usage example runs (the first ```js block after "## Usage"), in a fresh
 * directory, on the runtime running this test.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

function usageExample(readme: string): string | null {
  const usage = readme.indexOf("## Usage");
  if (usage < 0) return null;
  const match = /```js\n([\s\S]*?)```/.exec(readme.slice(usage));
  return match === null ? null : match[1]!;
}

function runtimeCommand(file: string): string[] {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno !== undefined) return [process.execPath, "run", "-A", file];
  return [process.execPath, file];
}

describe("README examples", () => {
  for (const group of ["packages", "apps"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir)) {
      const readmePath = join(groupDir, name, "README.md");
      if (!existsSync(readmePath)) continue;
      it(`${group}/${name}/README.md: the Usage example runs`, () => {
        const example = usageExample(readFileSync(readmePath, "utf8"));
        assert.ok(example !== null, "the README has a ```js example under ## Usage");
        // The script lives in the repository (so package imports resolve); it runs in a fresh
        // working directory (so relative paths in the example land there).
        const scriptDir = join(ROOT, ".ci", "out", "readme");
        mkdirSync(scriptDir, { recursive: true });
        const script = join(scriptDir, `${group}-${name}-${process.pid}-${Date.now()}.mjs`);
        writeFileSync(script, example);
        const cwd = mkdtempSync(join(tmpdir(), "auradb-readme-"));
        try {
          const [command, ...args] = runtimeCommand(script);
          const result = spawnSync(command!, args, { cwd, encoding: "utf8", timeout: 60_000 });
          assert.equal(result.status, 0, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);
        } finally {
          rmSync(cwd, { recursive: true, force: true });
          rmSync(script, { force: true });
        }
      });
    }
  }
});
