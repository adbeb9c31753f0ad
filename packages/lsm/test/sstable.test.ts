/**
 * SSTable round trips: builder → reader against a sorted-array model (iteration both ways,
 * seek, seekForPrev, get at snapshots), the block codec alone, the fixed-width codecs, the
 * builder's and reader's contracts, and the golden `describeTable` dump.
 *
 * Rewrite the golden file with `AURADB_REWRITE=1`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import fc from "fast-check";
import { ClosedError, crc32c, InvalidArgumentError, isCorruption, readFile } from "@auradb/fs";
import type { File } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { compareBytes, compareInternal } from "../src/compare.ts";
import { SEQUENCE_MAX, ValueKind } from "../src/types.ts";
import type { InternalIterator } from "../src/types.ts";
import { AssertionError } from "../src/sstable/_assert.ts";
import { Block, BlockBuilder, BlockIterator } from "../src/sstable/block.ts";
import { TableBuilder } from "../src/sstable/builder.ts";
import type { TableBuilderOptions } from "../src/sstable/builder.ts";
import { BlockCache } from "../src/sstable/cache.ts";
import { describeTable } from "../src/sstable/describe.ts";
import {
  decodeFooter,
  decodeHeader,
  encodeFooter,
  encodeHeader,
  fileCrcSeed,
  FOOTER_BYTES,
  FORMAT_VERSION,
  HEADER_BYTES,
} from "../src/sstable/format.ts";
import { TableReader } from "../src/sstable/reader.ts";
import { patternBytes } from "./helpers.ts";

interface Entry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();
const bytesOf = (text: string): Uint8Array => encoder.encode(text);

function compareEntries(a: Entry, b: Entry): number {
  return compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind);
}

/** Sorts into internal order and keeps one entry per (key, seq), as the engine writes tables. */
function normalize(entries: readonly Entry[]): Entry[] {
  const sorted = [...entries].sort(compareEntries);
  const out: Entry[] = [];
  for (const entry of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && compareBytes(last.key, entry.key) === 0 && last.seq === entry.seq) continue;
    out.push(entry);
  }
  return out;
}


// --- the model ------------------------------------------------------------------------------

/** Index of the first entry >= (key, seq) in internal order (seek's contract), or length. */
function modelSeek(entries: readonly Entry[], key: Uint8Array, seq: number): number {
  let index = 0;
  while (index < entries.length) {
    const entry = entries[index]!;
    const byKey = compareBytes(entry.key, key);
    if (byKey > 0 || (byKey === 0 && entry.seq <= seq)) break;
    index++;
  }
  return index;
}

/** Index of the last entry whose user key is <= key (seekForPrev's contract), or -1. */
function modelSeekForPrev(entries: readonly Entry[], key: Uint8Array): number {
  let index = entries.length - 1;
  while (index >= 0 && compareBytes(entries[index]!.key, key) > 0) index--;
  return index;
}

/** The newest entry of `key` with seq <= `seq` (get's contract). */
function modelGet(entries: readonly Entry[], key: Uint8Array, seq: number): Entry | undefined {
  return entries.find((entry) => compareBytes(entry.key, key) === 0 && entry.seq <= seq);
}

function assertAt(iterator: InternalIterator, entries: readonly Entry[], index: number, context: string): void {
  if (index < 0 || index >= entries.length) {
    assert.equal(iterator.valid(), false, `${context}: expected invalid`);
    return;
  }
  assert.equal(iterator.valid(), true, `${context}: expected entry ${index}`);
  const expected = entries[index]!;
  assert.deepEqual(iterator.key(), expected.key, `${context}: key`);
  assert.equal(iterator.seq(), expected.seq, `${context}: seq`);
  assert.equal(iterator.kind(), expected.kind, `${context}: kind`);
  assert.deepEqual(iterator.value(), expected.value, `${context}: value`);
}

// --- building and opening -------------------------------------------------------------------

interface BuiltTable {
  readonly fs: MemFs;
  readonly path: string;
  readonly file: File;
  readonly fileNumber: number;
  readonly fileBytes: number;
}

