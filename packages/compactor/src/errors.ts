/**
 * The typed errors of this package. They are AuraDB errors (same `Symbol.for` marker and stable
 * codes as `@auradb/fs`, so `AuraError.isInstance(error)` and `error.code` work on them), defined
 * here because this pure package depends on no other AuraDB package.
 */

const MARKER = Symbol.for("auradb.error");

/** The codes this package throws (a subset of AuraDB's `ErrorCode`). */
export const ErrorCode = {
  Corruption: "AURADB_CORRUPTION",
  InvalidArgument: "AURADB_INVALID_ARGUMENT",
  NotSupported: "AURADB_NOT_SUPPORTED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

abstract class CompactorError extends Error {
  readonly code: ErrorCode;
  /** Byte offset in the serialized agent state where the problem was found, when it applies. */
  readonly offset: number | undefined;
  readonly path: string | undefined = undefined;
  readonly retryable = false;
  readonly dataLoss: boolean;

  constructor(code: ErrorCode, message: string, options: { offset?: number; dataLoss?: boolean } = {}) {
    super(message);
    this.code = code;
    this.offset = options.offset;
    this.dataLoss = options.dataLoss ?? false;
    Object.defineProperty(this, MARKER, { value: true });
  }
}

/** Serialized agent state failed a check: checksum, magic, length, field value. */
export class CorruptionError extends CompactorError {
  constructor(message: string, options: { offset?: number } = {}) {
    super(ErrorCode.Corruption, message, { ...options, dataLoss: true });
    this.name = "CorruptionError";
  }
}

/**
 * A caller passed something the API does not accept: a negative size, a NaN knob, a table in
 * two places, more levels than the policy knows, state learned under other options.
 */
export class InvalidArgumentError extends CompactorError {
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
    this.name = "InvalidArgumentError";
  }
}

/** Intact agent state of a newer format version than this code reads. */
export class NotSupportedError extends CompactorError {
  constructor(message: string, options: { offset?: number } = {}) {
    super(ErrorCode.NotSupported, message, options);
    this.name = "NotSupportedError";
  }
}
