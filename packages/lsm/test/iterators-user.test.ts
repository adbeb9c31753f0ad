/**
 * UserIterator against an MVCC model (per key: a list of (seq, kind, value)): random snapshots,
 * bounds (every gt/gte/lt/lte combination, empty ranges included), reverse, limit, seek, batches.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareBytes, compareInternal } from "../src/compare.ts";
import { ArrayIterator } from "../src/iterators/array.ts";
import { MergingIterator } from "../src/iterators/merging.ts";
import { UserIterator, type UserIteratorOptions } from "../src/iterators/user.ts";
import { type InternalEntry, type InternalIterator, SEQUENCE_MAX, ValueKind } from "../src/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

const keyArbitrary = fc.uint8Array({ minLength: 0, maxLength: 2, min: 0, max: 4 });
const seqArbitrary = fc.integer({ min: 0, max: 15 });
const kindArbitrary = fc.constantFrom<ValueKind>(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer);

interface Version {
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
}

/** Writes with distinct (key, seq), as the engine makes them (one sequence per operation). */
const writesArbitrary = fc
  .array(fc.record({ key: keyArbitrary, seq: seqArbitrary, kind: kindArbitrary, value: fc.uint8Array({ maxLength: 4 }) }), { maxLength: 50 })
  .map((raw) => {
    const seen = new Set<string>();
    return raw.filter((write) => {
      const identity = `${write.key.join(",")}/${write.seq}`;
      if (seen.has(identity)) return false;
      seen.add(identity);
      return true;
    });
  });

/** The model: for each key (hex), its versions. */
function buildModel(writes: readonly InternalEntry[]): Map<string, { key: Uint8Array; versions: Version[] }> {
  const model = new Map<string, { key: Uint8Array; versions: Version[] }>();
  for (const write of writes) {
    const name = write.key.join(",");
    let slot = model.get(name);
    if (slot === undefined) model.set(name, (slot = { key: write.key, versions: [] }));
    slot.versions.push({ seq: write.seq, kind: write.kind, value: write.value });
  }
  return model;
}

interface UserEntry {
  readonly key: string;
  readonly kind: ValueKind;
  readonly seq: number;
  readonly value: string;
}

/** What a reader at `options` should see: newest version <= seq per key, minus tombstones. */
function expectedEntries(writes: readonly InternalEntry[], options: UserIteratorOptions): UserEntry[] {
  const seq = options.seq ?? SEQUENCE_MAX;
  const visible: { key: Uint8Array; version: Version }[] = [];
  for (const { key, versions } of buildModel(writes).values()) {
    let newest: Version | undefined;
    for (const version of versions) if (version.seq <= seq && (newest === undefined || version.seq > newest.seq)) newest = version;
    if (newest !== undefined && newest.kind !== ValueKind.Delete) visible.push({ key, version: newest });
  }
  const inRange = visible.filter(({ key }) => {
    if (options.gt !== undefined && compareBytes(key, options.gt) <= 0) return false;
    if (options.gte !== undefined && compareBytes(key, options.gte) < 0) return false;
    if (options.lt !== undefined && compareBytes(key, options.lt) >= 0) return false;
    if (options.lte !== undefined && compareBytes(key, options.lte) > 0) return false;
    return true;
  });
  inRange.sort((a, b) => compareBytes(a.key, b.key));
  if (options.reverse === true) inRange.reverse();
  const limited = options.limit === undefined || options.limit < 0 ? inRange : inRange.slice(0, options.limit);
  return limited.map(({ key, version }) => ({ key: key.join(","), kind: version.kind, seq: version.seq, value: version.value.join(",") }));
}

function sorted(writes: readonly InternalEntry[]): InternalEntry[] {
  return writes.slice().sort((a, b) => compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind));
}

/** The writes spread over `childCount` sorted sources under a MergingIterator (a realistic input). */
function mergedInput(writes: readonly InternalEntry[], assignment: readonly number[], childCount: number): InternalIterator {
  const children: InternalEntry[][] = Array.from({ length: childCount }, () => []);
  writes.forEach((write, index) => children[(assignment[index] ?? 0) % childCount]!.push(write));
  return new MergingIterator(children.map((entries) => new ArrayIterator(sorted(entries))));
}

function drain(iterator: UserIterator): UserEntry[] {
  const out: UserEntry[] = [];
  for (; iterator.valid(); iterator.next()) out.push({ key: iterator.key().join(","), kind: iterator.kind(), seq: iterator.seq(), value: iterator.value().join(",") });
  return out;
}

