/**
 * Reads one table: opens it synchronously (footer, metaindex, properties, filter, index), then
 * answers point lookups and iterates, reading data blocks through the shared block cache.
 */
import { ClosedError, CorruptionError, InvalidArgumentError, readAtSync } from "@auradb/fs";
import type { File } from "@auradb/fs";
import { SEQUENCE_MAX } from "../types.ts";
import type { InternalIterator, TableMeta, ValueKind } from "../types.ts";
import { assert } from "./_assert.ts";
import { Block, BlockIterator, newRestartEntry, SEEK_KIND } from "./block.ts";
import { BloomFilter } from "./bloom.ts";
import type { BlockCache } from "./cache.ts";
import {
  checkBlock,
  checkBlockHandle,
  decodeFooter,
  decodeHeader,
  FILE_NUMBER_MAX,
  fileCrcSeed,
  FOOTER_BYTES,
  HEADER_BYTES,
  MetaBlockName,
  TRAILER_BYTES,
} from "./format.ts";
import type { BlockHandle, Footer } from "./format.ts";
import { LearnedIndex, LearnedStatus, LEARNED_STATUS_NAMES } from "./learned.ts";
import type { LearnedWindow } from "./learned.ts";
import { decodeProperties } from "./properties.ts";
import type { TableProperties } from "./properties.ts";

/** Options of {@link TableReader.open}. */
export interface TableReaderOptions {
  /**
   * Check every block's checksum when it is read (default true). With false, a damaged block
   * may give wrong answers; malformed structure is still a `CorruptionError`, never a crash.
   */
  readonly verifyChecksums?: boolean;
  /**
   * The file's size, when the caller knows it (the manifest records every table's size). When
   * omitted it is found with a few 1-byte positional reads (about 2 × log2(size)), because the
   * `File` contract has no synchronous size call.
   */
  readonly fileBytes?: number;
  /**
   * Use the table's learned index, when it has one, for lookups and seeks (default true). With
   * false the model block is not even read: every lookup binary-searches the index.
   */
  readonly learnedIndex?: boolean;
}

/** Options of {@link TableReader.iterator}. */
export interface TableIteratorOptions {
  /** Insert the blocks read into the block cache (default true; false for compaction scans). */
  readonly fillCache?: boolean;
}

/** One version of a key, as {@link TableReader.get} returns it. */
export interface TableGetResult {
  readonly kind: ValueKind;
  readonly seq: number;
  /**
   * A view of the cached data block's bytes (no copy): immutable and valid forever (blocks are
   * never modified, eviction only drops the cache's reference), but it keeps the whole block
   * (about `blockBytes`) alive while referenced, and it must not be modified. Copy it to keep
   * it long or to hand it to code that may write to it.
   */
  readonly value: Uint8Array;
}

/** Counters of one {@link TableReader}: a snapshot, owned by the caller. */
export interface TableReaderStats {
  /** `get` calls that searched the table's index (the Bloom filter, if any, said "maybe"). */
  readonly lookups: number;
  /** `get` calls that consulted the Bloom filter. */
  readonly bloomChecks: number;
  /** ...and that it answered "absent" (no block read: the filter was useful). */
  readonly bloomNegatives: number;
  /** ...that it answered "maybe" for a user key the table does not hold. */
  readonly bloomFalsePositives: number;
  /** Data blocks read from the file (cache misses of `get` and iterators). */
  readonly blockReads: number;
  /** Bytes of those reads (contents and trailers). */
  readonly blockReadBytes: number;
  /** The learned index of this table: whether it is used, and how well it predicts. */
  readonly learned: LearnedTableStats;
}

/** What a table's learned index is and does (part of {@link TableReaderStats}). */
export interface LearnedTableStats {
  /**
   * `"learned"` (in use), or why not: `"off"`, `"tiny-table"`, `"too-many-segments"`,
   * `"not-worth-it"` (decided when the table was written), `"disabled"` (the reader was opened
   * with `learnedIndex: false`), `"no-gain"` (its windows proved as wide as a binary search).
   */
  readonly status: string;
  readonly segments: number;
  readonly epsilon: number;
  /** Bytes of the model block (kept in memory while the table is open). */
  readonly modelBytes: number;
  /** Lookups and seeks located by the model. */
  readonly lookups: number;
  /** ...that it pinned to one data block (no key comparison in the index): the hit rate's numerator. */
  readonly direct: number;
  /** Mean width of the predicted window, in keys. */
  readonly averageWindow: number;
  /** Mean number of candidate data blocks per lookup. */
  readonly averageBlocks: number;
}

