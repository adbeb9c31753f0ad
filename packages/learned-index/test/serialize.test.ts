import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { buildGreedyModel, buildOptimalModel, crc32c, LearnedModel, lowerBound } from "../src/index.ts";
import { keySet, plainLowerBound, probes } from "./helpers.ts";

const AURA_MARKER = Symbol.for("auradb.error");

function isCorruption(error: unknown): boolean {
  const e = error as Record<string | symbol, unknown>;
  return e[AURA_MARKER] === true && e.code === "AURADB_CORRUPTION";
}

const modelArbitrary = fc
  .tuple(keySet, fc.integer({ min: 1, max: 64 }), fc.boolean())
  .map(([keys, epsilon, optimal]) => ({ keys, model: (optimal ? buildOptimalModel : buildGreedyModel)(keys, { epsilon }) }));

describe("serialization", () => {
  it("crc32c is CRC-32C", () => {
    assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  });

  it("property: round trip keeps the model exactly", () => {
    fc.assert(
      fc.property(modelArbitrary, probes, ({ keys, model }, extra) => {
        const bytes = model.serialize();
        const back = LearnedModel.deserialize(bytes);
        assert.deepEqual(back.serialize(), bytes);
        assert.equal(back.segmentCount, model.segmentCount);
        assert.deepEqual(back.stats(), model.stats());
        for (const query of [...keys, ...extra]) {
          assert.deepEqual(back.predict(query), model.predict(query));
          assert.equal(lowerBound(back, keys, query), plainLowerBound(keys, query));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("property: any flipped bit → CorruptionError", () => {
    fc.assert(
      fc.property(modelArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), ({ model }, at, bit) => {
        const bytes = model.serialize();
        bytes[at % bytes.length]! ^= 1 << bit;
        assert.throws(() => LearnedModel.deserialize(bytes), isCorruption);
      }),
      { numRuns: 300 },
    );
  });

  it("every truncation → CorruptionError", () => {
    const keys = Array.from({ length: 300 }, (_, i) => Uint8Array.from([i % 7, i >> 4, (i * 37) & 0xff])).sort((a, b) =>
      Buffer.compare(a, b),
    );
    const distinct = keys.filter((key, i) => i === 0 || Buffer.compare(keys[i - 1]!, key) !== 0);
    const bytes = buildOptimalModel(distinct, { epsilon: 2 }).serialize();
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => LearnedModel.deserialize(bytes.subarray(0, length)), isCorruption, `length ${length}`);
      const extended = new Uint8Array(length + 1);
      extended.set(bytes.subarray(0, length));
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.throws(() => LearnedModel.deserialize(longer), isCorruption);
  });

  it("round trip: a segment may start at the largest number + 1 (2^48)", () => {
    // Found by the property above: the last point (2^48, n) opens a segment of its own.
    const keys = [
      [], [255], [255, 0], [255, 0, 0], [255, 0, 0, 0], [255, 0, 0, 0, 0], [255, 0, 0, 2], [255, 0, 1], [255, 0, 1, 0],
      [255, 0, 2], [255, 0, 2, 0], [255, 0, 255], [255, 0, 255, 0], [255, 1], [255, 1, 0], [255, 1, 0, 0], [255, 1, 0, 2],
      [255, 1, 2], [255, 2], [255, 2, 0], [255, 2, 1], [255, 2, 255], [255, 255], [255, 255, 0], [255, 255, 1],
      [255, 255, 255, 255, 255, 255],
    ].map((key) => Uint8Array.from(key));
    for (const build of [buildGreedyModel, buildOptimalModel]) {
      const model = build(keys, { epsilon: 12 });
      assert.equal(model.endX, 2 ** 48);
      const back = LearnedModel.deserialize(model.serialize());
      for (const key of keys) assert.equal(lowerBound(back, keys, key), plainLowerBound(keys, key));
    }
  });

  it("a newer format version → NotSupportedError", () => {
    const bytes = buildGreedyModel([Uint8Array.from([1]), Uint8Array.from([2])]).serialize();
    bytes[0] = 2;
    const body = bytes.length - 4;
    new DataView(bytes.buffer).setUint32(body, crc32c(bytes.subarray(0, body)), true);
    assert.throws(
      () => LearnedModel.deserialize(bytes),
      (error: unknown) => (error as { code?: string }).code === "AURADB_NOT_SUPPORTED" && (error as Record<symbol, unknown>)[AURA_MARKER] === true,
    );
  });

  it("a checksummed but lying header → CorruptionError, no huge allocation", () => {
    const bytes = buildGreedyModel([Uint8Array.from([1]), Uint8Array.from([2])]).serialize();
    for (const [offset, value] of [
      [10, 0xffffffff], // segments
      [14, 0xfffffff0], // prefix length
      [2, 0], // keys
      [6, 0], // ε
    ] as const) {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(offset, value, true);
      const body = copy.length - 4;
      new DataView(copy.buffer).setUint32(body, crc32c(copy.subarray(0, body)), true);
      assert.throws(() => LearnedModel.deserialize(copy), isCorruption, `offset ${offset}`);
    }
  });
});
