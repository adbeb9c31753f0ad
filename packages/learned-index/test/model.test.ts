import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { buildGreedyModel, buildOptimalModel, type LearnedModel, lowerBound, NUMBER_BYTES } from "../src/index.ts";
import { keySet, plainLowerBound, probes } from "./helpers.ts";

const builders = [
  ["greedy", buildGreedyModel],
  ["optimal", buildOptimalModel],
] as const;

/** F(x): the position of the first key whose number is >= x. */
function firstAtLeast(numbers: number[], x: number): number {
  let lo = 0;
  let hi = numbers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (numbers[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkModel(model: LearnedModel, keys: Uint8Array[], extra: Uint8Array[]): void {
  const e = model.epsilon;
  const numbers = keys.map((key) => model.numberOf(key));
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i - 1]! <= numbers[i]!, "the mapping preserves order");
  // Every present key at its exact index, with an array and with an accessor.
  for (let i = 0; i < keys.length; i++) {
    assert.equal(lowerBound(model, keys, keys[i]!), i);
    assert.equal(lowerBound(model, (index) => keys[index]!, keys[i]!), i);
  }
  const queries = [...extra];
  for (const key of keys) queries.push(Uint8Array.from([...key, 0]), key.subarray(0, key.length - 1));
  for (const query of queries) {
    const expected = plainLowerBound(keys, query);
    assert.equal(lowerBound(model, keys, query), expected);
    const { low, high } = model.predict(query);
    assert.ok(0 <= low && low <= expected && expected <= high && high <= keys.length);
    const x = model.numberOf(query);
    if (Number.isFinite(x) && keys.length > 0) {
      // The guarantee: |p(x) − F(x)| <= ε; the window covers [F(x), F(x+1)] within 2ε + 1.
      const f = firstAtLeast(numbers, x);
      const fNext = firstAtLeast(numbers, x + 1);
      assert.ok(Math.abs(model.estimateNumber(x) - f) <= e + 1e-6, `|p(${x}) − ${f}| <= ${e}`);
      assert.ok(low <= f && fNext <= high, "the window covers [F(x), F(x+1)]");
      assert.ok(low >= f - 2 * e - 1 && high <= fNext + 2 * e + 1, "the window is within 2ε + 1 of [F(x), F(x+1)]");
    }
  }
  // At the key numbers themselves (the first key with each number), and at the number after.
  for (const x of numbers) {
    for (const at of [x, x + 1, x - 1]) {
      const f = firstAtLeast(numbers, at);
      assert.ok(Math.abs(model.estimateNumber(at) - f) <= e + 1e-6, `|p(${at}) − ${f}| <= ${e}`);
    }
  }
}

describe("learned model", () => {
  it("property: both builders find every key, every insertion point, and respect ε", () => {
    fc.assert(
      fc.property(keySet, probes, fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 64 })), (keys, extra, epsilon) => {
        const greedy = buildGreedyModel(keys, { epsilon });
        const optimal = buildOptimalModel(keys, { epsilon });
        checkModel(greedy, keys, extra);
        checkModel(optimal, keys, extra);
        assert.ok(optimal.segmentCount <= greedy.segmentCount, `optimal ${optimal.segmentCount} <= greedy ${greedy.segmentCount}`);
      }),
      { numRuns: 300 },
    );
  });

  it("property: large ε-sensitive integer sets (sparse and dense)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 2000, size: "max" }),
        fc.integer({ min: 1, max: 64 }),
        (values, epsilon) => {
          const distinct = [...new Set(values)].sort((a, b) => a - b);
          const keys = distinct.map((v) => {
            const key = new Uint8Array(8);
            new DataView(key.buffer).setBigUint64(0, BigInt(v));
            return key;
          });
          const greedy = buildGreedyModel(keys, { epsilon });
          const optimal = buildOptimalModel(keys, { epsilon });
          checkModel(greedy, keys, []);
          checkModel(optimal, keys, []);
          assert.ok(optimal.segmentCount <= greedy.segmentCount);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("maps keys documented-ly: common prefix stripped, 6 bytes big-endian, zero-padded", () => {
    const enc = (text: string) => new TextEncoder().encode(text);
    const keys = [enc("user:000123"), enc("user:000124"), enc("user:9")];
    const model = buildOptimalModel(keys, { epsilon: 4 });
    assert.deepEqual(model.prefix, enc("user:"));
    assert.equal(NUMBER_BYTES, 6);
    assert.equal(model.numberOf(enc("user:9")), 0x39 * 2 ** 40);
    assert.equal(model.numberOf(enc("user:000123")), 0x303030313233);
    assert.equal(model.numberOf(enc("user:")), 0);
    assert.equal(model.numberOf(enc("use")), -Infinity);
    assert.equal(model.numberOf(enc("zzz")), Infinity);
    const reused = { low: -1, high: -1 };
    assert.equal(model.predictInto(enc("a"), reused), reused, "predictInto fills the window it is given");
    assert.deepEqual(reused, { low: 0, high: 0 });
    assert.deepEqual(model.predict(enc("a")), { low: 0, high: 0 });
    assert.deepEqual(model.predict(enc("zzz")), { low: 3, high: 3 });
  });

  it("collisions: many keys with one number still resolve exactly", () => {
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) keys.push(Uint8Array.from([1, 2, 3, 4, 5, 6, i >> 8, i & 0xff]));
    keys.push(Uint8Array.from([1, 2, 3, 4, 5, 7]));
    for (const build of [buildGreedyModel, buildOptimalModel]) {
      const model = build(keys, { epsilon: 2 });
      for (let i = 0; i < keys.length; i++) assert.equal(lowerBound(model, keys, keys[i]!), i);
      assert.equal(lowerBound(model, keys, Uint8Array.from([1, 2, 3, 4, 5, 6, 255])), 1000);
    }
  });

  it("long segments (hull compaction): 60,000 keys, every key and gap exact", () => {
    let value = 0;
    let seed = 7;
    const keys = Array.from({ length: 60_000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      value += 1 + (seed % 3);
      const key = new Uint8Array(8);
      new DataView(key.buffer).setUint32(4, value);
      return key;
    });
    for (const epsilon of [1, 64]) {
      const greedy = buildGreedyModel(keys, { epsilon });
      const optimal = buildOptimalModel(keys, { epsilon });
      assert.ok(optimal.segmentCount <= greedy.segmentCount);
      for (const model of [greedy, optimal]) {
        for (let i = 0; i < keys.length; i++) {
          assert.equal(lowerBound(model, keys, keys[i]!), i);
          const after = Uint8Array.from([...keys[i]!, 0]);
          assert.equal(lowerBound(model, keys, after), i + 1);
        }
      }
    }
  });

  it("stats: segment count and bytes per key", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => Uint8Array.from([i >> 8, i & 0xff]));
    const model = buildOptimalModel(keys, { epsilon: 8 });
    const stats = model.stats();
    assert.equal(stats.segments, 1);
    assert.equal(stats.keys, 10_000);
    assert.equal(stats.bytes, model.serialize().length);
    assert.ok(stats.bytesPerKey > 0 && stats.bytesPerKey < 0.01);
    assert.equal(buildGreedyModel([]).stats().bytesPerKey, 0);
  });

  it("rejects unsorted, duplicate keys and bad ε", () => {
    const a = Uint8Array.from([1]);
    const b = Uint8Array.from([2]);
    for (const build of [buildGreedyModel, buildOptimalModel]) {
      assert.throws(() => build([b, a]), { code: "AURADB_INVALID_ARGUMENT" });
      assert.throws(() => build([a, a]), { code: "AURADB_INVALID_ARGUMENT" });
      assert.throws(() => build([a], { epsilon: 0 }), { code: "AURADB_INVALID_ARGUMENT" });
      assert.throws(() => build([a], { epsilon: 1.5 }), { code: "AURADB_INVALID_ARGUMENT" });
    }
  });

  for (const [name, build] of builders) {
    it(`${name}: empty and single-key sets`, () => {
      const empty = build([]);
      assert.equal(lowerBound(empty, [], Uint8Array.from([1])), 0);
      const one = [Uint8Array.from([5])];
      const model = build(one, { epsilon: 1 });
      assert.equal(lowerBound(model, one, Uint8Array.from([4])), 0);
      assert.equal(lowerBound(model, one, Uint8Array.from([5])), 0);
      assert.equal(lowerBound(model, one, Uint8Array.from([5, 0])), 1);
    });
  }
});
