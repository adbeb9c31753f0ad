import fc from "fast-check";
import { compareBytes } from "../src/index.ts";

/** Sorted, distinct copies of `keys`. */
export function sortedDistinct(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareBytes);
  return sorted.filter((key, i) => i === 0 || compareBytes(sorted[i - 1]!, key) !== 0);
}

/** Plain binary search: the first index whose key is >= `key`. */
export function plainLowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const bytes = (maxLength: number) => fc.uint8Array({ minLength: 0, maxLength });
/** Small alphabet: many shared prefixes and near-duplicates. */
const narrow = (maxLength: number) =>
  fc.array(fc.constantFrom(0, 1, 2, 255), { maxLength }).map((array) => Uint8Array.from(array));

/**
 * Key sets: random byte strings, keys under a shared prefix, short keys (incl. empty), and keys
 * that collide after the 6-byte mapping (equal in their first 6 bytes after the prefix).
 */
export const keySet = fc.oneof(
  fc.array(bytes(10), { maxLength: 300, size: "max" }),
  fc.array(narrow(9), { maxLength: 300, size: "max" }),
  fc.tuple(bytes(4), fc.array(bytes(8), { maxLength: 300, size: "max" })).map(([prefix, rest]) => rest.map((key) => Uint8Array.from([...prefix, ...key]))),
  fc.tuple(fc.array(bytes(7), { minLength: 1, maxLength: 20, size: "max" }), fc.array(narrow(4), { maxLength: 40, size: "max" })).map(([heads, tails]) =>
    heads.flatMap((head) => {
      const six = Uint8Array.from([...head, 0, 0, 0, 0, 0, 0].slice(0, 6));
      return tails.map((tail) => Uint8Array.from([7, ...six, ...tail]));
    }),
  ),
  fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 400, size: "max" }).map((numbers) =>
    numbers.map((v) => Uint8Array.from([0, 0, 0, 0, (v >> 8) & 0xff, v & 0xff])),
  ),
).map(sortedDistinct);

export const probes = fc.array(fc.oneof(bytes(10), narrow(9)), { maxLength: 30 });
