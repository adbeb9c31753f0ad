/**
 * Writes one table (docs/format/sstable.md, "Writing"): header, data blocks as they fill, then the
 * filter, properties, metaindex, index and footer, then fdatasync.
 */
import { InvalidArgumentError, writeAllSync } from "@auradb/fs";
import type { File } from "@auradb/fs";
import { SEQUENCE_MAX, ValueKind } from "../types.ts";
import type { TableMeta } from "../types.ts";
import { assert } from "./_assert.ts";
import { BlockBuilder, putVarint } from "./block.ts";
import { BloomFilterBuilder } from "./bloom.ts";
import { checkBlockCompression, snappyCompress } from "./compression.ts";
import type { BlockCompression } from "./compression.ts";
import {
  BLOCK_BYTES_MAX,
  blockChecksum,
  CompressionType,
  DATA_BLOCK_COUNT_MAX,
  DEFAULT_BLOCK_BYTES,
  DEFAULT_BLOOM_BITS_PER_KEY,
  DEFAULT_RESTART_INTERVAL,
  encodeFooter,
  encodeHeader,
  FILE_NUMBER_MAX,
  fileCrcSeed,
  FORMAT_VERSION,
  INDEX_RESTART_INTERVAL,
  META_RESTART_INTERVAL,
  MetaBlockName,
  TRAILER_BYTES,
} from "./format.ts";
import type { BlockHandle } from "./format.ts";
import { DEFAULT_LEARNED_EPSILON, LearnedCollector, LearnedStatus } from "./learned.ts";
import { encodeProperties } from "./properties.ts";
import type { TableProperties } from "./properties.ts";

/** Options of a {@link TableBuilder}. */
export interface TableBuilderOptions {
  /** Target size of a data block's contents; a block is cut once it reaches it. Default 4096. */
  readonly blockBytes?: number;
  /** Every n-th entry of a data block stores its key whole. Default 16. */
  readonly restartInterval?: number;
  /** Bloom filter bits per distinct user key; 0 writes no filter. Default 10 (about 1 % false positives). */
  readonly bloomBitsPerKey?: number;
  /** The creation time recorded in the properties (ms since the epoch). Default: `Date.now()` at `finish`. */
  readonly creationTimeMs?: number;
  /**
   * Compression of data blocks: `'none'` (default) or `'snappy'`. With `'snappy'` a data block is
   * stored compressed (type 1) only when that saves at least 12.5 %, else as is (type 0).
   */
  readonly compression?: BlockCompression;
  /**
   * The learned index (a model block, docs/format/sstable.md): `{ epsilon }` fits one (ε default
   * 8) unless the table is tiny or the model would take over 2 bytes per key (`always`: even
   * then, for tests and benchmarks);
   * `"off"` (default) and `"not-worth-it"` write none and record that reason in the properties.
   */
  readonly learnedIndex?: LearnedIndexOption | "off" | "not-worth-it";
}

/** The `learnedIndex` option of a {@link TableBuilder} that asks for a model. */
export interface LearnedIndexOption {
  /** The model's error bound in positions (default 8; doubled up to twice when over budget). */
  readonly epsilon?: number;
  /** Keep the model whatever the size rules say (tests and benchmarks). */
  readonly always?: boolean;
  /**
   * Asked at `finish`, before fitting, with the table's distinct keys and data blocks: false
   * writes no model and records "not worth it" (the engine's cost-benefit rule).
   */
  readonly worthIt?: (distinctKeys: number, dataBlockCount: number) => boolean;
}

/** What {@link TableBuilder.finish} returns: the table's metadata and its properties. */
export type TableBuildResult = TableMeta & {
  readonly properties: TableProperties;
  /** Time spent fitting the learned model, ns (0 when none was fitted). */
  readonly learnedFitNanos: number;
  /** The distinct user keys the model was fitted on (0 when none was fitted). */
  readonly learnedKeys: number;
};

/** Output is handed to the OS in writes of about this size (one syscall per ~16 data blocks). */
const OUTPUT_BYTES = 64 * 1024;
/** Bytes of an entry beyond its key and value, at most (three length varints, kind, seq). */
const ENTRY_OVERHEAD_BYTES_MAX = 5 + 5 + 5 + 1 + 8;
const BLOOM_BITS_PER_KEY_MAX = 64;
const RESTART_INTERVAL_MAX = 65_536;
const BLOCK_BYTES_MIN = 64;

