/**
 * Block compression (type 1, Snappy): round trips with compression on, the 12.5 % rule, mixed
 * tables, and damaged compressed blocks (flipped bits, lengths that disagree with the stream,
 * hostile streams behind valid checksums). The promise: a damaged table reads as
 * `CorruptionError` or exactly right, never another exception, a hang or a large allocation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c, InvalidArgumentError, isCorruption, maskCrc, readFile } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { compareInternal } from "../src/compare.ts";
import { ValueKind } from "../src/types.ts";
import { putVarint } from "../src/sstable/block.ts";
import { TableBuilder } from "../src/sstable/builder.ts";
import type { TableBuilderOptions } from "../src/sstable/builder.ts";
import { BlockCache } from "../src/sstable/cache.ts";
import { snappyCompress, snappyUncompress, snappyUncompressedLength } from "../src/sstable/compression.ts";
import { describeTable } from "../src/sstable/describe.ts";
import { BLOCK_BYTES_MAX, CompressionType, decodeFooter, FOOTER_BYTES, TRAILER_BYTES } from "../src/sstable/format.ts";
import { TableReader } from "../src/sstable/reader.ts";
import type { TableReaderOptions } from "../src/sstable/reader.ts";
import { patternBytes } from "./helpers.ts";

interface Entry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();
const FILE_NUMBER = 9;
const PATH = "/db/000009.sst";


/** JSON-like (compressible) values for even `group`s of 40 keys, random bytes for odd ones. */
function mixedEntries(count: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = 0; index < count; index++) {
    const key = encoder.encode(`user:${String(index).padStart(9, "0")}`);
    const compressible = Math.floor(index / 40) % 2 === 0;
    const value = compressible
      ? encoder.encode(JSON.stringify({ id: index, name: `user ${index % 13}`, email: `user${index % 13}@example.com`, active: index % 3 === 0 }))
      : patternBytes(index + 1, 90);
    entries.push({ key, seq: 1_000 + index, kind: index % 11 === 5 ? ValueKind.Delete : ValueKind.Put, value: index % 11 === 5 ? new Uint8Array(0) : value });
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

async function openBytes(bytes: Uint8Array, options: TableReaderOptions = {}): Promise<TableReader> {
  const fs = new MemFs();
  await fs.mkdir("/db");
  const file = await fs.open(PATH, { create: true });
  file.writeSync(bytes, 0);
  return TableReader.open(file, FILE_NUMBER, new BlockCache(1024 * 1024), { fileBytes: bytes.length, ...options });
}

/** Every entry, forward and backward, and a `get` of each: all must equal `entries`. */
function readsExactly(reader: TableReader, entries: readonly Entry[]): void {
  const iterator = reader.iterator({ fillCache: false });
  let index = 0;
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
    const expected = entries[index++]!;
    assert.deepEqual(iterator.key(), expected.key);
    assert.equal(iterator.seq(), expected.seq);
    assert.equal(iterator.kind(), expected.kind);
    assert.deepEqual(iterator.value(), expected.value);
  }
  assert.equal(index, entries.length);
  for (iterator.seekToLast(); iterator.valid(); iterator.prev()) index--;
  assert.equal(index, 0);
  iterator.close();
  for (const entry of entries) {
    const found = reader.get(entry.key, entry.seq);
    assert.ok(found !== undefined);
    assert.equal(found.seq, entry.seq);
    assert.deepEqual(found.value, entry.value);
  }
}

/** Data block handles (contents offset, stored size) and their compression types, from the file's index. */
function dataBlocks(bytes: Uint8Array): Array<{ offset: number; size: number; type: number }> {
  const footer = decodeFooter(bytes.subarray(bytes.length - FOOTER_BYTES), PATH, bytes.length - FOOTER_BYTES);
  const blocks: Array<{ offset: number; size: number; type: number }> = [];
  // Data blocks tile the file from the header to the first meta block: walk them by the index's handles.
  const text = describeTable(bytes, { entries: false });
  for (const match of text.matchAll(/^data \d+ @(\d+)\+(\d+): type (\d+)/gm)) {
    blocks.push({ offset: Number(match[1]), size: Number(match[2]), type: Number(match[3]) });
  }
  assert.ok(blocks.length > 0 && blocks[blocks.length - 1]!.offset < footer.index.offset);
  return blocks;
}

function fileSeed(fileNumber: number): number {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(fileNumber), true);
  return crc32c(bytes);
}

