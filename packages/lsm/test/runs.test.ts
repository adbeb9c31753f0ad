/**
 * Sorted runs per level: the manifest tag that records a table's run, the version's grouping of a
 * level into runs (newest first, each sorted and disjoint), and their persistence across reopen.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuraError, ErrorCode, mkdirDurable } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { decodeEdit, EditTag, encodeEdit } from "../src/version/edit.ts";
import { Version, VersionSet } from "../src/version/version-set.ts";
import type { TableMeta } from "../src/types.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function table(fileNumber: number, smallest: string, largest: string, run?: number): TableMeta {
  const meta: TableMeta = { fileNumber, fileBytes: 100, smallestKey: encode(smallest), smallestSeq: 1, largestKey: encode(largest), largestSeq: 1, entryCount: 2, deleteCount: 0, minSeq: 1, maxSeq: 2 };
  return run === undefined ? meta : { ...meta, run };
}

const isCorruption = (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.Corruption;

describe("run tag in version edits", () => {
  it("round-trips a table's run below L0; run 0 and L0 tables carry no tag", () => {
    const edit = {
      addedTables: [
        { level: 2, table: table(7, "a", "c", 12) },
        { level: 2, table: table(8, "b", "d") },
        { level: 1, table: table(9, "e", "f", 0) },
      ],
    };
    const decoded = decodeEdit(encodeEdit(edit), "m");
    assert.deepEqual(
      decoded.addedTables!.map(({ level, table: meta }) => [level, meta.fileNumber, meta.run]),
      [
        [2, 7, 12],
        [2, 8, undefined],
        [1, 9, undefined],
      ],
    );
    const plain = encodeEdit({ addedTables: [{ level: 1, table: table(9, "e", "f", 0) }, { level: 0, table: table(10, "a", "z", 5) }] });
    assert.deepEqual(plain, encodeEdit({ addedTables: [{ level: 1, table: table(9, "e", "f") }, { level: 0, table: table(10, "a", "z") }] }), "no tag written for run 0 or L0");
  });

  it("a run given for a table the edit does not add is a CorruptionError", () => {
    const bytes = Uint8Array.from([1, EditTag.TableRun, 4, 3]);
    assert.throws(() => decodeEdit(bytes, "m"), isCorruption);
  });
});

describe("Version runs", () => {
  it("groups a level into runs, newest (highest run number) first, each sorted", () => {
    const version = new Version([
      [table(20, "a", "z"), table(21, "c", "d")],
      [table(3, "a", "c"), table(4, "d", "f")],
      [table(5, "a", "m", 9), table(6, "n", "z", 9), table(7, "b", "k", 15), table(8, "a", "z")],
    ]);
    assert.deepEqual(
      version.runs(0).map((run) => run.tables.map((meta) => meta.fileNumber)),
      [[20], [21]],
      "L0 keeps the order it is given (the version set sorts it newest first)",
    );
    assert.deepEqual(version.runs(1).map((run) => [run.id, run.tables.map((meta) => meta.fileNumber)]), [[0, [3, 4]]]);
    assert.deepEqual(
      version.runs(2).map((run) => [run.id, run.tables.map((meta) => meta.fileNumber)]),
      [
        [15, [7]],
        [9, [5, 6]],
        [0, [8]],
      ],
    );
    assert.equal(version.oneRunPerLevel(), false);
    assert.equal(version.largestRun(), 15);
    assert.deepEqual(version.runs(5), []);
    assert.equal(new Version([[], [table(3, "a", "c"), table(4, "d", "f")]]).oneRunPerLevel(), true);
  });

  it("refuses a run whose tables overlap", () => {
    assert.throws(() => new Version([[], [table(3, "a", "f"), table(4, "d", "k")]]), isCorruption);
    assert.throws(() => new Version([[], [], [table(3, "a", "f", 2), table(4, "d", "k", 2)]]), isCorruption);
  });
});

describe("VersionSet with runs", () => {
  it("keeps run membership across edits, manifest rolls and reopen; new file numbers exceed every run", async () => {
    const fs = new MemFs();
    await mkdirDurable(fs, "/db");
    const set = await VersionSet.open(fs, "/db", { manifestBytesMax: 200 });
    const base = set.newFileNumber();
    await set.logAndApply({ addedTables: [{ level: 1, table: table(base, "a", "z") }] });
    const run = set.newFileNumber();
    const newer = set.newFileNumber();
    await set.logAndApply({ addedTables: [{ level: 1, table: table(newer, "c", "k", run) }] });
    for (let index = 0; index < 10; index++) await set.logAndApply({ logLsn: 2 + index }); // rolls the manifest
    assert.deepEqual(set.current.runs(1).map((entry) => entry.id), [run, 0]);
    await set.close();
    const recovered = await VersionSet.open(fs.crash({ mode: "synced-only", seed: 3 }), "/db");
    assert.deepEqual(
      recovered.current.runs(1).map((entry) => [entry.id, entry.tables.map((meta) => meta.fileNumber)]),
      [
        [run, [newer]],
        [0, [base]],
      ],
    );
    assert.ok(recovered.newFileNumber() > newer);
    await recovered.close();
  });
});