async function buildTable(entries: readonly Entry[], options: TableBuilderOptions = {}, fileNumber = 7): Promise<BuiltTable> {
  const fs = new MemFs();
  await fs.mkdir("/db");
  const path = `/db/${String(fileNumber).padStart(6, "0")}.sst`;
  const file = await fs.open(path, { create: true, exclusive: true });
  const builder = new TableBuilder(file, fileNumber, options);
  for (const entry of entries) builder.add(entry.key, entry.seq, entry.kind, entry.value);
  const result = await builder.finish();
  return { fs, path, file, fileNumber, fileBytes: result.fileBytes };
}

function checkTable(reader: TableReader, entries: readonly Entry[], queries: ReadonlyArray<{ key: Uint8Array; seq: number; moves: number[] }>): void {
  const iterator = reader.iterator();
  let index = 0;
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) assertAt(iterator, entries, index++, "forward");
  assert.equal(index, entries.length, "forward count");
  index = entries.length - 1;
  for (iterator.seekToLast(); iterator.valid(); iterator.prev()) assertAt(iterator, entries, index--, "reverse");
  assert.equal(index, -1, "reverse count");
  for (const query of queries) {
    const context = `target ${Array.from(query.key)} @${query.seq}`;
    // seek, then a walk of next/prev steps (moves: 1 next, 0 prev), checked against the model.
    let at = modelSeek(entries, query.key, query.seq);
    iterator.seek(query.key, query.seq);
    assertAt(iterator, entries, at, `seek ${context}`);
    for (const move of query.moves) {
      if (!iterator.valid()) break;
      if (move === 1) {
        iterator.next();
        at++;
      } else {
        iterator.prev();
        at--;
      }
      assertAt(iterator, entries, at, `walk after seek ${context}`);
    }
    at = modelSeekForPrev(entries, query.key);
    iterator.seekForPrev(query.key);
    assertAt(iterator, entries, at, `seekForPrev ${context}`);
    for (const move of query.moves) {
      if (!iterator.valid()) break;
      if (move === 1) {
        iterator.next();
        at++;
      } else {
        iterator.prev();
        at--;
      }
      assertAt(iterator, entries, at, `walk after seekForPrev ${context}`);
    }
    const expected = modelGet(entries, query.key, query.seq);
    const got = reader.get(query.key, query.seq);
    if (expected === undefined) {
      assert.equal(got, undefined, `get ${context}`);
    } else {
      assert.ok(got !== undefined, `get ${context}: expected an entry`);
      assert.equal(got.seq, expected.seq, `get ${context}: seq`);
      assert.equal(got.kind, expected.kind, `get ${context}: kind`);
      assert.deepEqual(got.value, expected.value, `get ${context}: value`);
    }
    // The newest version, as the engine's latest read asks.
    const newest = modelGet(entries, query.key, SEQUENCE_MAX);
    assert.equal(reader.get(query.key)?.seq, newest?.seq, `get newest ${context}`);
  }
  iterator.close();
}

// --- arbitraries ----------------------------------------------------------------------------

/** Short keys over a tiny alphabet: many shared prefixes, prefixes of each other, 0x00 and 0xff. */
const shortKey = fc
  .array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0xfe, 0xff), { maxLength: 5 })
  .map((bytes) => Uint8Array.from(bytes));
/** Long keys with long common prefixes (shared and unshared lengths >= 128: multi-byte varints). */
const longKey = fc.tuple(shortKey, fc.integer({ min: 120, max: 300 })).map(([tail, length]) => {
  const key = new Uint8Array(length + tail.length).fill(0x6b, 0, length);
  key.set(tail, length);
  return key;
});
const keyArbitrary = fc.oneof({ weight: 12, arbitrary: shortKey }, { weight: 1, arbitrary: longKey });
const seqArbitrary = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, 2 ** 49, SEQUENCE_MAX - 1, SEQUENCE_MAX) },
);
const valueArbitrary = fc.oneof(
  { weight: 20, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 100, max: 400 }).map((length) => patternBytes(length, length)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 * 1024 }).map((length) => patternBytes(length + 1, length)) },
);
const entryArbitrary = fc
  .record({ key: keyArbitrary, seq: seqArbitrary, kind: fc.constantFrom<ValueKind>(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer), value: valueArbitrary })
  .map((entry): Entry => (entry.kind === ValueKind.Delete ? { ...entry, value: new Uint8Array(0) } : entry));
