import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CompactionAgent, crc32c, Random, STATE_FORMAT_VERSION } from "../src/index.ts";
import { isAuraError } from "./helpers.ts";
import { LEVEL1_BYTES, MIXES, train, treeFor, windowFor } from "./synthetic.ts";

const isCorruption = isAuraError("AURADB_CORRUPTION");
const options = { level1Bytes: LEVEL1_BYTES };

/** An agent after `steps` windows alternating between mixes. */
function trained(seed: number, steps: number): CompactionAgent {
  const agent = new CompactionAgent({ ...options, seed });
  const random = new Random(seed);
  const mixes = [MIXES.writeHeavy, MIXES.scanHeavy, MIXES.readHeavy];
  for (let step = 0; step < steps; step += 10) train(agent, mixes[(step / 10) % 3]!, Math.min(10, steps - step), random);
  return agent;
}

/** Rewrites the trailing CRC so a deliberate change passes the checksum. */
function resealed(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(copy.length - 4, crc32c(copy.subarray(0, copy.length - 4)), true);
  return copy;
}

const agents = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 60 })).map(([seed, steps]) => trained(seed, steps));

describe("agent state serialization", () => {
  it("property: round trip gives the same bytes, stats and later decisions", () => {
    fc.assert(
      fc.property(agents, fc.integer({ min: 0, max: 1000 }), (agent, probeSeed) => {
        const bytes = agent.serialize();
        const back = CompactionAgent.deserialize(bytes, options);
        const again = CompactionAgent.deserialize(bytes, options);
        assert.deepEqual(back.serialize(), bytes);
        assert.deepEqual(back.config(), agent.config());
        assert.equal(back.stats().learnedStates, agent.stats().learnedStates);
        // NB: a move awaiting its rollback check and the dwell after a move are not kept (README:
        // what a restart forgets), so the original agent is a reference only when no move is
        // pending and no dwell is left: its last move is at least `dwellWindows` decisions back.
        const log = agent.decisions();
        const lastMove = log.findLastIndex((record) => record.action !== "keep");
        const pending = lastMove >= 0 && log.length - lastMove <= agent.options.dwellWindows;
        const randoms = [new Random(probeSeed), new Random(probeSeed), new Random(probeSeed)];
        for (let step = 0; step < 5; step++) {
          const [a, b, c] = [agent, back, again].map((each, index) => each.observe(windowFor(each.config(), MIXES.writeHeavy, randoms[index]!), treeFor(each.config())));
          assert.deepEqual(c?.after, b?.after);
          assert.equal(c?.kind, b?.kind);
          if (!pending) {
            assert.deepEqual(b?.after, a?.after);
            assert.equal(b?.kind, a?.kind);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("property: any flipped bit → CorruptionError", () => {
    fc.assert(
      fc.property(agents, fc.nat(), fc.integer({ min: 0, max: 7 }), (agent, at, bit) => {
        const bytes = agent.serialize();
        bytes[at % bytes.length]! ^= 1 << bit;
        assert.throws(() => CompactionAgent.deserialize(bytes, options), isCorruption);
      }),
      { numRuns: 300 },
    );
  });

  it("every truncation, and one extra byte → CorruptionError", () => {
    const bytes = trained(3, 40).serialize();
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => CompactionAgent.deserialize(bytes.subarray(0, length), options), isCorruption, `length ${length}`);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.throws(() => CompactionAgent.deserialize(longer, options), isCorruption);
  });

  it("a newer format version → NotSupportedError; version 0 → corruption", () => {
    const bytes = trained(1, 10).serialize();
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(4, STATE_FORMAT_VERSION + 1, true);
    assert.throws(() => CompactionAgent.deserialize(resealed(newer), options), isAuraError("AURADB_NOT_SUPPORTED"));
    const zero = bytes.slice();
    new DataView(zero.buffer).setUint16(4, 0, true);
    assert.throws(() => CompactionAgent.deserialize(resealed(zero), options), isCorruption);
  });

  it("version 1 (the old workload buckets) → NotSupportedError naming the reason, not corruption", () => {
    const old = trained(1, 10).serialize().slice();
    new DataView(old.buffer).setUint16(4, 1, true);
    assert.throws(
      () => CompactionAgent.deserialize(resealed(old), options),
      (error: unknown) => isAuraError("AURADB_NOT_SUPPORTED")(error) && /other workload buckets/.test((error as Error).message),
    );
  });

  it("checksummed but lying fields → CorruptionError, before any large allocation", () => {
    const bytes = trained(2, 30).serialize();
    const view = (copy: Uint8Array) => new DataView(copy.buffer);
    const lies: [string, (copy: Uint8Array) => void][] = [
      ["magic", (copy) => (copy[0] = 0x58)],
      ["reserved", (copy) => (copy[6] = 1)],
      ["body length", (copy) => view(copy).setUint32(8, 1, true)],
      ["size ratio", (copy) => (copy[12] = 1)],
      ["trigger ladder", (copy) => (copy[16] = 0)],
      ["bucket count", (copy) => (copy[17] = 13)],
      ["current shape", (copy) => (copy[18] = 200)],
      ["entry count", (copy) => view(copy).setUint32(92, 0xffffffff, true)],
      ["entry bucket", (copy) => (copy[96] = 99)],
      ["entry visits", (copy) => view(copy).setUint32(100, 0, true)],
      ["entry value", (copy) => view(copy).setFloat64(104, Number.NaN, true)],
      ["entry order", (copy) => copy.copyWithin(112, 96, 112)],
    ];
    for (const [name, lie] of lies) {
      const copy = bytes.slice();
      lie(copy);
      assert.throws(() => CompactionAgent.deserialize(resealed(copy), options), isCorruption, name);
    }
  });

  it("state learned under other bounds is refused with InvalidArgument; non-bytes too", () => {
    const bytes = trained(5, 20).serialize();
    assert.throws(() => CompactionAgent.deserialize(bytes, { ...options, sizeRatio: 8 }), isAuraError("AURADB_INVALID_ARGUMENT"));
    assert.throws(() => CompactionAgent.deserialize("bytes" as never), isAuraError("AURADB_INVALID_ARGUMENT"));
  });

  it("crc32c is CRC-32C", () => {
    assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  });
});
