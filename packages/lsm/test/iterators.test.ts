/**
 * ArrayIterator, MergingIterator and LevelIterator against a sorted-array model: random sources,
 * random seeks, random walks of next/prev with direction switches.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareBytes, compareInternal } from "../src/compare.ts";
import { ArrayIterator } from "../src/iterators/array.ts";
import { LevelIterator } from "../src/iterators/level.ts";
import { MergingIterator } from "../src/iterators/merging.ts";
import { type InternalEntry, type InternalIterator, SEQUENCE_MAX, type TableMeta, ValueKind } from "../src/types.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

// Small alphabets so that keys and sequences collide often: that is where the bugs live.
const keyArbitrary = fc.uint8Array({ minLength: 0, maxLength: 3, min: 0, max: 3 });
const seqArbitrary = fc.integer({ min: 0, max: 12 });
const kindArbitrary = fc.constantFrom<ValueKind>(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer);

function compareEntries(a: InternalEntry, b: InternalEntry): number {
  return compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind);
}

/** Sorted entries with distinct (key, seq), as one memtable or table holds. */
const sourceArbitrary = (tag: number) =>
  fc.array(fc.record({ key: keyArbitrary, seq: seqArbitrary, kind: kindArbitrary, value: fc.uint8Array({ maxLength: 3 }) }), { maxLength: 25 }).map((raw) => {
    const seen = new Set<string>();
    const entries: InternalEntry[] = [];
    for (const entry of raw) {
      const identity = `${entry.key.join(",")}/${entry.seq}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      // The value names the source and the entry, so that ties between sources are checked exactly.
      entries.push({ key: entry.key, seq: entry.seq, kind: entry.kind, value: Uint8Array.from([tag, entries.length, ...entry.value]) });
    }
    return entries.sort(compareEntries);
  });

type Operation =
  | { type: "seekToFirst" }
  | { type: "seekToLast" }
  | { type: "seek"; key: Uint8Array; seq: number | undefined }
  | { type: "seekForPrev"; key: Uint8Array }
  | { type: "next" }
  | { type: "prev" };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ type: "seekToFirst" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "seekToLast" as const }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("seek" as const), key: keyArbitrary, seq: fc.option(seqArbitrary, { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("seekForPrev" as const), key: keyArbitrary }) },
  { weight: 6, arbitrary: fc.constant({ type: "next" as const }) },
  { weight: 6, arbitrary: fc.constant({ type: "prev" as const }) },
);

/** Position of the model after `operation` (entries sorted in the merged order), per the contract. */
function modelStep(entries: readonly InternalEntry[], index: number, operation: Operation): number {
  switch (operation.type) {
    case "seekToFirst":
      return 0;
    case "seekToLast":
      return entries.length - 1;
    case "seek": {
      const seq = operation.seq ?? SEQUENCE_MAX;
      const found = entries.findIndex((entry) => {
        const byKey = compareBytes(entry.key, operation.key);
        return byKey > 0 || (byKey === 0 && entry.seq <= seq);
      });
      return found < 0 ? entries.length : found;
    }
    case "seekForPrev": {
      let found = -1;
      entries.forEach((entry, position) => {
        if (compareBytes(entry.key, operation.key) <= 0) found = position;
      });
      return found;
    }
    case "next":
      return index + 1;
    case "prev":
      return index - 1;
  }
}

function apply(iterator: InternalIterator, operation: Operation): void {
  switch (operation.type) {
    case "seekToFirst":
      return iterator.seekToFirst();
    case "seekToLast":
      return iterator.seekToLast();
    case "seek":
      return operation.seq === undefined ? iterator.seek(operation.key) : iterator.seek(operation.key, operation.seq);
    case "seekForPrev":
      return iterator.seekForPrev(operation.key);
    case "next":
      return iterator.next();
    case "prev":
      return iterator.prev();
  }
}

function describeEntry(entry: InternalEntry): string {
  return `${entry.key.join(",")}@${entry.seq}#${entry.kind}=${entry.value.join(",")}`;
}

/**
 * Runs `operations` on `iterator` and on the model; after each, the iterator must be on the
 * model's entry (or invalid where the model is). next/prev are skipped while invalid (REQUIRES).
 */
function checkAgainstModel(iterator: InternalIterator, model: readonly InternalEntry[], operations: readonly Operation[]): void {
  let index = -1;
  const trace: string[] = [];
  for (const operation of operations) {
    const moving = operation.type === "next" || operation.type === "prev";
    const modelValid = index >= 0 && index < model.length;
    if (moving && !modelValid) continue;
    assert.equal(iterator.valid(), modelValid, `validity before ${operation.type} after ${trace.join(" ")}`);
    apply(iterator, operation);
    index = modelStep(model, index, operation);
    trace.push(operation.type === "seek" ? `seek(${operation.key.join(",")},${operation.seq})` : operation.type === "seekForPrev" ? `seekForPrev(${operation.key.join(",")})` : operation.type);
    const expected = model[index];
    if (index < 0 || expected === undefined) {
      assert.equal(iterator.valid(), false, `expected the end after ${trace.join(" ")}`);
      continue;
    }
    assert.equal(iterator.valid(), true, `expected ${describeEntry(expected)} after ${trace.join(" ")}`);
    const actual: InternalEntry = { key: iterator.key(), seq: iterator.seq(), kind: iterator.kind(), value: iterator.value() };
    assert.equal(describeEntry(actual), describeEntry(expected), `after ${trace.join(" ")}`);
  }
}

/** Every source's entries in the merged order: internal order, ties by source index. */
function mergedModel(sources: readonly (readonly InternalEntry[])[]): InternalEntry[] {
  const tagged = sources.flatMap((entries, source) => entries.map((entry) => ({ entry, source })));
  tagged.sort((a, b) => compareEntries(a.entry, b.entry) || a.source - b.source);
  return tagged.map((item) => item.entry);
}

/** Counts open cursors, to check ownership (close exactly once) and laziness. */
class Tracker {
  open = 0;
  opened = 0;
  wrap(entries: readonly InternalEntry[]): InternalIterator {
    const tracker = this;
    const inner = new ArrayIterator(entries);
    this.open++;
    this.opened++;
    let closed = false;
    return {
      valid: () => inner.valid(),
      key: () => inner.key(),
      seq: () => inner.seq(),
      kind: () => inner.kind(),
      value: () => inner.value(),
      seekToFirst: () => inner.seekToFirst(),
      seekToLast: () => inner.seekToLast(),
      seek: (target, seq) => inner.seek(target, seq),
      seekForPrev: (target) => inner.seekForPrev(target),
      next: () => inner.next(),
      prev: () => inner.prev(),
      close: () => {
        assert.equal(closed, false, "a cursor was closed twice");
        closed = true;
        tracker.open--;
        inner.close();
      },
    };
  }
}

const operationsArbitrary = fc.array(operationArbitrary, { minLength: 1, maxLength: 60 });

describe("ArrayIterator", () => {
  it("follows the contract (model: the array itself)", () => {
    fc.assert(
      fc.property(sourceArbitrary(0), operationsArbitrary, (entries, operations) => {
        checkAgainstModel(new ArrayIterator(entries), entries, operations);
      }),
      { numRuns: 500 },
    );
  });

  it("rejects entries out of order, and a second close", () => {
    const a = { key: bytes("a"), seq: 1, kind: ValueKind.Put, value: bytes("") };
    const b = { key: bytes("b"), seq: 1, kind: ValueKind.Put, value: bytes("") };
    assert.throws(() => new ArrayIterator([b, a]), RangeError);
    assert.throws(() => new ArrayIterator([a, a]), RangeError);
    const iterator = new ArrayIterator([a, b]);
    iterator.close();
    assert.equal(iterator.valid(), false);
    assert.throws(() => iterator.close(), TypeError);
    assert.throws(() => iterator.seekToFirst(), TypeError);
  });
});

describe("MergingIterator", () => {
  for (const [mode, linearScanChildrenMax] of [
    ["heap", 0],
    ["linear scan", Infinity],
    ["default", undefined],
  ] as const) {
    it(`matches the merged model in both directions (${mode})`, () => {
      const sources = fc.integer({ min: 0, max: 7 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, tag) => sourceArbitrary(tag))));
      fc.assert(
        fc.property(sources, operationsArbitrary, (children, operations) => {
          const tracker = new Tracker();
          const merging = new MergingIterator(
            children.map((entries) => tracker.wrap(entries)),
            linearScanChildrenMax === undefined ? {} : { linearScanChildrenMax },
          );
          checkAgainstModel(merging, mergedModel(children), operations);
          merging.close();
          assert.equal(tracker.open, 0, "close() closes every child");
        }),
        { numRuns: 400 },
      );
    });
  }

  it("full scans forward and backward yield every entry once, duplicates across children included", () => {
    fc.assert(
      fc.property(fc.array(sourceArbitrary(0), { maxLength: 6 }), (raw) => {
        // The same entries in several children (a memtable and the table it was flushed to).
        const children = raw.map((entries, tag) => entries.map((entry) => ({ ...entry, value: Uint8Array.from([tag]) })));
        const model = mergedModel(children).map(describeEntry);
        const merging = new MergingIterator(children.map((entries) => new ArrayIterator(entries)));
        const forward: string[] = [];
        for (merging.seekToFirst(); merging.valid(); merging.next()) forward.push(describeEntry({ key: merging.key(), seq: merging.seq(), kind: merging.kind(), value: merging.value() }));
        assert.deepEqual(forward, model);
        const backward: string[] = [];
        for (merging.seekToLast(); merging.valid(); merging.prev()) backward.push(describeEntry({ key: merging.key(), seq: merging.seq(), kind: merging.kind(), value: merging.value() }));
        assert.deepEqual(backward, model.reverse());
        merging.close();
      }),
      { numRuns: 300 },
    );
  });

  it("directionSwitchAtEqualKeysAcrossChildren: next after prev and prev after next on a tie", () => {
    const entry = (key: string, seq: number, tag: number): InternalEntry => ({ key: bytes(key), seq, kind: ValueKind.Put, value: Uint8Array.from([tag]) });
    const children = [
      [entry("a", 5, 0), entry("b", 5, 0), entry("c", 5, 0)],
      [entry("b", 5, 1), entry("b", 4, 1)],
      [entry("a", 5, 2), entry("c", 9, 2)],
    ];
    const merging = new MergingIterator(children.map((entries) => new ArrayIterator(entries)), { linearScanChildrenMax: 0 });
    const model = mergedModel(children);
    checkAgainstModel(merging, model, [
      { type: "seek", key: bytes("b"), seq: undefined },
      { type: "prev" },
      { type: "next" },
      { type: "next" },
      { type: "prev" },
      { type: "prev" },
      { type: "next" },
      { type: "next" },
      { type: "next" },
      { type: "prev" },
      { type: "next" },
      { type: "next" },
      { type: "next" },
    ]);
    merging.close();
  });

  it("closes every child even when one throws, and rethrows the first error", () => {
    const tracker = new Tracker();
    const failing: InternalIterator = { ...tracker.wrap([]), close: () => { throw new Error("boom"); } };
    const merging = new MergingIterator([tracker.wrap([]), failing, tracker.wrap([])]);
    assert.throws(() => merging.close(), /boom/);
    assert.equal(tracker.open, 1, "only the failing child stays open");
    assert.throws(() => merging.close(), TypeError);
  });

  it("an empty merge is never valid; REQUIRES valid() is checked", () => {
    const merging = new MergingIterator([]);
    merging.seekToFirst();
    assert.equal(merging.valid(), false);
    merging.seekToLast();
    assert.equal(merging.valid(), false);
    assert.throws(() => merging.next(), TypeError);
    assert.throws(() => merging.key(), TypeError);
    merging.close();
    assert.throws(() => merging.seek(bytes("a")), TypeError);
  });
});

