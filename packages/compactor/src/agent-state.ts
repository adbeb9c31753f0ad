/**
 * The agent's learned state as bytes: the one durable format of this package. Every number here is
 * part of the format (docs/format/compactor-state.md): written to disk, never renumber.
 *
 * ```
 *   0  magic "ACAS"   4  version u16   6  reserved u16 (0)   8  bodyLength u32
 *  12  sizeRatio u8  runsMax u8  l0TriggerMin u8  l0TriggerMax u8  l0TriggerStep u8  bucketCount u8
 *  18  runsUpper u8  runsLast u8  l0Trigger u8  reserved u8×3 (0)
 *  24  steps u32     28  random state u32×4     44  bucketWindows u32×12
 *  92  entryCount u32
 *  96  entry × entryCount: bucket u8 runsUpper u8 runsLast u8 l0Trigger u8 visits u32 value f64
 * end−4 crc u32: CRC-32C of every byte before it
 * ```
 * Little-endian. The reader trusts nothing: it checks the length, then the checksum, then every
 * field, before it builds anything; any failure is a `CorruptionError` with the offset.
 */
import { crc32c } from "./crc32c.ts";
import { CorruptionError, InvalidArgumentError, NotSupportedError } from "./errors.ts";
import { RUNS_MAX } from "./shape.ts";
import { MIX_BUCKETS } from "./workload.ts";

/** "ACAS": AuraDB Compaction Agent State. */
export const STATE_MAGIC: Uint8Array = Uint8Array.from([0x41, 0x43, 0x41, 0x53]);
/**
 * The format version this code writes and reads. Version 2 moved the write-fraction edges of the
 * workload buckets (workload.ts): the layout is version 1's, but a version-1 value belongs to
 * another bucket, so version 1 is refused (`NotSupportedError`) and the engine starts afresh.
 */
export const STATE_FORMAT_VERSION = 2;
/** Versions that were once written and are no longer read. */
const RETIRED_VERSIONS = [1];

const HEADER_BYTES = 12;
const ENTRIES_OFFSET = 96;
const ENTRY_BYTES = 16;
const CRC_BYTES = 4;
/** The smallest valid state: no entries. */
const MINIMUM_BYTES = ENTRIES_OFFSET + CRC_BYTES;

// Invariant: the fixed fields end where the entries begin.
if (HEADER_BYTES + 6 + 3 + 3 + 4 + 16 + 4 * 12 + 4 !== ENTRIES_OFFSET) throw new Error("auradb/compactor: state layout constants disagree");

/** One learned value: V(bucket, shape), with how many windows it was measured over. */
export interface ValueEntry {
  value: number;
  visits: number;
}

/** Everything the format holds, as plain data. */
export interface AgentStateData {
  readonly sizeRatio: number;
  readonly runsMax: number;
  readonly l0TriggerMin: number;
  readonly l0TriggerMax: number;
  readonly l0TriggerStep: number;
  readonly config: { readonly runsUpper: number; readonly runsLast: number; readonly l0Trigger: number };
  readonly steps: number;
  readonly random: [number, number, number, number];
  readonly bucketWindows: readonly number[];
  /** Sorted by (bucket, runsUpper, runsLast, l0Trigger), each key once. */
  readonly entries: readonly {
    readonly bucket: number;
    readonly runsUpper: number;
    readonly runsLast: number;
    readonly l0Trigger: number;
    readonly visits: number;
    readonly value: number;
  }[];
}

/** The bytes of `data` (REQUIRES data a decoder would accept; the agent only builds such data). */
export function encodeAgentState(data: AgentStateData): Uint8Array {
  const length = MINIMUM_BYTES + ENTRY_BYTES * data.entries.length;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set(STATE_MAGIC, 0);
  view.setUint16(4, STATE_FORMAT_VERSION, true);
  view.setUint32(8, length - HEADER_BYTES - CRC_BYTES, true);
  bytes[12] = data.sizeRatio;
  bytes[13] = data.runsMax;
  bytes[14] = data.l0TriggerMin;
  bytes[15] = data.l0TriggerMax;
  bytes[16] = data.l0TriggerStep;
  bytes[17] = MIX_BUCKETS;
  bytes[18] = data.config.runsUpper;
  bytes[19] = data.config.runsLast;
  bytes[20] = data.config.l0Trigger;
  view.setUint32(24, data.steps, true);
  for (let word = 0; word < 4; word++) view.setUint32(28 + 4 * word, data.random[word]! >>> 0, true);
  for (let bucket = 0; bucket < MIX_BUCKETS; bucket++) view.setUint32(44 + 4 * bucket, data.bucketWindows[bucket]!, true);
  view.setUint32(92, data.entries.length, true);
  let offset = ENTRIES_OFFSET;
  for (const entry of data.entries) {
    bytes[offset] = entry.bucket;
    bytes[offset + 1] = entry.runsUpper;
    bytes[offset + 2] = entry.runsLast;
    bytes[offset + 3] = entry.l0Trigger;
    view.setUint32(offset + 4, entry.visits, true);
    view.setFloat64(offset + 8, entry.value, true);
    offset += ENTRY_BYTES;
  }
  view.setUint32(offset, crc32c(bytes.subarray(0, offset)), true);
  return bytes;
}

/**
 * The data in `bytes`, checked field by field (docs/format/compactor-state.md).
 * @throws CorruptionError for any failed check, NotSupportedError for an intact newer version,
 * InvalidArgumentError when `bytes` is not a Uint8Array.
 */
