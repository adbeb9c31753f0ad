import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { copyBytes } from "../src/copy.ts";

describe("copyBytes", () => {
  it("returns equal, independent copies that never overlap each other or the source", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 6000 }), { maxLength: 60 }), (sources) => {
        const copies = sources.map((source) => copyBytes(source));
        for (const [index, copy] of copies.entries()) {
          assert.deepEqual(copy, sources[index]);
          assert.notEqual(copy.buffer, sources[index]!.buffer);
        }
        // Writing every copy must leave every other copy (and every source) unchanged.
        for (const copy of copies) copy.fill(0xa5);
        for (const [index, copy] of copies.entries()) {
          assert.ok(copy.every((byte) => byte === 0xa5));
          assert.equal(copy.length, sources[index]!.length);
        }
        const spans = copies
          .filter((copy) => copy.length > 0)
          .map((copy) => ({ buffer: copy.buffer, start: copy.byteOffset, end: copy.byteOffset + copy.length }));
        for (let a = 0; a < spans.length; a++) {
          for (let b = a + 1; b < spans.length; b++) {
            if (spans[a]!.buffer !== spans[b]!.buffer) continue;
            assert.ok(spans[a]!.end <= spans[b]!.start || spans[b]!.end <= spans[a]!.start, "copies overlap");
          }
        }
      }),
    );
  });
});