const entriesArbitrary = fc.array(entryArbitrary, { minLength: 1, maxLength: 160 }).map(normalize);

/** Query targets: existing keys, their neighbours (extended, cut, bumped) and random keys. */
function queriesArbitrary(entries: readonly Entry[]) {
  const near = fc.tuple(fc.nat(entries.length - 1), fc.constantFrom("same", "append0", "appendff", "cut", "bump")).map(([index, how]) => {
    const key = entries[index]!.key;
    switch (how) {
      case "same":
        return key;
      case "append0":
        return Uint8Array.of(...key, 0x00);
      case "appendff":
        return Uint8Array.of(...key, 0xff);
      case "cut":
        return key.subarray(0, Math.max(0, key.length - 1));
      default: {
        const bumped = key.slice();
        if (bumped.length > 0) bumped[bumped.length - 1] = (bumped[bumped.length - 1]! + 1) & 0xff;
        return bumped;
      }
    }
  });
  const seq = fc.oneof(
    fc.nat(entries.length - 1).map((index) => entries[index]!.seq),
    fc.nat(entries.length - 1).map((index) => Math.max(0, entries[index]!.seq - 1)),
    fc.nat(entries.length - 1).map((index) => Math.min(SEQUENCE_MAX, entries[index]!.seq + 1)),
    seqArbitrary,
  );
  return fc.array(
    fc.record({ key: fc.oneof({ weight: 4, arbitrary: near }, { weight: 1, arbitrary: keyArbitrary }), seq, moves: fc.array(fc.constantFrom(0, 1), { maxLength: 6 }) }),
    { minLength: 1, maxLength: 25 },
  );
}

const configurations: ReadonlyArray<TableBuilderOptions> = [
  { blockBytes: 256, restartInterval: 1, bloomBitsPerKey: 10 },
  { blockBytes: 256, restartInterval: 16, bloomBitsPerKey: 0 },
  { blockBytes: 4096, restartInterval: 16, bloomBitsPerKey: 10 },
  { blockBytes: 4096, restartInterval: 1, bloomBitsPerKey: 0 },
  { blockBytes: 64, restartInterval: 3, bloomBitsPerKey: 4 },
  // The learned path (kept whatever its size, so that small tables use it too).
  { blockBytes: 64, restartInterval: 3, bloomBitsPerKey: 4, learnedIndex: { epsilon: 1, always: true } },
  { blockBytes: 128, restartInterval: 2, bloomBitsPerKey: 0, learnedIndex: { epsilon: 3, always: true } },
  { blockBytes: 256, restartInterval: 16, bloomBitsPerKey: 10, learnedIndex: { epsilon: 8, always: true } },
];

