/**
 * Damaged tables: every bit flip, every truncation, and hostile length fields behind valid
 * checksums. The promise under test (ARCHITECTURE, invariant 3): opening or reading a damaged
 * table throws `CorruptionError` naming the file and an offset, or answers exactly right; never a
 * wrong answer, never another exception, never an allocation larger than the file.
 *
 * Hostile files are made by a small table assembler written here from docs/format/sstable.md,
 * independently of `TableBuilder`; the first test checks that it reproduces the builder's bytes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crc32c, isCorruption, maskCrc, readFile } from "@auradb/fs";
import type { File } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { compareBytes, compareInternal } from "../src/compare.ts";
import { SEQUENCE_MAX, ValueKind } from "../src/types.ts";
import { Block, BlockBuilder, BlockIterator, putVarint } from "../src/sstable/block.ts";
import { TableBuilder } from "../src/sstable/builder.ts";
import type { TableBuilderOptions } from "../src/sstable/builder.ts";
import { BlockCache } from "../src/sstable/cache.ts";
import { decodeFooter, encodeFooter, FOOTER_BYTES, HEADER_BYTES } from "../src/sstable/format.ts";
import type { BlockHandle, Footer } from "../src/sstable/format.ts";
import { decodeHandleValue, TableReader } from "../src/sstable/reader.ts";
import { patternBytes } from "./helpers.ts";

interface Entry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PATH = "/db/000007.sst";
const FILE_NUMBER = 7;


/** Entries with several versions per key, tombstones, an empty key and varied value sizes. */
function sampleEntries(count: number): Entry[] {
  const entries: Entry[] = [{ key: new Uint8Array(0), seq: 3, kind: ValueKind.Put, value: encoder.encode("empty key") }];
  for (let index = 0; index < count; index++) {
    const key = encoder.encode(`k${String(index * 3).padStart(4, "0")}`);
    entries.push({ key, seq: 500 + index, kind: ValueKind.Put, value: patternBytes(index, index % 7 === 0 ? 150 : index % 20) });
    if (index % 4 === 0) entries.push({ key, seq: 100 + index, kind: ValueKind.Delete, value: new Uint8Array(0) });
  }
  return entries;
}

async function buildBytes(entries: readonly Entry[], options: TableBuilderOptions): Promise<Uint8Array> {
  const fs = new MemFs();
  const file = await fs.open("/build.sst", { create: true });
  const builder = new TableBuilder(file, FILE_NUMBER, { creationTimeMs: 1, ...options });
  for (const entry of entries) builder.add(entry.key, entry.seq, entry.kind, entry.value);
  await builder.finish();
  await file.close();
  return readFile(fs, "/build.sst");
}

/** A file holding `bytes`, whose reads are watched: `largestRead` is the largest buffer asked for. */
async function watchedFile(bytes: Uint8Array): Promise<{ file: File; largestRead: () => number }> {
  const fs = new MemFs();
  await fs.mkdir("/db");
  const inner = await fs.open(PATH, { create: true });
  inner.writeSync(bytes, 0);
  let largest = 0;
  const file: File = {
    path: inner.path,
    read: (buffer, position) => inner.read(buffer, position),
    readSync: (buffer, position) => {
      largest = Math.max(largest, buffer.length);
      return inner.readSync(buffer, position);
    },
    write: (data, position) => inner.write(data, position),
    writeSync: (data, position) => inner.writeSync(data, position),
    sync: () => inner.sync(),
    datasync: () => inner.datasync(),
    truncate: (size) => inner.truncate(size),
    size: () => inner.size(),
    close: () => inner.close(),
  };
  return { file, largestRead: () => largest };
}

/**
 * Opens the table and reads everything: both scans, a get of every entry's key at its own seq and
 * at the newest, and of absent keys. Any answer that differs from `entries` fails the test.
 */
