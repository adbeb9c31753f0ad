/**
 * @module
 * `@auradb/fs/bun`: the `FileSystem` adapter for Bun.
 *
 * ```ts
 * import { bunFs } from "@auradb/fs/bun";
 *
 * const fs = bunFs(); // NotSupportedError when not running on Bun
 * ```
 *
 * Every operation is the `node:fs` implementation of `@auradb/fs/node`, because no native Bun
 * API measured faster for what a storage engine does, and the native write APIs cannot do what
 * the contract asks (Bun implements `node:fs` natively, in Zig, so it is not a slow shim there).
 * Measured on Bun 1.4.5, ext4 in a VM, median of 5 runs:
 *
 * - 4 KiB random reads over a 64 MiB file, 20,000 reads: `fs.read` 32.0 µs each one at a time
 *   and 4.3 µs with 32 in flight; `Bun.file(fd).slice(a, b).bytes()` 33.3 µs and 8.2 µs (plus a
 *   copy into the caller's buffer); `Bun.file(path)` 49.1 µs (and it would read whatever file
 *   the path names now, not the open one); `fs.readSync` 1.75 µs.
 * - 100 grouped appends of 100 KB: `fs.write` at a position 8.0 ms, `Bun.write(Bun.file(fd))`
 *   2.2 ms, FileSink `write` + `flush` 3.3 ms, `fs.writeSync` 2.2 ms. With an fdatasync after
 *   each group all four take 63–70 ms (the fdatasync dominates). `Bun.write` and FileSink write
 *   at the descriptor's offset (no positional write) and FileSink has no fsync, so neither can
 *   implement `File.write(data, position)`.
 *
 * Revisit these numbers (`bench/fs.ts`) when Bun adds positional native I/O.
 */
import { NotSupportedError } from "./errors.ts";
import { NodeFs } from "./node.ts";
import type { FileSystem } from "./types.ts";

/** The node:fs implementation under the name "bun" (see the module comment for why). */
class BunFs extends NodeFs {
  override readonly name: string = "bun";
}

/**
 * Returns the Bun `FileSystem` (same capabilities as `nodeFs()`).
 *
 * This module imports nothing Bun-specific, so importing it on Node or Deno is safe; calling
 * `bunFs()` there throws `NotSupportedError`.
 */
export function bunFs(): FileSystem {
  if ((globalThis as { Bun?: unknown }).Bun === undefined) {
    throw new NotSupportedError("auradb/fs: bunFs() needs the Bun runtime; use nodeFs() from @auradb/fs/node");
  }
  return new BunFs();
}
