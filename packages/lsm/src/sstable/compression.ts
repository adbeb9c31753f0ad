/**
 * Block compression of SSTables (docs/format/sstable.md, "Block trailer" and "Compressed
 * blocks"). Type 1 is Snappy's raw block format, encoded and decoded by the `snappyjs` package
 * (pure JavaScript: runs unchanged on Node, Bun and Deno).
 *
 * Never trust disk bytes: before `snappyjs` decodes a block, {@link snappyUncompressedLength}
 * walks every element of the stream (tags and lengths only, no copying) and checks that each
 * literal lies inside the payload, that each copy reaches back no further than the bytes already
 * produced, and that the elements produce exactly the length the preamble declares, which is at
 * most the caller's limit. Only then is the output allocated, at its exact size: a damaged block
 * is a `CorruptionError`, never a hang, a crash, an out-of-bounds write or an allocation larger
 * than about 21 times the bytes read (a 3-byte copy element yields at most 64 bytes).
 */
/// <reference path="./snappyjs.d.ts" />
import { CorruptionError, InvalidArgumentError } from "@auradb/fs";
import snappy from "snappyjs";

/** The block compression a table builder may use (engine option `compression`). */
export type BlockCompression = "none" | "snappy";

/** The values {@link BlockCompression} may take, for validation and messages. */
export const BLOCK_COMPRESSIONS: readonly BlockCompression[] = ["none", "snappy"];

/**
 * A block is stored compressed only when that saves at least 1/8 (12.5 %) of its contents
 * (LevelDB's rule); otherwise it is stored as is (type 0), and reading it costs no decoding.
 */
export const COMPRESSION_MIN_SAVING_DIVISOR = 8;

/**
 * Checks a builder or engine option.
 * @throws InvalidArgumentError naming `name` when `value` is not a {@link BlockCompression}.
 */
export function checkBlockCompression(name: string, value: unknown): BlockCompression {
  if (typeof value !== "string" || !(BLOCK_COMPRESSIONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `${name} must be one of ${BLOCK_COMPRESSIONS.map((item) => `'${item}'`).join(", ")}, got ${typeof value === "string" ? `'${value}'` : String(value)}`,
    );
  }
  return value as BlockCompression;
}

/**
 * `raw` compressed with Snappy when that saves at least 12.5 %, else `undefined` (store `raw`
 * uncompressed). The result is a new array.
 */
export function snappyCompress(raw: Uint8Array): Uint8Array | undefined {
  if (raw.length < COMPRESSION_MIN_SAVING_DIVISOR) return undefined;
  const compressed: Uint8Array = snappy.compress(raw);
  return compressed.length <= raw.length - Math.ceil(raw.length / COMPRESSION_MIN_SAVING_DIVISOR) ? compressed : undefined;
}

/**
 * Decodes a Snappy block read from `path` at `fileOffset` (for errors) whose uncompressed length
 * may be at most `rawBytesMax`. Returns a new array of exactly the declared length.
 * @throws CorruptionError on any malformed, truncated, over-long or inconsistent stream.
 */
export function snappyUncompress(payload: Uint8Array, rawBytesMax: number, path: string, fileOffset: number): Uint8Array {
  const rawLength = snappyUncompressedLength(payload, rawBytesMax, path, fileOffset);
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(payload, rawLength);
  } catch (error) {
    // Unreachable after the walk above; kept so that no decoder error escapes untyped.
    throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset}: snappy stream rejected (${String(error)})`, { path, offset: fileOffset });
  }
  if (raw.length !== rawLength) {
    throw new CorruptionError(`auradb/lsm: sstable block at ${fileOffset}: snappy stream decoded to ${raw.length} bytes, not ${rawLength}`, {
      path,
      offset: fileOffset,
    });
  }
  return raw;
}

/**
 * The uncompressed length of a Snappy raw block after checking the whole stream (see the module
 * comment). Allocates nothing.
 * @throws CorruptionError naming `path` and `fileOffset` + the offending byte.
 */
export function snappyUncompressedLength(payload: Uint8Array, rawBytesMax: number, path: string, fileOffset: number): number {
  const corrupt = (what: string, at: number): CorruptionError =>
    new CorruptionError(`auradb/lsm: sstable block at ${fileOffset}: snappy ${what} at payload offset ${at}`, {
      path,
      offset: fileOffset + at,
    });
  const end = payload.length;
  // Preamble: the uncompressed length, a varint of at most 5 bytes (Snappy limits it to 2^32 - 1).
  let rawLength = 0;
  let position = 0;
  for (let scale = 1; ; scale *= 128) {
    if (position >= end || position >= 5) throw corrupt("length preamble is truncated or too long", position);
    const byte = payload[position++]!;
    rawLength += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
  }
  if (rawLength > rawBytesMax) throw corrupt(`declares ${rawLength} bytes, more than the limit ${rawBytesMax}`, 0);
  let produced = 0;
  while (position < end) {
    const tag = payload[position]!;
    const tagAt = position;
    position++;
    let length: number;
    switch (tag & 3) {
      case 0: {
        // Literal: length - 1 in the tag's upper 6 bits, or in the next 1..4 bytes (tags 60..63).
        length = (tag >>> 2) + 1;
        if (length > 60) {
          const extra = length - 60;
          if (position + extra > end) throw corrupt("literal length is truncated", tagAt);
          length = 0;
          for (let index = extra - 1; index >= 0; index--) length = length * 256 + payload[position + index]!;
          length += 1;
          position += extra;
        }
        if (length > end - position) throw corrupt(`literal of ${length} bytes runs past the payload`, tagAt);
        position += length;
        break;
      }
      case 1: {
        // Copy, 1-byte offset: length 4..11, offset 11 bits.
        if (position + 1 > end) throw corrupt("copy is truncated", tagAt);
        length = ((tag >>> 2) & 7) + 4;
        const offset = ((tag >>> 5) << 8) | payload[position]!;
        position += 1;
        if (offset === 0 || offset > produced) throw corrupt(`copy offset ${offset} reaches before the output`, tagAt);
        break;
      }
      case 2: {
        // Copy, 2-byte offset: length 1..64.
        if (position + 2 > end) throw corrupt("copy is truncated", tagAt);
        length = (tag >>> 2) + 1;
        const offset = payload[position]! | (payload[position + 1]! << 8);
        position += 2;
        if (offset === 0 || offset > produced) throw corrupt(`copy offset ${offset} reaches before the output`, tagAt);
        break;
      }
      default: {
        // Copy, 4-byte offset: length 1..64.
        if (position + 4 > end) throw corrupt("copy is truncated", tagAt);
        length = (tag >>> 2) + 1;
        const offset =
          (payload[position]! | (payload[position + 1]! << 8) | (payload[position + 2]! << 16) | (payload[position + 3]! << 24)) >>> 0;
        position += 4;
        if (offset === 0 || offset > produced) throw corrupt(`copy offset ${offset} reaches before the output`, tagAt);
        break;
      }
    }
    if (length > rawLength - produced) throw corrupt(`stream produces more than the declared ${rawLength} bytes`, tagAt);
    produced += length;
  }
  if (produced !== rawLength) throw corrupt(`stream produces ${produced} bytes, not the declared ${rawLength}`, end);
  return rawLength;
}
