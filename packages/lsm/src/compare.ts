/**
 * Byte and internal-key comparison: the hottest functions of the engine.
 */

/**
 * Compares two byte strings lexicographically (unsigned bytes, then length). Returns < 0, 0, > 0.
 * NB: a plain loop beats `Buffer.compare` for the short keys of a KV store (no native call).
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = a.length < b.length ? a.length : b.length;
  for (let index = 0; index < length; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/**
 * Compares two internal keys: user key ascending, then sequence descending, then kind
 * descending. Returns < 0 when (aKey, aSeq, aKind) sorts first.
 */
export function compareInternal(aKey: Uint8Array, aSeq: number, aKind: number, bKey: Uint8Array, bSeq: number, bKind: number): number {
  const byKey = compareBytes(aKey, bKey);
  if (byKey !== 0) return byKey;
  if (aSeq !== bSeq) return aSeq > bSeq ? -1 : 1;
  return bKind - aKind;
}

/** True when the two byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
