/**
 * The engine's WAL record codec (docs/format/kv-record.md): one record per write batch, so a
 * batch is atomic (the WAL recovers whole records only).
 *
 * record := version(u8 = 1) baseSeq(varint) count(varint) op{count}
 * op     := kind(u8) keyLength(varint) key [valueLength(varint) value]   (no value for Delete)
 * The operation i gets sequence number baseSeq + i. A PutPointer's value is an encoded value
 * pointer (the value-log issue).
 */
import { CorruptionError, readVarint, type VarintResult, varintLength, writeVarint } from "@auradb/fs";
import { ValueKind } from "@auradb/lsm";

export const KV_RECORD_VERSION = 1;

/** One operation of a batch, after validation (binary keys and values). */
export interface Operation {
  readonly kind: ValueKind;
  readonly key: Uint8Array;
  /** Empty for Delete. */
  readonly value: Uint8Array;
}

/** Encodes a batch whose first operation gets sequence `baseSeq`. */
export function encodeBatch(baseSeq: number, operations: readonly Operation[]): Uint8Array {
  let bytes = 1 + varintLength(baseSeq) + varintLength(operations.length);
  for (const operation of operations) {
    bytes += 1 + varintLength(operation.key.length) + operation.key.length;
    if (operation.kind !== ValueKind.Delete) bytes += varintLength(operation.value.length) + operation.value.length;
  }
  const out = new Uint8Array(bytes);
  out[0] = KV_RECORD_VERSION;
  let offset = writeVarint(out, 1, baseSeq);
  offset = writeVarint(out, offset, operations.length);
  for (const operation of operations) {
    out[offset++] = operation.kind;
    offset = writeVarint(out, offset, operation.key.length);
    out.set(operation.key, offset);
    offset += operation.key.length;
    if (operation.kind !== ValueKind.Delete) {
      offset = writeVarint(out, offset, operation.value.length);
      out.set(operation.value, offset);
      offset += operation.value.length;
    }
  }
  return out;
}

/** A decoded batch. Keys and values are views into the record. */
export interface DecodedBatch {
  readonly baseSeq: number;
  readonly operations: Operation[];
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Decodes a batch record. Any malformed byte is a `CorruptionError` (`path`, when given, names
 * the WAL); never another exception, never an allocation beyond the record's size.
 */
export function decodeBatch(record: Uint8Array, path?: string): DecodedBatch {
  const fail = (what: string): never => {
    throw new CorruptionError(`auradb: WAL batch record: ${what}`, path === undefined ? {} : { path });
  };
  if (record.length === 0) fail("empty");
  if (record[0] !== KV_RECORD_VERSION) fail(`unsupported record version ${record[0]}`);
  const varint: VarintResult = { value: 0, next: 0 };
  const read = (offset: number): number => {
    readVarint(record, offset, record.length, varint);
    if (varint.next < 0) fail("truncated number");
    return varint.value;
  };
  const baseSeq = read(1);
  let offset = varint.next;
  const count = read(offset);
  offset = varint.next;
  // Each op takes at least 2 bytes: a count above that cannot be honest.
  if (count > (record.length - offset) / 2) fail(`count ${count} exceeds the record`);
  const operations: Operation[] = new Array(count);
  for (let index = 0; index < count; index++) {
    if (offset >= record.length) fail("truncated operation");
    const kind = record[offset++]!;
    if (kind !== ValueKind.Put && kind !== ValueKind.Delete && kind !== ValueKind.PutPointer) fail(`unknown operation kind ${kind}`);
    const keyLength = read(offset);
    offset = varint.next;
    if (keyLength > record.length - offset) fail("key past the end");
    const key = record.subarray(offset, offset + keyLength);
    offset += keyLength;
    let value = EMPTY;
    if (kind !== ValueKind.Delete) {
      const valueLength = read(offset);
      offset = varint.next;
      if (valueLength > record.length - offset) fail("value past the end");
      value = record.subarray(offset, offset + valueLength);
      offset += valueLength;
    }
    operations[index] = { kind: kind as ValueKind, key, value };
  }
  if (offset !== record.length) fail("trailing bytes");
  return { baseSeq, operations };
}
