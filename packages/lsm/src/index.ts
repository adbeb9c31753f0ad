/**
 * @module
 * `@auradb/lsm`: the log-structured merge tree under the AuraDB engine.
 */
export { ValueKind, SEQUENCE_MAX } from "./types.ts";
export type { InternalEntry, InternalIterator } from "./types.ts";
export { compareBytes, compareInternal, equalBytes } from "./compare.ts";
export { copyBytes } from "./copy.ts";
export type { TableMeta, LsmShape, CompactionPlan, CompactionPolicy } from "./types.ts";
export { ArrayIterator } from "./iterators/array.ts";
export { MergingIterator, LINEAR_SCAN_CHILDREN_MAX } from "./iterators/merging.ts";
export type { MergingIteratorOptions } from "./iterators/merging.ts";
export { LevelIterator } from "./iterators/level.ts";
export type { OpenTable } from "./iterators/level.ts";
export { UserIterator } from "./iterators/user.ts";
export type { UserIteratorOptions, EntryBatch } from "./iterators/user.ts";
export { CompactionIterator } from "./compaction/filter.ts";
export type { CompactionIteratorOptions, CompactionCounters } from "./compaction/filter.ts";
export { keyRange, LeveledPolicy, overlappingTables } from "./compaction/leveled.ts";
export type { LeveledPolicyOptions, LeveledPlan } from "./compaction/leveled.ts";
export { Version, VersionSet } from "./version/version-set.ts";
export type { Run } from "./version/version-set.ts";
export type { VersionSetOptions } from "./version/version-set.ts";
export { decodeEdit, encodeEdit } from "./version/edit.ts";
export type { VersionEdit } from "./version/edit.ts";
export { CURRENT_FILE, FileKind, LOCK_FILE, manifestFileName, parseFileName, tableFileName, WAL_DIRECTORY } from "./filenames.ts";
export { Memtable } from "./memtable.ts";
export type { MemtableGetResult } from "./memtable.ts";
export { TableBuilder } from "./sstable/builder.ts";
export type { LearnedIndexOption, TableBuilderOptions, TableBuildResult } from "./sstable/builder.ts";
export { DEFAULT_LEARNED_EPSILON, LEARNED_STATUS_NAMES, LearnedStatus } from "./sstable/learned.ts";
export { BLOCK_COMPRESSIONS } from "./sstable/compression.ts";
export type { BlockCompression } from "./sstable/compression.ts";
export { TableReader } from "./sstable/reader.ts";
export type { LearnedTableStats, TableGetResult, TableIteratorOptions, TableReaderOptions, TableReaderStats } from "./sstable/reader.ts";
export { BlockCache } from "./sstable/cache.ts";
export type { BlockCacheStats } from "./sstable/cache.ts";
export { describeTable } from "./sstable/describe.ts";
export type { DescribeTableOptions } from "./sstable/describe.ts";
export type { TableProperties } from "./sstable/properties.ts";
export { FORMAT_VERSION as SSTABLE_FORMAT_VERSION } from "./sstable/format.ts";
