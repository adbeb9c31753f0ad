/**
 * Test helpers: run the built CLI (dist/cli.js) as a subprocess with the runtime running the
 * tests (node, bun, or `deno run -A`), make databases, fingerprint directories.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuraDB } from "auradb";

/** The runtime running the tests. */
export const runtime: "node" | "bun" | "deno" =
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";

/** Node runs every CLI test; Bun and Deno a smoke subset (the CLI's code is the same). */
export const fullSuite = runtime === "node";

export const CLI_PATH = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `auradb …args` to completion; `input` is written to its stdin. */
export function runCli(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const runtimeArgs = runtime === "deno" ? ["run", "-A", CLI_PATH] : [CLI_PATH];
  const environment: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete environment.FORCE_COLOR; // NB: Deno colours whenever FORCE_COLOR is set, even to 0
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...runtimeArgs, ...args], { env: environment, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** A new empty directory under the OS temp dir; `cleanup` removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "auradb-cli-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function keyOf(index: number): string {
  return `key:${String(index).padStart(6, "0")}`;
}

/** The value of key `index`: every 10th one 6 KiB (separated into the value log), others small. */
export function valueOf(index: number): string {
  return index % 10 === 0 ? `large-${index}-`.repeat(1000).slice(0, 6000) : `value-${index}`;
}

/**
 * A database with every kind of file: tables (flushed, small memtable), a value-log file, a WAL
 * segment with unflushed records, a manifest and CURRENT.
 */
export async function makeDatabase(dir: string, count = 2000): Promise<void> {
  const db = await AuraDB.open(dir, { memtableBytes: 64 * 1024 });
  for (let index = 0; index < count; index++) await db.put(keyOf(index), valueOf(index));
  await db.flush();
  for (let index = count; index < count + 20; index++) await db.put(keyOf(index), valueOf(index));
  await db.close();
}

/** Every file under `dir` with its size, mtime and content hash: equal fingerprints, untouched directory. */
export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const visit = (path: string, relative: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const info = statSync(full);
      if (info.isDirectory()) {
        lines.push(`${relative}${name}/ ${info.mtimeMs}`);
        visit(full, `${relative}${name}/`);
      } else {
        lines.push(`${relative}${name} ${info.size} ${info.mtimeMs} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`);
      }
    }
  };
  visit(dir, "");
  return lines.join("\n");
}

/** Flips one bit of the byte at `offset` of `path`. */
export function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0x10;
  writeFileSync(path, bytes);
}

/** The file names in `dir` that match `pattern`. */
export function filesMatching(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir).filter((name) => pattern.test(name)).sort();
}
