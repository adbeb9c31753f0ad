/**
 * Internal: the assertion of this package (STYLE rule 19). A failed assertion is a bug in the
 * caller or in this code, never a condition of the data: it throws an `AssertionError` that no
 * code path catches. Data read from disk is never asserted on: it is checked and reported as a
 * `CorruptionError`.
 */

/** Thrown by {@link assert}: a broken precondition or invariant (a bug, not bad data). */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Throws an {@link AssertionError} with `message` when `condition` is false. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(`auradb/vlog: ${message}`);
}
