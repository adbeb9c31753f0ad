/**
 * The learned index of a table: lookups and seeks through the model give exactly the answers of
 * the binary-searched index (property tests over key shapes, block sizes, restart intervals and
 * ε), the model is really used (its counters move), every reason for not learning is recorded,
 * and a damaged or lying model block is refused.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isCorruption, readFile } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { compareBytes } from "../src/compare.ts";
import { SEQUENCE_MAX, ValueKind } from "../src/types.ts";
import { TableBuilder } from "../src/sstable/builder.ts";
import type { TableBuilderOptions } from "../src/sstable/builder.ts";
import { BlockCache } from "../src/sstable/cache.ts";
import { describeTable } from "../src/sstable/describe.ts";
import { TableReader } from "../src/sstable/reader.ts";
import { patternBytes } from "./helpers.ts";

interface Entry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly value: Uint8Array;
}

async function build(entries: readonly Entry[], options: TableBuilderOptions, fileNumber = 9) {
  const fs = new MemFs();
  const path = `/${String(fileNumber).padStart(6, "0")}.sst`;
  const file = await fs.open(path, { create: true, exclusive: true });
  const builder = new TableBuilder(file, fileNumber, options);
  for (const entry of entries) builder.add(entry.key, entry.seq, ValueKind.Put, entry.value);
  const result = await builder.finish();
  return { fs, path, file, fileNumber, result };
}

/** Sorted distinct keys, one entry each (sequence numbers 1..n). */
function oneEntryEach(keys: readonly Uint8Array[]): Entry[] {
  const sorted = [...keys].sort(compareBytes).filter((key, index, all) => index === 0 || compareBytes(all[index - 1]!, key) !== 0);
  return sorted.map((key, index) => ({ key, seq: index + 1, value: patternBytes(index + 1, 8 + (index % 23)) }));
}

/** Keys of different shapes: tiny alphabet, shared prefixes, decimal counters, random bytes. */
const keyShape = fc.oneof(
  fc.array(fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0xfe, 0xff), { maxLength: 6 }).map((bytes) => Uint8Array.from(bytes)), {
    minLength: 1,
    maxLength: 300,
  }),
  fc.array(fc.nat(1_000_000), { minLength: 1, maxLength: 400 }).map((numbers) => numbers.map((n) => new TextEncoder().encode(`user:${String(n).padStart(7, "0")}`))),
  fc.array(fc.uint8Array({ minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 300 }),
  fc.integer({ min: 1, max: 600 }).map((n) => Array.from({ length: n }, (_, i) => Uint8Array.of(0x10, (i * 37) >> 8, (i * 37) & 0xff))),
);

/** Probes: every key, and its neighbours (cut, extended, bumped), and keys outside the range. */
function probesOf(entries: readonly Entry[]): Uint8Array[] {
  const probes: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)];
  for (const { key } of entries) {
    probes.push(key, Uint8Array.of(...key, 0), key.subarray(0, Math.max(0, key.length - 1)));
    const bumped = key.slice();
    if (bumped.length > 0) bumped[bumped.length - 1] = (bumped[bumped.length - 1]! + 1) & 0xff;
    probes.push(bumped);
  }
  return probes;
}