describe("TableBuilder → TableReader agrees with a sorted-array model", () => {
  for (const options of configurations) {
    it(`iteration, seek, seekForPrev and get (blockBytes ${options.blockBytes}, restartInterval ${options.restartInterval}, bloom ${options.bloomBitsPerKey}${
      typeof options.learnedIndex === "object" ? `, learned ε ${options.learnedIndex.epsilon}` : ""
    })`, async () => {
      await fc.assert(
        fc.asyncProperty(
          entriesArbitrary.chain((entries) => fc.tuple(fc.constant(entries), queriesArbitrary(entries))),
          async ([entries, queries]) => {
            const table = await buildTable(entries, options);
            const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 20), { fileBytes: table.fileBytes });
            checkTable(reader, entries, queries);
            // The same answers from a reader that probes the size and reads every block from the file.
            const cold = TableReader.open(table.file, table.fileNumber, new BlockCache(0));
            checkTable(cold, entries, queries.slice(0, 3));
            reader.close();
            cold.close();
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it("a 30,000-entry table with several versions per key, on many blocks", async () => {
    const entries: Entry[] = [];
    for (let index = 0; index < 10_000; index++) {
      const key = bytesOf(`user${String(index * 7).padStart(8, "0")}`);
      for (const seq of [300_000 - index, 200_000 - index, 100_000 - index]) {
        const kind = seq % 5 === 0 ? ValueKind.Delete : ValueKind.Put;
        entries.push({ key, seq, kind, value: kind === ValueKind.Delete ? new Uint8Array(0) : patternBytes(seq, seq % 50) });
      }
    }
    const table = await buildTable(entries, { blockBytes: 1024 });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 22));
    assert.ok(reader.dataBlockCount > 100, `blocks: ${reader.dataBlockCount}`);
    const queries = [];
    for (let index = 0; index < 300; index++) {
      const keyNumber = (index * 7919) % 70_010;
      queries.push({ key: bytesOf(`user${String(keyNumber).padStart(8, "0")}`), seq: (index * 104_729) % 320_000, moves: [1, 1, 0, 1] });
    }
    checkTable(reader, entries, queries);
    reader.close();
  });

  it("an empty user key, a single entry and equal user keys across block boundaries", async () => {
    const empty = new Uint8Array(0);
    const entries: Entry[] = [];
    for (let seq = 40; seq > 0; seq--) entries.push({ key: empty, seq, kind: ValueKind.Put, value: patternBytes(seq, 30) });
    entries.push({ key: Uint8Array.of(0), seq: 5, kind: ValueKind.Delete, value: empty });
    const table = await buildTable(entries, { blockBytes: 64, restartInterval: 2 });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 20));
    assert.ok(reader.dataBlockCount > 5);
    assert.equal(reader.get(empty)?.seq, 40);
    assert.equal(reader.get(empty, 17)?.seq, 17);
    assert.equal(reader.get(empty, 0), undefined);
    assert.equal(reader.get(Uint8Array.of(0))?.kind, ValueKind.Delete);
    assert.equal(reader.get(Uint8Array.of(0, 0)), undefined);
    checkTable(reader, entries, [
      { key: empty, seq: 20, moves: [0, 0, 1] },
      { key: Uint8Array.of(0), seq: 4, moves: [0] },
      { key: Uint8Array.of(0xff), seq: 4, moves: [0, 0] },
    ]);
    const single = await buildTable([{ key: bytesOf("only"), seq: 1, kind: ValueKind.Put, value: bytesOf("v") }]);
    const singleReader = TableReader.open(single.file, single.fileNumber, new BlockCache(1024 * 1024));
    assert.deepEqual(singleReader.get(bytesOf("only"))?.value, bytesOf("v"));
    assert.equal(singleReader.meta.entryCount, 1);
  });
});

