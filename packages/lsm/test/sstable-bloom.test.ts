/**
 * The Bloom filter: the hash against MurmurHash3 reference vectors, no false negatives (property),
 * the measured false-positive rate at 10 bits per key, and the filter block's checks.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isCorruption } from "@auradb/fs";
import { BloomFilter, BloomFilterBuilder, bloomProbeCount, murmur3 } from "../src/sstable/bloom.ts";

const encoder = new TextEncoder();

function filterOf(keys: readonly Uint8Array[], bitsPerKey: number): BloomFilter {
  const builder = new BloomFilterBuilder(bitsPerKey);
  for (const key of keys) builder.addKey(key);
  return BloomFilter.decode(builder.finish(), "/filter", 0);
}

/** A 16-byte zero-padded decimal key, as peerbench and bench/sstable.ts use. */
function decimalKey(number: number): Uint8Array {
  return encoder.encode(String(number).padStart(16, "0"));
}

describe("murmur3", () => {
  it("matches the reference MurmurHash3_x86_32 vectors", () => {
    assert.equal(murmur3(new Uint8Array(0), 0), 0);
    assert.equal(murmur3(new Uint8Array(0), 1), 0x514e28b7);
    assert.equal(murmur3(new Uint8Array(0), 0xffffffff), 0x81f16f39);
    assert.equal(murmur3(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0), 0x76293b50);
    assert.equal(murmur3(Uint8Array.of(0x21, 0x43, 0x65, 0x87), 0), 0xf55b516b);
    assert.equal(murmur3(Uint8Array.of(0x21, 0x43, 0x65), 0), 0x7e4a8634);
    assert.equal(murmur3(Uint8Array.of(0x21, 0x43), 0), 0xa0f7b07a);
    assert.equal(murmur3(Uint8Array.of(0x21), 0), 0x72661cf4);
    assert.equal(murmur3(encoder.encode("hello"), 0), 0x248bfa47);
    assert.equal(murmur3(encoder.encode("The quick brown fox jumps over the lazy dog"), 0x9747b28c), 0x2fa826cd);
  });
});

describe("BloomFilter", () => {
  it("never answers absent for a key it holds (no false negatives)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), (keys, bitsPerKey) => {
        const filter = filterOf(keys, bitsPerKey);
        for (const key of keys) assert.equal(filter.mayContain(key), true);
      }),
      { numRuns: 300 },
    );
  });

  it("has a false-positive rate within [0.5 %, 2 %] at 10 bits per key on 100,000 keys", () => {
    const keyCount = 100_000;
    const keys: Uint8Array[] = [];
    for (let index = 0; index < keyCount; index++) keys.push(decimalKey(index * 2));
    const filter = filterOf(keys, 10);
    assert.equal(filter.probeCount, bloomProbeCount(10));
    assert.equal(filter.bitCount, Math.ceil((keyCount * 10) / 512) * 512, "whole 512-bit lines");
    let falsePositives = 0;
    for (let index = 0; index < keyCount; index++) if (filter.mayContain(decimalKey(index * 2 + 1))) falsePositives++;
    const rate = falsePositives / keyCount;
    assert.ok(rate >= 0.005 && rate <= 0.02, `false-positive rate ${(rate * 100).toFixed(3)} %`);
    // Random binary keys (not sequential decimals) behave the same.
    let randomFalsePositives = 0;
    let state = 12345;
    for (let index = 0; index < keyCount; index++) {
      const key = new Uint8Array(12);
      for (let byte = 0; byte < key.length; byte++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        key[byte] = state >>> 24;
      }
      key[0] = 0xfe; // never a decimal key
      if (filter.mayContain(key)) randomFalsePositives++;
    }
    const randomRate = randomFalsePositives / keyCount;
    assert.ok(randomRate >= 0.005 && randomRate <= 0.02, `random-key false-positive rate ${(randomRate * 100).toFixed(3)} %`);
  });

  it("uses round(bitsPerKey × ln 2) probes, 1..30", () => {
    assert.equal(bloomProbeCount(1), 1);
    assert.equal(bloomProbeCount(10), 7);
    assert.equal(bloomProbeCount(64), 30);
  });

  it("a filter of no keys is one 512-bit line and holds nothing", () => {
    const filter = filterOf([], 10);
    assert.equal(filter.bitCount, 512);
    assert.equal(filter.mayContain(encoder.encode("anything")), false);
  });

  it("refuses a block that is not whole 64-byte lines or has a probe count outside 1..30", () => {
    const corruption = (offset: number) => (error: unknown) => isCorruption(error) && error.path === "/t" && error.offset === offset;
    const withProbes = (bitBytes: number, probes: number): Uint8Array => {
      const contents = new Uint8Array(bitBytes + 1).fill(0xff);
      contents[bitBytes] = probes;
      return contents;
    };
    assert.throws(() => BloomFilter.decode(Uint8Array.of(7), "/t", 100), corruption(100));
    assert.throws(() => BloomFilter.decode(withProbes(63, 7), "/t", 100), corruption(100));
    assert.throws(() => BloomFilter.decode(withProbes(65, 7), "/t", 100), corruption(100));
    assert.throws(() => BloomFilter.decode(withProbes(64, 0), "/t", 100), corruption(164));
    assert.throws(() => BloomFilter.decode(withProbes(128, 31), "/t", 100), corruption(228));
    const filter = BloomFilter.decode(withProbes(128, 30), "/t", 100);
    assert.deepEqual([filter.probeCount, filter.lineCount, filter.bitCount], [30, 2, 1024]);
  });

  it("keeps every probe of a key inside one 512-bit line", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.integer({ min: 1, max: 30 }), (key, bitsPerKey) => {
        // The same key added 2000 times: a filter of many lines in which only that key's bits are set.
        const builder = new BloomFilterBuilder(bitsPerKey);
        for (let index = 0; index < 2000; index++) builder.addKey(key);
        const contents = builder.finish();
        const filter = BloomFilter.decode(contents, "/f", 0);
        assert.ok(filter.lineCount > 1);
        const lines = new Set<number>();
        for (let byte = 0; byte < contents.length - 1; byte++) if (contents[byte] !== 0) lines.add(byte >>> 6);
        assert.equal(lines.size, 1);
        assert.equal(filter.mayContain(key), true);
      }),
    );
  });
});
