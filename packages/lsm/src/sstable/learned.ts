/**
 * The learned-index block of a table (docs/format/sstable.md, "Learned-index block"): a
 * piecewise-linear model of "user key → position among the table's distinct user keys" with
 * error bound ε (`@auradb/learned-index`), plus where each data block starts in that order. A
 * lookup predicts a window of positions, maps it to a range of data blocks with integer
 * comparisons only, and binary-searches the index over that range alone — usually one block,
 * so no key comparison at all — then, in tables with one entry per user key, the restart
 * points of the block that can hold the key.
 *
 * ```
 *   key ──model──► positions [low, high]   (|error| <= ε, so the window is ~2ε + 2 wide)
 *        ──blockStart (u32 per block)──► blocks [first, last]   (integers, no key compares)
 *        ──index over [first, last]──► block b                  (0 compares when first = last)
 *        ──restarts of b covering [low, high]──► scan            (one-entry-per-key tables)
 * ```
 *
 * Whether a table gets a model is decided when it is written (`LearnedStatus`, recorded in the
 * properties so that stats can say why a table has none): not for tiny tables, not when the
 * model would be large (keys too irregular for ε), and not when the
 * engine's cost-benefit rule expects the table to be read too little to repay the fit.
 */
import { CorruptionError, NotSupportedError } from "@auradb/fs";
import { buildGreedyModel, LearnedModel } from "@auradb/learned-index";
import type { Window } from "@auradb/learned-index";
import { putVarint, varintBytes } from "./block.ts";

/** The format version of the learned-index block (its first byte). */
export const LEARNED_BLOCK_VERSION = 1;
/** Flag bit: every user key of the table has exactly one entry (positions are entry ordinals). */
export const LEARNED_FLAG_ONE_ENTRY_PER_KEY = 1;
/** Default ε of table models: a window of ~2ε + 2 = 18 keys spans one or two 4 KiB blocks of 100-byte values. */
export const DEFAULT_LEARNED_EPSILON = 8;
/**
 * The most model bytes per distinct key a table keeps (the model stays in memory while the table
 * is open). Past it the keys are too irregular for ε: a segment per few keys. The micro benchmark
 * (bench/learned-index.ts) measures well under 1 byte per key at ε = 16 on every distribution but
 * the adversarial one; at ε = 8 about twice that.
 */
export const LEARNED_MODEL_BYTES_PER_KEY_MAX = 2;
/** How many times a table's ε may be doubled to fit the byte budget (so up to 4ε). */
export const LEARNED_EPSILON_DOUBLINGS = 2;
/**
 * Tables with fewer data blocks get no model: binary search over at most 3 index entries is 2
 * comparisons, which a prediction cannot beat.
 */
export const LEARNED_MIN_DATA_BLOCKS = 4;

/**
 * Why a table has, or has not, a learned index. Durable (the `auradb.learned-index` property
 * holds the number): never renumber.
 */
export const LearnedStatus = {
  /** The table has a model block. */
  Learned: 0,
  /** Not asked for (`learnedIndex: false`, or a table written before learned indexes). */
  Off: 1,
  /** Fewer than `LEARNED_MIN_DATA_BLOCKS` data blocks. */
  TinyTable: 2,
  /** The model would take more than `LEARNED_MODEL_BYTES_PER_KEY_MAX` bytes per key: the keys are too irregular for ε. */
  TooManySegments: 3,
  /** The engine's cost-benefit rule expected too few lookups to repay the fit. */
  NotWorthIt: 4,
} as const;
export type LearnedStatus = (typeof LearnedStatus)[keyof typeof LearnedStatus];

/** `LearnedStatus` as words, for stats. */
export const LEARNED_STATUS_NAMES: Readonly<Record<LearnedStatus, string>> = {
  0: "learned",
  1: "off",
  2: "tiny-table",
  3: "too-many-segments",
  4: "not-worth-it",
};

/**
 * Collects what a table's model is fitted on while the table is written: each distinct user
 * key (copied into one growing slab: no allocation per key) and, per data block, how many
 * distinct keys came before it.
 */
export class LearnedCollector {
  #slab: Uint8Array = new Uint8Array(64 * 1024);
  #slabLength = 0;
  #offsets: Uint32Array = new Uint32Array(1024 + 1);
  #keyCount = 0;
  #blockStarts: number[] = [0];

  /** Distinct user keys so far. */
  get keyCount(): number {
    return this.#keyCount;
  }