/**
 * After this many learned lookups a reader checks that the model narrows the search: if the
 * candidate blocks per lookup, on average, are as many as a binary search over the whole index
 * would probe (log2 of the block count), the model gains nothing and the reader stops using it.
 */
const LEARNED_PROBATION_LOOKUPS = 1024;

function checkIntegerArgument(name: string, value: number, minimum: number, maximum: number): void {
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(`auradb/lsm: ${name} must be an integer in ${minimum}..${maximum}, got ${value}`);
  }
}

/** The size of `file` by positional 1-byte reads: doubling, then bisection. */
function probeFileBytes(file: File): number {
  const probe = new Uint8Array(1);
  if (file.readSync(probe, 0) === 0) return 0;
  let present = 0;
  let absent = 1;
  while (file.readSync(probe, absent) === 1) {
    present = absent;
    absent *= 2;
  }
  while (absent - present > 1) {
    const middle = Math.floor((present + absent) / 2);
    if (file.readSync(probe, middle) === 1) present = middle;
    else absent = middle;
  }
  return absent;
}

/** Compares two whole keys held at offsets of the same bytes. */
function compareRanges(data: Uint8Array, aStart: number, aLength: number, bStart: number, bLength: number): number {
  const common = aLength < bLength ? aLength : bLength;
  for (let index = 0; index < common; index++) {
    const difference = data[aStart + index]! - data[bStart + index]!;
    if (difference !== 0) return difference;
  }
  return aLength - bLength;
}

/** The first data block whose last entry is >= (target, seq, kind), or the block count (set in `TableReader`'s static block). */
let findBlockOf: (reader: TableReader, target: Uint8Array, seq: number, kind: number) => number;
/** Data block `blockNumber` through the cache (set in `TableReader`'s static block). */
let blockOf: (reader: TableReader, blockNumber: number, fillCache: boolean) => Block;

/**
 * An open table. Opening reads and checks the footer, the metaindex, the properties, the filter
 * and the index, and keeps the filter and index in memory; data blocks are read on demand with
 * positional synchronous reads and shared through the `BlockCache`.
 *
 * Errors: every byte is checked before it is used. Damage (a checksum, a size, a structure that
 * does not hold) throws `CorruptionError` with `path` = the file's path and `offset` = where in
 * the file; I/O failures throw the file's `IOError`. A damaged table never yields a wrong answer
 * (with `verifyChecksums`, the default) and never makes the reader allocate more than the file
 * holds.
 *
 * Ownership: the reader does not own `file` (the table cache does): `close` does not close it,
 * and the file must stay open while the reader or any of its iterators is used. Synchronous,
 * single-threaded; any number of iterators may be open at once.
 */
export class TableReader {
  readonly file: File;
  readonly fileNumber: number;
  readonly fileBytes: number;
  readonly properties: TableProperties;
  /** The table's metadata, from its properties and size (arrays are the properties' own). */
  readonly meta: TableMeta;
  readonly #cache: BlockCache;
  readonly #verifyChecksums: boolean;
  readonly #seed: number;
  readonly #indexKeys: IndexKeys;
  readonly #filter: BloomFilter | undefined;
  /** Data block n: contents at `#blockOffsets[n]`, `#blockSizes[n]` bytes (trailer excluded). */
  readonly #blockOffsets: Float64Array;
  readonly #blockSizes: Uint32Array;
  readonly #dataBlockCount: number;
  /** The cursor of `get`, re-pointed at each block (no iterator allocated per lookup). */
  readonly #cursor: BlockIterator = new BlockIterator();
  /** The learned index, while in use; `#learnedStatus` says why not otherwise. */
  #learned: LearnedIndex | undefined;
  #learnedStatus: string;
  readonly #learnedModel: LearnedIndex | undefined;
  /** The last learned lookup's window (reused: no allocation per lookup). */
  readonly #window: LearnedWindow = { firstBlock: 0, lastBlock: 0, low: 0, high: 0 };
  #learnedLookups = 0;
  #learnedDirect = 0;
  #learnedWindowSum = 0;
  #learnedBlocksSum = 0;
  #closed = false;
  #lookups = 0;
  #bloomChecks = 0;
  #bloomNegatives = 0;
  #bloomFalsePositives = 0;
  #blockReads = 0;
  #blockReadBytes = 0;

