/**
 * The block codec of the SSTable format (docs/format/sstable.md, "Block contents"): prefix-compressed
 * internal entries with restart points, then the restart array and its count.
 *
 * - {@link BlockBuilder} encodes entries into block contents.
 * - {@link Block} is a decoded (checked) block: its bytes plus its restart array. Immutable, so the
 *   block cache can share it between readers and iterators.
 * - {@link BlockIterator} is an `InternalIterator` over one block.
 *
 * Every read of a block's bytes is bounds-checked: a block whose checksum passed but whose entries
 * are malformed (a writer bug, a hostile file with a recomputed checksum) throws `CorruptionError`
 * naming the file and the offset, never a `RangeError` and never a wrong entry.
 */
import { CorruptionError } from "@auradb/fs";
import { SEQUENCE_MAX, ValueKind } from "../types.ts";
import type { InternalIterator } from "../types.ts";
import { assert } from "./_assert.ts";
import { RESTART_BYTES } from "./format.ts";

/** The kind a seek target carries: larger than every real kind, so (key, seq) seeks include all kinds at `seq`. */
export const SEEK_KIND = 0xff;
/** The largest kind a block may hold (`ValueKind.PutPointer`). */
const KIND_MAX = 2;
/** Longest encoded entry header: three length varints (5 bytes each for u32 lengths), kind, an 8-byte seq. */
const ENTRY_HEADER_BYTES_MAX = 5 + 5 + 5 + 1 + 8;

// ---------------------------------------------------------------------------------------------
// Varints. Local, because decoding is the innermost loop of every lookup: the one-byte case is
// inlined by the callers, the rest goes through `readVarintSlow`, which reports its end offset in
// a module variable (no result object per call; everything here is synchronous).

let varintEnd = 0;

