/**
 * @module
 * `auradb`: an embedded LSM key-value storage engine for Node, Bun and Deno.
 *
 * ```ts
 * import { AuraDB } from "auradb";
 *
 * const db = await AuraDB.open("./data");
 * await db.put("user:1", "Ada");
 * await db.batch([{ type: "put", key: "user:2", value: "Grace" }, { type: "del", key: "user:1" }]);
 * db.getSync("user:2");                         // Uint8Array, no Promise
 * for (const [key, value] of db.iterator({ gte: "user:" })) console.log(key, value);
 * await db.close();
 * ```
 */
export { AGENT_STATE_FILE, AuraDB, DbIterator, Snapshot } from "./db.ts";
export type { AgentReport, BatchOperation, Bytes, CompactionStats, DbStats, RangeOptions, ReadOptions, WriteOptions } from "./db.ts";
export type { AuraDBOptions, AuraEvent, CompactionAgentOptions, CompactionStyle } from "./options.ts";
export { COMPACTION_STYLES } from "./options.ts";
export type { LearnedLevelStats } from "./learned.ts";
export type { LearnedTableStats } from "@auradb/lsm";
export { decodeBatch, encodeBatch, KV_RECORD_VERSION } from "./codec.ts";
export type { DecodedBatch, Operation } from "./codec.ts";