function readEverything(file: File, entries: readonly Entry[], options: { fileBytes?: number; verifyChecksums?: boolean } = {}): void {
  const reader = TableReader.open(file, FILE_NUMBER, new BlockCache(1 << 20), options);
  const iterator = reader.iterator();
  let index = 0;
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
    const expected = entries[index++];
    assert.ok(expected !== undefined, "wrong answer: an extra entry");
    assert.deepEqual([iterator.key(), iterator.seq(), iterator.kind(), iterator.value()], [expected.key, expected.seq, expected.kind, expected.value], "wrong answer: forward");
  }
  assert.equal(index, entries.length, "wrong answer: entries missing");
  for (iterator.seekToLast(); iterator.valid(); iterator.prev()) {
    const expected = entries[--index]!;
    assert.deepEqual([iterator.key(), iterator.seq()], [expected.key, expected.seq], "wrong answer: reverse");
  }
  assert.equal(index, 0, "wrong answer: reverse entries missing");
  for (const entry of entries) {
    const got = reader.get(entry.key, entry.seq);
    assert.deepEqual([got?.seq, got?.kind, got?.value], [entry.seq, entry.kind, entry.value], "wrong answer: get");
    iterator.seekForPrev(entry.key);
    assert.ok(iterator.valid() && compareBytes(iterator.key(), entry.key) === 0, "wrong answer: seekForPrev");
  }
  for (const absent of [encoder.encode("k0001"), encoder.encode("zzz"), Uint8Array.of(0)]) {
    assert.equal(reader.get(absent), undefined, "wrong answer: an absent key found");
  }
  iterator.close();
  reader.close();
}

/**
 * Opens the table and runs every kind of read without checking answers (for forged blocks,
 * whose entries differ from the sample by construction): only the failure mode is tested.
 */
function exerciseEverything(file: File, entries: readonly Entry[], options: { verifyChecksums?: boolean } = {}): void {
  const reader = TableReader.open(file, FILE_NUMBER, new BlockCache(1 << 20), options);
  const iterator = reader.iterator();
  let steps = 0;
  for (iterator.seekToFirst(); iterator.valid() && steps < 10_000; iterator.next()) steps++;
  for (iterator.seekToLast(); iterator.valid() && steps < 20_000; iterator.prev()) steps++;
  for (const entry of entries) {
    reader.get(entry.key, entry.seq);
    iterator.seek(entry.key, entry.seq);
    if (iterator.valid()) iterator.prev();
    iterator.seekForPrev(entry.key);
    if (iterator.valid()) iterator.next();
  }
  iterator.close();
  reader.close();
}

type Outcome = "right" | "corruption";

/** Runs `read`; a `CorruptionError` must name PATH and an offset inside the original file. */
function outcomeOf(read: () => void, fileBytes: number, context: string): Outcome {
  try {
    read();
    return "right";
  } catch (error) {
    if (error instanceof assert.AssertionError) throw new Error(`${context}: ${error.message}`);
    assert.ok(isCorruption(error), `${context}: not a CorruptionError: ${String(error)}`);
    assert.equal(error.path, PATH, `${context}: path`);
    assert.ok(Number.isSafeInteger(error.offset) && error.offset! >= 0 && error.offset! <= fileBytes, `${context}: offset ${error.offset}`);
    assert.match(error.message, /^auradb\/lsm: /, `${context}: message prefix`);
    return "corruption";
  }
}

