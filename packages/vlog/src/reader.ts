/**
 * Reads entries back (docs/format/vlog.md): the checks of a read by pointer, and a sequential
 * scanner that walks a file's entries in large windows (for `scan` and for recovery).
 */
import { CorruptionError, type File, readAt } from "@auradb/fs";
import { ENTRY_HEADER_BYTES, entryChecksum, entryHeaderProblem, EntryType, HEADER_BYTES, readEntryHeader } from "./format.ts";
import type { ValuePointer } from "./pointer.ts";

/** One entry of a file, as `scan` yields it. */
export interface VlogEntry {
  /** Where the entry is: what `append` returned for it. */
  readonly pointer: ValuePointer;
  /** The key stored with the value (a view: see `ValueLog.scan`). */
  readonly key: Uint8Array;
  /** The value (a view: see `ValueLog.scan`). */
  readonly value: Uint8Array;
  /** The sequence number stored with the value. */
  readonly seq: number;
}

/**
 * Checks that `bytes[at..at + pointer.size)` is the entry `pointer` names, and returns its value
 * (a view into `bytes`). Trusted only when: all `size` bytes are there, the stored checksum equals
 * `pointer.crc` and the computed one, the type is a value, the lengths add up to `size`, the
 * sequence number is a safe integer, and the key equals `key` when given. Anything else is a
 * `CorruptionError` naming `path` and the pointer's offset: never a wrong value.
 */
export function verifyEntry(
  bytes: Uint8Array,
  at: number,
  pointer: ValuePointer,
  key: Uint8Array | undefined,
  crcSeed: number,
  path: string,
): Uint8Array {
  const fail = (reason: string): never => {
    throw new CorruptionError(`auradb/vlog: value at offset ${pointer.offset} of file ${pointer.fileNumber} fails verification (${reason})`, {
      path,
      offset: pointer.offset,
    });
  };
  const size = pointer.size;
  if (bytes.length - at < size) fail(`the file ends ${size - Math.max(0, bytes.length - at)} bytes before the entry does`);
  const header = readEntryHeader(bytes, at);
  if (header.crc !== pointer.crc) fail("stored checksum differs from the pointer's");
  if (header.type !== EntryType.Value) fail(`entry type ${header.type}`);
  if (ENTRY_HEADER_BYTES + header.keyLength + header.valueLength !== size) fail("entry length differs from the pointer's size");
  if (header.seq < 0) fail("sequence number out of range");
  if (entryChecksum(bytes, at, size, crcSeed) !== header.crc) fail("checksum mismatch");
  if (key !== undefined) {
    if (key.length !== header.keyLength) fail("key mismatch");
    const keyStart = at + ENTRY_HEADER_BYTES;
    for (let index = 0; index < key.length; index++) {
      if (bytes[keyStart + index] !== key[index]) fail("key mismatch");
    }
  }
  return bytes.subarray(at + ENTRY_HEADER_BYTES + header.keyLength, at + size);
}

/** Where and why a scan met an entry that is not valid. */
export interface InvalidEntry {
  /** Offset of the invalid entry: the end of the last valid one. */
  readonly offset: number;
  readonly reason: string;
}

/** What one window of a scan found. */
export interface ScanWindow {
  /** The valid entries of the window, in order (empty when not collecting). */
  readonly entries: VlogEntry[];
  /** Bytes read from the file for this window. */
  readonly bytesRead: number;
  /** Set when the scan stopped at an invalid entry (`position` is then its offset). */
  readonly invalid: InvalidEntry | null;
  /** True when the scan reached its limit (or stopped at an invalid entry). */
  readonly done: boolean;
}

/** Default window of a scan: one positional read covers this many bytes of entries. */
export const SCAN_WINDOW_BYTES = 1024 * 1024;

/**
 * Walks the entries of one file from `position` (default: the first entry), one window at a
 * time, checking each entry completely (header, lengths against the limit, checksum).
 */
