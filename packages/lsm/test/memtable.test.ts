import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareBytes, compareInternal, equalBytes } from "../src/compare.ts";
import { Memtable } from "../src/memtable.ts";
import { type InternalIterator, SEQUENCE_MAX, ValueKind } from "../src/types.ts";

// --- the model: every entry, sorted in internal order ---------------------------------------------

interface Entry {
  key: Uint8Array;
  seq: number;
  kind: ValueKind;
  value: Uint8Array;
}

function compareEntries(a: { key: Uint8Array; seq: number }, b: { key: Uint8Array; seq: number }): number {
  // (key, seq) is unique in a memtable, so the kind never breaks a tie.
  return compareInternal(a.key, a.seq, 0, b.key, b.seq, 0);
}

/** Index of the first entry >= (key, seq): key greater, or equal with entry.seq <= seq. */
function lowerBound(model: readonly Entry[], key: Uint8Array, seq: number): number {
  let low = 0;
  let high = model.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareEntries(model[middle]!, { key, seq }) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the last entry whose key is <= target (that key's oldest version), or -1. */
function lastAtOrBefore(model: readonly Entry[], target: Uint8Array): number {
  let index = model.length - 1;
  while (index >= 0 && compareBytes(model[index]!.key, target) > 0) index--;
  return index;
}

function modelGet(model: readonly Entry[], key: Uint8Array, seq: number): Entry | undefined {
  const index = lowerBound(model, key, seq);
  const entry = model[index];
  return entry !== undefined && equalBytes(entry.key, key) ? entry : undefined;
}

function modelInsert(model: Entry[], entry: Entry): void {
  model.splice(lowerBound(model, entry.key, entry.seq), 0, entry);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function describeEntry(entry: Entry | undefined): string {
  return entry === undefined ? "none" : `${hex(entry.key)}@${entry.seq}/${entry.kind}:${hex(entry.value)}`;
}

/** The entry the iterator is on (copied), or undefined when it is not valid. */
function current(iterator: InternalIterator): Entry | undefined {
  if (!iterator.valid()) return undefined;
  return { key: iterator.key().slice(), seq: iterator.seq(), kind: iterator.kind(), value: iterator.value().slice() };
}

/** The get result as a model entry (copied, since the result object is reused). */
function fromGetResult(result: { kind: ValueKind; seq: number; value: Uint8Array } | undefined, key: Uint8Array): Entry | undefined {
  return result === undefined ? undefined : { key, seq: result.seq, kind: result.kind, value: result.value.slice() };
}

function assertAt(iterator: InternalIterator, expected: Entry | undefined, context: string): void {
  assert.equal(describeEntry(current(iterator)), describeEntry(expected), context);
}

function scan(memtable: Memtable, reverse: boolean): Entry[] {
  const entries: Entry[] = [];
  const iterator = memtable.iterator();
  if (reverse) for (iterator.seekToLast(); iterator.valid(); iterator.prev()) entries.push(current(iterator)!);
  else for (iterator.seekToFirst(); iterator.valid(); iterator.next()) entries.push(current(iterator)!);
  iterator.close();
  if (reverse) entries.reverse();
  return entries;
}

function assertSameEntries(actual: readonly Entry[], expected: readonly Entry[], context: string): void {
  assert.equal(actual.length, expected.length, `${context}: entry count`);
  for (let index = 0; index < expected.length; index++) {
    assert.equal(describeEntry(actual[index]), describeEntry(expected[index]), `${context}: entry ${index}`);
  }
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

const encoder = new TextEncoder();
function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** A deterministic xorshift generator, for the large fixed-seed tests. */
function generator(seed: number): (limit: number) => number {
  let state = seed >>> 0 || 1;
  return (limit: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % limit;
  };
}

/** 16-byte zero-padded decimal keys, as in bench/memtable.ts. */
function decimalKey(number: number): Uint8Array {
  return text(String(number).padStart(16, "0"));
}

// --- named tests -----------------------------------------------------------------------------------

describe("Memtable", () => {
  it("is empty when new", () => {
    const memtable = new Memtable();
    assert.equal(memtable.entryCount, 0);
    assert.equal(memtable.minSeq, SEQUENCE_MAX);
    assert.equal(memtable.maxSeq, 0);
    assert.equal(memtable.get(text("a"), SEQUENCE_MAX), undefined);
    assert.equal(memtable.get(new Uint8Array(0), SEQUENCE_MAX), undefined);
    const iterator = memtable.iterator();
    iterator.seekToFirst();
    assert.equal(iterator.valid(), false);
    iterator.seekToLast();
    assert.equal(iterator.valid(), false);
    iterator.seek(text("a"));
    assert.equal(iterator.valid(), false);
    iterator.seekForPrev(text("a"));
    assert.equal(iterator.valid(), false);
    iterator.close();
  });

  it("copies key and value: later writes to the caller's buffers change nothing", () => {
    const memtable = new Memtable();
    const buffer = new Uint8Array(64);
    buffer.set(text("key-1"), 0);
    buffer.set(text("value-1"), 8);
    memtable.add(buffer.subarray(0, 5), 1, ValueKind.Put, buffer.subarray(8, 15));
    const large = new Uint8Array(200_000).fill(7);
    memtable.add(text("large"), 2, ValueKind.Put, large);
    buffer.fill(0xee);
    large.fill(0);
    assert.deepEqual(memtable.get(text("key-1"), SEQUENCE_MAX)?.value, text("value-1"));
    assert.deepEqual(memtable.get(text("large"), SEQUENCE_MAX)?.value, new Uint8Array(200_000).fill(7));
    const iterator = memtable.iterator();
    iterator.seek(text("key-1"));
    assert.deepEqual(iterator.key(), text("key-1"));
    assert.deepEqual(iterator.value(), text("value-1"));
  });

  it("get answers the newest version at or below the sequence number, tombstones included", () => {
    const memtable = new Memtable();
    memtable.add(text("k"), 10, ValueKind.Put, text("v10"));
    memtable.add(text("k"), 30, ValueKind.Delete, new Uint8Array(0));
    memtable.add(text("k"), 20, ValueKind.PutPointer, text("p20"));
    memtable.add(text("j"), 25, ValueKind.Put, text("j25"));
    memtable.add(text("l"), 5, ValueKind.Put, text("l5"));
    assert.equal(memtable.get(text("k"), 9), undefined);
    const at10 = memtable.get(text("k"), 10)!;
    assert.equal(at10.kind, ValueKind.Put);
    assert.equal(at10.seq, 10);
    assert.deepEqual(at10.value, text("v10"));
    assert.deepEqual({ ...memtable.get(text("k"), 29)! }, { kind: ValueKind.PutPointer, seq: 20, value: text("p20") });
    assert.deepEqual({ ...memtable.get(text("k"), 30)! }, { kind: ValueKind.Delete, seq: 30, value: new Uint8Array(0) });
    assert.deepEqual({ ...memtable.get(text("k"), SEQUENCE_MAX)! }, { kind: ValueKind.Delete, seq: 30, value: new Uint8Array(0) });
    assert.equal(memtable.get(text("kk"), SEQUENCE_MAX), undefined);
    assert.equal(memtable.get(text(""), SEQUENCE_MAX), undefined);
    assert.equal(memtable.entryCount, 5);
    assert.equal(memtable.minSeq, 5);
    assert.equal(memtable.maxSeq, 30);
  });

  it("get reuses its result object, but each value view stays valid", () => {
    const memtable = new Memtable();
    memtable.add(text("a"), 1, ValueKind.Put, text("1"));
    memtable.add(text("b"), 2, ValueKind.Put, text("2"));
    const first = memtable.get(text("a"), SEQUENCE_MAX)!;
    const value = first.value;
    const second = memtable.get(text("b"), SEQUENCE_MAX)!;
    assert.equal(first, second);
    assert.deepEqual(value, text("1"));
    assert.deepEqual(second.value, text("2"));
  });

  it("orders keys that are prefixes of each other, the empty key, and 0x00/0xff bytes", () => {
    const keys = [
      bytes(),
      bytes(0x00),
      bytes(0x00, 0x00),
      bytes(0x00, 0xff),
      bytes(0x01),
      text("a"),
      text("ab"),
      text("ab\u0000"),
      text("abc"),
      bytes(0x7f),
      bytes(0x80),
      bytes(0xff),
      bytes(0xff, 0x00),
      bytes(0xff, 0xff),
      new Uint8Array(16).fill(0xff),
      new Uint8Array(17).fill(0xff),
      new Uint8Array(40).fill(0xff),
    ];
    const memtable = new Memtable();
    const model: Entry[] = [];
    // Insert in a scrambled order, two versions each.
    const order = keys.map((_, index) => (index * 7) % keys.length);
    let seq = 1;
    for (const index of order) {
      for (let version = 0; version < 2; version++) {
        const entry = { key: keys[index]!, seq: seq++, kind: ValueKind.Put, value: bytes(index, version) };
        memtable.add(entry.key, entry.seq, entry.kind, entry.value);
        modelInsert(model, entry);
      }
    }
    assertSameEntries(scan(memtable, false), model, "forward");
    assertSameEntries(scan(memtable, true), model, "reverse");
    for (const key of keys) assert.equal(describeEntry(fromGetResult(memtable.get(key, SEQUENCE_MAX), key)), describeEntry(modelGet(model, key, SEQUENCE_MAX)));
    // The empty key is the smallest; seekForPrev(empty) lands on its oldest version.
    const iterator = memtable.iterator();
    iterator.seekForPrev(new Uint8Array(0));
    assertAt(iterator, model[lastAtOrBefore(model, new Uint8Array(0))], "seekForPrev(empty)");
    iterator.seek(new Uint8Array(0), 0);
    assertAt(iterator, model[lowerBound(model, new Uint8Array(0), 0)], "seek(empty, 0)");
  });

  it("compares long keys that share their first 16 bytes or more (the bytes past the inline ones)", () => {
    const memtable = new Memtable();
    const model: Entry[] = [];
    const random = generator(7);
    const stem = text("tenant/0001/user/");
    for (let index = 0; index < 3000; index++) {
      const suffix = text(String(random(500)));
      const key = new Uint8Array(stem.length + suffix.length);
      key.set(stem);
      key.set(suffix, stem.length);
      const entry = { key, seq: index, kind: ValueKind.Put, value: bytes(index & 0xff) };
      memtable.add(entry.key, entry.seq, entry.kind, entry.value);
      modelInsert(model, entry);
    }
    assertSameEntries(scan(memtable, false), model, "forward");
    for (let probe = 0; probe < 600; probe++) {
      const key = new Uint8Array([...stem, ...text(String(probe))]);
      const seq = random(3000);
      assert.equal(describeEntry(fromGetResult(memtable.get(key, seq), key)), describeEntry(modelGet(model, key, seq)), `get ${probe}@${seq}`);
    }
  });

  for (const order of ["ascending", "descending", "random"] as const) {
    it(`holds 20,000 entries added in ${order} order (several levels of inner nodes)`, () => {
      const count = 20_000;
      const random = generator(order.length);
      const numbers = Array.from({ length: count }, (_, index) => (order === "descending" ? count - 1 - index : index));
      if (order === "random") {
        for (let index = count - 1; index > 0; index--) {
          const other = random(index + 1);
          [numbers[index], numbers[other]] = [numbers[other]!, numbers[index]!];
        }
      }
      const memtable = new Memtable();
      const value = new Uint8Array(8);
      numbers.forEach((number, index) => {
        value[0] = number & 0xff;
        memtable.add(decimalKey(2 * number), index + 1, ValueKind.Put, value);
      });
      assert.equal(memtable.entryCount, count);
      let expected = 0;
      const iterator = memtable.iterator();
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
        assert.deepEqual(iterator.key(), decimalKey(2 * expected), `entry ${expected}`);
        assert.equal(iterator.value()[0], expected & 0xff);
        expected++;
      }
      assert.equal(expected, count);
      for (iterator.seekToLast(); iterator.valid(); iterator.prev()) expected--;
      assert.equal(expected, 0);
      for (let probe = 0; probe < 2000; probe++) {
        const number = random(count);
        assert.equal(memtable.get(decimalKey(2 * number), SEQUENCE_MAX)?.value[0], number & 0xff);
        assert.equal(memtable.get(decimalKey(2 * number + 1), SEQUENCE_MAX), undefined);
        iterator.seek(decimalKey(2 * number + 1));
        assert.deepEqual(iterator.valid() ? iterator.key() : null, number + 1 < count ? decimalKey(2 * number + 2) : null);
        iterator.seekForPrev(decimalKey(2 * number + 1));
        assert.deepEqual(iterator.key(), decimalKey(2 * number));
      }
      // Overhead per entry: full leaves when the keys come in order (splits at the ends of the
      // tree leave the full node full), at least half-full ones otherwise.
      const overheadBytes = (memtable.approximateBytes - count * (16 + 8)) / count;
      assert.ok(overheadBytes > 0 && overheadBytes < (order === "random" ? 120 : 62), `overhead ${overheadBytes} B per entry`);
    });
  }

  it("an iterator stays valid while entries are added, and never skips or repeats an entry", () => {
    const memtable = new Memtable();
    const model: Entry[] = [];
    const random = generator(99);
    const add = (entry: Entry): void => {
      memtable.add(entry.key, entry.seq, entry.kind, entry.value);
      modelInsert(model, entry);
    };
    let seq = 1;
    for (let index = 0; index < 500; index++) add({ key: decimalKey(index * 10), seq: seq++, kind: ValueKind.Put, value: bytes(1) });
    const existing = model.slice();
    const forward = memtable.iterator();
    const backward = memtable.iterator();
    forward.seekToFirst();
    backward.seekToLast();
    const seenForward: Entry[] = [];
    const seenBackward: Entry[] = [];
    while (forward.valid() || backward.valid()) {
      // Adds all over the key space, many into the leaves the iterators are on (splitting them).
      // NB: bounded, or the forward iterator would chase new entries forever.
      for (let burst = memtable.entryCount < 6000 ? random(40) : 0; burst > 0; burst--) {
        add({ key: decimalKey(random(5000)), seq: seq++, kind: ValueKind.Put, value: bytes(2) });
      }
      if (forward.valid()) {
        const entry = current(forward)!;
        if (seenForward.length > 0) assert.ok(compareEntries(seenForward.at(-1)!, entry) < 0, "forward order");
        seenForward.push(entry);
        // The next entry is always the successor in the memtable as it is now.
        const index = lowerBound(model, entry.key, entry.seq);
        forward.next();
        assertAt(forward, model[index + 1], "successor");
      }
      if (backward.valid()) {
        const entry = current(backward)!;
        if (seenBackward.length > 0) assert.ok(compareEntries(seenBackward.at(-1)!, entry) > 0, "backward order");
        seenBackward.push(entry);
        const index = lowerBound(model, entry.key, entry.seq);
        backward.prev();
        assertAt(backward, model[index - 1], "predecessor");
      }
    }
    // Every entry that existed when the iterators started was seen exactly once (order checked above).
    for (const seen of [seenForward, seenBackward]) {
      const keys = new Set(seen.map((entry) => `${hex(entry.key)}@${entry.seq}`));
      assert.equal(keys.size, seen.length);
      for (const entry of existing) assert.ok(keys.has(`${hex(entry.key)}@${entry.seq}`), describeEntry(entry));
    }
    assert.ok(memtable.entryCount > 2 * existing.length, "the iterations saw many adds");
  });

  it("seek honours the sequence number; seekForPrev lands on the oldest version", () => {
    const memtable = new Memtable();
    for (const seq of [5, 3, 9]) memtable.add(text("b"), seq, ValueKind.Put, bytes(seq));
    memtable.add(text("a"), 1, ValueKind.Put, bytes(1));
    memtable.add(text("c"), 2, ValueKind.Put, bytes(2));
    const iterator = memtable.iterator();
    iterator.seek(text("b"));
    assert.equal(iterator.seq(), 9);
    iterator.seek(text("b"), 8);
    assert.equal(iterator.seq(), 5);
    iterator.seek(text("b"), 5);
    assert.equal(iterator.seq(), 5);
    iterator.seek(text("b"), 2);
    assert.deepEqual([iterator.key(), iterator.seq()], [text("c"), 2]);
    iterator.seekForPrev(text("b"));
    assert.deepEqual([iterator.key(), iterator.seq()], [text("b"), 3]);
    iterator.next();
    assert.deepEqual(iterator.key(), text("c"));
    iterator.seekForPrev(text("bb"));
    assert.deepEqual([iterator.key(), iterator.seq()], [text("b"), 3]);
    iterator.seekForPrev(text("a\u0000"));
    assert.deepEqual([iterator.key(), iterator.seq()], [text("a"), 1]);
    iterator.prev();
    assert.equal(iterator.valid(), false);
    iterator.seekForPrev(text(""));
    assert.equal(iterator.valid(), false);
  });

  it("rejects a second entry with the same key and sequence number, and leaves the memtable unchanged", () => {
    const memtable = new Memtable();
    memtable.add(text("k"), 7, ValueKind.Put, text("first"));
    const bytesBefore = memtable.approximateBytes;
    assert.throws(() => memtable.add(text("k"), 7, ValueKind.Delete, new Uint8Array(0)), RangeError);
    assert.equal(memtable.entryCount, 1);
    assert.equal(memtable.approximateBytes, bytesBefore);
    assert.deepEqual(memtable.get(text("k"), SEQUENCE_MAX)?.value, text("first"));
    memtable.add(text("k"), 8, ValueKind.Delete, new Uint8Array(0));
    assert.equal(memtable.entryCount, 2);
  });

  it("rejects sequence numbers that are not safe non-negative integers, and unknown kinds", () => {
    const memtable = new Memtable();
    for (const seq of [-1, 1.5, Number.NaN, SEQUENCE_MAX + 1, Number.POSITIVE_INFINITY]) {
      assert.throws(() => memtable.add(text("k"), seq, ValueKind.Put, text("v")), RangeError, String(seq));
    }
    assert.throws(() => memtable.add(text("k"), 1, 3 as ValueKind, text("v")), RangeError);
    assert.equal(memtable.entryCount, 0);
    memtable.add(text("k"), 0, ValueKind.Put, text("v0"));
    memtable.add(text("k"), SEQUENCE_MAX, ValueKind.Put, text("vmax"));
    assert.equal(memtable.get(text("k"), SEQUENCE_MAX - 1)?.seq, 0);
    assert.equal(memtable.get(text("k"), SEQUENCE_MAX)?.seq, SEQUENCE_MAX);
    assert.equal(memtable.minSeq, 0);
    assert.equal(memtable.maxSeq, SEQUENCE_MAX);
  });

  it("orders sequence numbers above 2^32 correctly (high and low halves)", () => {
    const memtable = new Memtable();
    const seqs = [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5, 1, 2 ** 31, 2 ** 31 - 1, SEQUENCE_MAX - 1];
    for (const seq of seqs) memtable.add(text("k"), seq, ValueKind.Put, text(String(seq)));
    assert.deepEqual(scan(memtable, false).map((entry) => entry.seq), seqs.slice().sort((a, b) => b - a));
    assert.equal(memtable.get(text("k"), 2 ** 32)?.seq, 2 ** 32);
    assert.equal(memtable.get(text("k"), 2 ** 32 - 2)?.seq, 2 ** 31);
  });

  it("counts bytes: keys, values and the nodes holding them", () => {
    const memtable = new Memtable();
    const empty = memtable.approximateBytes;
    assert.ok(empty > 0, "the first leaf");
    memtable.add(text("abc"), 1, ValueKind.Put, new Uint8Array(1000));
    assert.equal(memtable.approximateBytes, empty + 1003);
    let previous = memtable.approximateBytes;
    for (let index = 0; index < 5000; index++) {
      memtable.add(decimalKey(index), index + 2, ValueKind.Put, new Uint8Array(10));
      assert.ok(memtable.approximateBytes >= previous + 26, "grows by at least the key and value");
      previous = memtable.approximateBytes;
    }
  });

  it("closing an iterator twice, or using it closed or unpositioned, throws", () => {
    const memtable = new Memtable();
    memtable.add(text("a"), 1, ValueKind.Put, text("1"));
    const iterator = memtable.iterator();
    assert.throws(() => iterator.key(), TypeError);
    assert.throws(() => iterator.next(), TypeError);
    iterator.seekToFirst();
    iterator.next();
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.prev(), TypeError);
    assert.throws(() => iterator.value(), TypeError);
    iterator.seekToFirst();
    iterator.close();
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.seekToFirst(), TypeError);
    assert.throws(() => iterator.close(), TypeError);
  });
});

// --- model-based property test -------------------------------------------------------------------

interface Model {
  entries: Entry[];
  /** The entry the held iterator is on, or undefined when it is not valid. */
  held: Entry | undefined;
}

interface Real {
  memtable: Memtable;
  held: InternalIterator;
}

type MemtableCommand = fc.Command<Model, Real>;

class AddCommand implements MemtableCommand {
  readonly entries: readonly Entry[];

  constructor(entries: readonly Entry[]) {
    this.entries = entries;
  }

  check(): boolean {
    return true;
  }

  run(model: Model, real: Real): void {
    for (const entry of this.entries) {
      const index = lowerBound(model.entries, entry.key, entry.seq);
      const existing = model.entries[index];
      if (existing !== undefined && existing.seq === entry.seq && equalBytes(existing.key, entry.key)) {
        const count = real.memtable.entryCount;
        assert.throws(() => real.memtable.add(entry.key, entry.seq, entry.kind, entry.value), RangeError);
        assert.equal(real.memtable.entryCount, count);
        continue;
      }
      // Through a reused buffer, which is then scribbled over: the memtable must have copied.
      const buffer = new Uint8Array(entry.key.length + entry.value.length + 2);
      buffer.set(entry.key, 1);
      buffer.set(entry.value, 1 + entry.key.length);
      real.memtable.add(buffer.subarray(1, 1 + entry.key.length), entry.seq, entry.kind, buffer.subarray(1 + entry.key.length, buffer.length - 1));
      buffer.fill(0xa5);
      model.entries.splice(index, 0, entry);
    }
    assert.equal(real.memtable.entryCount, model.entries.length);
  }

  toString(): string {
    return `add(${this.entries.map(describeEntry).join(", ")})`;
  }
}

class GetCommand implements MemtableCommand {
  readonly key: Uint8Array;
  readonly seq: number;

  constructor(key: Uint8Array, seq: number) {
    this.key = key;
    this.seq = seq;
  }

  check(): boolean {
    return true;
  }

  run(model: Model, real: Real): void {
    const expected = modelGet(model.entries, this.key, this.seq);
    assert.equal(describeEntry(fromGetResult(real.memtable.get(this.key, this.seq), this.key)), describeEntry(expected), this.toString());
  }

  toString(): string {
    return `get(${hex(this.key)}, ${this.seq})`;
  }
}

class ScanCommand implements MemtableCommand {
  readonly reverse: boolean;

  constructor(reverse: boolean) {
    this.reverse = reverse;
  }

  check(): boolean {
    return true;
  }

  run(model: Model, real: Real): void {
    assertSameEntries(scan(real.memtable, this.reverse), model.entries, this.toString());
  }

  toString(): string {
    return this.reverse ? "scanBackward" : "scanForward";
  }
}

type Step = "next" | "prev";

/** Positions a fresh iterator with seek or seekForPrev, then takes a few steps. */
class SeekCommand implements MemtableCommand {
  readonly forPrev: boolean;
  readonly target: Uint8Array;
  readonly seq: number;
  readonly steps: readonly Step[];

  constructor(forPrev: boolean, target: Uint8Array, seq: number, steps: readonly Step[]) {
    this.forPrev = forPrev;
    this.target = target;
    this.seq = seq;
    this.steps = steps;
  }

  check(): boolean {
    return true;
  }

  run(model: Model, real: Real): void {
    const iterator = real.memtable.iterator();
    let index: number;
    if (this.forPrev) {
      iterator.seekForPrev(this.target);
      index = lastAtOrBefore(model.entries, this.target);
    } else {
      iterator.seek(this.target, this.seq);
      index = lowerBound(model.entries, this.target, this.seq);
    }
    assertAt(iterator, model.entries[index], this.toString());
    for (const step of this.steps) {
      if (!iterator.valid()) break;
      index += step === "next" ? 1 : -1;
      iterator[step]();
      assertAt(iterator, model.entries[index], `${this.toString()} after ${step}`);
    }
    iterator.close();
  }

  toString(): string {
    return `${this.forPrev ? "seekForPrev" : "seek"}(${hex(this.target)}, ${this.seq}) ${this.steps.join(" ")}`;
  }
}

/** Moves the long-lived iterator, which was positioned before later adds. */
class HeldCommand implements MemtableCommand {
  readonly action: "first" | "last" | Step;

  constructor(action: "first" | "last" | Step) {
    this.action = action;
  }

  check(): boolean {
    return true;
  }

  run(model: Model, real: Real): void {
    const entries = model.entries;
    if (this.action === "first" || this.action === "last") {
      if (this.action === "first") real.held.seekToFirst();
      else real.held.seekToLast();
      model.held = this.action === "first" ? entries[0] : entries.at(-1);
    } else {
      if (model.held === undefined) return;
      // Entries are never removed: the iterator's entry is still there, and its neighbour in the
      // memtable as it is now (maybe an entry added since) is where a step leads.
      const index = lowerBound(entries, model.held.key, model.held.seq);
      model.held = entries[index + (this.action === "next" ? 1 : -1)];
      real.held[this.action]();
    }
    assertAt(real.held, model.held, this.toString());
  }

  toString(): string {
    return `held.${this.action}`;
  }
}

/** Keys from a tiny alphabet, so that duplicates and keys that prefix others are common. */
const alphabetKey = fc.uint8Array({ maxLength: 6 }).map((raw) => raw.map((byte) => [0x00, 0x01, 0x61, 0x62, 0x80, 0xff][byte % 6]!));
/** Keys longer than the 16 inline bytes that share a long stem. */
const longKey = fc
  .tuple(fc.constantFrom(16, 17, 20), fc.uint8Array({ maxLength: 6 }))
  .map(([stemLength, tail]) => Uint8Array.from([...new Uint8Array(stemLength).fill(0x61), ...tail.map((byte) => (byte % 3) * 0x7f)]));
const keyArbitrary = fc.oneof({ weight: 5, arbitrary: alphabetKey }, { weight: 2, arbitrary: longKey }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }) });
const seqArbitrary = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, SEQUENCE_MAX) });
const entryArbitrary = fc.record({
  key: keyArbitrary,
  seq: seqArbitrary,
  kind: fc.constantFrom(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer),
  value: fc.uint8Array({ maxLength: 12 }),
});
/**
 * Many entries at once, so that leaves and inner nodes split (32 slots per node). The stems make
 * the keys of a node share prefixes shorter and longer than the 16 inline bytes.
 */