const optionsArbitrary: fc.Arbitrary<UserIteratorOptions> = fc.record(
  {
    seq: fc.oneof(seqArbitrary, fc.constant(SEQUENCE_MAX)),
    gt: keyArbitrary,
    gte: keyArbitrary,
    lt: keyArbitrary,
    lte: keyArbitrary,
    reverse: fc.boolean(),
    limit: fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constant(Infinity)),
  },
  { requiredKeys: [] },
);

const inputArbitrary = fc.tuple(writesArbitrary, fc.array(fc.nat(), { maxLength: 50 }), fc.integer({ min: 1, max: 5 }));

describe("UserIterator", () => {
  it("matches the MVCC model: snapshots, bounds, reverse, limit", () => {
    fc.assert(
      fc.property(inputArbitrary, optionsArbitrary, ([writes, assignment, childCount], options) => {
        const iterator = new UserIterator(mergedInput(writes, assignment, childCount), options);
        assert.deepEqual(drain(iterator), expectedEntries(writes, options));
        iterator.close();
      }),
      { numRuns: 1500 },
    );
  });

  it("seek(target) matches the model: clamped to the bounds, the limit keeps counting", () => {
    fc.assert(
      fc.property(inputArbitrary, optionsArbitrary, fc.nat({ max: 4 }), keyArbitrary, ([writes, assignment, childCount], options, stepsBefore, target) => {
        const iterator = new UserIterator(mergedInput(writes, assignment, childCount), options);
        let yielded = 0;
        for (let step = 0; step < stepsBefore && iterator.valid(); step++) {
          yielded++;
          iterator.next();
        }
        if (iterator.valid()) yielded++;
        iterator.seek(target);
        const all = expectedEntries(writes, { ...options, limit: undefined });
        const reverse = options.reverse === true;
        const after = all.filter((entry) => {
          const order = compareBytes(Uint8Array.from(entry.key === "" ? [] : entry.key.split(",").map(Number)), target);
          return reverse ? order <= 0 : order >= 0;
        });
        const limit = options.limit === undefined || options.limit < 0 ? Infinity : options.limit;
        assert.deepEqual(drain(iterator), after.slice(0, Math.max(0, limit - yielded)));
        iterator.close();
      }),
      { numRuns: 800 },
    );
  });

  it("nextBatch hands out the same entries as next(), as copies", () => {
    fc.assert(
      fc.property(inputArbitrary, optionsArbitrary, fc.integer({ min: 1, max: 4 }), ([writes, assignment, childCount], options, batchSize) => {
        const iterator = new UserIterator(mergedInput(writes, assignment, childCount), options);
        const out: UserEntry[] = [];
        const batch = { keys: [] as Uint8Array[], values: [] as Uint8Array[], kinds: [] as ValueKind[] };
        for (;;) {
          iterator.nextBatch(batchSize, batch);
          const count = batch.keys.length;
          assert.ok(count <= batchSize);
          for (let index = 0; index < count; index++) {
            out.push({ key: batch.keys[index]!.join(","), kind: batch.kinds[index]!, seq: -1, value: batch.values[index]!.join(",") });
          }
          if (count < batchSize) break;
        }
        assert.equal(iterator.valid(), false);
        assert.deepEqual(out, expectedEntries(writes, options).map((entry) => ({ ...entry, seq: -1 })));
        iterator.close();
      }),
      { numRuns: 500 },
    );
  });

  it("reverseMeetsOldestVersionFirst: many versions per key with tombstones between them", () => {
    const entry = (key: string, seq: number, kind: ValueKind, value = ""): InternalEntry => ({ key: bytes(key), seq, kind, value: bytes(value) });
    const writes = [
      entry("a", 1, ValueKind.Put, "a1"),
      entry("a", 2, ValueKind.Delete),
      entry("a", 3, ValueKind.Put, "a3"),
      entry("b", 4, ValueKind.Put, "b4"),
      entry("b", 5, ValueKind.Delete),
      entry("c", 6, ValueKind.Put, "c6"),
      entry("c", 7, ValueKind.PutPointer, "c7"),
      entry("c", 8, ValueKind.Put, "c8"),
      entry("d", 9, ValueKind.Delete),
    ];
    const read = (seq: number) => {
      const iterator = new UserIterator(new ArrayIterator(sorted(writes)), { seq, reverse: true });
      const out = drain(iterator).map((item) => `${decoder.decode(Uint8Array.from(item.key.split(",").map(Number)))}=${decoder.decode(Uint8Array.from(item.value === "" ? [] : item.value.split(",").map(Number)))}`);
      iterator.close();
      return out;
    };
    assert.deepEqual(read(SEQUENCE_MAX), ["c=c8", "a=a3"]);
    assert.deepEqual(read(7), ["c=c7", "a=a3"]);
    assert.deepEqual(read(5), ["a=a3"]);
    assert.deepEqual(read(4), ["b=b4", "a=a3"]);
    assert.deepEqual(read(2), []);
    assert.deepEqual(read(1), ["a=a1"]);
  });

  it("yields PutPointer entries with their kind", () => {
    const writes = [{ key: bytes("k"), seq: 1, kind: ValueKind.PutPointer, value: bytes("pointer") }];
    for (const reverse of [false, true]) {
      const iterator = new UserIterator(new ArrayIterator(writes), { reverse });
      assert.equal(iterator.kind(), ValueKind.PutPointer);
      assert.equal(decoder.decode(iterator.value()), "pointer");
      iterator.close();
    }
  });

  it("emptyRangeNeverTouchesInput, and the stricter of two bounds applies", () => {
    let touched = 0;
    const input = new ArrayIterator([{ key: bytes("m"), seq: 1, kind: ValueKind.Put, value: bytes("") }]);
    const spy: InternalIterator = { ...bind(input), seekToFirst: () => (touched++, input.seekToFirst()), seek: (target, seq) => (touched++, input.seek(target, seq)), seekToLast: () => (touched++, input.seekToLast()), seekForPrev: (target) => (touched++, input.seekForPrev(target)) };
    for (const options of [{ gt: bytes("m"), lte: bytes("m") }, { gte: bytes("n"), lt: bytes("n") }, { gte: bytes("z"), lte: bytes("a") }, { limit: 0 }]) {
      const iterator = new UserIterator(spy, options);
      assert.equal(iterator.valid(), false);
      assert.equal(touched, 0, JSON.stringify(options));
    }
    const both = new UserIterator(new ArrayIterator([{ key: bytes("m"), seq: 1, kind: ValueKind.Put, value: bytes("") }]), { gt: bytes("m"), gte: bytes("a") });
    assert.equal(both.valid(), false, "gt m is stricter than gte a");
    both.close();
  });

  it("validates options; REQUIRES valid(); a second close throws; a failing input is closed by the constructor", () => {
    const empty = () => new ArrayIterator([]);
    assert.throws(() => new UserIterator(empty(), { seq: -1 }), RangeError);
    assert.throws(() => new UserIterator(empty(), { seq: 1.5 }), RangeError);
    assert.throws(() => new UserIterator(empty(), { limit: 0.5 }), RangeError);
    const iterator = new UserIterator(empty());
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.next(), TypeError);
    assert.throws(() => iterator.key(), TypeError);
    iterator.close();
    assert.throws(() => iterator.close(), TypeError);
    assert.throws(() => iterator.seek(bytes("a")), TypeError);
    let closed = false;
    const failing: InternalIterator = { ...bind(empty()), seekToFirst: () => { throw new Error("corrupt block"); }, close: () => { closed = true; } };
    assert.throws(() => new UserIterator(failing), /corrupt block/);
    assert.equal(closed, true);
  });

  it("reuses its buffers in reverse: keys longer than the initial buffer, values of any size", () => {
    const long = new Uint8Array(1000).fill(200);
    const writes = sorted([
      { key: long, seq: 1, kind: ValueKind.Put, value: new Uint8Array(5000).fill(1) },
      { key: long, seq: 2, kind: ValueKind.Put, value: new Uint8Array(3).fill(2) },
      { key: bytes("a"), seq: 3, kind: ValueKind.Put, value: new Uint8Array(0) },
    ]);
    const iterator = new UserIterator(new ArrayIterator(writes), { reverse: true });
    assert.equal(iterator.key().length, 1000);
    assert.deepEqual([...iterator.key()], [...long]);
    assert.deepEqual([...iterator.value()], [2, 2, 2]);
    iterator.next();
    assert.deepEqual([...iterator.key()], [...bytes("a")]);
    assert.equal(iterator.value().length, 0);
    iterator.next();
    assert.equal(iterator.valid(), false);
    iterator.close();
  });
});

/** The methods of `iterator`, bound, as a plain object (to override some in tests). */
function bind(iterator: InternalIterator): InternalIterator {
  return {
    valid: () => iterator.valid(),
    key: () => iterator.key(),
    seq: () => iterator.seq(),
    kind: () => iterator.kind(),
    value: () => iterator.value(),
    seekToFirst: () => iterator.seekToFirst(),
    seekToLast: () => iterator.seekToLast(),
    seek: (target, seq) => iterator.seek(target, seq),
    seekForPrev: (target) => iterator.seekForPrev(target),
    next: () => iterator.next(),
    prev: () => iterator.prev(),
    close: () => iterator.close(),
  };
}