describe("learned index in tables", () => {
  it("answers every get and seek exactly as binary search does (any keys, blocks, restarts, ε)", async () => {
    let learnedLookups = 0;
    await fc.assert(
      fc.asyncProperty(
        keyShape,
        fc.constantFrom(64, 128, 512),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 12 }),
        async (keys, blockBytes, restartInterval, epsilon) => {
          const entries = oneEntryEach(keys);
          const table = await build(entries, { blockBytes, restartInterval, learnedIndex: { epsilon, always: true } });
          const learned = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 20));
          const plain = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 20), { learnedIndex: false });
          assert.equal(learned.stats().learned.status, "learned");
          assert.equal(plain.stats().learned.status, "disabled");
          const learnedCursor = learned.iterator();
          const plainCursor = plain.iterator();
          for (const probe of probesOf(entries)) {
            const got = learned.get(probe);
            const expected = plain.get(probe);
            assert.equal(got?.seq, expected?.seq, `get ${probe}`);
            if (expected !== undefined) assert.deepEqual(got!.value, expected.value);
            learnedCursor.seek(probe);
            plainCursor.seek(probe);
            assert.equal(learnedCursor.valid(), plainCursor.valid(), `seek ${probe}`);
            if (plainCursor.valid()) assert.deepEqual(learnedCursor.key(), plainCursor.key(), `seek ${probe}`);
          }
          learnedCursor.close();
          plainCursor.close();
          const stats = learned.stats().learned;
          assert.ok(stats.lookups > 0, "the model located the lookups");
          assert.ok(stats.direct <= stats.lookups);
          assert.ok(stats.averageWindow >= 1 && stats.averageWindow <= 4 * epsilon + 3 + 1e-9, `window ${stats.averageWindow}`);
          learnedLookups += stats.lookups;
          assert.equal(plain.stats().learned.lookups, 0);
          learned.close();
          plain.close();
        },
      ),
      { numRuns: 80 },
    );
    assert.ok(learnedLookups > 1000);
  });

  it("tables with several versions per key: latest reads use the model, snapshot reads the index", async () => {
    const entries: Entry[] = [];
    for (let index = 0; index < 3000; index++) {
      const key = new TextEncoder().encode(`k${String(index * 3).padStart(6, "0")}`);
      const versions = 1 + (index % 3);
      for (let version = 0; version < versions; version++) entries.push({ key, seq: 10_000 * (3 - version) + index, value: patternBytes(index + version, 20) });
    }
    const table = await build(entries, { blockBytes: 2048, restartInterval: 4, bloomBitsPerKey: 0, learnedIndex: { epsilon: 4, always: true } });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 22));
    const plain = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 22), { learnedIndex: false });
    assert.equal(reader.stats().learned.status, "learned");
    for (let probe = 0; probe < 9100; probe += 1) {
      const key = new TextEncoder().encode(`k${String(probe).padStart(6, "0")}`);
      for (const seq of [SEQUENCE_MAX, 25_000, 15_000]) {
        assert.equal(reader.get(key, seq)?.seq, plain.get(key, seq)?.seq, `get ${probe} at ${seq}`);
      }
    }
    const stats = reader.stats().learned;
    assert.ok(stats.lookups >= 9100, `lookups ${stats.lookups}`);
    assert.ok(stats.lookups < 3 * 9100, "reads at older snapshots are not located by the model");
    assert.ok(stats.direct > stats.lookups / 4, `direct ${stats.direct} of ${stats.lookups}`);
    reader.close();
    plain.close();
  });

  it("records why a table has no model", async () => {
    const decimal = Array.from({ length: 4000 }, (_, i) => new TextEncoder().encode(`user:${String(i).padStart(8, "0")}`));
    const statusOf = async (entries: Entry[], options: TableBuilderOptions) => {
      const table = await build(entries, options);
      const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(0));
      const status = reader.stats().learned.status;
      reader.close();
      return { status, properties: table.result.properties };
    };
    assert.equal((await statusOf(oneEntryEach(decimal), {})).status, "off");
    assert.equal((await statusOf(oneEntryEach(decimal), { learnedIndex: "not-worth-it" })).status, "not-worth-it");
    assert.equal((await statusOf(oneEntryEach(decimal.slice(0, 20)), { learnedIndex: {} })).status, "tiny-table");
    const learned = await statusOf(oneEntryEach(decimal), { learnedIndex: {} });
    assert.equal(learned.status, "learned");
    assert.equal(learned.properties.learnedStatus, 0);
    // ...with ε doubled (8 → 16) over the decimal staircase of ten keys.
    const table = await build(oneEntryEach(decimal), { learnedIndex: {} });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(0));
    assert.equal(reader.stats().learned.epsilon, 16);
    reader.close();
    // Gaps of 2^(0..30), random: a segment every few keys even at ε 4, over 2 bytes of model per key.
    let seed = 1;
    let x = 0;
    const heavyTailed = Array.from({ length: 4000 }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      x += Math.floor(2 ** ((seed / 2 ** 32) * 30));
      const key = new Uint8Array(8);
      for (let index = 7, rest = x; index >= 0; index--, rest = Math.floor(rest / 256)) key[index] = rest % 256;
      return key;
    });
    assert.equal((await statusOf(oneEntryEach(heavyTailed), { learnedIndex: { epsilon: 1 } })).status, "too-many-segments");
  });

  it("stops using a model whose windows are as wide as the table (no gain)", async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => new TextEncoder().encode(`u${String(i).padStart(6, "0")}`));
    const table = await build(oneEntryEach(keys), { blockBytes: 256, learnedIndex: { epsilon: 60_000, always: true } });
    const reader = TableReader.open(table.file, table.fileNumber, new BlockCache(1 << 22));
    for (let round = 0; round < 2; round++) for (const key of keys.slice(0, 1024)) assert.ok(reader.get(key) !== undefined);
    const stats = reader.stats().learned;
    assert.equal(stats.status, "no-gain");
    assert.equal(stats.lookups, 1024, "no model lookups after probation");
    reader.close();
  });

  it("refuses a damaged model block (an unannounced one: sstable-corruption.test.ts)", async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => new TextEncoder().encode(`user:${String(i * 7).padStart(8, "0")}`));
    const table = await build(oneEntryEach(keys), { learnedIndex: {} });
    const bytes = await readFile(table.fs, table.path);
    const description = describeTable(bytes, { entries: false });
    const handle = /auradb\.index\.learned -> @(\d+)\+(\d+)/.exec(description);
    assert.ok(handle !== null, description);
    assert.match(description, /learned index @\d+\+\d+: type 0 crc ok greedy model of 3000 keys, ε 8, \d+ segments, one entry per key/);
    const modelStart = Number(handle[1]);
    const modelBytes = Number(handle[2]);
    for (const at of [modelStart + 3, modelStart + Math.floor(modelBytes / 2)]) {
      const damaged = bytes.slice();
      damaged[at]! ^= 0x10;
      const fs = new MemFs();
      const file = await fs.open(table.path, { create: true });
      await file.write(damaged, 0);
      assert.throws(() => TableReader.open(file, table.fileNumber, new BlockCache(0)), (error: unknown) => isCorruption(error));
      // ...unless the reader does not use models: then the block is not read at all.
      const plain = TableReader.open(file, table.fileNumber, new BlockCache(0), { learnedIndex: false });
      assert.ok(plain.get(keys[10]!) !== undefined);
      plain.close();
    }
  });
});
