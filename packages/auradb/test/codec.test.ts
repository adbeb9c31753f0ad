import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode } from "@auradb/fs";
import { ValueKind } from "@auradb/lsm";
import { decodeBatch, encodeBatch, type Operation } from "../src/index.ts";

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant(ValueKind.Put), key: fc.uint8Array({ minLength: 1, maxLength: 40 }), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant(ValueKind.Delete), key: fc.uint8Array({ minLength: 1, maxLength: 40 }), value: fc.constant(new Uint8Array(0)) }),
  fc.record({ kind: fc.constant(ValueKind.PutPointer), key: fc.uint8Array({ minLength: 1, maxLength: 40 }), value: fc.uint8Array({ maxLength: 30 }) }),
);

describe("KV batch record codec", () => {
  it("round-trips any batch", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER - 1000 }), fc.array(operationArbitrary, { maxLength: 50 }), (baseSeq, operations) => {
        const decoded = decodeBatch(encodeBatch(baseSeq, operations));
        assert.equal(decoded.baseSeq, baseSeq);
        assert.deepEqual(
          decoded.operations.map((operation) => ({ kind: operation.kind, key: [...operation.key], value: [...operation.value] })),
          operations.map((operation) => ({ kind: operation.kind, key: [...operation.key], value: [...operation.value] })),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("decoding hostile bytes returns a batch or throws CorruptionError, nothing else", () => {
    const check = (bytes: Uint8Array) => {
      try {
        decodeBatch(bytes);
      } catch (error) {
        assert.ok(AuraError.isInstance(error) && error.code === ErrorCode.Corruption, String(error));
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(bytes)), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.array(operationArbitrary, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat({ max: 255 }), (operations, at, byte) => {
        const bytes = encodeBatch(7, operations);
        bytes[at % bytes.length] = byte;
        check(bytes);
        check(bytes.subarray(0, at % bytes.length));
      }),
      { numRuns: 2000 },
    );
    // A count that promises more operations than bytes: refused before allocating.
    check(Uint8Array.from([1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  });
});
