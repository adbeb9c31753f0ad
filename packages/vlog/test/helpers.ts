/** Shared helpers of the value-log tests (not a test file). */
import { AuraError, type FileSystem, mkdirDurable, readFile, writeAll } from "@auradb/fs";
import type { MemFs } from "@auradb/fs/testing";
import { ValueLog, type ValueLogOptions } from "../src/index.ts";

export const DIR = "/db/vlog";

/** Deterministic bytes: `size` bytes derived from `seed`. */
export function valueBytes(seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

export function keyOf(index: number): Uint8Array {
  return new TextEncoder().encode(`key-${String(index).padStart(6, "0")}`);
}

export function openLog(fs: FileSystem, options: Partial<ValueLogOptions> = {}): Promise<ValueLog> {
  return ValueLog.open({ dir: DIR, fs, ...options });
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** A predicate for `assert.throws`/`rejects`: an AuraDB error with this code. */
export function hasCode(code: string, pattern?: RegExp) {
  return (error: unknown): boolean => AuraError.isInstance(error) && error.code === code && (pattern === undefined || pattern.test(error.message));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** The content of the file `name` of the log directory. */
export function fileContent(fs: FileSystem, name: string): Promise<Uint8Array> {
  return readFile(fs, `${DIR}/${name}`);
}

/** Creates `name` in the log directory holding `bytes`, durably. */
export async function putFile(fs: MemFs, name: string, bytes: Uint8Array): Promise<void> {
  await mkdirDurable(fs, DIR);
  const file = await fs.open(`${DIR}/${name}`, { create: true, truncate: true });
  await writeAll(file, bytes, 0);
  await file.sync();
  await file.close();
  await fs.syncDir(DIR);
}

/** The names of the value-log files in the directory. */
export async function vlogNames(fs: FileSystem): Promise<string[]> {
  return (await fs.list(DIR)).filter((name) => name.endsWith(".vlog"));
}
