/**
 * @module
 * `@auradb/wal`: a segmented, checksummed write-ahead log with group commit and crash recovery,
 * usable on its own on Node, Bun and Deno.
 *
 * ```ts
 * import { Wal } from "@auradb/wal";
 *
 * const wal = await Wal.open({ dir: "/tmp/my-log" });          // sync policy 'always'
 * const lsn = await wal.append(new TextEncoder().encode("hi")); // durable when it resolves
 * for await (const { lsn, data } of wal.replay()) console.log(lsn, data);
 * await wal.removeBefore(lsn);                                  // drop whole old segments
 * await wal.close();
 * ```
 *
 * On disk (docs/format/wal.md): segments of 32 KiB blocks; a record is cut into chunks that never
 * cross a block, each with its own checksum, so a reader can resynchronise at the next block:
 *
 * ```
 * | header 32 B | FULL(A) | FIRST(B) ~~~~~~~~~|  MIDDLE(B) ~~~~~~~~~~~~~~~| LAST(B) | FULL(C) | 0 |
 *   segment       chunk:   crc | len | type | synced offset | [lsn varint] body
 * ```
 */
export { Wal } from "./wal.ts";
export type {
  AppendOptions,
  RecoveryEvent,
  RecoveryMode,
  RecoveryReport,
  ReplayOptions,
  SyncPolicy,
  TailOptions,
  WalOptions,
} from "./wal.ts";
export type { WalRecord } from "./reader.ts";
export { describeSegment } from "./describe.ts";
export { LogFile } from "./logfile.ts";
export type { LogFileContents, LogFileOptions } from "./logfile.ts";