describe("bit flips", () => {
  it("every single-bit flip of a small table is detected (checksums on)", async () => {
    const entries = sampleEntries(24);
    const bytes = await buildBytes(entries, { blockBytes: 128, restartInterval: 4 });
    const { file } = await watchedFile(bytes);
    const fs = new MemFs();
    await fs.mkdir("/db");
    readEverything(file, entries);
    let detected = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const damaged = bytes.slice();
      damaged[bit >>> 3] = damaged[bit >>> 3]! ^ (1 << (bit & 7));
      const target = await watchedFile(damaged);
      const outcome = outcomeOf(() => readEverything(target.file, entries), bytes.length, `bit ${bit}`);
      if (outcome === "corruption") detected++;
    }
    // Every byte of a table is covered by a checksum or a magic number: nothing goes unnoticed.
    assert.equal(detected, bytes.length * 8);
  });

  it("with checksums off, flips give CorruptionErrors or answers, never another exception", async () => {
    const entries = sampleEntries(24);
    const bytes = await buildBytes(entries, { blockBytes: 128, restartInterval: 4 });
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const damaged = bytes.slice();
      damaged[bit >>> 3] = damaged[bit >>> 3]! ^ (1 << (bit & 7));
      const target = await watchedFile(damaged);
      try {
        // Wrong answers are allowed here (nothing checks the bytes): only the failure mode is tested.
        exerciseEverything(target.file, entries, { verifyChecksums: false });
      } catch (error) {
        assert.ok(isCorruption(error) && error.path === PATH && Number.isSafeInteger(error.offset), `bit ${bit}: ${String(error)}`);
      }
      assert.ok(target.largestRead() <= bytes.length, `bit ${bit}: a read of ${target.largestRead()} bytes`);
    }
  });

  it("sampled bit flips of a 4 KiB-block table with a Bloom filter", async () => {
    const entries = sampleEntries(3000);
    const bytes = await buildBytes(entries, { blockBytes: 4096, restartInterval: 16 });
    let state = 99;
    let detected = 0;
    const samples = 400;
    for (let sample = 0; sample < samples; sample++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const bit = state % (bytes.length * 8);
      const damaged = bytes.slice();
      damaged[bit >>> 3] = damaged[bit >>> 3]! ^ (1 << (bit & 7));
      const target = await watchedFile(damaged);
      if (outcomeOf(() => readEverything(target.file, entries), bytes.length, `bit ${bit}`) === "corruption") detected++;
    }
    assert.equal(detected, samples);
  });
});

describe("truncation and extension", () => {
  it("a table cut at any length is refused, whether the size is probed or given", async () => {
    const entries = sampleEntries(24);
    const bytes = await buildBytes(entries, { blockBytes: 128, restartInterval: 4 });
    for (let length = 0; length < bytes.length; length++) {
      const target = await watchedFile(bytes.subarray(0, length));
      assert.equal(outcomeOf(() => readEverything(target.file, entries), bytes.length, `cut at ${length}`), "corruption");
      const told = await watchedFile(bytes.subarray(0, length));
      assert.equal(
        outcomeOf(() => readEverything(told.file, entries, { fileBytes: bytes.length }), bytes.length, `cut at ${length}, size told`),
        "corruption",
      );
      assert.ok(told.largestRead() <= bytes.length);
    }
  });

  it("bytes appended after the footer are refused", async () => {
    const entries = sampleEntries(5);
    const bytes = await buildBytes(entries, {});
    for (const extra of [1, 7, FOOTER_BYTES, 4096]) {
      const longer = new Uint8Array(bytes.length + extra);
      longer.set(bytes);
      const target = await watchedFile(longer);
      assert.equal(outcomeOf(() => readEverything(target.file, entries), longer.length, `+${extra}`), "corruption");
    }
  });
});

// --- a table assembler, from the format doc --------------------------------------------------

interface IndexKey {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: number;
}

/** A table taken apart: every block's contents, ready to be changed and re-assembled. */
interface TableParts {
  fileNumber: number;
  headerVersion: number;
  headerFlags: number;
  data: Uint8Array[];
  indexKeys: IndexKey[];
  /** Meta blocks in file order, by name. */
  meta: Array<[string, Uint8Array]>;
  /** Replaces the index contents built from the handles. */
  index?: (handles: BlockHandle[]) => Uint8Array;
  /** Replaces the metaindex contents built from the meta handles. */
  metaindex?: (handles: Array<[string, BlockHandle]>) => Uint8Array;
  /** Edits the footer before it is encoded. */
  footer?: (footer: Footer) => Footer;
  /** Compression type of every block (default 0); the contents are not compressed by the assembler. */
  compressionType?: number;
}

function handleValue(handle: BlockHandle): Uint8Array {
  const bytes = new Uint8Array(20);
  return bytes.slice(0, putVarint(bytes, putVarint(bytes, 0, handle.offset), handle.size));
}

function fileSeedOf(fileNumber: number): number {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(fileNumber), true);
  return crc32c(bytes);
}

