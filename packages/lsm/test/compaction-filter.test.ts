/**
 * CompactionIterator: for every live snapshot and for "latest", what a reader sees (after the
 * user-iterator collapse) is the same before and after filtering, with deeper levels present or
 * not; the output is a strictly increasing subsequence of the input; counters and the
 * PutPointer hook account for every dropped entry.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CorruptionError } from "@auradb/fs";
import { compareBytes, compareInternal } from "../src/compare.ts";
import { CompactionIterator, type CompactionIteratorOptions } from "../src/compaction/filter.ts";
import { ArrayIterator } from "../src/iterators/array.ts";
import { MergingIterator } from "../src/iterators/merging.ts";
import { UserIterator } from "../src/iterators/user.ts";
import { type InternalEntry, type InternalIterator, SEQUENCE_MAX, ValueKind } from "../src/types.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

const keyArbitrary = fc.uint8Array({ minLength: 0, maxLength: 2, min: 0, max: 4 });
const kindArbitrary = fc.constantFrom<ValueKind>(ValueKind.Delete, ValueKind.Put, ValueKind.PutPointer);

function sorted(entries: readonly InternalEntry[]): InternalEntry[] {
  return entries.slice().sort((a, b) => compareInternal(a.key, a.seq, a.kind, b.key, b.seq, b.kind));
}

function describeEntry(entry: InternalEntry): string {
  return `${entry.key.join(",")}@${entry.seq}#${entry.kind}=${entry.value.join(",")}`;
}

/** Distinct (key, seq) entries with sequences in [low, high]. */
const entriesArbitrary = (low: number, high: number, maxLength: number) =>
  fc.array(fc.record({ key: keyArbitrary, seq: fc.integer({ min: low, max: high }), kind: kindArbitrary, value: fc.uint8Array({ maxLength: 2 }) }), { maxLength }).map((raw) => {
    const seen = new Set<string>();
    return sorted(
      raw.filter((entry) => {
        const identity = `${entry.key.join(",")}/${entry.seq}`;
        if (seen.has(identity)) return false;
        seen.add(identity);
        return true;
      }),
    );
  });

/** The user-visible state at `seq` of the union of sorted runs: "key=kind:value" lines. */
function visibleState(runs: readonly (readonly InternalEntry[])[], seq: number): string[] {
  const iterator = new UserIterator(new MergingIterator(runs.map((entries) => new ArrayIterator(entries))), { seq });
  const out: string[] = [];
  for (; iterator.valid(); iterator.next()) out.push(`${iterator.key().join(",")}=${iterator.kind()}:${iterator.value().join(",")}`);
  iterator.close();
  return out;
}

function runFilter(input: readonly InternalEntry[], options: CompactionIteratorOptions): { output: InternalEntry[]; filter: CompactionIterator } {
  const source = new ArrayIterator(input);
  // As the engine does it: position the input, then read the filter right away.
  source.seekToFirst();
  const filter = new CompactionIterator(source, options);
  const output: InternalEntry[] = [];
  for (; filter.valid(); filter.next()) output.push({ key: filter.key().slice(), seq: filter.seq(), kind: filter.kind(), value: filter.value().slice() });
  return { output, filter };
}

const scenarioArbitrary = fc.record({
  // The compaction's input: sequences 20..40. Deeper levels hold older data: 1..19.
  input: entriesArbitrary(20, 40, 40),
  below: fc.oneof(fc.constant([] as InternalEntry[]), entriesArbitrary(1, 19, 15)),
  snapshots: fc.array(fc.integer({ min: 0, max: 45 }), { maxLength: 4 }).map((list) => list.sort((a, b) => a - b)),
  // How keyMayExistBelow answers for keys that are NOT below: "maybe" is always allowed.
  spuriousMaybe: fc.boolean(),
  useBottommost: fc.boolean(),
});