const State = { Building: 0, Finished: 1, Abandoned: 2, Failed: 3 } as const;
type State = (typeof State)[keyof typeof State];

function checkIntegerOption(name: string, value: number, minimum: number, maximum: number): void {
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(`auradb/lsm: ${name} must be an integer in ${minimum}..${maximum}, got ${value}`);
  }
}

/**
 * Builds a table into `file`, which the caller created empty and keeps owning (the builder never
 * closes it). Writes are synchronous (`writeSync`, in about 64 KiB pieces): the RFC's choice for
 * table I/O, so adding entries costs no Promise; only `finish` awaits (its fdatasync).
 *
 * Use: `add` every entry in strictly increasing internal order, then `finish` (or `abandon`, and
 * delete the file). A failed write leaves the builder failed: `abandon` it.
 *
 * Not reentrant, not for concurrent use.
 */
export class TableBuilder {
  readonly file: File;
  readonly fileNumber: number;
  readonly blockBytes: number;
  readonly restartInterval: number;
  readonly bloomBitsPerKey: number;
  readonly compression: BlockCompression;
  readonly #creationTimeMs: number | undefined;
  readonly #seed: number;
  #state: State = State.Building;

  #output: Uint8Array = new Uint8Array(OUTPUT_BYTES + 8 * 1024);
  #outputLength = 0;
  /** Bytes already written to the file (the output buffer continues from here). */
  #fileOffset = 0;

  readonly #dataBlock: BlockBuilder;
  readonly #indexBlock: BlockBuilder = new BlockBuilder(INDEX_RESTART_INTERVAL);
  readonly #bloom: BloomFilterBuilder | undefined;
  readonly #learned: LearnedCollector | undefined;
  readonly #learnedEpsilon: number;
  readonly #learnedSkip: LearnedStatus;
  readonly #learnedAlways: boolean;
  readonly #learnedWorthIt: ((distinctKeys: number, dataBlockCount: number) => boolean) | undefined;
  #learnedFitNanos = 0;
  readonly #handleScratch: Uint8Array = new Uint8Array(2 * 8);

  #lastKey: Uint8Array = new Uint8Array(64);
  #lastKeyLength = 0;
  #lastSeq = 0;
  #lastKind: ValueKind = ValueKind.Delete;
  #smallestKey: Uint8Array = new Uint8Array(0);
  #smallestSeq = 0;
  #smallestKind: ValueKind = ValueKind.Delete;

  #entryCount = 0;
  #deleteCount = 0;
  #dataBlockCount = 0;
  #rawKeyBytes = 0;
  #rawValueBytes = 0;
  #minSeq = SEQUENCE_MAX;
  #maxSeq = 0;