function assemble(parts: TableParts): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const push = (bytes: Uint8Array): void => {
    chunks.push(bytes);
    offset += bytes.length;
  };
  const header = new Uint8Array(HEADER_BYTES);
  header.set([0x41, 0x53, 0x53, 0x54]);
  new DataView(header.buffer).setUint16(4, parts.headerVersion, true);
  new DataView(header.buffer).setUint16(6, parts.headerFlags, true);
  new DataView(header.buffer).setUint32(8, maskCrc(crc32c(header.subarray(0, 8))), true);
  push(header);
  const seed = fileSeedOf(parts.fileNumber);
  const writeBlock = (contents: Uint8Array): BlockHandle => {
    const handle = { offset, size: contents.length };
    const sealed = new Uint8Array(contents.length + 5);
    sealed.set(contents);
    sealed[contents.length] = parts.compressionType ?? 0;
    new DataView(sealed.buffer).setUint32(contents.length + 1, maskCrc(crc32c(sealed.subarray(0, contents.length + 1), seed)), true);
    push(sealed);
    return handle;
  };
  const dataHandles = parts.data.map(writeBlock);
  const metaHandles: Array<[string, BlockHandle]> = parts.meta.map(([name, contents]) => [name, writeBlock(contents)]);
  let metaindexContents: Uint8Array;
  if (parts.metaindex !== undefined) {
    metaindexContents = parts.metaindex(metaHandles);
  } else {
    const builder = new BlockBuilder(16);
    for (const [name, handle] of [...metaHandles].sort((a, b) => (a[0] < b[0] ? -1 : 1))) builder.add(encoder.encode(name), 0, ValueKind.Put, handleValue(handle));
    metaindexContents = builder.finish().slice();
  }
  const metaindex = writeBlock(metaindexContents);
  let indexContents: Uint8Array;
  if (parts.index !== undefined) {
    indexContents = parts.index(dataHandles);
  } else {
    const builder = new BlockBuilder(1);
    for (const [blockNumber, handle] of dataHandles.entries()) {
      const key = parts.indexKeys[blockNumber]!;
      builder.add(key.key, key.seq, key.kind, handleValue(handle));
    }
    indexContents = builder.finish().slice();
  }
  const index = writeBlock(indexContents);
  let footer: Footer = { metaindex, index, fileNumber: parts.fileNumber, formatVersion: parts.headerVersion };
  if (parts.footer !== undefined) footer = parts.footer(footer);
  push(encodeFooter(footer));
  const bytes = new Uint8Array(offset);
  let position = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, position);
    position += chunk.length;
  }
  return bytes;
}

/** Takes a valid table apart (with the library's decoders: the input is trusted). */
function partsOf(bytes: Uint8Array): TableParts {
  const footer = decodeFooter(bytes.subarray(bytes.length - FOOTER_BYTES), PATH, bytes.length - FOOTER_BYTES);
  const contentsAt = (handle: BlockHandle): Uint8Array => bytes.slice(handle.offset, handle.offset + handle.size);
  const index = new BlockIterator(Block.decode(contentsAt(footer.index), PATH, footer.index.offset));
  const data: Uint8Array[] = [];
  const indexKeys: IndexKey[] = [];
  for (index.seekToFirst(); index.valid(); index.next()) {
    data.push(contentsAt(decodeHandleValue(index.value())!));
    indexKeys.push({ key: index.key().slice(), seq: index.seq(), kind: index.kind() });
  }
  const metaindex = new BlockIterator(Block.decode(contentsAt(footer.metaindex), PATH, footer.metaindex.offset));
  const metaHandles: Array<[string, BlockHandle]> = [];
  for (metaindex.seekToFirst(); metaindex.valid(); metaindex.next()) {
    metaHandles.push([decoder.decode(metaindex.key()), decodeHandleValue(metaindex.value())!]);
  }
  // File order, as the builder wrote them.
  metaHandles.sort((a, b) => a[1].offset - b[1].offset);
  const meta = metaHandles.map(([name, handle]): [string, Uint8Array] => [name, contentsAt(handle)]);
  return { fileNumber: footer.fileNumber, headerVersion: footer.formatVersion, headerFlags: 0, data, indexKeys, meta };
}

