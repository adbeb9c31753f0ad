/**
 * @module
 * `@auradb/vlog`: an append-only, checksummed value log for key-value separation, with group
 * commit and crash recovery, on Node, Bun and Deno. Large values are written once, here; the
 * engine's WAL, memtable and tables keep a small {@link ValuePointer} instead.
 *
 * ```ts
 * import { decodePointer, encodePointer, ValueLog } from "@auradb/vlog";
 *
 * const vlog = await ValueLog.open({ dir: "/tmp/my-vlog" });
 * const key = new TextEncoder().encode("photo:1");
 * const [pointer] = await vlog.append([{ key, value: new Uint8Array(100_000), seq: 1 }], { sync: true });
 * const stored = encodePointer(pointer);                  // ≤ 25 bytes, for the engine's records
 * const value = vlog.readSync(decodePointer(stored), key); // verified: checksum, size, key
 * await vlog.close();
 * ```
 *
 * On disk (docs/format/vlog.md): files `<fileNumber>.vlog` of a 32-byte header and entries back
 * to back, each with a CRC-32C seeded with the file number:
 *
 * ```
 * | header 32 B | crc | type | keyLength | valueLength | seq | key | value | crc | type | … |
 *   AURAVLOG v1   <---------- entry header, 21 B ----------->
 * ```
 */
export { ValueLog } from "./vlog.ts";
export type { ValueLogOptions, VlogAppendOptions, VlogEntryInput, VlogFileInfo, VlogRecovery, VlogStats } from "./vlog.ts";
export type { VlogEntry } from "./reader.ts";
export { decodePointer, encodePointer, POINTER_BYTES_MAX } from "./pointer.ts";
export type { ValuePointer } from "./pointer.ts";
export { parseVlogFileName, vlogFileName } from "./filenames.ts";
export { describeVlogFile } from "./describe.ts";
export { ENTRY_HEADER_BYTES, FORMAT_VERSION, HEADER_BYTES, KEY_BYTES_LIMIT, VALUE_BYTES_LIMIT } from "./format.ts";
export type { Partition } from "./format.ts";
