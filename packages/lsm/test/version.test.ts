import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode, mkdirDurable, readFile } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { decodeEdit, encodeEdit, type VersionEdit } from "../src/version/edit.ts";
import { VersionSet } from "../src/version/version-set.ts";
import type { TableMeta } from "../src/types.ts";

const bytes = fc.uint8Array({ maxLength: 20 });
const tableArbitrary: fc.Arbitrary<TableMeta> = fc.record({
  fileNumber: fc.nat(),
  fileBytes: fc.nat(),
  smallestKey: bytes,
  smallestSeq: fc.nat(),
  largestKey: bytes,
  largestSeq: fc.nat(),
  entryCount: fc.nat(),
  deleteCount: fc.nat(),
  minSeq: fc.nat(),
  maxSeq: fc.nat(),
});
const editArbitrary: fc.Arbitrary<VersionEdit> = fc.record(
  {
    logLsn: fc.nat(),
    nextFileNumber: fc.nat(),
    lastSequence: fc.nat(),
    deletedTables: fc.array(fc.record({ level: fc.nat({ max: 6 }), fileNumber: fc.nat() }), { maxLength: 4 }),
    addedTables: fc.array(fc.record({ level: fc.nat({ max: 6 }), table: tableArbitrary }), { maxLength: 4 }),
    valueLogGarbage: fc.array(fc.record({ fileNumber: fc.nat(), bytes: fc.nat() }), { maxLength: 4 }),
    valueLogRemoved: fc.array(fc.nat(), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

function table(fileNumber: number, smallest: string, largest: string): TableMeta {
  const encode = (text: string) => new TextEncoder().encode(text);
  return { fileNumber, fileBytes: 100, smallestKey: encode(smallest), smallestSeq: 1, largestKey: encode(largest), largestSeq: 1, entryCount: 2, deleteCount: 0, minSeq: 1, maxSeq: 2 };
}

describe("version edits", () => {
  it("round-trip", () => {
    fc.assert(
      fc.property(editArbitrary, (edit) => {
        const decoded = decodeEdit(encodeEdit(edit), "m");
        const normal = (value: VersionEdit) => JSON.parse(JSON.stringify(value, (_key, field) => (field instanceof Uint8Array ? [...field] : field)));
        const expected = normal(edit);
        if (expected.deletedTables?.length === 0) delete expected.deletedTables;
        if (expected.addedTables?.length === 0) delete expected.addedTables;
        if (expected.valueLogGarbage?.length === 0) delete expected.valueLogGarbage;
        if (expected.valueLogRemoved?.length === 0) delete expected.valueLogRemoved;
        assert.deepEqual(normal(decoded), expected);
      }),
      { numRuns: 300 },
    );
  });

  it("hostile bytes decode or throw CorruptionError; unknown optional tags are skipped", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (input) => {
        try {
          decodeEdit(Uint8Array.from([1, ...input]), "m");
        } catch (error) {
          assert.ok(AuraError.isInstance(error) && error.code === ErrorCode.Corruption, String(error));
        }
      }),
      { numRuns: 2000 },
    );
    const withOptional = Uint8Array.from([...encodeEdit({ logLsn: 5 }), 70, 3, 9, 9, 9]);
    assert.deepEqual(decodeEdit(withOptional, "m"), { logLsn: 5 });
    assert.throws(() => decodeEdit(Uint8Array.from([1, 40, 0]), "m"), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.Corruption);
  });
});

describe("VersionSet", () => {
  it("records edits durably and recovers them; rolls the manifest; reports obsolete tables", async () => {
    const fs = new MemFs();
    await mkdirDurable(fs, "/db");
    const obsolete: number[] = [];
    const set = await VersionSet.open(fs, "/db", { manifestBytesMax: 300, onObsolete: (numbers) => obsolete.push(...numbers) });
    const first = set.newFileNumber();
    const second = set.newFileNumber();
    await set.logAndApply({ addedTables: [{ level: 0, table: table(first, "a", "m") }], logLsn: 10, lastSequence: 50 });
    const pinned = set.acquire();
    await set.logAndApply({ addedTables: [{ level: 1, table: table(second, "b", "z") }], deletedTables: [{ level: 0, fileNumber: first }] });
    assert.deepEqual(obsolete, [], "a pinned version keeps its tables");
    set.release(pinned);
    assert.deepEqual(obsolete, [first]);
    for (let index = 0; index < 20; index++) await set.logAndApply({ logLsn: 11 + index }); // forces manifest rolls
    await set.close();
    const manifests = (await fs.list("/db")).filter((name) => name.startsWith("MANIFEST-"));
    assert.equal(manifests.length, 1, `one live manifest: ${manifests.join(", ")}`);

    const image = fs.crash({ mode: "synced-only", seed: 1 });
    const recovered = await VersionSet.open(image, "/db");
    assert.deepEqual(recovered.current.levels[1]!.map((meta) => meta.fileNumber), [second]);
    assert.equal(recovered.current.levels[0]!.length, 0);
    assert.equal(recovered.logLsn, 30);
    assert.equal(recovered.lastSequence, 50);
    assert.ok(recovered.newFileNumber() > second);
    await recovered.close();
  });

  it("keeps value-log garbage totals across edits, manifest rolls and reopen", async () => {
    const fs = new MemFs();
    await mkdirDurable(fs, "/db");
    const set = await VersionSet.open(fs, "/db", { manifestBytesMax: 200 });
    await set.logAndApply({ valueLogGarbage: [{ fileNumber: 7, bytes: 100 }, { fileNumber: 8, bytes: 5 }] });
    for (let index = 0; index < 10; index++) await set.logAndApply({ logLsn: 2 + index, valueLogGarbage: [{ fileNumber: 7, bytes: 10 }] });
    await set.logAndApply({ valueLogRemoved: [8] });
    assert.deepEqual([...set.valueLogGarbage], [[7, 200]]);
    await set.close();
    const recovered = await VersionSet.open(fs.crash({ mode: "synced-only", seed: 2 }), "/db");
    assert.deepEqual([...recovered.valueLogGarbage], [[7, 200]]);
    await recovered.close();
  });

  it("a damaged CURRENT or manifest is a CorruptionError, never a silent empty database", async () => {
    const fs = new MemFs();
    await mkdirDurable(fs, "/db");
    const set = await VersionSet.open(fs, "/db");
    await set.logAndApply({ addedTables: [{ level: 1, table: table(set.newFileNumber(), "a", "b") }] });
    await set.close();
    const current = await readFile(fs, "/db/CURRENT");
    const isCorruption = (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.Corruption;
    fs.tamper("/db/CURRENT", (content) => {
      content[content.length - 2]! ^= 1;
      return content;
    });
    await assert.rejects(VersionSet.open(fs, "/db"), isCorruption);
    fs.tamper("/db/CURRENT", () => current);
    const manifest = (await fs.list("/db")).find((name) => name.startsWith("MANIFEST-"))!;
    fs.tamper(`/db/${manifest}`, (content) => {
      content[40]! ^= 0x20;
      return content;
    });
    await assert.rejects(VersionSet.open(fs, "/db"), isCorruption);
  });
});
