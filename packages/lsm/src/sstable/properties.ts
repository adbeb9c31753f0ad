/**
 * The properties block (docs/format/sstable.md, "Properties block"): facts about a table, one
 * named entry each, so that new facts can be added without a format change.
 */
import { CorruptionError } from "@auradb/fs";
import { compareInternal } from "../compare.ts";
import { ValueKind } from "../types.ts";
import { Block, BlockBuilder, BlockIterator, putVarint, varintBytes } from "./block.ts";
import { DATA_BLOCK_COUNT_MAX, META_RESTART_INTERVAL, PropertyName } from "./format.ts";

/** What a table's properties block records. */
export interface TableProperties {
  /** The format version the table was written in. */
  readonly formatVersion: number;
  /** The table's file number (the footer carries it too). */
  readonly fileNumber: number;
  /** When the table was finished, ms since the epoch. */
  readonly creationTimeMs: number;
  readonly entryCount: number;
  /** Entries of kind `ValueKind.Delete`. */
  readonly deleteCount: number;
  readonly dataBlockCount: number;
  /** Sum of the user key lengths of all entries. */
  readonly rawKeyBytes: number;
  /** Sum of the value lengths of all entries. */
  readonly rawValueBytes: number;
  /** The first entry's internal key (the array is the properties' own). */
  readonly smallestKey: Uint8Array;
  readonly smallestSeq: number;
  readonly smallestKind: ValueKind;
  /** The last entry's internal key (the array is the properties' own). */
  readonly largestKey: Uint8Array;
  readonly largestSeq: number;
  readonly largestKind: ValueKind;
  readonly minSeq: number;
  readonly maxSeq: number;
  /** The builder's options: target data block size, restart interval, Bloom bits per key (0: no filter). */
  readonly blockBytes: number;
  readonly restartInterval: number;
  readonly filterBitsPerKey: number;
  /** Why the table has or has no learned index (`LearnedStatus`; 1, "off", when not recorded). */
  readonly learnedStatus: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function varintValue(value: number): Uint8Array {
  const bytes = new Uint8Array(varintBytes(value));
  putVarint(bytes, 0, value);
  return bytes;
}

function internalKeyValue(key: Uint8Array, seq: number, kind: ValueKind): Uint8Array {
  const bytes = new Uint8Array(varintBytes(seq) + 1 + key.length);
  let position = putVarint(bytes, 0, seq);
  bytes[position++] = kind;
  bytes.set(key, position);
  return bytes;
}

/** Encodes the properties block contents. Returns a new array owned by the caller. */
export function encodeProperties(properties: TableProperties): Uint8Array {
  const entries: Array<[string, Uint8Array]> = [
    [PropertyName.BlockBytes, varintValue(properties.blockBytes)],
    [PropertyName.CreationTimeMs, varintValue(properties.creationTimeMs)],
    [PropertyName.DataBlockCount, varintValue(properties.dataBlockCount)],
    [PropertyName.DeleteCount, varintValue(properties.deleteCount)],
    [PropertyName.EntryCount, varintValue(properties.entryCount)],
    [PropertyName.FileNumber, varintValue(properties.fileNumber)],
    [PropertyName.FilterBitsPerKey, varintValue(properties.filterBitsPerKey)],
    [PropertyName.FormatVersion, varintValue(properties.formatVersion)],
    [PropertyName.LearnedIndex, varintValue(properties.learnedStatus)],
    [PropertyName.Largest, internalKeyValue(properties.largestKey, properties.largestSeq, properties.largestKind)],
    [PropertyName.MaxSeq, varintValue(properties.maxSeq)],
    [PropertyName.MinSeq, varintValue(properties.minSeq)],
    [PropertyName.RawKeyBytes, varintValue(properties.rawKeyBytes)],
    [PropertyName.RawValueBytes, varintValue(properties.rawValueBytes)],
    [PropertyName.RestartInterval, varintValue(properties.restartInterval)],
    [PropertyName.Smallest, internalKeyValue(properties.smallestKey, properties.smallestSeq, properties.smallestKind)],
  ];
  // Block entries must be in increasing key order (names are ASCII: string order is byte order).
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const builder = new BlockBuilder(META_RESTART_INTERVAL);
  for (const [name, value] of entries) builder.add(encoder.encode(name), 0, ValueKind.Put, value);
  return builder.finish().slice();
}

interface InternalKeyProperty {
  key: Uint8Array;
  seq: number;
  kind: ValueKind;
}

/**
 * Decodes and checks the properties of a properties block. `block.path` and `block.fileOffset`
 * name it in errors.
 * @throws CorruptionError on a malformed block, a malformed or missing required property, or
 *   properties that contradict each other (smallest > largest, deletes > entries…).
 */
export function decodeProperties(block: Block): TableProperties {
  const corrupt = (what: string): CorruptionError =>
    new CorruptionError(`auradb/lsm: sstable properties: ${what}`, { path: block.path, offset: block.fileOffset });
  const numbers = new Map<string, number>();
  const keys = new Map<string, InternalKeyProperty>();
  const iterator = new BlockIterator(block);
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
    const name = decoder.decode(iterator.key());
    const value = iterator.value();
    if (numbers.has(name) || keys.has(name)) throw corrupt(`property ${name} appears twice`);
    if (name === PropertyName.Smallest || name === PropertyName.Largest) {
      const seq = readWholeVarint(value, false);
      if (seq < 0) throw corrupt(`malformed ${name}`);
      const kindOffset = varintBytesAt(value);
      if (kindOffset >= value.length || value[kindOffset]! > ValueKind.PutPointer) throw corrupt(`malformed ${name}`);
      keys.set(name, { key: value.slice(kindOffset + 1), seq, kind: value[kindOffset]! as ValueKind });
    } else if (name.startsWith("auradb.")) {
      const number = readWholeVarint(value, true);
      // A name this version does not know may hold anything: it is ignored below.
      if (number < 0 && isKnownNumber(name)) throw corrupt(`malformed ${name}`);
      numbers.set(name, number);
    }
  }
  iterator.close();
  const number = (name: string): number => {
    const value = numbers.get(name);
    if (value === undefined) throw corrupt(`missing ${name}`);
    return value;
  };
  const internalKey = (name: string): InternalKeyProperty => {
    const value = keys.get(name);
    if (value === undefined) throw corrupt(`missing ${name}`);
    return value;
  };
  const smallest = internalKey(PropertyName.Smallest);
  const largest = internalKey(PropertyName.Largest);
  const properties: TableProperties = {
    formatVersion: number(PropertyName.FormatVersion),
    fileNumber: number(PropertyName.FileNumber),
    creationTimeMs: number(PropertyName.CreationTimeMs),
    entryCount: number(PropertyName.EntryCount),
    deleteCount: number(PropertyName.DeleteCount),
    dataBlockCount: number(PropertyName.DataBlockCount),
    rawKeyBytes: number(PropertyName.RawKeyBytes),
    rawValueBytes: number(PropertyName.RawValueBytes),
    smallestKey: smallest.key,
    smallestSeq: smallest.seq,
    smallestKind: smallest.kind,
    largestKey: largest.key,
    largestSeq: largest.seq,
    largestKind: largest.kind,
    minSeq: number(PropertyName.MinSeq),
    maxSeq: number(PropertyName.MaxSeq),
    blockBytes: number(PropertyName.BlockBytes),
    restartInterval: number(PropertyName.RestartInterval),
    filterBitsPerKey: number(PropertyName.FilterBitsPerKey),
    learnedStatus: numbers.get(PropertyName.LearnedIndex) ?? LEARNED_STATUS_OFF,
  };
  if (properties.learnedStatus > LEARNED_STATUS_MAX) throw corrupt(`unknown learned-index status ${properties.learnedStatus}`);
  if (properties.entryCount < 1) throw corrupt("a table with no entries");
  if (properties.deleteCount > properties.entryCount) throw corrupt("more deletes than entries");
  if (properties.dataBlockCount < 1 || properties.dataBlockCount > Math.min(properties.entryCount, DATA_BLOCK_COUNT_MAX)) {
    throw corrupt(`invalid data block count ${properties.dataBlockCount}`);
  }
  if (properties.minSeq > properties.maxSeq) throw corrupt("min-seq above max-seq");
  for (const seq of [properties.smallestSeq, properties.largestSeq]) {
    if (seq < properties.minSeq || seq > properties.maxSeq) throw corrupt("smallest or largest seq outside min-seq..max-seq");
  }
  const order = compareInternal(
    properties.smallestKey,
    properties.smallestSeq,
    properties.smallestKind,
    properties.largestKey,
    properties.largestSeq,
    properties.largestKind,
  );
  if (order > 0 || (order === 0 && properties.entryCount > 1)) throw corrupt("smallest key is not below the largest");
  return properties;
}

/** `LearnedStatus.Off` and the largest status (learned.ts; repeated here to keep this module free of the model code). */
const LEARNED_STATUS_OFF = 1;
const LEARNED_STATUS_MAX = 4;

const KNOWN_NUMBERS: ReadonlySet<string> = new Set(
  Object.values(PropertyName).filter((name) => name !== PropertyName.Smallest && name !== PropertyName.Largest),
);

function isKnownNumber(name: string): boolean {
  return KNOWN_NUMBERS.has(name);
}

/** Bytes of the varint at the start of `bytes` (REQUIRES: it was read successfully). */
function varintBytesAt(bytes: Uint8Array): number {
  let length = 0;
  while (bytes[length]! >= 0x80) length++;
  return length + 1;
}

/**
 * Reads the varint at the start of `bytes`; -1 when malformed, or (with `whole`) when it does not
 * span the whole array.
 */
function readWholeVarint(bytes: Uint8Array, whole: boolean): number {
  let value = 0;
  let scale = 1;
  for (let index = 0; index < 8 && index < bytes.length; index++) {
    const byte = bytes[index]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER || (whole && index + 1 !== bytes.length)) return -1;
      return value;
    }
    scale *= 128;
  }
  return -1;
}