const bulkArbitrary = fc
  .tuple(
    fc.integer({ min: 1, max: 400 }),
    fc.constantFrom("ascending", "descending", "scattered"),
    fc.nat({ max: 1000 }),
    fc.constantFrom("", "k", "tenant/0001/user:", "s".repeat(40)),
    fc.nat(),
  )
  .map(([count, order, start, stem, seed]) => {
    const random = generator(seed);
    const entries: Entry[] = [];
    for (let index = 0; index < count; index++) {
      const number = order === "ascending" ? start + index : order === "descending" ? start + count - index : random(5000);
      entries.push({ key: text(`${stem}${String(number).padStart(5, "0")}`), seq: random(1_000_000), kind: ValueKind.Put, value: bytes(index & 0xff) });
    }
    return entries;
  });
const stepsArbitrary = fc.array(fc.constantFrom<Step>("next", "prev"), { maxLength: 6 });

const commands = [
  fc.array(entryArbitrary, { minLength: 1, maxLength: 4 }).map((entries) => new AddCommand(entries)),
  bulkArbitrary.map((entries) => new AddCommand(entries)),
  fc.tuple(keyArbitrary, seqArbitrary).map(([key, seq]) => new GetCommand(key, seq)),
  fc.boolean().map((reverse) => new ScanCommand(reverse)),
  fc.tuple(fc.boolean(), keyArbitrary, seqArbitrary, stepsArbitrary).map(([forPrev, target, seq, steps]) => new SeekCommand(forPrev, target, seq, steps)),
  fc.constantFrom("first", "last", "next", "prev", "next", "prev").map((action) => new HeldCommand(action as "first" | "last" | Step)),
];

