/**
 * CRC-32C (Castagnoli) over the `crc-32` package, plus LevelDB's checksum masking: the one
 * checksum of every AuraDB file format.
 */
import CRC32C from "crc-32/crc32c.js";

/** CRC-32C of `data`, continuing from `seed` (a previous result) when given; unsigned. */
export function crc32c(data: Uint8Array, seed?: number): number {
  return CRC32C.buf(data, seed === undefined ? undefined : seed | 0) >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/**
 * Masks a CRC before it is stored, so that the CRC of bytes that contain CRCs is not itself
 * trivially predictable (LevelDB `crc32c::Mask`).
 */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rotated = (masked - MASK_DELTA) >>> 0;
  return ((rotated >>> 17) | (rotated << 15)) >>> 0;
}
