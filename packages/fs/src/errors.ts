/**
 * Typed errors shared by every AuraDB package.
 *
 * Codes are stable across major versions; messages are not. Context lives in fields (`path`,
 * `offset`, `op`), never only in the message. Identity is checked with a `Symbol.for` marker
 * rather than `instanceof`, because packages are published separately and an application may
 * load two copies of this module.
 */

const MARKER = Symbol.for("auradb.error");

/** Every code an AuraDB error can carry. Stable: never renumber or reuse one. */
export const ErrorCode = {
  IO: "AURADB_IO_ERROR",
  Corruption: "AURADB_CORRUPTION",
  Locked: "AURADB_LOCKED",
  InvalidArgument: "AURADB_INVALID_ARGUMENT",
  NotFound: "AURADB_NOT_FOUND",
  Closed: "AURADB_CLOSED",
  ReadOnly: "AURADB_READONLY",
  NotSupported: "AURADB_NOT_SUPPORTED",
  SimulatedCrash: "AURADB_SIMULATED_CRASH",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AuraErrorOptions {
  cause?: unknown;
  /** The file the error is about, when there is one. */
  path?: string;
  /** Byte offset in `path` where the problem was found, when it applies. */
  offset?: number;
  /** True when repeating the same call may succeed (a transient condition). */
  retryable?: boolean;
  /** True when data may have been lost (not only this call failed). */
  dataLoss?: boolean;
}

/** Base class of every AuraDB error. */
export class AuraError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  readonly retryable: boolean;
  readonly dataLoss: boolean;

  constructor(code: ErrorCode, message: string, options: AuraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AuraError";
    this.code = code;
    this.path = options.path;
    this.offset = options.offset;
    this.retryable = options.retryable ?? false;
    this.dataLoss = options.dataLoss ?? false;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any AuraDB error, from any copy of this module. */
  static isInstance(error: unknown): error is AuraError {
    return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** The name of a file-system operation, as reported in {@link IOError.op}. */
export type FsOp =
  | "open"
  | "read"
  | "write"
  | "sync"
  | "datasync"
  | "truncate"
  | "size"
  | "close"
  | "list"
  | "mkdir"
  | "rename"
  | "remove"
  | "stat"
  | "syncDir"
  | "lock";

/** An operation of the file system failed (EIO, ENOSPC, EACCES…). */
export class IOError extends AuraError {
  readonly op: FsOp;
  /** The system error code (`EIO`, `ENOSPC`…) when the OS gave one. */
  readonly systemCode: string | undefined;

  constructor(message: string, options: AuraErrorOptions & { op: FsOp; systemCode?: string }) {
    super(ErrorCode.IO, message, options);
    this.name = "IOError";
    this.op = options.op;
    this.systemCode = options.systemCode;
  }
}

/** Bytes read back failed a check: a checksum, a magic, a length, a version. */
export class CorruptionError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.Corruption, message, { dataLoss: true, ...options });
    this.name = "CorruptionError";
  }
}

/** Another process (or another open in this one) holds the lock on this path. */
export class LockedError extends AuraError {
  /** The process id recorded in the lock, when it could be read. */
  readonly holderPid: number | undefined;
  constructor(message: string, options: AuraErrorOptions & { holderPid?: number } = {}) {
    super(ErrorCode.Locked, message, { retryable: true, ...options });
    this.name = "LockedError";
    this.holderPid = options.holderPid;
  }
}

/** A caller passed something the API does not accept. */
export class InvalidArgumentError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
    this.name = "InvalidArgumentError";
  }
}

/** A file or directory that was expected does not exist. */
export class NotFoundError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.NotFound, message, options);
    this.name = "NotFoundError";
  }
}

/** The object was closed, or fail-stopped after an unrecoverable error. */
export class ClosedError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.Closed, message, options);
    this.name = "ClosedError";
  }
}

/** A write was refused because the store is read-only (by option, or after a failure). */
export class ReadOnlyError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.ReadOnly, message, options);
    this.name = "ReadOnlyError";
  }
}

/** The adapter or runtime cannot do what was asked. */
export class NotSupportedError extends AuraError {
  constructor(message: string, options: AuraErrorOptions = {}) {
    super(ErrorCode.NotSupported, message, options);
    this.name = "NotSupportedError";
  }
}

/**
 * Thrown by a crashed `MemFs` (and a `FaultFs` after `crashAt`) for every call: the process that
 * used it is considered dead, and must not be able to change the crash image.
 */
export class SimulatedCrash extends AuraError {
  constructor(message = "auradb/fs: simulated crash: this file system is gone", options: AuraErrorOptions = {}) {
    super(ErrorCode.SimulatedCrash, message, options);
    this.name = "SimulatedCrash";
  }
}

/** True when `error` is an AuraDB {@link CorruptionError} (from any copy of this module). */
export function isCorruption(error: unknown): error is CorruptionError {
  return AuraError.isInstance(error) && error.code === ErrorCode.Corruption;
}

/** True when `error` is an AuraDB {@link IOError} (from any copy of this module). */
export function isIOError(error: unknown): error is IOError {
  return AuraError.isInstance(error) && error.code === ErrorCode.IO;
}

/** True when `error` is an AuraDB {@link LockedError} (from any copy of this module). */
export function isLocked(error: unknown): error is LockedError {
  return AuraError.isInstance(error) && error.code === ErrorCode.Locked;
}

/** True when `error` is an AuraDB {@link NotFoundError} (from any copy of this module). */
export function isNotFound(error: unknown): error is NotFoundError {
  return AuraError.isInstance(error) && error.code === ErrorCode.NotFound;
}
