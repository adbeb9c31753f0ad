/**
 * A single-file log in the WAL segment format, for small metadata logs that are replaced whole
 * rather than segmented (the engine's MANIFEST). Same chunks, same checksums, same torn-tail rule.
 */
import { CorruptionError, dirname, type File, type FileSystem, InvalidArgumentError, readAt, writeAll } from "@auradb/fs";
import { ChunkEncoder } from "./encoder.ts";
import { DEFAULT_BLOCK_BYTES, decodeSegmentHeader, encodeSegmentHeader, SEGMENT_HEADER_BYTES } from "./format.ts";
import { readWindow, SegmentParser, syncPromiseBeyond } from "./reader.ts";

export interface LogFileOptions {
  /** Identifies the file (the checksum seed): a file copied under another id fails its checks. */
  readonly id: number;
  readonly blockBytes?: number;
}

/** What `LogFile.read` found. */
export interface LogFileContents {
  readonly records: Uint8Array[];
  /** Bytes cut from a torn tail (0 when the file was clean). Not removed from disk by `read`. */
  readonly tornBytes: number;
}

/**
 * An append-only log file. Appends are sequential (one write per call, then fdatasync): callers
 * serialise them. Create it, append, close; read it back with `LogFile.read`.
 */
export class LogFile {
  readonly path: string;
  private readonly file: File;
  private readonly encoder: ChunkEncoder;
  private nextLsn = 1;
  private syncedOffset = SEGMENT_HEADER_BYTES;
  private writing = false;
  private failed: unknown = null;

  private constructor(path: string, file: File, encoder: ChunkEncoder) {
    this.path = path;
    this.file = file;
    this.encoder = encoder;
  }

  /**
   * Creates a new log file at `path` (it must not exist), with its header durable and its
   * directory entry synced.
   */
  static async create(fs: FileSystem, path: string, options: LogFileOptions): Promise<LogFile> {
    if (!Number.isSafeInteger(options.id) || options.id < 1) throw new InvalidArgumentError("auradb/wal: LogFile id must be a positive integer");
    const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    const file = await fs.open(path, { create: true, exclusive: true });
    try {
      await writeAll(file, encodeSegmentHeader({ segmentId: options.id, firstLsn: 1, blockBytes }), 0);
      await file.datasync();
      await fs.syncDir(dirname(path));
    } catch (error) {
      await file.close().catch(() => {});
      throw error;
    }
    return new LogFile(path, file, new ChunkEncoder(options.id, 1, blockBytes, SEGMENT_HEADER_BYTES));
  }

  /**
   * Appends records and makes them durable (one write, one fdatasync). After a failure every later
   * call rejects: the file's tail is unknown, so it must be replaced, not appended to.
   */
  async append(records: readonly Uint8Array[]): Promise<void> {
    if (this.failed !== null) throw new CorruptionError("auradb/wal: an earlier append to this log file failed", { path: this.path, cause: this.failed });
    if (this.writing) throw new InvalidArgumentError("auradb/wal: LogFile appends must not overlap");
    this.writing = true;
    try {
      for (const record of records) this.encoder.encode(record, this.nextLsn++, this.syncedOffset);
      const start = this.encoder.startOffset;
      const bytes = this.encoder.take();
      await writeAll(this.file, bytes, start);
      await this.file.datasync();
      this.syncedOffset = start + bytes.length;
    } catch (error) {
      this.failed = error;
      throw error;
    } finally {
      this.writing = false;
    }
  }

  /** Bytes in the file so far. */
  get sizeBytes(): number {
    return this.encoder.endOffset;
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /**
   * Reads every record of a log file. A torn tail (damage no later chunk promises durable) ends
   * the records quietly; any other damage is a `CorruptionError` naming the file and offset.
   */
  static async read(fs: FileSystem, path: string, options: { id: number; recordBytesMax?: number }): Promise<LogFileContents> {
    const file = await fs.open(path, { readOnly: true });
    try {
      const fileBytes = await file.size();
      const header = decodeSegmentHeader(await readAt(file, 0, SEGMENT_HEADER_BYTES), path);
      if (header.segmentId !== options.id) {
        throw new CorruptionError(`auradb/wal: log file holds id ${header.segmentId}, expected ${options.id}`, { path, offset: 8 });
      }
      const parser = new SegmentParser({
        segmentId: header.segmentId,
        firstLsn: header.firstLsn,
        blockBytes: header.blockBytes,
        recordBytesMax: options.recordBytesMax ?? 64 * 1024 * 1024,
      });
      const records: Uint8Array[] = [];
      for (;;) {
        const window = await readWindow(file, parser, fileBytes);
        for (const record of window.records) records.push(record.data);
        if (window.invalid !== null) {
          const invalid = window.invalid;
          if (await syncPromiseBeyond(file, header.segmentId, header.blockBytes, invalid.chunkOffset, invalid.cut, fileBytes)) {
            throw new CorruptionError(`auradb/wal: invalid chunk (${invalid.reason}) before synced data`, { path, offset: invalid.chunkOffset });
          }
          return { records, tornBytes: fileBytes - invalid.cut };
        }
        if (window.done) return { records, tornBytes: 0 };
      }
    } finally {
      await file.close();
    }
  }
}