/** A copy of `bytes` whose block at `offset` (stored size `size`) has new contents of the same size, resealed with a valid checksum. */
function withBlockContents(bytes: Uint8Array, offset: number, size: number, contents: Uint8Array, type: number): Uint8Array {
  assert.equal(contents.length, size);
  const copy = bytes.slice();
  copy.set(contents, offset);
  copy[offset + size] = type;
  new DataView(copy.buffer).setUint32(offset + size + 1, maskCrc(crc32c(copy.subarray(offset, offset + size + 1), fileSeed(FILE_NUMBER))), true);
  return copy;
}

/** "right", or "corruption"; anything else thrown fails the test. */
async function outcome(bytes: Uint8Array, entries: readonly Entry[], options: TableReaderOptions = {}): Promise<"right" | "corruption" | "wrong"> {
  try {
    const reader = await openBytes(bytes, options);
    const iterator = reader.iterator({ fillCache: false });
    let index = 0;
    let same = true;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      const expected = entries[index++];
      if (
        expected === undefined ||
        compareInternal(iterator.key(), iterator.seq(), iterator.kind(), expected.key, expected.seq, expected.kind) !== 0 ||
        iterator.value().length !== expected.value.length ||
        !iterator.value().every((byte, position) => byte === expected.value[position])
      ) {
        same = false;
      }
    }
    iterator.close();
    return same && index === entries.length ? "right" : "wrong";
  } catch (error) {
    if (isCorruption(error)) return "corruption";
    throw error;
  }
}