export class EntryScanner {
  /** Offset of the next entry to read (the end of the last valid one). */
  position: number;
  private readonly file: File;
  private readonly fileNumber: number;
  private readonly crcSeed: number;
  private readonly windowBytes: number;

  constructor(options: { file: File; fileNumber: number; crcSeed: number; position?: number; windowBytes?: number }) {
    this.file = options.file;
    this.fileNumber = options.fileNumber;
    this.crcSeed = options.crcSeed;
    this.position = options.position ?? HEADER_BYTES;
    this.windowBytes = Math.max(options.windowBytes ?? SCAN_WINDOW_BYTES, ENTRY_HEADER_BYTES);
  }

  /**
   * Reads and checks the entries from `position` up to `limit` (the file's valid end, as far as
   * the caller knows), one window's worth. With `collect`, returns the entries; their keys and
   * values are views into a buffer allocated for this window alone.
   */
  async next(limit: number, collect: boolean): Promise<ScanWindow> {
    const entries: VlogEntry[] = [];
    if (this.position >= limit) return { entries, bytesRead: 0, invalid: null, done: true };
    const wanted = Math.min(this.windowBytes, limit - this.position);
    const buffer = await readAt(this.file, this.position, wanted);
    let bytesRead = buffer.length;
    // NB: a file shorter than the caller thought (cut under us) ends where the read ended.
    const fileEnd = buffer.length < wanted ? this.position + buffer.length : limit;
    let at = 0;
    for (;;) {
      const offset = this.position + at;
      if (offset >= fileEnd) break;
      if (fileEnd - offset < ENTRY_HEADER_BYTES) return this.stop(entries, bytesRead, at, `${fileEnd - offset} bytes left: too short for an entry`);
      const available = buffer.length - at;
      if (available < ENTRY_HEADER_BYTES) break; // the next window starts at this entry
      const header = readEntryHeader(buffer, at);
      // Lengths are checked against the file (and the caps) before anything is allocated.
      const problem = entryHeaderProblem(header, fileEnd - offset);
      if (problem !== null) return this.stop(entries, bytesRead, at, problem);
      const size = ENTRY_HEADER_BYTES + header.keyLength + header.valueLength;
      if (size > available) {
        if (at > 0) break; // the next window starts at this entry
        // One entry larger than a window: read it alone.
        const whole = await readAt(this.file, offset, size);
        bytesRead += whole.length;
        if (whole.length < size) return this.stop(entries, bytesRead, at, "entry runs past the end of the file");
        if (entryChecksum(whole, 0, size, this.crcSeed) !== header.crc) return this.stop(entries, bytesRead, at, "checksum mismatch");
        if (collect) entries.push(this.entryAt(whole, 0, offset, header.keyLength, header.valueLength, header.seq, header.crc));
        at = size;
        break;
      }
      if (entryChecksum(buffer, at, size, this.crcSeed) !== header.crc) return this.stop(entries, bytesRead, at, "checksum mismatch");
      if (collect) entries.push(this.entryAt(buffer, at, offset, header.keyLength, header.valueLength, header.seq, header.crc));
      at += size;
    }
    this.position += at;
    return { entries, bytesRead, invalid: null, done: this.position >= fileEnd };
  }

  private stop(entries: VlogEntry[], bytesRead: number, at: number, reason: string): ScanWindow {
    this.position += at;
    return { entries, bytesRead, invalid: { offset: this.position, reason }, done: true };
  }

  private entryAt(bytes: Uint8Array, at: number, offset: number, keyLength: number, valueLength: number, seq: number, crc: number): VlogEntry {
    const keyStart = at + ENTRY_HEADER_BYTES;
    const valueStart = keyStart + keyLength;
    return {
      pointer: { fileNumber: this.fileNumber, offset, size: ENTRY_HEADER_BYTES + keyLength + valueLength, crc },
      key: bytes.subarray(keyStart, valueStart),
      value: bytes.subarray(valueStart, valueStart + valueLength),
      seq,
    };
  }
}