describe("CompactionIterator", () => {
  it("keeps what every snapshot and the latest reader see; output is a strictly increasing subsequence", () => {
    fc.assert(
      fc.property(scenarioArbitrary, ({ input, below, snapshots, spuriousMaybe, useBottommost }) => {
        const belowKeys = new Set(below.map((entry) => entry.key.join(",")));
        const options: CompactionIteratorOptions =
          below.length === 0 && useBottommost
            ? { snapshots, bottommost: true }
            : { snapshots, keyMayExistBelow: (key) => belowKeys.has(key.join(",")) || spuriousMaybe };
        const dropped: string[] = [];
        const { output, filter } = runFilter(input, { ...options, onDropPointer: (key, seq, value) => dropped.push(describeEntry({ key, seq, kind: ValueKind.PutPointer, value })) });

        for (const seq of [...snapshots, SEQUENCE_MAX]) {
          assert.deepEqual(visibleState([output, below], seq), visibleState([input, below], seq), `reader at ${seq}`);
        }
        for (let index = 1; index < output.length; index++) {
          const previous = output[index - 1]!;
          const entry = output[index]!;
          assert.ok(compareInternal(previous.key, previous.seq, previous.kind, entry.key, entry.seq, entry.kind) < 0, "strictly increasing");
        }
        const inputNames = input.map(describeEntry);
        const outputNames = output.map(describeEntry);
        let cursor = 0;
        for (const name of outputNames) {
          cursor = inputNames.indexOf(name, cursor) + 1;
          assert.ok(cursor > 0, `${name} is an input entry, in order`);
        }
        const counters = filter.counters;
        assert.equal(counters.entriesIn, input.length);
        assert.equal(counters.entriesOut, output.length);
        assert.equal(counters.entriesIn, counters.entriesOut + counters.droppedShadowed + counters.droppedTombstones);
        const droppedPointers = input.filter((entry) => entry.kind === ValueKind.PutPointer && !outputNames.includes(describeEntry(entry))).map(describeEntry);
        assert.deepEqual(dropped, droppedPointers, "every dropped pointer is reported once");
        filter.close();
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps at most one version per key and snapshot stripe", () => {
    fc.assert(
      fc.property(scenarioArbitrary, ({ input, snapshots }) => {
        const { output } = runFilter(input, { snapshots });
        const stripeOf = (seq: number) => snapshots.filter((snapshot) => snapshot < seq).length;
        const seen = new Set<string>();
        for (const entry of output) {
          const identity = `${entry.key.join(",")}/${stripeOf(entry.seq)}`;
          assert.ok(!seen.has(identity), `two versions of ${identity}`);
          seen.add(identity);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("without snapshots at the bottom: one live version per key, no tombstones", () => {
    fc.assert(
      fc.property(entriesArbitrary(1, 30, 40), (input) => {
        const { output } = runFilter(input, { bottommost: true });
        assert.ok(output.every((entry) => entry.kind !== ValueKind.Delete));
        assert.equal(new Set(output.map((entry) => entry.key.join(","))).size, output.length);
        assert.deepEqual(output.map(describeEntry), visibleLatest(input));
      }),
      { numRuns: 500 },
    );
  });

  it("tombstoneKeptForSnapshot: a deletion newer than a snapshot stays; older versions it hides stay for the snapshot", () => {
    const entry = (seq: number, kind: ValueKind): InternalEntry => ({ key: bytes("k"), seq, kind, value: bytes(String(seq)) });
    const input = [entry(9, ValueKind.Delete), entry(5, ValueKind.Put), entry(3, ValueKind.Put)];
    assert.deepEqual(runFilter(input, { snapshots: [6], bottommost: true }).output.map((item) => item.seq), [9, 5]);
    assert.deepEqual(runFilter(input, { snapshots: [], bottommost: true }).output.map((item) => item.seq), []);
    assert.deepEqual(runFilter(input, { snapshots: [], bottommost: false }).output.map((item) => item.seq), [9], "no keyMayExistBelow: keep the tombstone");
    assert.deepEqual(runFilter(input, { keyMayExistBelow: () => true }).output.map((item) => item.seq), [9]);
    assert.deepEqual(runFilter(input, { keyMayExistBelow: () => false }).output.map((item) => item.seq), []);
    const { filter } = runFilter(input, { snapshots: [6], bottommost: true });
    assert.deepEqual(filter.counters, { entriesIn: 3, entriesOut: 2, droppedShadowed: 1, droppedTombstones: 0 });
  });

  it("duplicateOfOneWriteIsNoGarbage: the same (key, seq) twice is dropped without a pointer report", () => {
    const pointer: InternalEntry = { key: bytes("k"), seq: 7, kind: ValueKind.PutPointer, value: bytes("p") };
    const reported: number[] = [];
    const merged = new MergingIterator([new ArrayIterator([pointer]), new ArrayIterator([pointer])]);
    merged.seekToFirst();
    const filter = new CompactionIterator(merged, { onDropPointer: (_key, seq) => reported.push(seq) });
    const seqs: number[] = [];
    for (; filter.valid(); filter.next()) seqs.push(filter.seq());
    assert.deepEqual(seqs, [7]);
    assert.deepEqual(reported, []);
    filter.close();
  });

  it("seekToFirst and seek restart the decisions; reverse moves throw", () => {
    fc.assert(
      fc.property(entriesArbitrary(1, 30, 40), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 3 }), keyArbitrary, fc.integer({ min: 0, max: 31 }), (input, rawSnapshots, target, seq) => {
        const snapshots = rawSnapshots.sort((a, b) => a - b);
        const full = runFilter(input, { snapshots }).output.map(describeEntry);
        const filter = new CompactionIterator(new ArrayIterator(input), { snapshots });
        assert.equal(filter.valid(), false, "an unpositioned input gives nothing until seekToFirst");
        filter.seekToFirst();
        const again: string[] = [];
        for (; filter.valid(); filter.next()) again.push(describeEntry({ key: filter.key(), seq: filter.seq(), kind: filter.kind(), value: filter.value() }));
        assert.deepEqual(again, full);
        filter.seek(target, seq);
        const fromTarget: string[] = [];
        for (; filter.valid(); filter.next()) fromTarget.push(describeEntry({ key: filter.key(), seq: filter.seq(), kind: filter.kind(), value: filter.value() }));
        const expected = runFilter(input, { snapshots }).output.filter((entry) => {
          const byKey = compareBytes(entry.key, target);
          return byKey > 0 || (byKey === 0 && entry.seq <= seq);
        });
        assert.deepEqual(fromTarget, expected.map(describeEntry));
        assert.throws(() => filter.prev(), TypeError);
        assert.throws(() => filter.seekToLast(), TypeError);
        assert.throws(() => filter.seekForPrev(target), TypeError);
        filter.close();
        assert.throws(() => filter.close(), TypeError);
      }),
      { numRuns: 300 },
    );
  });

  it("inputOutOfOrderIsCorruption, and the constructor closes the input when it throws", () => {
    const entries: InternalEntry[] = [
      { key: bytes("b"), seq: 1, kind: ValueKind.Put, value: bytes("") },
      { key: bytes("a"), seq: 1, kind: ValueKind.Put, value: bytes("") },
    ];
    const versions: InternalEntry[] = [
      { key: bytes("a"), seq: 1, kind: ValueKind.Put, value: bytes("") },
      { key: bytes("a"), seq: 2, kind: ValueKind.Put, value: bytes("") },
    ];
    for (const list of [entries, versions]) {
      const unchecked = uncheckedIterator(list);
      const filter = new CompactionIterator(unchecked.iterator);
      assert.throws(() => filter.next(), (error: unknown) => error instanceof CorruptionError);
      filter.close();
      assert.equal(unchecked.closed(), true);
    }
    // Here the first entry is a droppable tombstone: the constructor meets the disorder itself.
    const hidden = uncheckedIterator([{ key: bytes("a"), seq: 1, kind: ValueKind.Delete, value: bytes("") }, ...versions.slice(1)]);
    assert.throws(() => new CompactionIterator(hidden.iterator, { bottommost: true }), (error: unknown) => error instanceof CorruptionError);
    assert.equal(hidden.closed(), true, "the constructor closes the input it will not hand back");
    assert.throws(() => new CompactionIterator(new ArrayIterator([]), { snapshots: [5, 3] }), RangeError);
    assert.throws(() => new CompactionIterator(new ArrayIterator([]), { snapshots: [-1] }), RangeError);
  });
});

/** The newest version of each key if it is not a tombstone, as entries (bottommost, no snapshot). */
function visibleLatest(input: readonly InternalEntry[]): string[] {
  const out: string[] = [];
  let previous: Uint8Array | null = null;
  for (const entry of input) {
    if (previous !== null && compareBytes(previous, entry.key) === 0) continue;
    previous = entry.key;
    if (entry.kind !== ValueKind.Delete) out.push(describeEntry(entry));
  }
  return out;
}

/** A cursor over `entries` in the given (possibly wrong) order, already on the first entry. */
function uncheckedIterator(entries: readonly InternalEntry[]): { iterator: InternalIterator; closed: () => boolean } {
  let index = 0;
  let closed = false;
  const at = () => entries[index]!;
  const iterator: InternalIterator = {
    valid: () => index < entries.length,
    key: () => at().key,
    seq: () => at().seq,
    kind: () => at().kind,
    value: () => at().value,
    seekToFirst: () => {
      index = 0;
    },
    seekToLast: () => {
      index = entries.length - 1;
    },
    seek: () => {
      index = 0;
    },
    seekForPrev: () => {
      index = entries.length - 1;
    },
    next: () => {
      index++;
    },
    prev: () => {
      index--;
    },
    close: () => {
      closed = true;
    },
  };
  return { iterator, closed: () => closed };
}
