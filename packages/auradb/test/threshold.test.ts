import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AUTO_THRESHOLD_FLOOR, AutoThreshold } from "../src/threshold.ts";

function feed(threshold: AutoThreshold, sizes: number[], times: number): void {
  for (let round = 0; round < times; round++) for (const size of sizes) threshold.observe(size);
}

describe("valueThreshold 'auto'", () => {
  it("separates uniform large values, keeps small ones inline, isolates large outliers", () => {
    const uniform = new AutoThreshold();
    feed(uniform, [4096], 5000);
    assert.equal(uniform.current, 4096);
    const small = new AutoThreshold();
    feed(small, [100], 5000);
    assert.equal(small.current, AUTO_THRESHOLD_FLOOR);
    const mixed = new AutoThreshold();
    feed(mixed, [100, 100, 100, 100, 100, 100, 100, 100, 100, 16384], 1000);
    assert.equal(mixed.current, 16384, "only the 16 KiB values, which carry 95 % of the bytes");
  });

  it("follows a shift in the workload", () => {
    const threshold = new AutoThreshold();
    feed(threshold, [100, 100, 100, 100, 100, 100, 100, 100, 100, 65536], 2000);
    assert.equal(threshold.current, 65536);
    feed(threshold, [2048], 40_000);
    assert.equal(threshold.current, 2048);
  });

  it("stays within its bounds, and values carrying most bytes are separated", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 * 1024 * 1024 }), { minLength: 1, maxLength: 50 }), (sizes) => {
        const threshold = new AutoThreshold();
        feed(threshold, sizes, Math.ceil(4096 / sizes.length));
        threshold.recompute();
        assert.ok(threshold.current >= AUTO_THRESHOLD_FLOOR && threshold.current <= 1024 * 1024);
        const total = sizes.reduce((a, b) => a + b, 0);
        const separated = sizes.filter((size) => size >= threshold.current).reduce((a, b) => a + b, 0);
        if (threshold.current > AUTO_THRESHOLD_FLOOR && threshold.current < 1024 * 1024) assert.ok(separated >= 0.8 * total * 0.999);
      }),
    );
  });
});
