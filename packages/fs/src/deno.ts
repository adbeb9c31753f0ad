/**
 * @module
 * `@auradb/fs/deno`: the `FileSystem` adapter for Deno.
 *
 * ```ts
 * import { denoFs } from "@auradb/fs/deno";
 *
 * const fs = denoFs(); // NotSupportedError when not running on Deno
 * ```
 *
 * Needs `--allow-read --allow-write` (and `--allow-sys` for the hostname in lock files).
 *
 * Files are the `node:fs` implementation of `@auradb/fs/node`: Deno's `FsFile` has no positional
 * read or write, and `seek` + `read` is both slower and unsafe when calls overlap (another call
 * can move the shared offset between the two). Measured on Deno 2.9.6, ext4 in a VM, median of
 * 5 runs:
 *
 * - 4 KiB random reads over a 64 MiB file: `fs.read` 34.5 µs, `FsFile.seek` + `read` 75.6 µs;
 *   `fs.readSync` 2.5 µs, `seekSync` + `readSync` 3.7 µs. With 32 reads in flight nothing
 *   overlaps on Deno: `fs.read` 31.3 µs each, 32 `FsFile`s each seeking and reading 31.4 µs
 *   (Node and Bun reach 3–6 µs there).
 * - 100 grouped appends of 100 KB: `fs.write` 4.7 ms, `FsFile.write` 5.6 ms; with a datasync
 *   per group 73.6 ms vs 69.5 ms (noise: the fdatasync dominates).
 * - one awaited 100 B append (TOOLCHAIN.md §5): `fs.write` 3.9 µs, `FsFile.write` 42 µs.
 * - open + close of a file: `fs.open` 32–37 µs, `Deno.open` 35–75 µs.
 *
 * Directory calls use the native API where it measured a little faster and makes the same
 * system calls: `stat` (and `exists`) 36–38 µs vs 43–45 µs, `rename` 31–34 µs vs 34–38 µs,
 * `syncDir` (`Deno.open(dir)` + `sync()`, an fsync of the directory) 110–129 µs vs 127–134 µs.
 * `list` (readdir of 100 names: 297–302 µs either way), `mkdir` and `remove` stay on `node:fs`.
 */
import { NotSupportedError } from "./errors.ts";
import { NodeFs } from "./node.ts";
import type { FileStat, FileSystem } from "./types.ts";

/** The part of `Deno.FsFile` used here. */
interface DenoFsFile {
  sync(): Promise<void>;
  close(): void;
}

/** The part of `Deno.FileInfo` used here. */
interface DenoFileInfo {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly mtime: Date | null;
}

/** The few `Deno.*` calls this adapter makes (declared here, hono style, to need no Deno types). */
interface DenoNamespace {
  open(path: string, options?: { read?: boolean }): Promise<DenoFsFile>;
  stat(path: string): Promise<DenoFileInfo>;
  rename(from: string, to: string): Promise<void>;
  readonly build: { readonly os: string };
}

/** System codes with which fsync of a directory says "cannot here" rather than "failed". */
const DIRECTORY_SYNC_UNSUPPORTED: readonly string[] = ["EPERM", "EINVAL", "EISDIR", "ENOTSUP", "EBADF"];

/** `node:fs` files plus native directory calls (see the module comment for the numbers). */
class DenoFs extends NodeFs {
  override readonly name: string = "deno";
  readonly #deno: DenoNamespace;

  constructor(deno: DenoNamespace) {
    super();
    this.#deno = deno;
  }

  /** `Deno.stat` (follows symbolic links). */
  override async stat(path: string): Promise<FileStat> {
    let info: DenoFileInfo;
    try {
      info = await this.#deno.stat(path);
    } catch (error) {
      throw this.toError(error, "stat", path);
    }
    return { size: info.size, isFile: info.isFile, isDirectory: info.isDirectory, mtimeMs: info.mtime?.getTime() ?? 0 };
  }

  /** `Deno.rename`: atomic, replaces `to`. Errors name `from` as the path. */
  override async rename(from: string, to: string): Promise<void> {
    try {
      await this.#deno.rename(from, to);
    } catch (error) {
      throw this.toError(error, "rename", from);
    }
  }

  /** `Deno.open(dir)` + `sync()` (fsync of the directory); a no-op where the platform cannot. */
  override async syncDir(dir: string): Promise<void> {
    let directory: DenoFsFile;
    try {
      directory = await this.#deno.open(dir, { read: true });
    } catch (error) {
      const mapped = this.toError(error, "syncDir", dir);
      // Windows cannot open a directory as a file: supports.dirSync is false there.
      if (this.#deno.build.os === "windows" && hasSystemCode(mapped, ["EISDIR", "EPERM", "EACCES"])) return;
      throw mapped;
    }
    try {
      await directory.sync();
    } catch (error) {
      const mapped = this.toError(error, "syncDir", dir);
      if (!hasSystemCode(mapped, DIRECTORY_SYNC_UNSUPPORTED)) throw mapped;
    } finally {
      directory.close();
    }
  }
}

function hasSystemCode(error: unknown, codes: readonly string[]): boolean {
  const code = (error as { systemCode?: unknown }).systemCode;
  return typeof code === "string" && codes.includes(code);
}

/**
 * Returns the Deno `FileSystem` (same capabilities as `nodeFs()`).
 *
 * This module touches `Deno` only inside `denoFs()`, so importing it on Node or Bun is safe;
 * calling `denoFs()` there throws `NotSupportedError`.
 */
export function denoFs(): FileSystem {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) {
    throw new NotSupportedError("auradb/fs: denoFs() needs the Deno runtime; use nodeFs() from @auradb/fs/node");
  }
  return new DenoFs(deno);
}