/** Reads a varint of at most 8 bytes whose value is <= 2^53 - 1; returns -1 when malformed or cut off. */
function readVarintSlow(data: Uint8Array, offset: number, limit: number): number {
  let value = 0;
  let scale = 1;
  for (let index = 0; index < 8 && offset < limit; index++) {
    const byte = data[offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) return -1;
      varintEnd = offset;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/** Writes `value` (a safe integer >= 0) as a varint at `offset`; returns the offset after it. */
export function putVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/** Bytes `value` takes as a varint. */
export function varintBytes(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

// ---------------------------------------------------------------------------------------------
// Entry decoding into module "registers" (no allocation per entry).

let entryShared = 0;
let entryUnshared = 0;
let entryValueLength = 0;
let entryKind = 0;
let entrySeq = 0;
/** Offset of the key delta; the value follows it. */
let entryKeyStart = 0;

function corruptEntry(block: Block, offset: number, what: string): CorruptionError {
  return new CorruptionError(`auradb/lsm: sstable block at ${block.fileOffset}: ${what} at block offset ${offset}`, {
    path: block.path,
    offset: block.fileOffset + offset,
  });
}

/** Decodes the entry header at `offset` into the registers and checks it lies inside the entries. */
function decodeEntry(block: Block, offset: number): void {
  const data = block.data;
  const limit = block.entriesEnd;
  let position = offset;
  let shared: number;
  let unshared: number;
  let valueLength: number;
  // Fast path: the three lengths are single bytes (keys and values under 128 bytes).
  if (position + 3 <= limit && (data[position]! | data[position + 1]! | data[position + 2]!) < 0x80) {
    shared = data[position]!;
    unshared = data[position + 1]!;
    valueLength = data[position + 2]!;
    position += 3;
  } else {
    shared = readVarintSlow(data, position, limit);
    if (shared < 0) throw corruptEntry(block, offset, "malformed shared length");
    position = varintEnd;
    unshared = readVarintSlow(data, position, limit);
    if (unshared < 0) throw corruptEntry(block, offset, "malformed key length");
    position = varintEnd;
    valueLength = readVarintSlow(data, position, limit);
    if (valueLength < 0) throw corruptEntry(block, offset, "malformed value length");
    position = varintEnd;
  }
  if (position >= limit) throw corruptEntry(block, offset, "entry cut off before its kind");
  const kind = data[position++]!;
  if (kind > KIND_MAX) throw corruptEntry(block, offset, `unknown value kind ${kind}`);
  // Sequence numbers grow with the database: unrolled up to 3 bytes (2^21), the rest by loop.
  // NB: byte1 and byte2 may lie past `limit` (each use checks it first), never past the block:
  // the 4-byte restart count follows the entries.
  let seq: number;
  const byte0 = data[position]!;
  const byte1 = data[position + 1]!;
  const byte2 = data[position + 2]!;
  if (byte0 < 0x80 && position < limit) {
    seq = byte0;
    position += 1;
  } else if (byte1 < 0x80 && position + 2 <= limit) {
    seq = (byte0 & 0x7f) | (byte1 << 7);
    position += 2;
  } else if (byte2 < 0x80 && position + 3 <= limit) {
    seq = (byte0 & 0x7f) | ((byte1 & 0x7f) << 7) | (byte2 << 14);
    position += 3;
  } else {
    seq = readVarintSlow(data, position, limit);
    if (seq < 0) throw corruptEntry(block, offset, "malformed sequence number");
    position = varintEnd;
  }
  // Two comparisons, not one sum: lengths can be up to 2^53 and must not overflow into "fits".
  if (unshared > limit - position || valueLength > limit - position - unshared) {
    throw corruptEntry(block, offset, "entry runs past the block's entries");
  }
  entryShared = shared;
  entryUnshared = unshared;
  entryValueLength = valueLength;
  entryKind = kind;
  entrySeq = seq;
  entryKeyStart = position;
}

/** Compares `length` bytes of `data` at `start` with `target`, bytewise then by length. */
function compareKeyAt(data: Uint8Array, start: number, length: number, target: Uint8Array): number {
  const targetLength = target.length;
  const common = length < targetLength ? length : targetLength;
  for (let index = 0; index < common; index++) {
    const difference = data[start + index]! - target[index]!;
    if (difference !== 0) return difference;
  }
  return length - targetLength;
}

// ---------------------------------------------------------------------------------------------

/**
 * Encodes entries into block contents. Reused across blocks: `finish()` then `reset()`.
 *
 * REQUIRES: entries are added in strictly increasing internal order (the table builder checks it;
 * the block builder does not, to avoid comparing twice).
 */
export class BlockBuilder {
  /** Every `restartInterval`-th entry stores its key whole. */
  readonly restartInterval: number;
  #buffer: Uint8Array = new Uint8Array(4096);
  #length = 0;
  #restarts: number[] = [];
  #sinceRestart = 0;
  #entryCount = 0;
  #lastKey: Uint8Array = new Uint8Array(64);
  #lastKeyLength = 0;
  #finished = false;

  /** REQUIRES: `restartInterval` is an integer >= 1. */
  constructor(restartInterval: number) {
    assert(Number.isInteger(restartInterval) && restartInterval >= 1, "auradb/lsm: restartInterval must be an integer >= 1");
    this.restartInterval = restartInterval;
  }

  /** Entries added since the last `reset()`. */
  get entryCount(): number {
    return this.#entryCount;
  }

  /**
   * The size the contents would have if finished now: entries, restart array and count. Used to
   * cut data blocks at the target size.
   */
  get estimatedBytes(): number {
    return this.#length + (this.#restarts.length + 1) * RESTART_BYTES;
  }

  /**
   * Appends an entry. The key and value are copied: the caller may reuse its buffers.
   * REQUIRES: not finished; `seq` a safe integer >= 0; `kind` 0..255 (the table builder restricts
   * data blocks to `ValueKind`s).
   */
  add(key: Uint8Array, seq: number, kind: number, value: Uint8Array): void {
    assert(!this.#finished, "auradb/lsm: BlockBuilder.add after finish (call reset)");
    let shared = 0;
    if (this.#sinceRestart < this.restartInterval && this.#entryCount > 0) {
      const lastKey = this.#lastKey;
      const common = Math.min(this.#lastKeyLength, key.length);
      while (shared < common && lastKey[shared] === key[shared]) shared++;
    } else {
      this.#restarts.push(this.#length);
      this.#sinceRestart = 0;
    }
    const unshared = key.length - shared;
    this.#reserve(ENTRY_HEADER_BYTES_MAX + unshared + value.length);
    const buffer = this.#buffer;
    let position = this.#length;
    if ((shared | unshared | value.length) < 0x80) {
      buffer[position] = shared;
      buffer[position + 1] = unshared;
      buffer[position + 2] = value.length;
      position += 3;
    } else {
      position = putVarint(buffer, position, shared);
      position = putVarint(buffer, position, unshared);
      position = putVarint(buffer, position, value.length);
    }
    buffer[position++] = kind;
    position = seq < 0x80 ? ((buffer[position] = seq), position + 1) : putVarint(buffer, position, seq);
    if (unshared < 32) {
      for (let index = shared; index < key.length; index++) buffer[position++] = key[index]!;
    } else {
      buffer.set(key.subarray(shared), position);
      position += unshared;
    }
    if (value.length < 32) {
      for (let index = 0; index < value.length; index++) buffer[position++] = value[index]!;
    } else {
      buffer.set(value, position);
      position += value.length;
    }
    this.#length = position;
    // Remember the key for the next entry's prefix.
    if (this.#lastKey.length < key.length) this.#lastKey = new Uint8Array(Math.max(key.length, this.#lastKey.length * 2));
    const lastKey = this.#lastKey;
    for (let index = shared; index < key.length; index++) lastKey[index] = key[index]!;
    this.#lastKeyLength = key.length;
    this.#sinceRestart++;
    this.#entryCount++;
  }

  /**
   * Appends the restart array and count and returns the contents: a view of the builder's buffer,
   * valid until the next `reset()` (copy it, or write it out, before reusing the builder).
   */
  finish(): Uint8Array {
    assert(!this.#finished, "auradb/lsm: BlockBuilder.finish twice (call reset)");
    const restarts = this.#restarts;
    this.#reserve((restarts.length + 1) * RESTART_BYTES);
    const buffer = this.#buffer;
    let position = this.#length;
    for (const restart of restarts) {
      writeU32(buffer, position, restart);
      position += RESTART_BYTES;
    }
    writeU32(buffer, position, restarts.length);
    position += RESTART_BYTES;
    this.#length = position;
    this.#finished = true;
    return buffer.subarray(0, position);
  }

  /** Empties the builder for the next block (keeps its buffers). */
  reset(): void {
    this.#length = 0;
    this.#restarts.length = 0;
    this.#sinceRestart = 0;
    this.#entryCount = 0;
    this.#lastKeyLength = 0;
    this.#finished = false;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
  }
}

function writeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}

function readU32(source: Uint8Array, offset: number): number {
  return (source[offset]! | (source[offset + 1]! << 8) | (source[offset + 2]! << 16) | (source[offset + 3]! << 24)) >>> 0;
}

/** Estimated JS heap bytes of a `Block` beyond its byte arrays (objects, typed array headers). */
const BLOCK_OVERHEAD_BYTES = 160;

/**
 * A decoded block: its contents and restart array, checked when it was built. Immutable and
 * shareable: the block cache holds `Block`s, and any number of iterators may read one.
 */
export class Block {
  /** The block's contents (entries, then the restart array). Never modified. */
  readonly data: Uint8Array;
  /** Where the entries end (the restart array's offset). */
  readonly entriesEnd: number;
  /** Number of restart points (their offsets are read from `data`, see `restartOffset`). */
  readonly restartCount: number;
  /** The file the block was read from and its contents' offset there, for errors. */
  readonly path: string;
  readonly fileOffset: number;
  /** What the block costs in memory: what a cache charges for it. */
  readonly chargeBytes: number;

  private constructor(data: Uint8Array, entriesEnd: number, restartCount: number, path: string, fileOffset: number) {
    this.data = data;
    this.entriesEnd = entriesEnd;
    this.restartCount = restartCount;
    this.path = path;
    this.fileOffset = fileOffset;
    this.chargeBytes = data.buffer.byteLength + BLOCK_OVERHEAD_BYTES;
  }

  /**
   * The offset of restart point `index` (0 <= index < restartCount), read from the restart array
   * in place: checked by `decode` (strictly increasing, the first 0, before the array), and kept
   * in the block's own bytes rather than a separate array, so a lookup touches one object less.
   */
  restartOffset(index: number): number {
    return readU32(this.data, this.entriesEnd + index * RESTART_BYTES);
  }

  /**
   * Checks the restart array of `contents` and wraps them. The block keeps (does not copy)
   * `contents`: the caller must not modify them afterwards. `path` and `fileOffset` name the
   * block in errors.
   * @throws CorruptionError when the restart array is inconsistent with the contents' size.
   */
  static decode(contents: Uint8Array, path: string, fileOffset: number): Block {
    const size = contents.length;
    if (size < RESTART_BYTES) {
      throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset} is too short (${size} bytes)`, { path, offset: fileOffset });
    }
    const count = readU32(contents, size - RESTART_BYTES);
    if (count > (size - RESTART_BYTES) / RESTART_BYTES) {
      throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset} declares ${count} restarts in ${size} bytes`, {
        path,
        offset: fileOffset + size - RESTART_BYTES,
      });
    }
    const entriesEnd = size - RESTART_BYTES - count * RESTART_BYTES;
    if (count === 0 && entriesEnd !== 0) {
      throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset} has entries but no restart point`, {
        path,
        offset: fileOffset + size - RESTART_BYTES,
      });
    }
    let previous = -1;
    for (let index = 0; index < count; index++) {
      const restart = readU32(contents, entriesEnd + index * RESTART_BYTES);
      if ((index === 0 ? restart !== 0 : restart <= previous) || restart >= entriesEnd) {
        throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset} has an invalid restart point ${restart}`, {
          path,
          offset: fileOffset + entriesEnd + index * RESTART_BYTES,
        });
      }
      previous = restart;
    }
    return new Block(contents, entriesEnd, count, path, fileOffset);
  }

  /**
   * The largest restart index whose entry is < (target, seq, kind) in internal order, or -1 when
   * there is none. With `first`/`last`: the largest in `first..last`, or `first - 1` (the caller
   * knows the answer lies in `first - 1..last`). A binary search that compares keys in place (no copy, no allocation). In an
   * index block (restart interval 1) `result + 1` is the first entry >= the target.
   * @throws CorruptionError on a malformed restart entry.
   */
  lastRestartBelow(target: Uint8Array, seq: number, kind: number, first = 0, last = this.restartCount - 1): number {
    const data = this.data;
    const restartsStart = this.entriesEnd;
    let low = first;
    let high = last;
    let result = first - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const offset = readU32(data, restartsStart + middle * RESTART_BYTES);
      decodeEntry(this, offset);
      if (entryShared !== 0) throw corruptEntry(this, offset, "restart entry with a shared key prefix");
      let order = compareKeyAt(data, entryKeyStart, entryUnshared, target);
      if (order === 0) order = entrySeq !== seq ? (entrySeq > seq ? -1 : 1) : kind - entryKind;
      if (order < 0) {
        result = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return result;
  }

  /**
   * Decodes restart entry `restartIndex` (a whole key) into `entry`: offsets of its key and value
   * in `data`, its seq, kind and end. For index blocks, whose entries are all restarts.
   * @throws CorruptionError on a malformed entry or a restart entry with a shared prefix.
   */
  restartEntry(restartIndex: number, entry: RestartEntry): void {
    const offset = this.restartOffset(restartIndex);
    decodeEntry(this, offset);
    if (entryShared !== 0) throw corruptEntry(this, offset, "restart entry with a shared key prefix");
    entry.keyStart = entryKeyStart;
    entry.keyLength = entryUnshared;
    entry.seq = entrySeq;
    entry.kind = entryKind as ValueKind;
    entry.valueStart = entryKeyStart + entryUnshared;
    entry.valueLength = entryValueLength;
    entry.end = entryKeyStart + entryUnshared + entryValueLength;
  }
}

/** A decoded restart entry: offsets into `Block.data` (a reusable slot, see `Block.restartEntry`). */
export interface RestartEntry {
  keyStart: number;
  keyLength: number;
  seq: number;
  kind: ValueKind;
  valueStart: number;
  valueLength: number;
  /** Offset after the entry. */
  end: number;
}

/** A fresh {@link RestartEntry} slot. */
export function newRestartEntry(): RestartEntry {
  return { keyStart: 0, keyLength: 0, seq: 0, kind: ValueKind.Delete, valueStart: 0, valueLength: 0, end: 0 };
}

const EMPTY = new Uint8Array(0);

/**
 * An `InternalIterator` over one block (contract in `types.ts`): seeks binary-search the restart
 * points, then scan forward; `prev` goes back to the previous restart point and scans forward.
 *
 * Lifetime of returned arrays:
 * - `key()` is a view of the iterator's key buffer: valid until the cursor moves.
 * - `value()` is a view of the block's bytes: the block is immutable, so the view stays valid and
 *   unchanged after the cursor moves, and keeps the block's memory alive while referenced. It must
 *   not be modified (the block may be shared through the cache).
 *
 * One iterator can be re-pointed at another block with `reset(block)` (the table iterator and
 * the table reader's `get` reuse one instead of allocating per block).
 */
export class BlockIterator implements InternalIterator {
  #block: Block | undefined;
  #data: Uint8Array = EMPTY;
  #entriesEnd = 0;
  #restartCount = 0;
  /** Offset of the current entry; `#entriesEnd` when not valid. */
  #current = 0;
  /** Offset after the current entry. */
  #next = 0;
  /** The restart region the current entry is in (restart offset #restartIndex <= #current). */
  #restartIndex = 0;
  #key: Uint8Array = new Uint8Array(64);
  #keyLength = 0;
  #seq = 0;
  #kind: ValueKind = ValueKind.Delete;
  #valueStart = 0;
  #valueLength = 0;
  #valid = false;
  #closed = false;

  /** An iterator over `block`, or over nothing until `reset(block)` when omitted. */
  constructor(block?: Block) {
    if (block !== undefined) this.reset(block);
  }

  /** Points the iterator at `block` (not positioned: call a seek). */
  reset(block: Block): void {
    assert(!this.#closed, "auradb/lsm: block iterator used after close");
    this.#block = block;
    this.#data = block.data;
    this.#entriesEnd = block.entriesEnd;
    this.#restartCount = block.restartCount;
    this.#valid = false;
    this.#current = block.entriesEnd;
    this.#keyLength = 0;
  }

  valid(): boolean {
    return this.#valid;
  }

  key(): Uint8Array {
    assert(this.#valid, "auradb/lsm: key() on an invalid iterator");
    return this.#key.subarray(0, this.#keyLength);
  }

  seq(): number {
    assert(this.#valid, "auradb/lsm: seq() on an invalid iterator");
    return this.#seq;
  }

  kind(): ValueKind {
    assert(this.#valid, "auradb/lsm: kind() on an invalid iterator");
    return this.#kind;
  }

  value(): Uint8Array {
    assert(this.#valid, "auradb/lsm: value() on an invalid iterator");
    return this.#data.subarray(this.#valueStart, this.#valueStart + this.#valueLength);
  }

  /** True when the current key equals `target`, without allocating. REQUIRES: valid. */
  keyEquals(target: Uint8Array): boolean {
    if (this.#keyLength !== target.length) return false;
    const key = this.#key;
    for (let index = target.length - 1; index >= 0; index--) if (key[index] !== target[index]) return false;
    return true;
  }

  seekToFirst(): void {
    this.#checkOpen();
    if (this.#restartCount === 0) return this.#invalidate();
    this.#seekToRestart(0);
  }

  seekToLast(): void {
    this.#checkOpen();
    if (this.#restartCount === 0) return this.#invalidate();
    this.#seekToRestart(this.#restartCount - 1);
    while (this.#next < this.#entriesEnd) this.#parseAt(this.#next);
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.#seekInternal(target, seq, SEEK_KIND, 0, this.#restartCount - 1);
  }

  /**
   * `seek` when the caller knows (from a learned index) that the last restart point below the
   * target is in `firstRestart - 1 .. lastRestart`: binary-searches only those restarts. REQUIRES
   * that knowledge (a wrong range gives a wrong position); `0 <= firstRestart`,
   * `lastRestart < restartCount`.
   */
  seekWithin(target: Uint8Array, seq: number, firstRestart: number, lastRestart: number): void {
    this.#seekInternal(target, seq, SEEK_KIND, firstRestart, lastRestart);
  }

  seekForPrev(target: Uint8Array): void {
    // Sequence -1 sorts after every version of `target`: this lands on the first larger user key.
    this.#seekInternal(target, -1, SEEK_KIND, 0, this.#restartCount - 1);
    if (this.#valid) this.prev();
    else this.seekToLast();
  }

  next(): void {
    assert(this.#valid, "auradb/lsm: next() on an invalid iterator");
    if (this.#next >= this.#entriesEnd) return this.#invalidate();
    this.#parseAt(this.#next);
  }

  prev(): void {
    assert(this.#valid, "auradb/lsm: prev() on an invalid iterator");
    const original = this.#current;
    if (original === 0) return this.#invalidate();
    let restartIndex = this.#restartIndex;
    if (this.#restart(restartIndex) === original) restartIndex--;
    this.#seekToRestart(restartIndex);
    while (this.#next < original) this.#parseAt(this.#next);
    // Invariant: entries tile the block, so the scan stops exactly before the original entry.
    if (this.#next !== original) throw corruptEntry(this.#block!, this.#current, "entries overlap the next entry");
  }

  /** Invalidates the cursor and drops the block. A second close throws (a double close is a bug). */
  close(): void {
    assert(!this.#closed, "auradb/lsm: block iterator closed twice");
    this.#closed = true;
    this.#valid = false;
    this.#block = undefined;
    this.#data = EMPTY;
    this.#restartCount = 0;
    this.#entriesEnd = 0;
  }

  #checkOpen(): void {
    assert(!this.#closed, "auradb/lsm: block iterator used after close");
  }

  #invalidate(): void {
    this.#valid = false;
    this.#current = this.#entriesEnd;
  }

  /**
   * Positions at the first entry >= (target, seq, kind): a binary search over the restart points,
   * then a forward scan that compares only each entry's key delta with the target and copies no
   * key bytes until it stops.
   *
   * NB: the scan keeps `matched`, the length of the common prefix of the current key and the
   * target. While scanning, the current key is below the target, so if it is not a prefix of the
   * target it differs from it first at `matched`, by a smaller byte. A next entry sharing more than
   * `matched` bytes keeps that smaller byte: it is below the target too, without reading it. An
   * entry sharing at most `matched` bytes starts with target[0 .. shared], so only its delta is
   * compared, and where the scan stops the key is target[0 .. shared] ++ delta. None of this needs
   * the writer to have shared maximal prefixes: it only uses what `shared` means.
   */
  #seekInternal(target: Uint8Array, seq: number, kind: number, firstRestart: number, lastRestart: number): void {
    this.#checkOpen();
    const block = this.#block;
    const restartCount = this.#restartCount;
    if (block === undefined || restartCount === 0) return this.#invalidate();
    const below = block.lastRestartBelow(target, seq, kind, firstRestart, lastRestart);
    let restartIndex = below < 0 ? 0 : below;
    let offset = this.#restart(restartIndex);
    // The restart after the current region: where the key must be whole again.
    let nextRestart = restartIndex + 1 < restartCount ? this.#restart(restartIndex + 1) : this.#entriesEnd;
    const data = this.#data;
    const end = this.#entriesEnd;
    const targetLength = target.length;
    let matched = 0;
    let keyLength = 0;
    for (;;) {
      decodeEntry(block, offset);
      if (offset >= nextRestart && offset < end) {
        // Invariant: a forward scan lands exactly on each restart point.
        if (offset !== nextRestart) throw corruptEntry(block, offset, "entry overlaps a restart point");
        restartIndex++;
        nextRestart = restartIndex + 1 < restartCount ? this.#restart(restartIndex + 1) : end;
        keyLength = 0;
      }
      const shared = entryShared;
      const unshared = entryUnshared;
      if (shared > keyLength) throw corruptEntry(block, offset, `shared length ${shared} exceeds the previous key`);
      keyLength = shared + unshared;
      let order = -1;
      if (shared <= matched) {
        const keyStart = entryKeyStart - shared;
        const limit = keyLength < targetLength ? keyLength : targetLength;
        let position = shared;
        while (position < limit && data[keyStart + position] === target[position]) position++;
        matched = position;
        order = position < limit ? data[keyStart + position]! - target[position]! : keyLength - targetLength;
        if (order === 0) order = entrySeq !== seq ? (entrySeq > seq ? -1 : 1) : kind - entryKind;
      }
      if (order >= 0) {
        this.#restartIndex = restartIndex;
        this.#setEntry(offset, target, shared);
        return;
      }
      const next = entryKeyStart + unshared + entryValueLength;
      if (next >= end) return this.#invalidate();
      offset = next;
    }
  }

  /** Makes the decoded entry at `offset` current; its key is `prefix[0 .. shared]` ++ its delta. */
  #setEntry(offset: number, prefix: Uint8Array, shared: number): void {
    const unshared = entryUnshared;
    const keyLength = shared + unshared;
    let key = this.#key;
    if (keyLength > key.length) key = this.#key = new Uint8Array(Math.max(keyLength, key.length * 2));
    for (let index = 0; index < shared; index++) key[index] = prefix[index]!;
    this.#takeEntry(offset, key, shared);
  }

  /**
   * Completes the decoded entry at `offset` (from `decodeEntry`): appends its key delta to `key`
   * after `shared` bytes already in place, and makes it current.
   */
  #takeEntry(offset: number, key: Uint8Array, shared: number): void {
    const unshared = entryUnshared;
    const data = this.#data;
    const keyStart = entryKeyStart;
    if (unshared < 32) {
      for (let index = 0; index < unshared; index++) key[shared + index] = data[keyStart + index]!;
    } else {
      key.set(data.subarray(keyStart, keyStart + unshared), shared);
    }
    this.#keyLength = shared + unshared;
    this.#seq = entrySeq;
    this.#kind = entryKind as ValueKind;
    this.#valueStart = keyStart + unshared;
    this.#valueLength = entryValueLength;
    this.#current = offset;
    this.#next = keyStart + unshared + entryValueLength;
    this.#valid = true;
  }

  /** Offset of restart point `index` (checked when the block was decoded). */
  #restart(index: number): number {
    return readU32(this.#data, this.#entriesEnd + index * RESTART_BYTES);
  }

  #seekToRestart(restartIndex: number): void {
    this.#restartIndex = restartIndex;
    this.#keyLength = 0;
    this.#parseAt(this.#restart(restartIndex));
  }

  /**
   * Decodes the entry at `offset`, whose key shares a prefix with the current key. Keeps the
   * restart region up to date and checks that a restart entry's key is whole.
   */
  #parseAt(offset: number): void {
    const block = this.#block!;
    decodeEntry(block, offset);
    const nextRestart = this.#restartIndex + 1;
    const nextRestartOffset = nextRestart < this.#restartCount ? this.#restart(nextRestart) : this.#entriesEnd;
    if (offset >= nextRestartOffset && offset < this.#entriesEnd) {
      // Invariant: a forward scan lands exactly on each restart point.
      if (nextRestartOffset !== offset) throw corruptEntry(block, offset, "entry overlaps a restart point");
      this.#restartIndex = nextRestart;
      this.#keyLength = 0;
    }
    const shared = entryShared;
    const unshared = entryUnshared;
    if (shared > this.#keyLength) throw corruptEntry(block, offset, `shared length ${shared} exceeds the previous key`);
    const keyLength = shared + unshared;
    let key = this.#key;
    if (keyLength > key.length) {
      const grown = new Uint8Array(Math.max(keyLength, key.length * 2));
      grown.set(key.subarray(0, shared));
      key = this.#key = grown;
    }
    this.#takeEntry(offset, key, shared);
  }
}