  private constructor(
    file: File,
    fileNumber: number,
    fileBytes: number,
    cache: BlockCache,
    verifyChecksums: boolean,
    seed: number,
    opened: OpenedTable,
  ) {
    this.file = file;
    this.fileNumber = fileNumber;
    this.fileBytes = fileBytes;
    this.#cache = cache;
    this.#verifyChecksums = verifyChecksums;
    this.#seed = seed;
    this.properties = opened.properties;
    this.#indexKeys = opened.indexKeys;
    this.#filter = opened.filter;
    this.#blockOffsets = opened.blockOffsets;
    this.#blockSizes = opened.blockSizes;
    this.#dataBlockCount = opened.blockOffsets.length;
    const properties = opened.properties;
    this.#learnedModel = opened.learned;
    this.#learned = opened.learned;
    this.#learnedStatus = opened.learnedStatus;
    this.meta = {
      fileNumber,
      fileBytes,
      smallestKey: properties.smallestKey,
      smallestSeq: properties.smallestSeq,
      largestKey: properties.largestKey,
      largestSeq: properties.largestSeq,
      entryCount: properties.entryCount,
      deleteCount: properties.deleteCount,
      minSeq: properties.minSeq,
      maxSeq: properties.maxSeq,
    };
  }

  /**
   * Opens table `fileNumber` stored in `file` (synchronously: `readSync` only). Reads about six
   * blocks' worth: header, footer, metaindex, properties, filter, index.
   *
   * @param file the table's file, open for reading (`supports.syncIO` required); not owned.
   * @param fileNumber the number the manifest gives this table: a footer naming another number
   *   is corruption (a table copied or renamed under the wrong name).
   * @param cache the block cache for data blocks (shared by all tables).
   * @throws CorruptionError (`path`, `offset`) on any damage, an unknown newer format version,
   *   or a file number mismatch; `InvalidArgumentError` on an out-of-range `fileNumber` or
   *   `fileBytes`; the file's `IOError`.
   */
  static open(file: File, fileNumber: number, cache: BlockCache, options: TableReaderOptions = {}): TableReader {
    checkIntegerArgument("fileNumber", fileNumber, 0, FILE_NUMBER_MAX);
    const path = file.path;
    const verifyChecksums = options.verifyChecksums ?? true;
    let fileBytes: number;
    if (options.fileBytes !== undefined) {
      checkIntegerArgument("fileBytes", options.fileBytes, 0, Number.MAX_SAFE_INTEGER);
      fileBytes = options.fileBytes;
    } else {
      fileBytes = probeFileBytes(file);
    }
    if (fileBytes < HEADER_BYTES + FOOTER_BYTES) {
      throw new CorruptionError(`auradb/lsm: sstable of ${fileBytes} bytes is too short to hold a header and footer`, {
        path,
        offset: 0,
      });
    }
    const headerVersion = decodeHeader(readAtSync(file, 0, HEADER_BYTES), path);
    const footerOffset = fileBytes - FOOTER_BYTES;
    const footer = decodeFooter(readAtSync(file, footerOffset, FOOTER_BYTES), path, footerOffset);
    if (footer.formatVersion !== headerVersion) {
      throw new CorruptionError(`auradb/lsm: sstable header says version ${headerVersion}, footer ${footer.formatVersion}`, {
        path,
        offset: footerOffset + 32,
      });
    }
    if (footer.fileNumber !== fileNumber) {
      throw new CorruptionError(
        `auradb/lsm: sstable ${path} holds table ${footer.fileNumber}, not ${fileNumber} (copied or renamed under the wrong name?)`,
        { path, offset: footerOffset + 24 },
      );
    }
    const seed = fileCrcSeed(fileNumber);
    const readMetaBlock = (handle: BlockHandle): Uint8Array =>
      checkBlock(readAtSync(file, handle.offset, handle.size + TRAILER_BYTES), handle, seed, path, verifyChecksums);
    const opened = openTable(file, fileBytes, footer, readMetaBlock, options.learnedIndex ?? true);
    return new TableReader(file, fileNumber, fileBytes, cache, verifyChecksums, seed, opened);
  }

  /** Number of data blocks. */
  get dataBlockCount(): number {
    return this.#dataBlockCount;
  }