describe("TableBuilder", () => {
  const sample: Entry[] = [
    { key: bytesOf("apple"), seq: 9, kind: ValueKind.Put, value: bytesOf("red") },
    { key: bytesOf("apple"), seq: 4, kind: ValueKind.Delete, value: new Uint8Array(0) },
    { key: bytesOf("banana"), seq: 7, kind: ValueKind.PutPointer, value: bytesOf("pointer") },
    { key: bytesOf("cherry"), seq: 2, kind: ValueKind.Put, value: bytesOf("dark") },
  ];

  it("returns the table's metadata and properties, and the reader reports the same", async () => {
    const fs = new MemFs();
    const file = await fs.open("/t.sst", { create: true });
    const builder = new TableBuilder(file, 42, { blockBytes: 4096, creationTimeMs: 1_700_000_000_000 });
    for (const entry of sample) builder.add(entry.key, entry.seq, entry.kind, entry.value);
    assert.equal(builder.entryCount, 4);
    assert.ok(builder.estimatedBytes > HEADER_BYTES);
    const result = await builder.finish();
    assert.equal(result.fileBytes, await file.size());
    assert.equal(fs.pendingWriteCount(), 0, "finish made the table durable");
    assert.deepEqual(
      { ...result, properties: undefined },
      {
        fileNumber: 42,
        fileBytes: result.fileBytes,
        smallestKey: bytesOf("apple"),
        smallestSeq: 9,
        largestKey: bytesOf("cherry"),
        largestSeq: 2,
        entryCount: 4,
        deleteCount: 1,
        minSeq: 2,
        maxSeq: 9,
        properties: undefined,
        learnedFitNanos: 0,
        learnedKeys: 0,
      },
    );
    assert.equal(result.properties.rawKeyBytes, 5 + 5 + 6 + 6);
    assert.equal(result.properties.rawValueBytes, 3 + 0 + 7 + 4);
    assert.equal(result.properties.creationTimeMs, 1_700_000_000_000);
    assert.equal(result.properties.dataBlockCount, 1);
    const reader = TableReader.open(file, 42, new BlockCache(1 << 20));
    const { properties: _ignored, learnedFitNanos: _fit, learnedKeys: _keys, ...meta } = result;
    assert.deepEqual(reader.meta, meta);
    assert.deepEqual(reader.properties, result.properties);
    assert.equal(file.path, "/t.sst", "finish does not close the file");
    await file.close();
  });

  it("asserts strictly increasing internal order, valid kinds and sequence numbers", async () => {
    const fs = new MemFs();
    const file = await fs.open("/t.sst", { create: true });
    const builder = new TableBuilder(file, 1);
    builder.add(bytesOf("b"), 5, ValueKind.Put, bytesOf("x"));
    assert.throws(() => builder.add(bytesOf("a"), 9, ValueKind.Put, bytesOf("x")), AssertionError, "smaller key");
    assert.throws(() => builder.add(bytesOf("b"), 5, ValueKind.Put, bytesOf("x")), AssertionError, "same entry");
    assert.throws(() => builder.add(bytesOf("b"), 6, ValueKind.Put, bytesOf("x")), AssertionError, "newer seq after older");
    assert.throws(() => builder.add(bytesOf("b"), 5, ValueKind.PutPointer, bytesOf("x")), AssertionError, "larger kind at the same seq");
    assert.throws(() => builder.add(bytesOf("c"), -1, ValueKind.Put, bytesOf("x")), AssertionError);
    assert.throws(() => builder.add(bytesOf("c"), 1.5, ValueKind.Put, bytesOf("x")), AssertionError);
    assert.throws(() => builder.add(bytesOf("c"), SEQUENCE_MAX + 1, ValueKind.Put, bytesOf("x")), AssertionError);
    assert.throws(() => builder.add(bytesOf("c"), 1, 7 as ValueKind, bytesOf("x")), AssertionError);
    // Still usable after refused adds: they changed nothing.
    builder.add(bytesOf("b"), 5, ValueKind.Delete, new Uint8Array(0));
    builder.add(bytesOf("b"), 4, ValueKind.Put, bytesOf("y"));
    builder.add(bytesOf("ba"), SEQUENCE_MAX, ValueKind.Put, bytesOf("z"));
    await builder.finish();
    assert.throws(() => builder.add(bytesOf("c"), 1, ValueKind.Put, bytesOf("x")), AssertionError, "add after finish");
    const reader = TableReader.open(file, 1, new BlockCache(1 << 20));
    assert.equal(reader.get(bytesOf("b"), 5)?.kind, ValueKind.Put, "same seq: Put sorts before Delete");
    assert.equal(reader.get(bytesOf("ba"))?.seq, SEQUENCE_MAX);
  });

  it("refuses bad options and file numbers with InvalidArgumentError, an empty finish with an assertion", async () => {
    const fs = new MemFs();
    const file = await fs.open("/t.sst", { create: true });
    for (const options of [{ blockBytes: 0 }, { blockBytes: 1.5 }, { restartInterval: 0 }, { bloomBitsPerKey: -1 }, { bloomBitsPerKey: 1000 }, { creationTimeMs: -1 }]) {
      assert.throws(() => new TableBuilder(file, 1, options), InvalidArgumentError, JSON.stringify(options));
    }
    assert.throws(() => new TableBuilder(file, -1), InvalidArgumentError);
    assert.throws(() => new TableBuilder(file, 2 ** 31), InvalidArgumentError);
    const builder = new TableBuilder(file, 1);
    await assert.rejects(builder.finish(), AssertionError);
  });

  it("abandon drops the table; the builder refuses further use", async () => {
    const fs = new MemFs();
    const file = await fs.open("/t.sst", { create: true });
    const builder = new TableBuilder(file, 1, { blockBytes: 64 });
    for (let index = 0; index < 5000; index++) builder.add(bytesOf(String(index).padStart(6, "0")), 1, ValueKind.Put, patternBytes(index, 20));
    assert.ok((await file.size()) > 0, "full 64 KiB pieces were written as the table grew");
    builder.abandon();
    builder.abandon();
    assert.throws(() => builder.add(bytesOf("x"), 1, ValueKind.Put, bytesOf("y")), AssertionError);
    await assert.rejects(builder.finish(), AssertionError);
  });

  it("writes large values and keys whole (blocks larger than blockBytes)", async () => {
    const big = patternBytes(3, 300_000);
    const entries: Entry[] = [
      { key: bytesOf("a"), seq: 1, kind: ValueKind.Put, value: big },
      { key: patternBytes(9, 70_000), seq: 1, kind: ValueKind.Put, value: bytesOf("long key") },
      { key: bytesOf("z"), seq: 1, kind: ValueKind.Put, value: big.subarray(1) },
    ].sort(compareEntries);
    const table = await buildTable(entries, { blockBytes: 256 });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 20));
    checkTable(reader, entries, [{ key: bytesOf("a"), seq: 5, moves: [1, 1, 0] }]);
  });
});