export function decodeAgentState(bytes: Uint8Array): AgentStateData {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("auradb/compactor: the agent state must be a Uint8Array");
  if (bytes.length < MINIMUM_BYTES) throw new CorruptionError(`agent state truncated: ${bytes.length} bytes`, { offset: bytes.length });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crcOffset = bytes.length - CRC_BYTES;
  // The checksum first: nothing else (the version included) is trusted before it passes.
  if (view.getUint32(crcOffset, true) !== crc32c(bytes.subarray(0, crcOffset))) {
    throw new CorruptionError("agent state checksum mismatch", { offset: crcOffset });
  }
  for (let index = 0; index < STATE_MAGIC.length; index++) {
    if (bytes[index] !== STATE_MAGIC[index]) throw new CorruptionError("not an agent state: bad magic", { offset: index });
  }
  const version = view.getUint16(4, true);
  if (version > STATE_FORMAT_VERSION) throw new NotSupportedError(`agent state format version ${version} is newer than ${STATE_FORMAT_VERSION}`, { offset: 4 });
  if (RETIRED_VERSIONS.includes(version)) throw new NotSupportedError(`agent state format version ${version} used other workload buckets; start a fresh agent`, { offset: 4 });
  if (version !== STATE_FORMAT_VERSION) throw new CorruptionError(`bad agent state format version ${version}`, { offset: 4 });
  expect(view.getUint16(6, true) === 0, "reserved bytes are not zero", 6);
  expect(view.getUint32(8, true) === bytes.length - HEADER_BYTES - CRC_BYTES, "body length disagrees with the input length", 8);
  const sizeRatio = bytes[12]!;
  const runsMax = bytes[13]!;
  const l0TriggerMin = bytes[14]!;
  const l0TriggerMax = bytes[15]!;
  const l0TriggerStep = bytes[16]!;
  expect(sizeRatio >= 2, `bad size ratio ${sizeRatio}`, 12);
  expect(runsMax >= 1 && runsMax <= RUNS_MAX, `bad runsMax ${runsMax}`, 13);
  expect(l0TriggerMin >= 1 && l0TriggerMin <= RUNS_MAX, `bad l0TriggerMin ${l0TriggerMin}`, 14);
  expect(l0TriggerMax >= l0TriggerMin && l0TriggerMax <= RUNS_MAX, `bad l0TriggerMax ${l0TriggerMax}`, 15);
  expect(l0TriggerStep >= 1 && (l0TriggerMax - l0TriggerMin) % l0TriggerStep === 0, `bad l0TriggerStep ${l0TriggerStep}`, 16);
  expect(bytes[17] === MIX_BUCKETS, `bad bucket count ${bytes[17]}`, 17);
  const inBounds = (runsUpper: number, runsLast: number, l0Trigger: number): boolean =>
    runsUpper >= 1 &&
    runsUpper <= runsMax &&
    runsLast >= 1 &&
    runsLast <= runsMax &&
    l0Trigger >= l0TriggerMin &&
    l0Trigger <= l0TriggerMax &&
    (l0Trigger - l0TriggerMin) % l0TriggerStep === 0;
  const config = { runsUpper: bytes[18]!, runsLast: bytes[19]!, l0Trigger: bytes[20]! };
  expect(inBounds(config.runsUpper, config.runsLast, config.l0Trigger), "current shape out of bounds", 18);
  expect(bytes[21] === 0 && bytes[22] === 0 && bytes[23] === 0, "reserved bytes are not zero", 21);
  const steps = view.getUint32(24, true);
  const random: [number, number, number, number] = [view.getUint32(28, true), view.getUint32(32, true), view.getUint32(36, true), view.getUint32(40, true)];
  const bucketWindows: number[] = [];
  for (let bucket = 0; bucket < MIX_BUCKETS; bucket++) bucketWindows.push(view.getUint32(44 + 4 * bucket, true));
  const entryCount = view.getUint32(92, true);
  // Checked against the input before anything is allocated for the entries.
  expect(ENTRIES_OFFSET + ENTRY_BYTES * entryCount + CRC_BYTES === bytes.length, `entry count ${entryCount} disagrees with the length`, 92);
  const entries: AgentStateData["entries"][number][] = [];
  let previousKey = -1;
  for (let index = 0, offset = ENTRIES_OFFSET; index < entryCount; index++, offset += ENTRY_BYTES) {
    const bucket = bytes[offset]!;
    const runsUpper = bytes[offset + 1]!;
    const runsLast = bytes[offset + 2]!;
    const l0Trigger = bytes[offset + 3]!;
    const visits = view.getUint32(offset + 4, true);
    const value = view.getFloat64(offset + 8, true);
    expect(bucket < MIX_BUCKETS, `entry ${index}: bad bucket ${bucket}`, offset);
    expect(inBounds(runsUpper, runsLast, l0Trigger), `entry ${index}: shape out of bounds`, offset + 1);
    expect(visits >= 1, `entry ${index}: no visits`, offset + 4);
    expect(Number.isFinite(value), `entry ${index}: value not finite`, offset + 8);
    const key = ((bucket * 256 + runsUpper) * 256 + runsLast) * 256 + l0Trigger;
    expect(key > previousKey, `entry ${index}: out of order or duplicate`, offset);
    previousKey = key;
    entries.push({ bucket, runsUpper, runsLast, l0Trigger, visits, value });
  }
  return { sizeRatio, runsMax, l0TriggerMin, l0TriggerMax, l0TriggerStep, config, steps, random, bucketWindows, entries };
}

function expect(condition: boolean, message: string, offset: number): asserts condition {
  if (!condition) throw new CorruptionError(`agent state: ${message}`, { offset });
}