  /**
   * The newest entry of `key` whose sequence number is <= `seq` (default: the newest of all), or
   * `undefined` when the table holds none. A tombstone is returned as such (`kind` Delete): the
   * caller decides what it hides. Consults the Bloom filter first; allocates only the result
   * (its `value` is a view of the cached block, see {@link TableGetResult}).
   * @throws CorruptionError, the file's `IOError`, `ClosedError` after `close`.
   */
  get(key: Uint8Array, seq: number = SEQUENCE_MAX): TableGetResult | undefined {
    this.#checkOpen();
    const filter = this.#filter;
    if (filter !== undefined) {
      this.#bloomChecks++;
      if (!filter.mayContain(key)) {
        this.#bloomNegatives++;
        return undefined;
      }
    }
    this.#lookups++;
    // The first data block whose last entry is >= (key, seq) holds the first entry >= it.
    const blockNumber = this.#findBlock(key, seq, SEEK_KIND);
    if (blockNumber < this.#dataBlockCount) {
      const cursor = this.#cursor;
      const block = this.#loadBlock(blockNumber, true);
      cursor.reset(block);
      if (this.#learned !== undefined && this.#learned.oneEntryPerKey && seq >= this.properties.maxSeq) {
        this.#seekLearned(cursor, block, blockNumber, key, seq);
      } else {
        cursor.seek(key, seq);
      }
      if (cursor.valid() && cursor.keyEquals(key)) {
        return { kind: cursor.kind(), seq: cursor.seq(), value: cursor.value() };
      }
    }
    if (filter !== undefined && (seq >= this.properties.maxSeq || !this.#holdsUserKey(key))) this.#bloomFalsePositives++;
    return undefined;
  }

  /**
   * False only when the table certainly holds no entry of `key` (the Bloom filter; true when the
   * table has none). Not counted in {@link stats}.
   */
  mayContain(key: Uint8Array): boolean {
    this.#checkOpen();
    return this.#filter === undefined || this.#filter.mayContain(key);
  }

  /**
   * A new cursor over the table's entries (contract: `InternalIterator` in types.ts). `key()` is
   * valid until the cursor moves; `value()` is a view of an immutable block (as in `get`). The
   * cursor reads blocks through the cache (`fillCache`, default true, also inserts them). Close
   * it when done; the reader must stay open while it is used.
   */
  iterator(options: TableIteratorOptions = {}): InternalIterator {
    this.#checkOpen();
    return new TableIterator(this, options.fillCache ?? true);
  }

  /** A snapshot of this reader's counters. */
  stats(): TableReaderStats {
    const model = this.#learnedModel?.model;
    const lookups = this.#learnedLookups;
    return {
      lookups: this.#lookups,
      bloomChecks: this.#bloomChecks,
      bloomNegatives: this.#bloomNegatives,
      bloomFalsePositives: this.#bloomFalsePositives,
      blockReads: this.#blockReads,
      blockReadBytes: this.#blockReadBytes,
      learned: {
        status: this.#learnedStatus,
        segments: model?.segmentCount ?? 0,
        epsilon: model?.epsilon ?? 0,
        modelBytes: this.#learnedModel?.bytes ?? 0,
        lookups,
        direct: this.#learnedDirect,
        averageWindow: lookups === 0 ? 0 : this.#learnedWindowSum / lookups,
        averageBlocks: lookups === 0 ? 0 : this.#learnedBlocksSum / lookups,
      },
    };
  }

  /**
   * Releases the reader (not the file, not the cached blocks: they stay valid for the table's
   * next reader). Further calls throw `ClosedError`; a second close is a bug (asserted).
   */
  close(): void {
    assert(!this.#closed, "auradb/lsm: TableReader closed twice");
    this.#closed = true;
  }

  static {
    // The table iterator's access to the reader's internals, without making them public API.
    findBlockOf = (reader, target, seq, kind) => {
      reader.#checkOpen();
      return reader.#findBlock(target, seq, kind);
    };
    blockOf = (reader, blockNumber, fillCache) => {
      reader.#checkOpen();
      return reader.#loadBlock(blockNumber, fillCache);
    };
  }

  /**
   * Binary search of the index: the first block whose last entry is >= (target, seq, kind).
   *
   * NB: keys compare from the shorter of the common prefixes the target shares with the two
   * bounds (every key between two sorted keys shares at least that much with the target), so
   * long shared prefixes (zero-padded numbers, table-name prefixes) are not re-read per probe.
   */
  #findBlock(target: Uint8Array, seq: number, kind: number): number {
    const learned = this.#learned;
    // The model locates a key's newest entry; it answers (target, seq) when no entry of the
    // table is newer than seq, so that the first entry >= (target, seq) is the newest one of the
    // first user key >= target (always so for reads of the latest state).
    if (learned === undefined || seq < this.properties.maxSeq) return this.#searchIndex(target, seq, kind, 0, this.#dataBlockCount);
    const window = learned.locate(target, this.#window);
    const first = window.firstBlock;
    const last = window.lastBlock;
    const lookups = ++this.#learnedLookups;
    this.#learnedWindowSum += window.high - window.low + 1;
    this.#learnedBlocksSum += last - first + 1;
    if (lookups === LEARNED_PROBATION_LOOKUPS && this.#learnedBlocksSum / lookups >= Math.log2(this.#dataBlockCount)) {
      this.#learned = undefined;
      this.#learnedStatus = "no-gain";
    }
    if (first === last) {
      this.#learnedDirect++;
      return first;
    }
    // The answer is in first..last: binary-search only those index entries.
    return this.#searchIndex(target, seq, kind, first, last);
  }

  /**
   * `seek` inside data block `blockNumber` with the learned window of the last `#findBlock`: in a
   * table with one entry per user key, entry i of the block is key `blockStart[b] + i`, so the
   * window's positions give the restart points that can precede the target.
   */
  #seekLearned(cursor: BlockIterator, block: Block, blockNumber: number, key: Uint8Array, seq: number): void {
    const starts = this.#learned!.blockStart;
    const blockFirst = starts[blockNumber]!;
    const blockEnd = starts[blockNumber + 1]!;
    const interval = this.properties.restartInterval;
    const window = this.#window;
    // Invariant of a checked table: the block's restarts are one per `interval` entries.
    if (block.restartCount !== Math.ceil((blockEnd - blockFirst) / interval)) return cursor.seek(key, seq);
    const low = (window.low > blockFirst ? window.low : blockFirst) - blockFirst;
    const high = (window.high < blockEnd - 1 ? window.high : blockEnd - 1) - blockFirst;
    // The last restart before entry i is (i - 1) / interval, rounded down (-1 for i = 0).
    const firstBelow = Math.floor((low - 1) / interval);
    const lastBelow = Math.floor((high - 1) / interval);
    cursor.seekWithin(key, seq, firstBelow + 1, lastBelow < block.restartCount - 1 ? lastBelow : block.restartCount - 1);
  }

  /** Binary search of index entries `low..high - 1`: the first whose entry is >= the target, or `high`. */
  #searchIndex(target: Uint8Array, seq: number, kind: number, first: number, end: number): number {
    const { data, spans, seqs, kinds } = this.#indexKeys;
    const targetLength = target.length;
    let low = first;
    let high = end;
    let lowMatched = 0;
    let highMatched = 0;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const start = spans[2 * middle]!;
      const length = spans[2 * middle + 1]!;
      const limit = length < targetLength ? length : targetLength;
      let position = lowMatched < highMatched ? lowMatched : highMatched;
      while (position < limit && data[start + position] === target[position]) position++;
      let order = position < limit ? data[start + position]! - target[position]! : length - targetLength;
      if (order === 0) {
        const entrySeq = seqs[middle]!;
        order = entrySeq !== seq ? (entrySeq > seq ? -1 : 1) : kind - kinds[middle]!;
      }
      if (order < 0) {
        low = middle + 1;
        lowMatched = position;
      } else {
        high = middle;
        highMatched = position;
      }
    }
    return low;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("auradb/lsm: table reader is closed", { path: this.file.path });
  }

