/**
 * The block cache: CLOCK eviction order (second chance for blocks looked up), byte accounting
 * against a reference model, per-file eviction and counters.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ValueKind } from "../src/types.ts";
import { AssertionError } from "../src/sstable/_assert.ts";
import { Block, BlockBuilder } from "../src/sstable/block.ts";
import { BlockCache } from "../src/sstable/cache.ts";

/** A decoded block of `valueBytes` in one entry (its charge grows with it). */
function blockOf(valueBytes: number): Block {
  const builder = new BlockBuilder(16);
  builder.add(Uint8Array.of(1), 1, ValueKind.Put, new Uint8Array(valueBytes));
  return Block.decode(builder.finish().slice(), "/t", 12);
}

/** CLOCK as the docs describe it, written plainly: a ring of slots, a hand, reference bits. */
class ClockModel {
  readonly capacityBytes: number;
  readonly slots: Array<{ name: string; block: Block; referenced: boolean } | undefined> = [];
  readonly free: number[] = [];
  readonly byName = new Map<string, number>();
  hand = 0;
  bytes = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes;
  }

  get entries(): number {
    return this.byName.size;
  }

  lookup(name: string): Block | undefined {
    const slot = this.byName.get(name);
    if (slot === undefined) return undefined;
    this.slots[slot]!.referenced = true;
    return this.slots[slot]!.block;
  }

  insert(name: string, block: Block): void {
    const previous = this.byName.get(name);
    if (previous !== undefined) this.release(previous);
    if (block.chargeBytes > this.capacityBytes) return;
    const slot = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[slot] = { name, block, referenced: false };
    this.byName.set(name, slot);
    this.bytes += block.chargeBytes;
    while (this.bytes > this.capacityBytes) {
      const candidate = this.hand;
      this.hand = (this.hand + 1) % this.slots.length;
      const entry = this.slots[candidate];
      if (candidate === slot || entry === undefined) continue;
      if (entry.referenced) entry.referenced = false;
      else this.release(candidate);
    }
  }

  evictFile(prefix: string): number {
    let dropped = 0;
    for (const [name, slot] of [...this.byName]) {
      if (name.startsWith(prefix)) {
        this.release(slot);
        dropped++;
      }
    }
    return dropped;
  }

  release(slot: number): void {
    const entry = this.slots[slot]!;
    this.byName.delete(entry.name);
    this.bytes -= entry.block.chargeBytes;
    this.slots[slot] = undefined;
    this.free.push(slot);
  }
}

