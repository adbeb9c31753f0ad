/** Byte-string keys: comparison, the common prefix, and the order-preserving key → number map. */

/** How many bytes after the common prefix make a key's number (48 bits: exact in a double). */
export const NUMBER_BYTES = 6;
/** One past the largest key number (2^48). */
export const NUMBER_LIMIT = 2 ** 48;

/** Keys by index: an array (or array-like) of keys, or an accessor `(index) => key`. */
export type Keys = ArrayLike<Uint8Array> | ((index: number) => Uint8Array);

/** Lexicographic (memcmp, then length) comparison of two byte strings: <0, 0 or >0. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Length of the longest common prefix of `a` and `b`. */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a[i] === b[i]) i++;
  return i;
}

/**
 * The number of `key` under `prefix`: the (up to) 6 bytes following the prefix, big-endian,
 * zero-padded on the right when the key is shorter. Monotone: `a <= b` implies
 * `number(a) <= number(b)`. A key that does not start with `prefix` sorts before or after every
 * key that does, and maps to `-Infinity` or `+Infinity`.
 */
export function keyNumber(key: Uint8Array, prefix: Uint8Array): number {
  const p = prefix.length;
  for (let i = 0; i < p; i++) {
    if (i >= key.length) return -Infinity; // a proper prefix of the prefix: before every key
    const d = key[i]! - prefix[i]!;
    if (d !== 0) return d < 0 ? -Infinity : Infinity;
  }
  let value = 0;
  for (let i = 0; i < NUMBER_BYTES; i++) {
    const at = p + i;
    value = value * 256 + (at < key.length ? key[at]! : 0);
  }
  return value;
}