/** Rebuilds the properties block with `edit` applied to its (name, value) pairs. */
function editProperties(parts: TableParts, edit: (pairs: Array<[string, Uint8Array]>) => Array<[string, Uint8Array]>): void {
  const position = parts.meta.findIndex(([name]) => name === "auradb.properties");
  const iterator = new BlockIterator(Block.decode(parts.meta[position]![1], PATH, 0));
  const pairs: Array<[string, Uint8Array]> = [];
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) pairs.push([decoder.decode(iterator.key()), iterator.value().slice()]);
  const builder = new BlockBuilder(16);
  for (const [name, value] of edit(pairs).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) builder.add(encoder.encode(name), 0, ValueKind.Put, value);
  parts.meta[position] = ["auradb.properties", builder.finish().slice()];
}

function varint(value: number): Uint8Array {
  const bytes = new Uint8Array(10);
  return bytes.slice(0, putVarint(bytes, 0, value));
}

/** Raw block contents: the given entry bytes, then the restart array. */
function rawBlock(entryBytes: readonly number[], restarts: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(entryBytes.length + 4 * restarts.length + 4);
  bytes.set(entryBytes);
  const view = new DataView(bytes.buffer);
  restarts.forEach((restart, index) => view.setUint32(entryBytes.length + 4 * index, restart, true));
  view.setUint32(bytes.length - 4, restarts.length, true);
  return bytes;
}