  #loadBlock(blockNumber: number, fillCache: boolean): Block {
    const cached = this.#cache.lookup(this.fileNumber, blockNumber);
    if (cached !== undefined) return cached;
    const handle = { offset: this.#blockOffsets[blockNumber]!, size: this.#blockSizes[blockNumber]! };
    const path = this.file.path;
    const bytes = readAtSync(this.file, handle.offset, handle.size + TRAILER_BYTES);
    this.#blockReads++;
    this.#blockReadBytes += bytes.length;
    const block = Block.decode(checkBlock(bytes, handle, this.#seed, path, this.#verifyChecksums), path, handle.offset);
    if (fillCache) this.#cache.insert(this.fileNumber, blockNumber, block);
    return block;
  }

  /** True when some entry of the table has user key `key` (any sequence number). */
  #holdsUserKey(key: Uint8Array): boolean {
    const blockNumber = this.#findBlock(key, SEQUENCE_MAX, SEEK_KIND);
    if (blockNumber >= this.#dataBlockCount) return false;
    const cursor = this.#cursor;
    cursor.reset(this.#loadBlock(blockNumber, true));
    cursor.seek(key, SEQUENCE_MAX);
    return cursor.valid() && cursor.keyEquals(key);
  }
}

/** What `openTable` found. */
interface OpenedTable {
  readonly learned: LearnedIndex | undefined;
  readonly learnedStatus: string;
  readonly properties: TableProperties;
  readonly filter: BloomFilter | undefined;
  readonly blockOffsets: Float64Array;
  readonly blockSizes: Uint32Array;
  readonly indexKeys: IndexKeys;
}

/**
 * Where each index entry's key lies in the index block, with its seq and kind: found once at
 * open, so that lookups binary-search the index without decoding an entry header per probe.
 * `spans` interleaves (start, length) per entry, so that a probe reads one cache line of it.
 */
interface IndexKeys {
  readonly data: Uint8Array;
  /** Entry i's key is `data[spans[2i] .. spans[2i] + spans[2i + 1]]`. */
  readonly spans: Uint32Array;
  readonly seqs: Float64Array;
  readonly kinds: Uint8Array;
}

/** Reads and cross-checks the metaindex, properties, filter and index of a table. */
function openTable(
  file: File,
  fileBytes: number,
  footer: Footer,
  readMetaBlock: (handle: BlockHandle) => Uint8Array,
  useLearned: boolean,
): OpenedTable {
  const path = file.path;
  const corrupt = (what: string, offset: number): CorruptionError => new CorruptionError(`auradb/lsm: sstable ${what}`, { path, offset });

  // Metaindex: name -> handle. Unknown names are a newer writer's optional blocks: ignored.
  const metaindex = Block.decode(readMetaBlock(footer.metaindex), path, footer.metaindex.offset);
  const metaHandles = new Map<string, BlockHandle>();
  const decoder = new TextDecoder();
  const iterator = new BlockIterator(metaindex);
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
    const name = decoder.decode(iterator.key());
    const handle = decodeHandleValue(iterator.value());
    if (handle === undefined) throw corrupt(`metaindex entry ${name} has a malformed handle`, footer.metaindex.offset);
    checkBlockHandle(handle, fileBytes, path, footer.metaindex.offset);
    if (metaHandles.has(name)) throw corrupt(`metaindex names ${name} twice`, footer.metaindex.offset);
    metaHandles.set(name, handle);
  }
  iterator.close();

  const propertiesHandle = metaHandles.get(MetaBlockName.Properties);
  if (propertiesHandle === undefined) throw corrupt("has no properties block", footer.metaindex.offset);
  const properties = decodeProperties(Block.decode(readMetaBlock(propertiesHandle), path, propertiesHandle.offset));
  if (properties.fileNumber !== footer.fileNumber) {
    throw corrupt(`properties name table ${properties.fileNumber}, the footer ${footer.fileNumber}`, propertiesHandle.offset);
  }
  if (properties.formatVersion !== footer.formatVersion) {
    throw corrupt(`properties say version ${properties.formatVersion}, the footer ${footer.formatVersion}`, propertiesHandle.offset);
  }

  const filterHandle = metaHandles.get(MetaBlockName.Filter);
  const filter =
    filterHandle === undefined ? undefined : BloomFilter.decode(readMetaBlock(filterHandle), path, filterHandle.offset);

  // The index: every entry a restart (its position is the block number), keys strictly
  // increasing, handles tiling the data area from the header on.
  const indexOffset = footer.index.offset;
  const index = Block.decode(readMetaBlock(footer.index), path, indexOffset);
  // NB: the index block stays referenced through `indexKeys.data` (the keys are views of it).
  const count = index.restartCount;
  if (count !== properties.dataBlockCount) {
    throw corrupt(`index has ${count} entries for ${properties.dataBlockCount} data blocks`, indexOffset);
  }
  const blockOffsets = new Float64Array(count);
  const blockSizes = new Uint32Array(count);
  const indexKeys: IndexKeys = {
    data: index.data,
    spans: new Uint32Array(2 * count),
    seqs: new Float64Array(count),
    kinds: new Uint8Array(count),
  };
  const entry = newRestartEntry();
  const data = index.data;
  let previousKeyStart = 0;
  let previousKeyLength = 0;
  let previousSeq = 0;
  let previousKind = 0;
  let expectedOffset = HEADER_BYTES;
  for (let blockNumber = 0; blockNumber < count; blockNumber++) {
    index.restartEntry(blockNumber, entry);
    const entryEnd = blockNumber + 1 < count ? index.restartOffset(blockNumber + 1) : index.entriesEnd;
    if (entry.end !== entryEnd) throw corrupt(`index entry ${blockNumber} is not one restart region`, indexOffset);
    if (blockNumber > 0) {
      let order = compareRanges(data, previousKeyStart, previousKeyLength, entry.keyStart, entry.keyLength);
      if (order === 0) order = previousSeq !== entry.seq ? (previousSeq > entry.seq ? -1 : 1) : entry.kind - previousKind;
      if (order >= 0) throw corrupt(`index keys are not increasing at entry ${blockNumber}`, indexOffset);
    }
    const handle = decodeHandleValue(data.subarray(entry.valueStart, entry.valueStart + entry.valueLength));
    if (handle === undefined || handle.offset !== expectedOffset) {
      throw corrupt(`index entry ${blockNumber} does not point right after the previous data block`, indexOffset);
    }
    checkBlockHandle(handle, fileBytes, path, indexOffset);
    blockOffsets[blockNumber] = handle.offset;
    blockSizes[blockNumber] = handle.size;
    indexKeys.spans[2 * blockNumber] = entry.keyStart;
    indexKeys.spans[2 * blockNumber + 1] = entry.keyLength;
    indexKeys.seqs[blockNumber] = entry.seq;
    indexKeys.kinds[blockNumber] = entry.kind;
    expectedOffset = handle.offset + handle.size + TRAILER_BYTES;
    previousKeyStart = entry.keyStart;
    previousKeyLength = entry.keyLength;
    previousSeq = entry.seq;
    previousKind = entry.kind;
  }
  // Data blocks end before the first meta block.
  let metaStart = Math.min(footer.metaindex.offset, footer.index.offset);
  for (const handle of metaHandles.values()) metaStart = Math.min(metaStart, handle.offset);
  if (expectedOffset > metaStart) throw corrupt("data blocks overlap the meta blocks", indexOffset);
  // The last index entry is the table's largest entry.
  const largest = properties.largestKey;
  if (
    previousKeyLength !== largest.length ||
    !sameBytes(data, previousKeyStart, largest) ||
    previousSeq !== properties.largestSeq ||
    previousKind !== properties.largestKind
  ) {
    throw corrupt("last index entry differs from the largest key property", indexOffset);
  }
  // The learned index: present exactly when the properties say the table was learned.
  const learnedHandle = metaHandles.get(MetaBlockName.Learned);
  const learnedStatusNumber = properties.learnedStatus as LearnedStatus;
  if ((learnedHandle !== undefined) !== (learnedStatusNumber === LearnedStatus.Learned)) {
    throw corrupt(`learned-index block ${learnedHandle === undefined ? "missing" : "present"} in a table whose properties say ${LEARNED_STATUS_NAMES[learnedStatusNumber]}`, footer.metaindex.offset);
  }
  let learned: LearnedIndex | undefined;
  let learnedStatus = LEARNED_STATUS_NAMES[learnedStatusNumber];
  if (learnedHandle !== undefined) {
    if (useLearned) {
      learned = LearnedIndex.decode(readMetaBlock(learnedHandle), count, properties.entryCount, path, learnedHandle.offset);
    } else {
      learnedStatus = "disabled";
    }
  }
  return { properties, filter, blockOffsets, blockSizes, indexKeys, learned, learnedStatus };
}

function sameBytes(data: Uint8Array, start: number, expected: Uint8Array): boolean {
  for (let index = 0; index < expected.length; index++) if (data[start + index] !== expected[index]) return false;
  return true;
}

/** Decodes a handle stored as two varints filling `value`; `undefined` when malformed. */
export function decodeHandleValue(value: Uint8Array): BlockHandle | undefined {
  let position = 0;
  const numbers = [0, 0];
  for (let field = 0; field < 2; field++) {
    let number = 0;
    let scale = 1;
    let done = false;
    for (let index = 0; index < 8 && position < value.length; index++) {
      const byte = value[position++]!;
      number += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        done = true;
        break;
      }
      scale *= 128;
    }
    if (!done || number > Number.MAX_SAFE_INTEGER) return undefined;
    numbers[field] = number;
  }
  if (position !== value.length) return undefined;
  return { offset: numbers[0]!, size: numbers[1]! };
}

/**
 * The table's two-level cursor: the index (in memory) picks a data block, a `BlockIterator`
 * walks it; moving past either end of a block moves to the next or previous block.
 */
class TableIterator implements InternalIterator {
  readonly #reader: TableReader;
  readonly #fillCache: boolean;
  readonly #blockCount: number;
  readonly #data: BlockIterator = new BlockIterator();
  #blockNumber = -1;
  #valid = false;
  #closed = false;