describe("Memtable against a sorted-array model", () => {
  it("property: adds, gets, scans, seeks and a long-lived iterator agree with the model", () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (sequence) => {
        const memtable = new Memtable();
        fc.modelRun(() => ({ model: { entries: [], held: undefined }, real: { memtable, held: memtable.iterator() } }), sequence);
        // Finally, everything once more, in both directions.
        const entries = scan(memtable, false);
        for (let index = 1; index < entries.length; index++) assert.ok(compareEntries(entries[index - 1]!, entries[index]!) < 0);
      }),
      { numRuns: 300 },
    );
  });

  it("property: get matches the model at every sequence number", () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 80 }), fc.array(fc.tuple(keyArbitrary, seqArbitrary), { maxLength: 40 }), (entries, probes) => {
        const memtable = new Memtable();
        const model: Entry[] = [];
        for (const entry of entries) {
          if (modelGet(model, entry.key, entry.seq)?.seq === entry.seq) continue;
          memtable.add(entry.key, entry.seq, entry.kind, entry.value);
          modelInsert(model, entry);
        }
        for (const [key, seq] of [...probes, ...entries.map((entry) => [entry.key, entry.seq] as const)]) {
          assert.equal(describeEntry(fromGetResult(memtable.get(key, seq), key)), describeEntry(modelGet(model, key, seq)));
        }
        assertSameEntries(scan(memtable, true), model, "reverse");
      }),
      { numRuns: 300 },
    );
  });
});