describe("TableReader", () => {
  const entries: Entry[] = [];
  for (let index = 0; index < 2000; index++) {
    entries.push({ key: bytesOf(`key${String(index * 2).padStart(5, "0")}`), seq: 10 + index, kind: ValueKind.Put, value: patternBytes(index, 50) });
  }

  it("counts Bloom checks, negatives, false positives and block reads", async () => {
    const table = await buildTable(entries, { blockBytes: 1024 });
    const cache = new BlockCache(1 << 22);
    const reader = TableReader.open(table.file, table.fileNumber, cache);
    for (let index = 0; index < 2000; index++) assert.ok(reader.get(bytesOf(`key${String(index * 2).padStart(5, "0")}`)) !== undefined);
    let absentAnswers = 0;
    for (let index = 0; index < 2000; index++) if (reader.get(bytesOf(`key${String(index * 2 + 1).padStart(5, "0")}`)) === undefined) absentAnswers++;
    assert.equal(absentAnswers, 2000);
    const stats = reader.stats();
    assert.equal(stats.bloomChecks, 4000);
    assert.equal(stats.bloomNegatives + stats.bloomFalsePositives, 2000, "every absent key is a negative or a false positive");
    assert.ok(stats.bloomFalsePositives < 80, `false positives: ${stats.bloomFalsePositives}`);
    assert.equal(stats.blockReads, reader.dataBlockCount, "each block read once, then served from the cache");
    assert.equal(cache.stats().entries, reader.dataBlockCount);
    // A key present only in versions newer than the snapshot is not a false positive.
    reader.get(bytesOf("key00000"), 5);
    assert.equal(reader.stats().bloomFalsePositives, stats.bloomFalsePositives);
  });

  it("iterator({ fillCache: false }) reads through without filling the cache", async () => {
    const table = await buildTable(entries, { blockBytes: 1024 });
    const cache = new BlockCache(1 << 22);
    const reader = TableReader.open(table.file, table.fileNumber, cache);
    const iterator = reader.iterator({ fillCache: false });
    let count = 0;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) count++;
    assert.equal(count, entries.length);
    assert.equal(cache.stats().entries, 0);
    iterator.close();
  });

  it("values stay valid after the cursor moves and after the block is evicted", async () => {
    const table = await buildTable(entries, { blockBytes: 256 });
    const cache = new BlockCache(600);
    const reader = TableReader.open(table.file, table.fileNumber, cache);
    const kept = [];
    const iterator = reader.iterator();
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) kept.push(iterator.value());
    for (const [index, value] of kept.entries()) assert.deepEqual(value, entries[index]!.value);
    const got = reader.get(entries[0]!.key);
    cache.clear();
    reader.get(entries[1500]!.key);
    assert.deepEqual(got?.value, entries[0]!.value);
  });

  it("refuses a table opened under another file number, and use after close", async () => {
    const table = await buildTable(entries.slice(0, 10));
    assert.throws(
      () => TableReader.open(table.file, 8, new BlockCache(1024)),
      (error: unknown) => isCorruption(error) && error.path === table.path && error.offset === table.fileBytes - FOOTER_BYTES + 24,
    );
    assert.throws(() => TableReader.open(table.file, -3, new BlockCache(1024)), InvalidArgumentError);
    const reader = TableReader.open(table.file, 7, new BlockCache(1024));
    const iterator = reader.iterator();
    iterator.seekToFirst();
    iterator.close();
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.close(), AssertionError, "double close");
    assert.throws(() => iterator.seekToFirst(), AssertionError, "use after close");
    reader.close();
    assert.throws(() => reader.get(entries[0]!.key), ClosedError);
    assert.throws(() => reader.iterator(), ClosedError);
    assert.throws(() => reader.close(), AssertionError);
  });

  it("an invalid cursor refuses key/next/prev (a caller bug)", async () => {
    const table = await buildTable(entries.slice(0, 10));
    const reader = TableReader.open(table.file, 7, new BlockCache(1 << 20));
    const iterator = reader.iterator();
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.key(), AssertionError);
    assert.throws(() => iterator.next(), AssertionError);
    iterator.seek(bytesOf("zzz"));
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.prev(), AssertionError);
    iterator.seekForPrev(bytesOf("a"));
    assert.equal(iterator.valid(), false);
  });
});

