/**
 * Unsigned LEB128 varints for safe integers (up to 2^53 - 1, at most 8 bytes): the length and
 * count encoding of every AuraDB format.
 */

/** Bytes `value` takes as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes `value` at `offset`; returns the offset after it. REQUIRES: room in `target`. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/** Result slot of {@link readVarint}, reused to avoid an allocation per call. */
export interface VarintResult {
  value: number;
  /** Offset after the varint, or -1 when the bytes are not a valid varint. */
  next: number;
}

/**
 * Reads a varint at `offset`, not past `end`. Sets `result.next = -1` when it is truncated or
 * longer than 8 bytes (never a value above 2^53 - 1).
 */
export function readVarint(source: Uint8Array, offset: number, end: number, result: VarintResult): VarintResult {
  let value = 0;
  let scale = 1;
  for (let index = 0; index < 8; index++) {
    if (offset >= end) break;
    const byte = source[offset++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (value > Number.MAX_SAFE_INTEGER) break;
      result.value = value;
      result.next = offset;
      return result;
    }
    scale *= 128;
  }
  result.value = 0;
  result.next = -1;
  return result;
}
