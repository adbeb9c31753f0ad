/** Test helpers shared by the SSTable tests. */

/** Deterministic bytes (xorshift) of `length`, so large values need no large arbitrary. */
export function patternBytes(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}