describe("block codec", () => {
  it("round-trips entries and seeks inside one block, for any restart interval", () => {
    fc.assert(
      fc.property(entriesArbitrary, fc.integer({ min: 1, max: 20 }), (entries, restartInterval) => {
        const builder = new BlockBuilder(restartInterval);
        for (const entry of entries) builder.add(entry.key, entry.seq, entry.kind, entry.value);
        const block = Block.decode(builder.finish().slice(), "/block", 0);
        assert.equal(block.restartCount, Math.ceil(entries.length / restartInterval));
        const iterator = new BlockIterator(block);
        let index = 0;
        for (iterator.seekToFirst(); iterator.valid(); iterator.next()) assertAt(iterator, entries, index++, "forward");
        assert.equal(index, entries.length);
        for (iterator.seekToLast(); iterator.valid(); iterator.prev()) assertAt(iterator, entries, --index, "reverse");
        assert.equal(index, 0);
        for (const entry of entries) {
          iterator.seek(entry.key, entry.seq);
          assertAt(iterator, entries, modelSeek(entries, entry.key, entry.seq), "seek");
          iterator.seekForPrev(entry.key);
          assertAt(iterator, entries, modelSeekForPrev(entries, entry.key), "seekForPrev");
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an empty block is 4 bytes and never valid", () => {
    const builder = new BlockBuilder(16);
    const contents = builder.finish();
    assert.deepEqual(contents, new Uint8Array(4));
    const iterator = new BlockIterator(Block.decode(contents.slice(), "/block", 0));
    iterator.seekToFirst();
    assert.equal(iterator.valid(), false);
    iterator.seekToLast();
    assert.equal(iterator.valid(), false);
    iterator.seek(bytesOf("a"));
    assert.equal(iterator.valid(), false);
    iterator.seekForPrev(bytesOf("a"));
    assert.equal(iterator.valid(), false);
  });

  it("encodes the worked example of docs/format/sstable.md byte for byte", () => {
    const builder = new BlockBuilder(2);
    builder.add(bytesOf("a"), 9, ValueKind.Put, bytesOf("x"));
    builder.add(bytesOf("a"), 5, ValueKind.Delete, new Uint8Array(0));
    builder.add(bytesOf("ab"), 7, ValueKind.Put, bytesOf("yz"));
    builder.add(bytesOf("b"), 3, ValueKind.Put, new Uint8Array(0));
    assert.deepEqual(
      Array.from(builder.finish()),
      [
        ...[0x00, 0x01, 0x01, 0x01, 0x09, 0x61, 0x78],
        ...[0x01, 0x00, 0x00, 0x00, 0x05],
        ...[0x00, 0x02, 0x02, 0x01, 0x07, 0x61, 0x62, 0x79, 0x7a],
        ...[0x00, 0x01, 0x00, 0x01, 0x03, 0x62],
        ...[0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00],
        ...[0x02, 0x00, 0x00, 0x00],
      ],
    );
  });
});

describe("fixed-width codecs", () => {
  it("header and footer round-trip; a newer version is refused", () => {
    assert.equal(decodeHeader(encodeHeader(), "/x"), FORMAT_VERSION);
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 28 }), fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 28 }), fc.nat({ max: 2 ** 31 - 1 }), (metaOffset, metaSize, indexOffset, indexSize, fileNumber) => {
        const footer = {
          metaindex: { offset: HEADER_BYTES + metaOffset, size: metaSize },
          index: { offset: HEADER_BYTES + indexOffset, size: indexSize },
          fileNumber,
          formatVersion: FORMAT_VERSION,
        };
        const fileBytes = 2 ** 42;
        assert.deepEqual(decodeFooter(encodeFooter(footer), "/x", fileBytes - FOOTER_BYTES), footer);
      }),
    );
    const newer = encodeFooter({ metaindex: { offset: 12, size: 4 }, index: { offset: 21, size: 4 }, fileNumber: 1, formatVersion: FORMAT_VERSION + 1 });
    assert.throws(() => decodeFooter(newer, "/x", 1000), (error: unknown) => isCorruption(error) && /unsupported sstable format version 2/.test(error.message));
  });

  it("block checksums are seeded with the file number (crc32c over number ++ contents ++ type)", () => {
    const contents = bytesOf("contents\x00");
    const numberBytes = new Uint8Array(8);
    numberBytes[0] = 7;
    const whole = new Uint8Array([...numberBytes, ...contents]);
    assert.equal(crc32c(contents, fileCrcSeed(7)), crc32c(whole));
    assert.notEqual(fileCrcSeed(7), fileCrcSeed(8));
  });
});