describe("BlockCache", () => {
  it("evicts blocks not looked up since the hand last passed; a lookup gives a second chance", () => {
    const block = blockOf(100);
    const cache = new BlockCache(block.chargeBytes * 3);
    cache.insert(1, 0, block); // A
    cache.insert(1, 1, block); // B
    cache.insert(1, 2, block); // C
    assert.equal(cache.lookup(1, 0), block, "A is referenced");
    cache.insert(1, 3, block); // D: the hand spares A (clearing its bit) and evicts B
    assert.equal(cache.stats().entries, 3);
    assert.equal(cache.stats().evictions, 1);
    assert.ok(cache.lookup(1, 1) === undefined, "B evicted");
    cache.insert(1, 4, block); // E: C was never looked up
    assert.ok(cache.lookup(1, 2) === undefined, "C evicted");
    assert.equal(cache.lookup(1, 3), block, "D referenced");
    cache.insert(1, 5, block); // F: D gets its second chance; A lost its bit at the first sweep
    assert.ok(cache.lookup(1, 0) === undefined, "A evicted");
    for (const blockNumber of [3, 4, 5]) assert.equal(cache.lookup(1, blockNumber), block, `block ${blockNumber} kept`);
    const stats = cache.stats();
    assert.equal(stats.entries, 3);
    assert.equal(stats.evictions, 3);
    assert.equal(stats.inserts, 6);
    assert.equal(stats.hits, 5);
    assert.equal(stats.misses, 3);
  });

  it("charges each block's chargeBytes and stays within capacity (reference model)", () => {
    const sizes = [0, 10, 100, 1000, 5000];
    const blocks = sizes.map(blockOf);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.tuple(fc.constantFrom("insert", "lookup", "evictFile"), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 8 }), fc.nat(blocks.length - 1)), { maxLength: 200 }),
        (capacityBytes, operations) => {
          const cache = new BlockCache(capacityBytes);
          const model = new ClockModel(capacityBytes);
          for (const [operation, fileNumber, blockNumber, blockIndex] of operations) {
            if (operation === "insert") {
              cache.insert(fileNumber, blockNumber, blocks[blockIndex]!);
              model.insert(`${fileNumber}/${blockNumber}`, blocks[blockIndex]!);
              assert.ok(
                blocks[blockIndex]!.chargeBytes > capacityBytes || cache.lookup(fileNumber, blockNumber) === blocks[blockIndex],
                "a block that fits is held right after its insert",
              );
              model.lookup(`${fileNumber}/${blockNumber}`);
            } else if (operation === "lookup") {
              assert.equal(cache.lookup(fileNumber, blockNumber), model.lookup(`${fileNumber}/${blockNumber}`));
            } else {
              assert.equal(cache.evictFile(fileNumber), model.evictFile(`${fileNumber}/`));
            }
            const stats = cache.stats();
            assert.equal(stats.bytes, model.bytes);
            assert.equal(stats.entries, model.entries);
            assert.ok(stats.bytes <= capacityBytes);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("charges at least the block's bytes", () => {
    const block = blockOf(4000);
    assert.ok(block.chargeBytes >= 4000 && block.chargeBytes < 4400, `charge ${block.chargeBytes}`);
  });

  it("keeps no block larger than the whole capacity, and nothing at capacity 0", () => {
    const small = blockOf(10);
    const large = blockOf(5000);
    const cache = new BlockCache(small.chargeBytes * 2);
    cache.insert(1, 0, small);
    cache.insert(1, 1, large);
    assert.equal(cache.lookup(1, 1), undefined);
    assert.equal(cache.lookup(1, 0), small, "an oversized block does not flush the others");
    const none = new BlockCache(0);
    none.insert(1, 0, small);
    assert.equal(none.lookup(1, 0), undefined);
    assert.equal(none.stats().bytes, 0);
  });

  it("re-inserting a block replaces it and its charge", () => {
    const first = blockOf(100);
    const second = blockOf(300);
    const cache = new BlockCache(1 << 20);
    cache.insert(4, 2, first);
    cache.insert(4, 2, second);
    assert.equal(cache.lookup(4, 2), second);
    assert.deepEqual({ entries: cache.stats().entries, bytes: cache.stats().bytes }, { entries: 1, bytes: second.chargeBytes });
  });

  it("evictFile drops exactly that file's blocks, including file numbers near the top of the range", () => {
    const block = blockOf(10);
    const cache = new BlockCache(1 << 20);
    const top = 2 ** 31 - 1;
    for (const fileNumber of [0, 1, 2, top - 1, top]) {
      for (const blockNumber of [0, 1, 2 ** 22 - 1]) cache.insert(fileNumber, blockNumber, block);
    }
    assert.equal(cache.evictFile(1), 3);
    assert.equal(cache.evictFile(top), 3);
    assert.equal(cache.evictFile(99), 0);
    assert.equal(cache.stats().entries, 9);
    assert.equal(cache.stats().bytes, 9 * block.chargeBytes);
    assert.equal(cache.lookup(1, 0), undefined);
    assert.equal(cache.lookup(top, 2 ** 22 - 1), undefined);
    assert.equal(cache.lookup(top - 1, 2 ** 22 - 1), block);
    assert.equal(cache.lookup(2, 0), block);
    assert.equal(cache.lookup(0, 2 ** 22 - 1), block);
    cache.clear();
    assert.deepEqual({ entries: cache.stats().entries, bytes: cache.stats().bytes }, { entries: 0, bytes: 0 });
  });

  it("refuses keys that do not pack into a safe integer, and a bad capacity", () => {
    const cache = new BlockCache(1 << 20);
    assert.throws(() => cache.insert(2 ** 31, 0, blockOf(1)), AssertionError);
    assert.throws(() => cache.insert(1, 2 ** 22, blockOf(1)), AssertionError);
    assert.throws(() => new BlockCache(-1), AssertionError);
  });
});
