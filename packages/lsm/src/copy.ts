/**
 * Copies handed to callers (values from `get`, entries from iterators), carved from shared slabs.
 *
 * On V8 a `Uint8Array` with its own ArrayBuffer costs about a microsecond to allocate, more than
 * the rest of a cached point read; a view of a shared slab costs a small object. So small copies
 * are views of a module-wide slab of `SLAB_BYTES` (Node's `Buffer.allocUnsafe` pool does the same):
 * each copy is the caller's alone (no other copy overlaps it, the engine never writes to it), but
 * `copy.buffer` is the slab, and keeping one copy alive keeps its slab alive. Copies over a quarter
 * of a slab get their own ArrayBuffer, so a slab wastes at most a quarter of itself.
 */

const SLAB_BYTES = 16 * 1024;
const SMALL_BYTES = SLAB_BYTES / 4;

let slab = new Uint8Array(SLAB_BYTES);
let slabOffset = 0;

/** A copy of `bytes` the caller owns (see the module comment on sharing the ArrayBuffer). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const length = bytes.length;
  if (length > SMALL_BYTES) return bytes.slice();
  let start = slabOffset;
  if (start + length > SLAB_BYTES) {
    // NB: the old slab is not reused: views of it belong to callers now.
    slab = new Uint8Array(SLAB_BYTES);
    start = 0;
  }
  // NB: 8-byte aligned starts, so a caller may view a copy as wider typed arrays when it wants.
  slabOffset = (start + length + 7) & ~7;
  const target = slab;
  if (length <= 16) {
    for (let index = 0; index < length; index++) target[start + index] = bytes[index]!;
  } else {
    target.set(bytes, start);
  }
  return target.subarray(start, start + length);
}