  /** Records a new distinct user key (in increasing order). */
  addKey(key: Uint8Array): void {
    const length = key.length;
    if (this.#slabLength + length > this.#slab.length) {
      const grown = new Uint8Array(Math.max(this.#slab.length * 2, this.#slabLength + length));
      grown.set(this.#slab.subarray(0, this.#slabLength));
      this.#slab = grown;
    }
    this.#slab.set(key, this.#slabLength);
    this.#slabLength += length;
    if (this.#keyCount + 1 >= this.#offsets.length) {
      const grown = new Uint32Array(this.#offsets.length * 2);
      grown.set(this.#offsets);
      this.#offsets = grown;
    }
    this.#keyCount++;
    this.#offsets[this.#keyCount] = this.#slabLength;
  }

  /** Marks the end of a data block: the next block starts at the current key count. */
  endBlock(): void {
    this.#blockStarts.push(this.#keyCount);
  }

  /**
   * Fits the model and encodes the block, or says why not. `dataBlockCount`: the table's blocks.
   * `always` keeps the model whatever its size (tests and benchmarks).
   */
  finish(
    epsilon: number,
    dataBlockCount: number,
    oneEntryPerKey: boolean,
    always: boolean,
  ): { status: LearnedStatus; contents?: Uint8Array; fitNanos: number } {
    if (dataBlockCount < LEARNED_MIN_DATA_BLOCKS && !always) return { status: LearnedStatus.TinyTable, fitNanos: 0 };
    const started = performance.now();
    const keys: Uint8Array[] = new Array(this.#keyCount);
    const slab = this.#slab;
    const offsets = this.#offsets;
    for (let index = 0; index < this.#keyCount; index++) keys[index] = slab.subarray(offsets[index]!, offsets[index + 1]!);
    // Keys that make a staircase (decimal digits in ASCII: ten keys, then a jump) need a segment
    // per step when ε is below the step; a larger ε covers the staircase with one line. So when
    // the model is over budget, ε is doubled, twice at most.
    const budget = LEARNED_MODEL_BYTES_PER_KEY_MAX * this.#keyCount;
    let model = buildGreedyModel(keys, { epsilon });
    for (let retry = 0; retry < LEARNED_EPSILON_DOUBLINGS && !always && model.serializedBytes() > budget; retry++) {
      model = buildGreedyModel(keys, { epsilon: model.epsilon * 2 });
    }
    const fitNanos = Math.round((performance.now() - started) * 1e6);
    if (model.serializedBytes() > budget && !always) return { status: LearnedStatus.TooManySegments, fitNanos };
    const starts = this.#blockStarts;
    // Invariant: one start per data block, then the end.
    if (starts.length !== dataBlockCount + 1 || starts[dataBlockCount] !== this.#keyCount) {
      throw new Error("auradb/lsm: learned collector out of step with the data blocks");
    }
    return { status: LearnedStatus.Learned, contents: encodeLearnedBlock(model, starts, oneEntryPerKey), fitNanos };
  }
}

/** Encodes the block: version, flags, block count, per-block key counts (varints), the model. */
function encodeLearnedBlock(model: LearnedModel, blockStarts: readonly number[], oneEntryPerKey: boolean): Uint8Array {
  const modelBytes = model.serialize();
  const blockCount = blockStarts.length - 1;
  let size = 2 + varintBytes(blockCount);
  for (let block = 0; block < blockCount; block++) size += varintBytes(blockStarts[block + 1]! - blockStarts[block]!);
  const out = new Uint8Array(size + modelBytes.length);
  out[0] = LEARNED_BLOCK_VERSION;
  out[1] = oneEntryPerKey ? LEARNED_FLAG_ONE_ENTRY_PER_KEY : 0;
  let position = putVarint(out, 2, blockCount);
  for (let block = 0; block < blockCount; block++) position = putVarint(out, position, blockStarts[block + 1]! - blockStarts[block]!);
  out.set(modelBytes, position);
  return out;
}

/** Where a learned lookup may find its key: data blocks `[firstBlock, lastBlock]`. */
export interface LearnedWindow {
  firstBlock: number;
  lastBlock: number;
  /** Positions (distinct-key ordinals) the key's lower bound lies in. */
  low: number;
  high: number;
}

/** A decoded, checked learned-index block. Immutable; `locate` allocates nothing. */
export class LearnedIndex {
  readonly model: LearnedModel;
  /** `blockStart[b]`: distinct user keys before data block b; `blockStart[blockCount]` = all of them. */
  readonly blockStart: Uint32Array;
  readonly oneEntryPerKey: boolean;
  readonly bytes: number;
  readonly #window: Window = { low: 0, high: 0 };

  private constructor(model: LearnedModel, blockStart: Uint32Array, oneEntryPerKey: boolean, bytes: number) {
    this.model = model;
    this.blockStart = blockStart;
    this.oneEntryPerKey = oneEntryPerKey;
    this.bytes = bytes;
  }

  /**
   * Decodes the block of a table with `dataBlockCount` data blocks and `entryCount` entries.
   * Every field is checked against the table before it is used, so a lying block (intact
   * checksum, wrong contents: a writer bug) is refused rather than trusted.
   * @throws CorruptionError (`path`, `offset` of the block); NotSupportedError for a newer version.
   */
  static decode(contents: Uint8Array, dataBlockCount: number, entryCount: number, path: string, offset: number): LearnedIndex {
    const corrupt = (what: string): CorruptionError => new CorruptionError(`auradb/lsm: sstable learned-index block: ${what}`, { path, offset });
    if (contents.length < 3) throw corrupt(`${contents.length} bytes`);
    const version = contents[0]!;
    if (version > LEARNED_BLOCK_VERSION) {
      throw new NotSupportedError(`auradb/lsm: sstable learned-index block version ${version} is newer than ${LEARNED_BLOCK_VERSION}`, {
        path,
        offset,
      });
    }
    if (version === 0) throw corrupt("version 0");
    const flags = contents[1]!;
    if ((flags & ~LEARNED_FLAG_ONE_ENTRY_PER_KEY) !== 0) throw corrupt(`unknown flags ${flags}`);
    let position = 2;
    const readVarint = (): number => {
      let value = 0;
      let scale = 1;
      for (let index = 0; index < 8 && position < contents.length; index++) {
        const byte = contents[position++]!;
        value += (byte & 0x7f) * scale;
        if (byte < 0x80) return value;
        scale *= 128;
      }
      throw corrupt("malformed varint");
    };
    const blockCount = readVarint();
    if (blockCount !== dataBlockCount) throw corrupt(`${blockCount} blocks for a table of ${dataBlockCount}`);
    const blockStart = new Uint32Array(blockCount + 1);
    let keys = 0;
    for (let block = 0; block < blockCount; block++) {
      const count = readVarint();
      keys += count;
      if (keys > entryCount) throw corrupt(`more keys than the table's ${entryCount} entries`);
      blockStart[block + 1] = keys;
    }
    const oneEntryPerKey = (flags & LEARNED_FLAG_ONE_ENTRY_PER_KEY) !== 0;
    if (oneEntryPerKey && keys !== entryCount) throw corrupt(`one entry per key, but ${keys} keys for ${entryCount} entries`);
    let model: LearnedModel;
    try {
      model = LearnedModel.deserialize(contents.subarray(position));
    } catch (error) {
      throw corrupt(error instanceof Error ? error.message : String(error));
    }
    if (model.keyCount !== keys) throw corrupt(`a model of ${model.keyCount} keys for ${keys}`);
    return new LearnedIndex(model, blockStart, oneEntryPerKey, contents.length);
  }

  /**
   * The data blocks that can hold the first entry of the first user key >= `key` (its newest
   * entry): `[firstBlock, lastBlock]`, with `lastBlock` = the block count when the key may be
   * past the table's end. Fills and returns `out`.
   */
  locate(key: Uint8Array, out: LearnedWindow): LearnedWindow {
    const window = this.model.predictInto(key, this.#window);
    out.low = window.low;
    out.high = window.high;
    out.firstBlock = this.#blockOf(window.low);
    out.lastBlock = this.#blockOf(window.high);
    return out;
  }

  /** The block holding the newest entry of the key at `position` (the block count for the end). */
  #blockOf(position: number): number {
    const starts = this.blockStart;
    const blockCount = starts.length - 1;
    const keys = starts[blockCount]!;
    if (position >= keys) return blockCount;
    // Blocks are cut at a byte size, so they hold similar numbers of keys: interpolate, then walk
    // to the last block whose start is <= position (blocks with no new key share a start).
    // A table of very uneven blocks (a few huge values) falls back to binary search after a few steps.
    let block = Math.floor((position * blockCount) / keys);
    for (let steps = 0; steps < 8; steps++) {
      if (block > 0 && starts[block]! > position) block--;
      else if (block + 1 < blockCount && starts[block + 1]! <= position) block++;
      else return block;
    }
    let low = 0;
    let high = blockCount - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (starts[middle]! <= position) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}