/** Splits sorted `entries` into consecutive non-empty tables at the given cut points. */
function splitIntoTables(entries: readonly InternalEntry[], cuts: readonly number[]): { metas: TableMeta[]; contents: Map<number, InternalEntry[]> } {
  const points = [...new Set(cuts.map((cut) => cut % Math.max(entries.length, 1)))].filter((cut) => cut > 0).sort((a, b) => a - b);
  const bounds = [0, ...points, entries.length];
  const metas: TableMeta[] = [];
  const contents = new Map<number, InternalEntry[]>();
  for (let index = 0; index + 1 < bounds.length; index++) {
    const slice = entries.slice(bounds[index], bounds[index + 1]);
    if (slice.length === 0) continue;
    const fileNumber = 100 + index;
    const first = slice[0]!;
    const last = slice[slice.length - 1]!;
    metas.push({
      fileNumber,
      fileBytes: slice.length,
      smallestKey: first.key,
      smallestSeq: first.seq,
      largestKey: last.key,
      largestSeq: last.seq,
      entryCount: slice.length,
      deleteCount: slice.filter((entry) => entry.kind === ValueKind.Delete).length,
      minSeq: Math.min(...slice.map((entry) => entry.seq)),
      maxSeq: Math.max(...slice.map((entry) => entry.seq)),
    });
    contents.set(fileNumber, slice);
  }
  return { metas, contents };
}