describe("hostile tables behind valid checksums", () => {
  const entries = sampleEntries(40);
  const options = { blockBytes: 256, restartInterval: 4 };

  async function expectCorruption(bytes: Uint8Array, context: string, fileBytes?: number): Promise<void> {
    const target = await watchedFile(bytes);
    assert.equal(
      outcomeOf(() => readEverything(target.file, entries, fileBytes === undefined ? {} : { fileBytes }), Math.max(bytes.length, fileBytes ?? 0), context),
      "corruption",
      context,
    );
    assert.ok(target.largestRead() <= bytes.length, `${context}: a read of ${target.largestRead()} bytes from ${bytes.length}`);
  }

  /** A forged data block reads differently by construction: only the error is checked. */
  async function expectCorruptionWhenRead(bytes: Uint8Array, context: string): Promise<void> {
    const target = await watchedFile(bytes);
    const outcome = outcomeOf(() => exerciseEverything(target.file, entries), bytes.length, context);
    assert.equal(outcome, "corruption", context);
    assert.ok(target.largestRead() <= bytes.length, `${context}: a read of ${target.largestRead()} bytes from ${bytes.length}`);
  }

  async function expectRight(bytes: Uint8Array, context: string): Promise<void> {
    const target = await watchedFile(bytes);
    assert.equal(outcomeOf(() => readEverything(target.file, entries), bytes.length, context), "right", context);
  }

  it("the assembler reproduces the builder's bytes (an independent reading of the format doc)", async () => {
    const bytes = await buildBytes(entries, options);
    assert.deepEqual(assemble(partsOf(bytes)), bytes);
    await expectRight(bytes, "as built");
  });

  it("footer handles: huge sizes, offsets past the file or into the header", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const cases: Array<[string, (footer: Footer) => Footer]> = [
      ["index size 2^32 - 1", (footer) => ({ ...footer, index: { ...footer.index, size: 0xffff_ffff } })],
      ["metaindex size 2^31", (footer) => ({ ...footer, metaindex: { ...footer.metaindex, size: 2 ** 31 } })],
      ["index offset 2^52", (footer) => ({ ...footer, index: { ...footer.index, offset: 2 ** 52 } })],
      ["metaindex offset into the header", (footer) => ({ ...footer, metaindex: { ...footer.metaindex, offset: 0 } })],
      ["index over the footer", (footer) => ({ ...footer, index: { ...footer.index, size: footer.index.size + 1 } })],
      ["index points at the metaindex", (footer) => ({ ...footer, index: footer.metaindex })],
      ["metaindex points at a data block", (footer) => ({ ...footer, metaindex: { offset: HEADER_BYTES, size: parts.data[0]!.length } })],
      ["another file number", (footer) => ({ ...footer, fileNumber: 8 })],
    ];
    for (const [context, footer] of cases) await expectCorruption(assemble({ ...parts, footer }), context);
  });

  it("an unknown newer format version or flags are refused with a clear error", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const target = await watchedFile(assemble({ ...parts, headerVersion: 2 }));
    assert.throws(
      () => TableReader.open(target.file, FILE_NUMBER, new BlockCache(1024)),
      (error: unknown) => isCorruption(error) && /unsupported sstable format version 2 \(this code reads 1\.\.1\)/.test(error.message) && error.offset === 4,
    );
    await expectCorruption(assemble({ ...parts, headerFlags: 1 }), "header flags");
    await expectCorruption(assemble({ ...parts, footer: (footer) => ({ ...footer, formatVersion: 0 }) }), "footer version 0");
  });

  it("metaindex: huge or missing properties handle, malformed handles; unknown names are ignored", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const metaindexWith = (pairs: Array<[string, Uint8Array]>) => () => {
      const builder = new BlockBuilder(16);
      for (const [name, value] of pairs) builder.add(encoder.encode(name), 0, ValueKind.Put, value);
      return builder.finish().slice();
    };
    await expectCorruption(assemble({ ...parts, metaindex: (handles) => metaindexWith([["auradb.properties", handleValue({ offset: handles[1]![1].offset, size: 2 ** 31 })]])() }), "properties size 2^31");
    await expectCorruption(assemble({ ...parts, metaindex: (handles) => metaindexWith([["auradb.filter.bloom", handleValue(handles[0]![1])]])() }), "no properties");
    await expectCorruption(assemble({ ...parts, metaindex: metaindexWith([["auradb.properties", Uint8Array.of(0x80, 0x80)]]) }), "truncated handle varint");
    await expectCorruption(assemble({ ...parts, metaindex: (handles) => metaindexWith([["auradb.properties", Uint8Array.of(...handleValue(handles[1]![1]), 0)]])() }), "trailing bytes after a handle");
    await expectCorruption(
      assemble({ ...parts, metaindex: metaindexWith([["auradb.properties", Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1)]]) }),
      "9-byte varint",
    );
    // A newer writer's optional block (a learned model, say) is skipped by this reader.
    await expectRight(assemble({ ...parts, meta: [...parts.meta, ["auradb.model.learned", patternBytes(5, 100)]] }), "unknown meta block");
    // A learned-index block the properties do not announce ("off": absent property) is refused,
    // whatever it holds: a reader must not trust a model the writer did not vouch for.
    await expectCorruption(assemble({ ...parts, meta: [...parts.meta, ["auradb.index.learned", patternBytes(6, 100)]] }), "unannounced learned block");
    // The filter is optional: without it every lookup goes to the index.
    await expectRight(assemble({ ...parts, meta: parts.meta.filter(([name]) => name !== "auradb.filter.bloom") }), "no filter");
  });

  it("properties: missing, malformed or contradictory facts are corruption; unknown ones are ignored", async () => {
    const built = partsOf(await buildBytes(entries, options));
    const variant = (edit: (pairs: Array<[string, Uint8Array]>) => Array<[string, Uint8Array]>): Uint8Array => {
      const parts: TableParts = { ...built, meta: built.meta.map(([name, contents]) => [name, contents.slice()] as [string, Uint8Array]) };
      editProperties(parts, edit);
      return assemble(parts);
    };
    const set = (name: string, value: Uint8Array) => (pairs: Array<[string, Uint8Array]>) => [...pairs.filter(([key]) => key !== name), [name, value] as [string, Uint8Array]];
    await expectRight(variant(set("auradb.zz-future-fact", encoder.encode("anything"))), "unknown property");
    await expectRight(variant(set("other.vendor-fact", Uint8Array.of(0xff, 0xff))), "foreign property");
    await expectCorruption(variant((pairs) => pairs.filter(([name]) => name !== "auradb.entry-count")), "missing entry count");
    await expectCorruption(variant(set("auradb.entry-count", varint(0))), "no entries");
    await expectCorruption(variant(set("auradb.delete-count", varint(10_000))), "more deletes than entries");
    await expectCorruption(variant(set("auradb.data-block-count", varint(built.data.length + 1))), "block count mismatch");
    await expectCorruption(variant(set("auradb.data-block-count", varint(2 ** 40))), "huge block count");
    await expectCorruption(variant(set("auradb.file-number", varint(8))), "file number mismatch");
    await expectCorruption(variant(set("auradb.format-version", varint(2))), "format version mismatch");
    await expectCorruption(variant(set("auradb.min-seq", varint(SEQUENCE_MAX))), "min above max");
    await expectCorruption(variant(set("auradb.entry-count", Uint8Array.of(0x80))), "truncated varint");
    await expectCorruption(variant(set("auradb.entry-count", Uint8Array.of(5, 0))), "trailing byte");
    await expectCorruption(variant(set("auradb.largest", Uint8Array.of(1, 1, 0x7a))), "largest differs from the index");
    await expectCorruption(variant(set("auradb.largest", Uint8Array.of(1, 9, 0x7a))), "largest with an unknown kind");
    await expectCorruption(variant(set("auradb.smallest", Uint8Array.of(1, 1, 0xff, 0xff))), "smallest above largest");
  });

  it("filter: a bad probe count is corruption", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const meta = parts.meta.map(([name, contents]): [string, Uint8Array] => {
      if (name !== "auradb.filter.bloom") return [name, contents];
      const changed = contents.slice();
      changed[changed.length - 1] = 99;
      return [name, changed];
    });
    await expectCorruption(assemble({ ...parts, meta }), "filter k 99");
  });

  it("index: huge, overlapping or out-of-order handles and keys, entries that are not restarts", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const indexWith = (edit: (blockNumber: number, handle: BlockHandle) => BlockHandle, keys = parts.indexKeys, restartInterval = 1) => (handles: BlockHandle[]) => {
      const builder = new BlockBuilder(restartInterval);
      for (const [blockNumber, handle] of handles.entries()) {
        const key = keys[blockNumber]!;
        builder.add(key.key, key.seq, key.kind, handleValue(edit(blockNumber, handle)));
      }
      return builder.finish().slice();
    };
    await expectCorruption(assemble({ ...parts, index: indexWith((blockNumber, handle) => (blockNumber === 1 ? { ...handle, size: 2 ** 40 } : handle)) }), "data block size 2^40");
    await expectCorruption(assemble({ ...parts, index: indexWith((blockNumber, handle) => (blockNumber === 2 ? { ...handle, offset: handle.offset - 1 } : handle)) }), "overlapping blocks");
    await expectCorruption(assemble({ ...parts, index: indexWith((blockNumber, handle) => (blockNumber === 0 ? { offset: HEADER_BYTES + 5, size: handle.size - 5 } : handle)) }), "a gap");
    const last = parts.data.length - 1;
    await expectCorruption(
      assemble({ ...parts, index: indexWith((blockNumber, handle) => (blockNumber === last ? { ...handle, size: handle.size + 30 } : handle)) }),
      "last data block runs into the meta blocks",
    );
    const swapped = [...parts.indexKeys];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    await expectCorruption(assemble({ ...parts, index: indexWith((_, handle) => handle, swapped) }), "keys out of order");
    await expectCorruption(assemble({ ...parts, index: indexWith((_, handle) => handle, parts.indexKeys, 2) }), "restart interval 2");
    await expectCorruption(assemble({ ...parts, index: (handles) => indexWith((_, handle) => handle)(handles.slice(0, -1)) }), "one entry missing");
    // One more entry than restarts: the count matches the data blocks, but entry 0 is followed
    // by an entry that is not a restart (block numbers would no longer be entry positions).
    const hidden = (handles: BlockHandle[]): Uint8Array => {
      const builder = new BlockBuilder(1);
      const first = parts.indexKeys[0]!;
      builder.add(first.key, first.seq + 1, first.kind, handleValue(handles[0]!));
      for (const [blockNumber, handle] of handles.entries()) {
        const key = parts.indexKeys[blockNumber]!;
        builder.add(key.key, key.seq, key.kind, handleValue(handle));
      }
      const block = Block.decode(builder.finish().slice(), PATH, 0);
      const restarts = Array.from({ length: block.restartCount }, (_, index) => block.restartOffset(index));
      restarts.splice(1, 1);
      return rawBlock(Array.from(block.data.subarray(0, block.entriesEnd)), restarts);
    };
    await expectCorruption(assemble({ ...parts, index: hidden }), "an index entry between restarts");
  });

  it("data blocks: hostile restart arrays, lengths, kinds and prefixes are found when the block is read", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    const withBlock = (blockNumber: number, contents: Uint8Array): Uint8Array => {
      const data = [...parts.data];
      data[blockNumber] = contents;
      return assemble({ ...parts, data });
    };
    const key = Array.from(parts.indexKeys[1]!.key);
    const seq = Array.from(varint(parts.indexKeys[1]!.seq));
    const kind = parts.indexKeys[1]!.kind;
    const entry = (shared: number[], unshared: number[], valueLength: number[], entryKind: number, entrySeq: number[], rest: number[]) => [
      ...shared,
      ...unshared,
      ...valueLength,
      entryKind,
      ...entrySeq,
      ...rest,
    ];
    const good = entry([0], [key.length], [1], kind, seq, [...key, 0x76]);
    const cases: Array<[string, Uint8Array]> = [
      ["restart count 2^32 - 1", (() => {
        const contents = parts.data[1]!.slice();
        new DataView(contents.buffer).setUint32(contents.length - 4, 0xffff_ffff, true);
        return contents;
      })()],
      ["no restarts but entries", rawBlock(good, [])],
      ["first restart not 0", rawBlock(good, [1])],
      ["restart past the entries", rawBlock(good, [0, good.length])],
      ["restarts not increasing", rawBlock([...good, ...good], [0, 0])],
      ["restart inside an entry", rawBlock([...good, ...good], [0, 3])],
      ["value length 2^50", rawBlock(entry([0], [key.length], Array.from(varint(2 ** 50)), kind, seq, [...key, 0x76]), [0])],
      ["key length 2^53 - 1", rawBlock(entry([0], Array.from(varint(SEQUENCE_MAX)), [1], kind, seq, [...key, 0x76]), [0])],
      ["9-byte varint", rawBlock(entry([0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [1], kind, seq, [...key, 0x76]), [0])],
      ["varint above 2^53", rawBlock(entry([0], [key.length], [1], kind, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], [...key, 0x76]), [0])],
      ["unknown kind", rawBlock(entry([0], [key.length], [1], 7, seq, [...key, 0x76]), [0])],
      ["shared prefix at a restart", rawBlock(entry([1], [key.length - 1], [1], kind, seq, [...key.slice(1), 0x76]), [0])],
      ["shared longer than the previous key", rawBlock([...good, ...entry([key.length + 1], [0], [0], kind, [0], [])], [0])],
      ["entry cut before its kind", rawBlock([0, 1], [0])],
      ["too short for a restart count", Uint8Array.of(0, 0)],
    ];
    for (const [context, contents] of cases) await expectCorruptionWhenRead(withBlock(1, contents), context);
  });

  it("an unknown compression type is corruption even with a valid checksum", async () => {
    const parts = partsOf(await buildBytes(entries, options));
    for (const type of [2, 255]) await expectCorruption(assemble({ ...parts, compressionType: type }), `compression type ${type}`);
    // Type 1 (Snappy) over contents that are not a Snappy stream.
    await expectCorruption(assemble({ ...parts, compressionType: 1 }), "uncompressed contents marked Snappy");
  });

  it("a table whose size is given too large, too small or absurd is refused", async () => {
    const bytes = await buildBytes(entries, options);
    await expectCorruption(bytes, "size told + 1", bytes.length + 1);
    await expectCorruption(bytes, "size told - 1", bytes.length - 1);
    await expectCorruption(bytes, "size told 2^50", 2 ** 50);
    await expectCorruption(bytes, "size told 10", 10);
  });

  it("entries of the sample are in internal order (the harness itself)", () => {
    for (let index = 1; index < entries.length; index++) {
      const a = entries[index - 1]!;
      const b = entries[index]!;
      assert.ok(compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind) < 0);
    }
  });
});