  /**
   * @param file an empty file open for writing (`supports.syncIO` required); not closed by the builder.
   * @param fileNumber the table's number (0..2^31 - 1), recorded in the footer and seeding every checksum.
   * @throws InvalidArgumentError on an out-of-range file number or option.
   */
  constructor(file: File, fileNumber: number, options: TableBuilderOptions = {}) {
    checkIntegerOption("fileNumber", fileNumber, 0, FILE_NUMBER_MAX);
    const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    const restartInterval = options.restartInterval ?? DEFAULT_RESTART_INTERVAL;
    const bloomBitsPerKey = options.bloomBitsPerKey ?? DEFAULT_BLOOM_BITS_PER_KEY;
    checkIntegerOption("blockBytes", blockBytes, BLOCK_BYTES_MIN, BLOCK_BYTES_MAX);
    checkIntegerOption("restartInterval", restartInterval, 1, RESTART_INTERVAL_MAX);
    checkIntegerOption("bloomBitsPerKey", bloomBitsPerKey, 0, BLOOM_BITS_PER_KEY_MAX);
    if (options.creationTimeMs !== undefined) checkIntegerOption("creationTimeMs", options.creationTimeMs, 0, Number.MAX_SAFE_INTEGER);
    const compression = checkBlockCompression("auradb/lsm: compression", options.compression ?? "none");
    const learned = options.learnedIndex ?? "off";
    if (typeof learned === "object" && learned !== null) {
      this.#learnedEpsilon = learned.epsilon ?? DEFAULT_LEARNED_EPSILON;
      checkIntegerOption("learnedIndex.epsilon", this.#learnedEpsilon, 1, 65_536);
      this.#learnedSkip = LearnedStatus.Learned;
      this.#learnedAlways = learned.always === true;
      this.#learnedWorthIt = learned.worthIt;
    } else if (learned === "off" || learned === "not-worth-it") {
      this.#learnedEpsilon = 0;
      this.#learnedAlways = false;
      this.#learnedWorthIt = undefined;
      this.#learnedSkip = learned === "off" ? LearnedStatus.Off : LearnedStatus.NotWorthIt;
    } else {
      throw new InvalidArgumentError(`auradb/lsm: learnedIndex must be { epsilon }, "off" or "not-worth-it", got ${String(learned)}`);
    }
    this.#learned = this.#learnedSkip === LearnedStatus.Learned ? new LearnedCollector() : undefined;
    this.file = file;
    this.fileNumber = fileNumber;
    this.blockBytes = blockBytes;
    this.restartInterval = restartInterval;
    this.bloomBitsPerKey = bloomBitsPerKey;
    this.compression = compression;
    this.#creationTimeMs = options.creationTimeMs;
    this.#seed = fileCrcSeed(fileNumber);
    this.#dataBlock = new BlockBuilder(restartInterval);
    this.#bloom = bloomBitsPerKey > 0 ? new BloomFilterBuilder(bloomBitsPerKey) : undefined;
    const header = encodeHeader();
    this.#output.set(header, 0);
    this.#outputLength = header.length;
  }

  /** Entries added so far. */
  get entryCount(): number {
    return this.#entryCount;
  }

  /**
   * The file's size so far: bytes written or buffered, plus the data block being built. The
   * filter, properties, index and footer that `finish` adds are not counted (the engine cuts
   * tables on this, as LevelDB does on `FileSize()`).
   */
  get estimatedBytes(): number {
    return this.#fileOffset + this.#outputLength + (this.#dataBlock.entryCount > 0 ? this.#dataBlock.estimatedBytes : 0);
  }

  /**
   * Adds an entry. Key and value are copied (the caller may reuse its buffers).
   *
   * REQUIRES (asserted): not finished or abandoned; (key, seq, kind) strictly after the previous
   * entry in internal order (user key ascending, seq descending, kind descending); `seq` a safe
   * integer >= 0; `kind` a `ValueKind`.
   * @throws InvalidArgumentError when the entry cannot fit a block (over 256 MiB) or the table
   *   would exceed 2^22 data blocks; an `IOError` from the file (the builder is then failed).
   */
  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    assert(this.#state === State.Building, "auradb/lsm: TableBuilder.add after finish, abandon or a failure");
    assert(Number.isSafeInteger(seq) && seq >= 0, "auradb/lsm: seq must be a safe integer >= 0");
    assert(kind === ValueKind.Delete || kind === ValueKind.Put || kind === ValueKind.PutPointer, "auradb/lsm: unknown value kind");
    if (key.length + value.length + ENTRY_OVERHEAD_BYTES_MAX > BLOCK_BYTES_MAX) {
      throw new InvalidArgumentError(`auradb/lsm: an entry of ${key.length + value.length} bytes does not fit a table block`);
    }
    let sameUserKey = false;
    if (this.#entryCount > 0) {
      const order = this.#compareWithLast(key, seq, kind);
      assert(order > 0, "auradb/lsm: TableBuilder.add requires strictly increasing internal order");
      sameUserKey = order === 2;
    } else {
      this.#smallestKey = key.slice();
      this.#smallestSeq = seq;
      this.#smallestKind = kind;
    }
    if (this.#bloom !== undefined && !sameUserKey) this.#bloom.addKey(key);
    if (this.#learned !== undefined && !sameUserKey) this.#learned.addKey(key);
    this.#dataBlock.add(key, seq, kind, value);

    if (this.#lastKey.length < key.length) this.#lastKey = new Uint8Array(Math.max(key.length, this.#lastKey.length * 2));
    this.#lastKey.set(key);
    this.#lastKeyLength = key.length;
    this.#lastSeq = seq;
    this.#lastKind = kind;
    this.#entryCount++;
    if (kind === ValueKind.Delete) this.#deleteCount++;
    this.#rawKeyBytes += key.length;
    this.#rawValueBytes += value.length;
    if (seq < this.#minSeq) this.#minSeq = seq;
    if (seq > this.#maxSeq) this.#maxSeq = seq;

    if (this.#dataBlock.estimatedBytes >= this.blockBytes) this.#guard(() => this.#flushDataBlock());
  }

  /**
   * Writes the last data block, the filter, properties, metaindex, index and footer, then
   * fdatasyncs the file. Does not close the file. Resolves to the table's metadata (arrays are
   * the result's own).
   *
   * REQUIRES (asserted): at least one entry (empty tables are never written), not finished or
   * abandoned.
   * @throws InvalidArgumentError when a block would exceed 256 MiB; an `IOError` from the file
   *   (the builder is then failed: abandon it and delete the file).
   */
  async finish(): Promise<TableBuildResult> {
    assert(this.#state === State.Building, "auradb/lsm: TableBuilder.finish after finish, abandon or a failure");
    assert(this.#entryCount > 0, "auradb/lsm: TableBuilder.finish of an empty table");
    let properties: TableProperties | undefined;
    this.#guard(() => {
      if (this.#dataBlock.entryCount > 0) this.#flushDataBlock();
      const metaBlocks: Array<[string, BlockHandle]> = [];
      if (this.#bloom !== undefined) metaBlocks.push([MetaBlockName.Filter, this.#writeBlock(this.#bloom.finish())]);
      const index = this.#indexBlock.finish();
      let learnedStatus: LearnedStatus = this.#learnedSkip;
      if (this.#learned !== undefined && this.#learnedWorthIt !== undefined && !this.#learnedWorthIt(this.#learned.keyCount, this.#dataBlockCount)) {
        learnedStatus = LearnedStatus.NotWorthIt;
      } else if (this.#learned !== undefined) {
        const fitted = this.#learned.finish(this.#learnedEpsilon, this.#dataBlockCount, this.#learned.keyCount === this.#entryCount, this.#learnedAlways);
        learnedStatus = fitted.status;
        this.#learnedFitNanos = fitted.fitNanos;
        if (fitted.contents !== undefined) metaBlocks.push([MetaBlockName.Learned, this.#writeBlock(fitted.contents)]);
      }
      properties = {
        formatVersion: FORMAT_VERSION,
        fileNumber: this.fileNumber,
        creationTimeMs: this.#creationTimeMs ?? Date.now(),
        entryCount: this.#entryCount,
        deleteCount: this.#deleteCount,
        dataBlockCount: this.#dataBlockCount,
        rawKeyBytes: this.#rawKeyBytes,
        rawValueBytes: this.#rawValueBytes,
        smallestKey: this.#smallestKey,
        smallestSeq: this.#smallestSeq,
        smallestKind: this.#smallestKind,
        largestKey: this.#lastKey.slice(0, this.#lastKeyLength),
        largestSeq: this.#lastSeq,
        largestKind: this.#lastKind,
        minSeq: this.#minSeq,
        maxSeq: this.#maxSeq,
        blockBytes: this.blockBytes,
        restartInterval: this.restartInterval,
        filterBitsPerKey: this.bloomBitsPerKey,
        learnedStatus,
      };
      metaBlocks.push([MetaBlockName.Properties, this.#writeBlock(encodeProperties(properties))]);
      // The metaindex lists names in increasing byte order, as every block does.
      metaBlocks.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const metaindex = new BlockBuilder(META_RESTART_INTERVAL);
      const encoder = new TextEncoder();
      for (const [name, handle] of metaBlocks) metaindex.add(encoder.encode(name), 0, ValueKind.Put, this.#encodeHandle(handle));
      const metaindexHandle = this.#writeBlock(metaindex.finish());
      const indexHandle = this.#writeBlock(index);
      this.#append(encodeFooter({ metaindex: metaindexHandle, index: indexHandle, fileNumber: this.fileNumber, formatVersion: FORMAT_VERSION }));
      this.#flushOutput();
    });
    try {
      await this.file.datasync();
    } catch (error) {
      this.#state = State.Failed;
      throw error;
    }
    this.#state = State.Finished;
    const table = properties!;
    return {
      fileNumber: this.fileNumber,
      fileBytes: this.#fileOffset,
      smallestKey: table.smallestKey,
      smallestSeq: table.smallestSeq,
      largestKey: table.largestKey,
      largestSeq: table.largestSeq,
      entryCount: table.entryCount,
      deleteCount: table.deleteCount,
      minSeq: table.minSeq,
      maxSeq: table.maxSeq,
      properties: table,
      learnedFitNanos: this.#learnedFitNanos,
      learnedKeys: this.#learnedFitNanos > 0 ? this.#learned!.keyCount : 0,
    };
  }

  /**
   * Gives up the table: drops the buffers, writes nothing more. The file stays open and partly
   * written: the caller closes and deletes it. REQUIRES (asserted): not finished; a second
   * abandon is a no-op.
   */
  abandon(): void {
    assert(this.#state !== State.Finished, "auradb/lsm: TableBuilder.abandon after finish");
    this.#state = State.Abandoned;
    this.#output = new Uint8Array(0);
    this.#outputLength = 0;
  }

  /** Runs `step`; on any error marks the builder failed (its buffers no longer match the file). */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#state = State.Failed;
      throw error;
    }
  }

  /**
   * Compares (key, seq, kind) with the previous entry: 2 when after it with the same user key,
   * 1 when after it with a larger user key, <= 0 when not after it.
   */
  #compareWithLast(key: Uint8Array, seq: number, kind: number): number {
    const last = this.#lastKey;
    const lastLength = this.#lastKeyLength;
    const common = Math.min(lastLength, key.length);
    for (let index = 0; index < common; index++) {
      if (key[index] !== last[index]) return key[index]! > last[index]! ? 1 : -1;
    }
    if (key.length !== lastLength) return key.length > lastLength ? 1 : -1;
    if (seq !== this.#lastSeq) return seq < this.#lastSeq ? 2 : -1;
    return kind < this.#lastKind ? 2 : -1;
  }

  #flushDataBlock(): void {
    if (this.#dataBlockCount >= DATA_BLOCK_COUNT_MAX) {
      throw new InvalidArgumentError(`auradb/lsm: a table holds at most ${DATA_BLOCK_COUNT_MAX} data blocks: cut tables smaller`);
    }
    const contents = this.#dataBlock.finish();
    // An over-long block is refused by #writeBlock before it is compressed.
    const compressed = this.compression === "snappy" && contents.length <= BLOCK_BYTES_MAX ? snappyCompress(contents) : undefined;
    const handle =
      compressed === undefined ? this.#writeBlock(contents) : this.#writeBlock(compressed, CompressionType.Snappy);
    this.#dataBlock.reset();
    this.#dataBlockCount++;
    this.#learned?.endBlock();
    this.#indexBlock.add(this.#lastKey.subarray(0, this.#lastKeyLength), this.#lastSeq, this.#lastKind, this.#encodeHandle(handle));
  }

  /** The handle as index/metaindex value (two varints): a view of a scratch buffer, copied by `BlockBuilder.add`. */
  #encodeHandle(handle: BlockHandle): Uint8Array {
    const end = putVarint(this.#handleScratch, putVarint(this.#handleScratch, 0, handle.offset), handle.size);
    return this.#handleScratch.subarray(0, end);
  }

  /** Appends contents + trailer (of compression `type`) to the output; returns the block's handle. */
  #writeBlock(contents: Uint8Array, type: CompressionType = CompressionType.None): BlockHandle {
    if (contents.length > BLOCK_BYTES_MAX) {
      throw new InvalidArgumentError(`auradb/lsm: a block of ${contents.length} bytes exceeds ${BLOCK_BYTES_MAX}: cut tables smaller`);
    }
    const offset = this.#fileOffset + this.#outputLength;
    this.#reserve(contents.length + TRAILER_BYTES);
    const output = this.#output;
    const start = this.#outputLength;
    output.set(contents, start);
    const typeOffset = start + contents.length;
    output[typeOffset] = type;
    const checksum = blockChecksum(output.subarray(start, typeOffset + 1), this.#seed);
    output[typeOffset + 1] = checksum & 0xff;
    output[typeOffset + 2] = (checksum >>> 8) & 0xff;
    output[typeOffset + 3] = (checksum >>> 16) & 0xff;
    output[typeOffset + 4] = (checksum >>> 24) & 0xff;
    this.#outputLength = typeOffset + TRAILER_BYTES;
    if (this.#outputLength >= OUTPUT_BYTES) this.#flushOutput();
    return { offset, size: contents.length };
  }

  #append(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#output.set(bytes, this.#outputLength);
    this.#outputLength += bytes.length;
  }

  /** Makes room for `bytes` more in the output, writing it out first when that suffices. */
  #reserve(bytes: number): void {
    if (this.#outputLength + bytes <= this.#output.length) return;
    this.#flushOutput();
    if (bytes > this.#output.length) this.#output = new Uint8Array(bytes);
  }

  #flushOutput(): void {
    if (this.#outputLength === 0) return;
    writeAllSync(this.file, this.#output.subarray(0, this.#outputLength), this.#fileOffset);
    this.#fileOffset += this.#outputLength;
    this.#outputLength = 0;
  }
}