describe("LevelIterator", () => {
  it("matches the concatenated tables, opening at most one table at a time", () => {
    fc.assert(
      fc.property(sourceArbitrary(0), fc.array(fc.nat(), { maxLength: 8 }), operationsArbitrary, (entries, cuts, operations) => {
        const { metas, contents } = splitIntoTables(entries, cuts);
        const tracker = new Tracker();
        const level = new LevelIterator(metas, (meta) => {
          assert.ok(tracker.open === 0, "the previous table is closed before the next one opens");
          return tracker.wrap(contents.get(meta.fileNumber)!);
        });
        assert.equal(tracker.opened, 0, "the constructor opens nothing");
        checkAgainstModel(level, entries, operations);
        assert.ok(tracker.open <= 1);
        level.close();
        assert.equal(tracker.open, 0);
        assert.throws(() => level.close(), TypeError);
      }),
      { numRuns: 500 },
    );
  });

  it("as a child of a MergingIterator (the engine's read path), in both directions", () => {
    fc.assert(
      fc.property(sourceArbitrary(0), sourceArbitrary(1), fc.array(fc.nat(), { maxLength: 8 }), operationsArbitrary, (memtable, levelEntries, cuts, operations) => {
        const { metas, contents } = splitIntoTables(levelEntries, cuts);
        const merging = new MergingIterator([new ArrayIterator(memtable), new LevelIterator(metas, (meta) => new ArrayIterator(contents.get(meta.fileNumber)!))]);
        checkAgainstModel(merging, mergedModel([memtable, levelEntries]), operations);
        merging.close();
      }),
      { numRuns: 300 },
    );
  });

  it("versionsStraddlingTwoTables: seek and seekForPrev find the right table", () => {
    const entry = (key: string, seq: number): InternalEntry => ({ key: bytes(key), seq, kind: ValueKind.Put, value: bytes(`${key}${seq}`) });
    const entries = [entry("a", 1), entry("k", 9), entry("k", 7), entry("k", 5), entry("k", 3), entry("z", 1)];
    const { metas, contents } = splitIntoTables(entries, [3]);
    assert.equal(metas.length, 2);
    const level = new LevelIterator(metas, (meta) => new ArrayIterator(contents.get(meta.fileNumber)!));
    level.seek(bytes("k"), 4);
    assert.equal(level.seq(), 3);
    level.seek(bytes("k"), 6);
    assert.equal(level.seq(), 5);
    level.seekForPrev(bytes("k"));
    assert.equal(level.seq(), 3, "the oldest version of k, in the second table");
    level.prev();
    level.prev();
    assert.equal(level.seq(), 7);
    level.close();
  });

  it("skips a table that turns out empty (loose metadata) in both directions", () => {
    const entry = (key: string): InternalEntry => ({ key: bytes(key), seq: 1, kind: ValueKind.Put, value: bytes(key) });
    const meta = (fileNumber: number, smallest: string, largest: string): TableMeta => ({
      fileNumber, fileBytes: 1, smallestKey: bytes(smallest), smallestSeq: 1, largestKey: bytes(largest), largestSeq: 1, entryCount: 1, deleteCount: 0, minSeq: 1, maxSeq: 1,
    });
    const contents = new Map<number, InternalEntry[]>([[1, [entry("a")]], [2, []], [3, [entry("m")]]]);
    const level = new LevelIterator([meta(1, "a", "b"), meta(2, "c", "d"), meta(3, "e", "m")], (table) => new ArrayIterator(contents.get(table.fileNumber)!));
    const forward: string[] = [];
    for (level.seekToFirst(); level.valid(); level.next()) forward.push(new TextDecoder().decode(level.key()));
    assert.deepEqual(forward, ["a", "m"]);
    level.seek(bytes("c"));
    assert.equal(new TextDecoder().decode(level.key()), "m");
    level.seekForPrev(bytes("d"));
    assert.equal(new TextDecoder().decode(level.key()), "a");
    level.seekForPrev(bytes("f"));
    assert.equal(new TextDecoder().decode(level.key()), "a", "e..m opens, holds nothing <= f, so its neighbour answers");
    level.close();
  });

  it("rejects overlapping tables; an openTable failure leaves nothing open", () => {
    const meta = (fileNumber: number, smallest: string, largest: string): TableMeta => ({
      fileNumber, fileBytes: 1, smallestKey: bytes(smallest), smallestSeq: 1, largestKey: bytes(largest), largestSeq: 1, entryCount: 1, deleteCount: 0, minSeq: 1, maxSeq: 1,
    });
    assert.throws(() => new LevelIterator([meta(1, "a", "c"), meta(2, "b", "d")], () => new ArrayIterator([])), RangeError);
    const level = new LevelIterator([meta(1, "a", "c")], () => {
      throw new Error("cannot open");
    });
    assert.throws(() => level.seekToFirst(), /cannot open/);
    assert.equal(level.valid(), false);
    level.close();
  });
});