describe("describeTable", () => {
  it("matches the golden dump (AURADB_REWRITE=1 regenerates it)", async () => {
    const entries: Entry[] = [
      { key: bytesOf("a"), seq: 9, kind: ValueKind.Put, value: bytesOf("x") },
      { key: bytesOf("a"), seq: 5, kind: ValueKind.Delete, value: new Uint8Array(0) },
      { key: bytesOf("ab"), seq: 7, kind: ValueKind.Put, value: bytesOf("yz") },
      { key: bytesOf("b"), seq: 3, kind: ValueKind.PutPointer, value: Uint8Array.of(1, 2, 3, 0xff) },
      { key: new Uint8Array([0x62, 0x00, 0xff]), seq: 300, kind: ValueKind.Put, value: patternBytes(1, 40) },
    ];
    for (let index = 0; index < 12; index++) {
      entries.push({ key: bytesOf(`key${String(index).padStart(3, "0")}`), seq: 1000 + index, kind: ValueKind.Put, value: bytesOf(`value ${index}`) });
    }
    const table = await buildTable(entries, { blockBytes: 128, restartInterval: 4, creationTimeMs: 1_764_000_000_000 }, 12);
    const text = describeTable(await readFile(table.fs, table.path), { path: "000012.sst" });
    const golden = new URL("./testdata/sstable-describe.txt", import.meta.url);
    if (process.env.AURADB_REWRITE === "1") writeFileSync(golden, text);
    assert.equal(text, readFileSync(golden, "utf8"));
  });

  it("reports damage instead of throwing", async () => {
    const table = await buildTable([{ key: bytesOf("k"), seq: 1, kind: ValueKind.Put, value: bytesOf("v") }], { creationTimeMs: 0 });
    const bytes = await readFile(table.fs, table.path);
    const damaged = bytes.slice();
    damaged[HEADER_BYTES + 2] = damaged[HEADER_BYTES + 2]! ^ 0x10;
    assert.match(describeTable(damaged), /data 0 @12\+\d+: type 0 crc MISMATCH/);
    assert.match(describeTable(bytes.subarray(0, bytes.length - 1)), /footer @\d+: error: auradb\/lsm: not an sstable or truncated/);
    assert.match(describeTable(new Uint8Array(10)), /too short/);
  });
});