describe("block compression: the Snappy codec", () => {
  it("round-trips arbitrary bytes; compresses only when that saves 12.5 %", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 9000 }),
          // Compressible: a few short words repeated.
          fc.array(fc.constantFrom("user:", "0001", "\"name\":", "true", ",", "GET /api", "\x00\x00"), { maxLength: 1500 }).map((words) => encoder.encode(words.join(""))),
        ),
        (raw) => {
          const compressed = snappyCompress(raw);
          if (compressed === undefined) return;
          assert.ok(compressed.length * 8 <= raw.length * 7, `${compressed.length} of ${raw.length} bytes saves less than 12.5 %`);
          assert.equal(snappyUncompressedLength(compressed, BLOCK_BYTES_MAX, PATH, 0), raw.length);
          assert.deepEqual(snappyUncompress(compressed, BLOCK_BYTES_MAX, PATH, 0), raw);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("incompressible bytes are not compressed", () => {
    assert.equal(snappyCompress(patternBytes(3, 4096)), undefined);
    assert.equal(snappyCompress(new Uint8Array(0)), undefined);
    assert.ok(snappyCompress(new Uint8Array(4096))!.length < 512);
  });

  it("a mutated stream decodes to its declared length or is CorruptionError: never another error", () => {
    const raw = encoder.encode(JSON.stringify(Array.from({ length: 60 }, (_, index) => ({ id: index, name: `n${index % 7}`, on: index % 2 === 0 }))));
    const valid = snappyCompress(raw)!;
    assert.ok(valid !== undefined);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -8, max: 8 }),
        (edits, resize) => {
          let stream = valid.slice();
          for (const [position, byte] of edits) stream[position] = byte;
          if (resize < 0) stream = stream.subarray(0, Math.max(0, stream.length + resize));
          else if (resize > 0) stream = Uint8Array.from([...stream, ...patternBytes(resize, resize)]);
          try {
            const length = snappyUncompressedLength(stream, 64 * 1024, PATH, 0);
            assert.equal(snappyUncompress(stream, 64 * 1024, PATH, 0).length, length);
          } catch (error) {
            assert.ok(isCorruption(error), `not a CorruptionError: ${String(error)}`);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("hostile streams are refused before any allocation", () => {
    const refuse = (stream: number[], context: string, limit = BLOCK_BYTES_MAX): void => {
      assert.throws(() => snappyUncompress(Uint8Array.from(stream), limit, PATH, 100), (error: unknown) => isCorruption(error), context);
    };
    refuse([], "empty payload: no length");
    refuse([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "6-byte length varint");
    refuse([0xff, 0xff, 0xff, 0xff, 0x0f], "declares 2^32 - 1 bytes");
    refuse([0x81, 0x80, 0x80, 0x80, 0x01], "declares 2^28 + 1 bytes, over the 256 MiB limit");
    refuse([0x10], "declares 16 bytes, produces none");
    refuse([0x05, 0x0c, 0x61, 0x62, 0x63, 0x64], "literal of 4 where 5 are declared");
    refuse([0x03, 0x0c, 0x61, 0x62, 0x63, 0x64], "literal of 4 where 3 are declared");
    refuse([0x04, 0x3c], "literal runs past the payload");
    refuse([0x40, 0xf4, 0x01], "literal length (2 extra bytes) truncated");
    refuse([0x08, 0x01, 0x01], "copy before any output");
    refuse([0x08, 0x00, 0x61, 0x1d, 0x02], "copy offset 2 with 1 byte produced");
    refuse([0x08, 0x00, 0x61, 0x1d, 0x00], "copy offset 0");
    refuse([0x08, 0x00, 0x61, 0x1e], "copy truncated");
    refuse([0x08, 0x00, 0x61, 0x1f, 0x01, 0x00, 0x00], "4-byte copy truncated");
    refuse([0x08, 0x00, 0x61, 0x1f, 0x01, 0x00, 0x00, 0x80], "4-byte copy offset 2^31");
    refuse([0x08, 0x00, 0x61, 0x1d, 0x01, 0x1d, 0x01], "copies produce more than declared");
    refuse([0x20, 0x00, 0x61, 0xfe, 0x01, 0x00], "declares 32, a 64-byte copy");
    refuse([0x08, 0x00, 0x61, 0x1d, 0x01], "limit below the declared length", 7);
    // And a valid one: "a" then a copy of 7 at offset 1 = "aaaaaaaa".
    assert.deepEqual(snappyUncompress(Uint8Array.of(0x08, 0x00, 0x61, 0x0d, 0x01), 8, PATH, 0), encoder.encode("aaaaaaaa"));
  });
});

describe("block compression: tables", () => {
  it("round-trips arbitrary tables with compression on (property)", async () => {
    const entryArbitrary = fc.record({
      key: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.nat(5000).map((n) => encoder.encode(`key:${String(n).padStart(8, "0")}`))),
      seq: fc.nat(1_000_000),
      kind: fc.constantFrom(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer),
      value: fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.constantFrom("alpha ", "beta ", "gamma ", "{\"id\":", "1234", "}"), { maxLength: 60 }).map((words) => encoder.encode(words.join(""))),
      ),
    });
    let compressedBlocks = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entryArbitrary, { minLength: 1, maxLength: 300 }), fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 1, max: 32 }), async (raw, blockBytes, restartInterval) => {
        const sorted = [...raw].sort((a, b) => compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind));
        const entries: Entry[] = [];
        for (const entry of sorted) {
          const last = entries[entries.length - 1];
          if (last !== undefined && compareInternal(last.key, last.seq, last.kind, entry.key, entry.seq, entry.kind) === 0) continue;
          entries.push(entry);
        }
        const bytes = await buildBytes(entries, { compression: "snappy", blockBytes, restartInterval });
        compressedBlocks += dataBlocks(bytes).filter((block) => block.type === CompressionType.Snappy).length;
        readsExactly(await openBytes(bytes), entries);
        readsExactly(await openBytes(bytes, { verifyChecksums: false }), entries);
      }),
      { numRuns: 60 },
    );
    assert.ok(compressedBlocks > 0, "some blocks were compressed");
  });

  it("a mixed table: compressible blocks are type 1, incompressible ones type 0; both read back", async () => {
    const entries = mixedEntries(600);
    const bytes = await buildBytes(entries, { compression: "snappy", blockBytes: 1024 });
    const blocks = dataBlocks(bytes);
    const types = new Set(blocks.map((block) => block.type));
    assert.deepEqual([...types].sort(), [CompressionType.None, CompressionType.Snappy], "both kinds of block");
    readsExactly(await openBytes(bytes), entries);
    const plain = await buildBytes(entries, { blockBytes: 1024 });
    assert.ok(dataBlocks(plain).every((block) => block.type === CompressionType.None), "'none' writes type 0 only");
    assert.ok(bytes.length < plain.length * 0.85, `compressed table ${bytes.length} bytes, plain ${plain.length}`);
    // The dump decodes compressed blocks and says so.
    const text = describeTable(bytes);
    assert.match(text, /type 1 \(snappy, \d+ bytes\) crc ok restarts \d+ entries \d+/);
    assert.doesNotMatch(text, /error/);
  });

  it("a flipped bit in a compressed block is detected (checksum), and without checksums is CorruptionError or harmless", async () => {
    const entries = mixedEntries(200);
    const bytes = await buildBytes(entries, { compression: "snappy", blockBytes: 1024 });
    const block = dataBlocks(bytes).find((candidate) => candidate.type === CompressionType.Snappy)!;
    assert.ok(block !== undefined);
    const outcomes = { right: 0, corruption: 0, wrong: 0 };
    // Every bit of the compressed contents and of the trailer's type byte.
    for (let position = block.offset; position <= block.offset + block.size; position++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[position]! ^= 1 << bit;
        assert.equal(await outcome(damaged, entries), "corruption", `bit ${bit} of byte ${position}`);
        outcomes[await outcome(damaged, entries, { verifyChecksums: false })]++;
      }
    }
    // Without checksums most flips are still caught by the stream checks; none throws anything else.
    assert.ok(outcomes.corruption > 0);
  });

  it("a compressed block whose stream decodes to another length than it declares is rejected", async () => {
    const entries = mixedEntries(200);
    const bytes = await buildBytes(entries, { compression: "snappy", blockBytes: 1024 });
    const block = dataBlocks(bytes).find((candidate) => candidate.type === CompressionType.Snappy)!;
    const contents = bytes.slice(block.offset, block.offset + block.size);
    const declared = snappyUncompressedLength(contents, BLOCK_BYTES_MAX, PATH, 0);
    const lengthBytes = putVarint(new Uint8Array(8), 0, declared);
    for (const wrong of [declared - 1, declared + 1, 1 << (7 * lengthBytes - 1)]) {
      const patched = contents.slice();
      const end = putVarint(patched, 0, wrong);
      assert.equal(end, lengthBytes, "same varint width: the block keeps its size");
      const damaged = withBlockContents(bytes, block.offset, block.size, patched, CompressionType.Snappy);
      assert.equal(await outcome(damaged, entries), "corruption", `declared ${wrong} instead of ${declared}`);
      assert.equal(await outcome(damaged, entries, { verifyChecksums: false }), "corruption", `declared ${wrong}, no checksums`);
    }
    // An uncompressed block marked as compressed, with a valid checksum.
    const plain = await buildBytes(entries, { blockBytes: 1024 });
    const first = dataBlocks(plain)[0]!;
    const marked = withBlockContents(plain, first.offset, first.size, plain.slice(first.offset, first.offset + first.size), CompressionType.Snappy);
    assert.equal(await outcome(marked, entries), "corruption", "type 0 contents read as type 1");
  });

  it("unknown compression types are corruption, with a clear message", async () => {
    const entries = mixedEntries(100);
    const bytes = await buildBytes(entries, { compression: "snappy", blockBytes: 1024 });
    const block = dataBlocks(bytes)[0]!;
    for (const type of [2, 3, 255]) {
      const damaged = withBlockContents(bytes, block.offset, block.size, bytes.slice(block.offset, block.offset + block.size), type);
      const reader = await openBytes(damaged);
      assert.throws(
        () => reader.get(entries[0]!.key),
        (error: unknown) => isCorruption(error) && (error as Error).message.includes(`unknown compression type ${type}`),
      );
    }
  });

  it("the builder refuses an unknown compression with InvalidArgumentError", async () => {
    const fs = new MemFs();
    const file = await fs.open("/x.sst", { create: true });
    for (const compression of ["zstd", "", "Snappy", 1, false]) {
      assert.throws(() => new TableBuilder(file, 1, { compression: compression as never }), InvalidArgumentError, String(compression));
    }
    assert.equal(new TableBuilder(file, 1, {}).compression, "none");
    assert.equal(new TableBuilder(file, 1, { compression: "snappy" }).compression, "snappy");
  });

  it("the block cache holds decompressed blocks: a second read of a block reads no file bytes", async () => {
    const entries = mixedEntries(300);
    const bytes = await buildBytes(entries, { compression: "snappy", blockBytes: 1024 });
    const reader = await openBytes(bytes);
    const key = entries[1]!.key;
    assert.ok(reader.get(key) !== undefined);
    const before = reader.stats().blockReads;
    assert.ok(reader.get(key) !== undefined);
    assert.equal(reader.stats().blockReads, before);
    // Stored bytes are what is read: smaller than the block for a compressed one.
    const block = dataBlocks(bytes)[0]!;
    assert.equal(block.type, CompressionType.Snappy);
    assert.equal(reader.stats().blockReadBytes, block.size + TRAILER_BYTES);
  });
});
