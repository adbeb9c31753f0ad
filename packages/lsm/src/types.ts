/**
 * The shared vocabulary of `@auradb/lsm`: internal entries, their order, and the iterator
 * contract every sorted source (memtable, data block, table, level, merge) implements.
 *
 * Internal order: user key ascending (bytewise), then sequence number DESCENDING (newest first),
 * then kind descending. For one user key, the first entry an iterator meets is the newest.
 */

/**
 * What an entry says about its key. Durable (written in WAL records and SSTables): never renumber.
 */
export const ValueKind = {
  /** A tombstone: the key was deleted at this sequence. */
  Delete: 0,
  /** A value stored inline. */
  Put: 1,
  /** A value stored in the value log; the entry's value is an encoded value pointer. */
  PutPointer: 2,
} as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/** The largest sequence number (2^53 - 1): "newest possible", used by seeks for the latest value. */
export const SEQUENCE_MAX = Number.MAX_SAFE_INTEGER;

/** One version of a key. */
export interface InternalEntry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
}

/**
 * A cursor over internal entries in internal order. Synchronous: sources that read files do so
 * with positional sync reads, block by block, so a lookup that hits memory or cache never
 * allocates a Promise.
 *
 * Contract:
 * - After a positioning call (`seekToFirst`, `seekToLast`, `seek`, `seekForPrev`), `valid()`
 *   says whether the cursor is on an entry. `key()`, `seq()`, `kind()`, `value()` may only be
 *   called while valid. The returned arrays may be views into internal buffers: valid until the
 *   cursor moves (copy to keep).
 * - `seek(target, seq)` positions at the first entry >= (target, seq) in internal order: the
 *   first entry whose key is > target, or whose key equals target with sequence <= seq.
 *   `seq` defaults to SEQUENCE_MAX (the newest version of `target` or the first key after it).
 * - `seekForPrev(target)` positions at the last entry whose user key is <= target (that key's
 *   OLDEST version, as internal order puts it last).
 * - `next()`/`prev()` move one entry in internal order; REQUIRES valid().
 * - Errors (corruption, I/O) are thrown from the call that hit them as `AuraError`s.
 * - `close()` releases what the cursor pins (blocks, table handles); a closed cursor is invalid.
 */
export interface InternalIterator {
  valid(): boolean;
  key(): Uint8Array;
  seq(): number;
  kind(): ValueKind;
  value(): Uint8Array;
  seekToFirst(): void;
  seekToLast(): void;
  seek(target: Uint8Array, seq?: number): void;
  seekForPrev(target: Uint8Array): void;
  next(): void;
  prev(): void;
  close(): void;
}

/** What the version set knows of one table (from its properties and the manifest). */
export interface TableMeta {
  readonly fileNumber: number;
  readonly fileBytes: number;
  /** The first entry of the table, in internal order. */
  readonly smallestKey: Uint8Array;
  readonly smallestSeq: number;
  /** The last entry of the table, in internal order. */
  readonly largestKey: Uint8Array;
  readonly largestSeq: number;
  readonly entryCount: number;
  /** Tombstones among the entries. */
  readonly deleteCount: number;
  /** Lowest and highest sequence numbers of any entry. */
  readonly minSeq: number;
  readonly maxSeq: number;
  /**
   * The sorted run of its level (L1+) the table belongs to: tables of one run are sorted and
   * disjoint, runs of a level may overlap, and a higher run number holds newer data. Absent (or 0)
   * is the level's base run: a database written with one run per level has no other (manifest tag
   * 6, docs/format/manifest.md). Ignored in L0, where every table is a run of its own.
   */
  readonly run?: number;
}

/** The tree as a compaction policy sees it: plain data. */
export interface LsmShape {
  /** levels[0] is L0 (newest table first, tables may overlap); deeper levels are sorted and disjoint. */
  readonly levels: readonly (readonly TableMeta[])[];
  /** File numbers currently being compacted (a policy must not pick them again). */
  readonly busy: ReadonlySet<number>;
}

/** One compaction to run: merge `inputs` (from `level`) with `overlapping` (from `outputLevel`). */
export interface CompactionPlan {
  readonly level: number;
  readonly inputs: readonly TableMeta[];
  readonly outputLevel: number;
  readonly overlapping: readonly TableMeta[];
  /** Why the policy chose it, for logs and stats. */
  readonly reason: string;
}

/** Decides what to compact next; never does I/O (ARCHITECTURE: decisions apart from execution). */
export interface CompactionPolicy {
  readonly name: string;
  pick(shape: LsmShape): CompactionPlan | null;
}