  constructor(reader: TableReader, fillCache: boolean) {
    this.#reader = reader;
    this.#fillCache = fillCache;
    this.#blockCount = reader.dataBlockCount;
  }

  valid(): boolean {
    return this.#valid;
  }

  key(): Uint8Array {
    assert(this.#valid, "auradb/lsm: key() on an invalid iterator");
    return this.#data.key();
  }

  seq(): number {
    assert(this.#valid, "auradb/lsm: seq() on an invalid iterator");
    return this.#data.seq();
  }

  kind(): ValueKind {
    assert(this.#valid, "auradb/lsm: kind() on an invalid iterator");
    return this.#data.kind();
  }

  value(): Uint8Array {
    assert(this.#valid, "auradb/lsm: value() on an invalid iterator");
    return this.#data.value();
  }

  seekToFirst(): void {
    this.#checkOpen();
    this.#enter(0);
    this.#data.seekToFirst();
    this.#skipForward();
  }

  seekToLast(): void {
    this.#checkOpen();
    this.#enter(this.#blockCount - 1);
    this.#data.seekToLast();
    this.#skipBackward();
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.#checkOpen();
    const blockNumber = findBlockOf(this.#reader, target, seq, SEEK_KIND);
    if (blockNumber >= this.#blockCount) return this.#invalidate();
    this.#enter(blockNumber);
    this.#data.seek(target, seq);
    this.#skipForward();
  }

  seekForPrev(target: Uint8Array): void {
    this.#checkOpen();
    // The first block whose last user key is > target: the answer is in it, or is the previous
    // block's last entry. None: the answer is the table's last entry.
    const blockNumber = findBlockOf(this.#reader, target, -1, SEEK_KIND);
    if (blockNumber >= this.#blockCount) return this.seekToLast();
    this.#enter(blockNumber);
    this.#data.seekForPrev(target);
    this.#skipBackward();
  }

  next(): void {
    assert(this.#valid, "auradb/lsm: next() on an invalid iterator");
    this.#data.next();
    this.#skipForward();
  }

  prev(): void {
    assert(this.#valid, "auradb/lsm: prev() on an invalid iterator");
    this.#data.prev();
    this.#skipBackward();
  }

  /** Invalidates the cursor and drops its block. A second close is a bug (asserted). */
  close(): void {
    assert(!this.#closed, "auradb/lsm: table iterator closed twice");
    this.#closed = true;
    this.#valid = false;
    this.#data.close();
  }

  #checkOpen(): void {
    assert(!this.#closed, "auradb/lsm: table iterator used after close");
  }

  #invalidate(): void {
    this.#valid = false;
    this.#blockNumber = -1;
  }

  #enter(blockNumber: number): void {
    this.#valid = false;
    this.#data.reset(blockOf(this.#reader, blockNumber, this.#fillCache));
    this.#blockNumber = blockNumber;
  }

  #skipForward(): void {
    while (!this.#data.valid()) {
      if (this.#blockNumber + 1 >= this.#blockCount) return this.#invalidate();
      this.#enter(this.#blockNumber + 1);
      this.#data.seekToFirst();
    }
    this.#valid = true;
  }

  #skipBackward(): void {
    while (!this.#data.valid()) {
      if (this.#blockNumber <= 0) return this.#invalidate();
      this.#enter(this.#blockNumber - 1);
      this.#data.seekToLast();
    }
    this.#valid = true;
  }
}
