/**
 * @module
 * `@auradb/fs`: one file-system interface for storage engines.
 *
 * ```ts
 * import { nodeFs } from "@auradb/fs/node";
 * import { writeAll } from "@auradb/fs";
 *
 * const fs = nodeFs();
 * await fs.mkdir("/tmp/demo");
 * const file = await fs.open("/tmp/demo/data", { create: true });
 * await writeAll(file, new TextEncoder().encode("hello"), 0);
 * await file.datasync();            // durable from here on
 * await file.close();
 * await fs.syncDir("/tmp/demo");    // and so is its directory entry
 * ```
 *
 * Adapters: `@auradb/fs/node` (node:fs; the same system calls on Node, Bun and Deno),
 * `@auradb/fs/bun`, `@auradb/fs/deno`. Testing: `@auradb/fs/testing` (`MemFs` with crash
 * simulation, `FaultFs` with fault injection, and the conformance suite `fsConformance`).
 */
export type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "./types.ts";
export {
  AuraError,
  ClosedError,
  CorruptionError,
  ErrorCode,
  InvalidArgumentError,
  IOError,
  isCorruption,
  isIOError,
  isLocked,
  isNotFound,
  LockedError,
  NotFoundError,
  NotSupportedError,
  ReadOnlyError,
  SimulatedCrash,
} from "./errors.ts";
export type { AuraErrorOptions, FsOp } from "./errors.ts";
export { basename, dirname, joinPath } from "./path.ts";
export { crc32c, maskCrc, unmaskCrc } from "./checksum.ts";
export { readVarint, varintLength, writeVarint } from "./varint.ts";
export type { VarintResult } from "./varint.ts";
export {
  BackgroundSync,
  dropUnsyncedTail,
  isFailedDataSync,
  mkdirDurable,
  readAt,
  readAtSync,
  readFile,
  writeAll,
  writeAllSync,
  writeFileAtomic,
} from "./io.ts";
export type { SyncProgress } from "./io.ts";
export { ReadOnlyOverlayFs } from "./overlay.ts";
