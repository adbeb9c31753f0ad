import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode } from "@auradb/fs";
import { type CrashMode, MemFs } from "@auradb/fs/testing";
import { LogFile } from "../src/index.ts";
import { readFile as readFileBytes } from "@auradb/fs";
import { equalBytes, recordBytes } from "./helpers.ts";

const PATH = "/db/MANIFEST-000003";

describe("LogFile", () => {
  it("appends batches durably and reads them back", async () => {
    const fs = new MemFs();
    await fs.mkdir("/db");
    const log = await LogFile.create(fs, PATH, { id: 3, blockBytes: 256 });
    await log.append([recordBytes(0, 10), recordBytes(1, 600)]);
    await log.append([recordBytes(2, 0)]);
    await log.close();
    const { records, tornBytes } = await LogFile.read(fs, PATH, { id: 3 });
    assert.equal(tornBytes, 0);
    assert.deepEqual(records.map((record) => record.length), [10, 600, 0]);
    assert.ok(equalBytes(records[1]!, recordBytes(1, 600)));
    await assert.rejects(LogFile.create(fs, PATH, { id: 3 }), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.IO);
    await assert.rejects(LogFile.read(fs, PATH, { id: 4 }), (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.Corruption);
  });

  it("a flipped byte in any synced record is corruption, even with every later record in the same block", async () => {
    // The MANIFEST's shape: small records, each appended (and synced) on its own, all in block 0.
    // A damaged old record must not read as a torn tail that quietly drops the records after it.
    const fs = new MemFs();
    await fs.mkdir("/db");
    const log = await LogFile.create(fs, PATH, { id: 3 });
    for (let index = 0; index < 6; index++) await log.append([recordBytes(index, 40 + index)]);
    await log.close();
    const clean = await readFileBytes(fs, PATH);
    let corrupt = 0;
    // Every byte of records 0..4 (the last record has nothing after it to vouch for it).
    const lastRecordStart = clean.length - (11 + 1 + 45);
    for (let at = 32; at < lastRecordStart; at++) {
      const damaged = clean.slice();
      damaged[at]! ^= 0x01;
      const image = new MemFs();
      await image.mkdir("/db");
      const file = await image.open(PATH, { create: true });
      await file.write(damaged, 0);
      await file.close();
      await assert.rejects(
        LogFile.read(image, PATH, { id: 3 }),
        (error: unknown) => AuraError.isInstance(error) && error.code === ErrorCode.Corruption,
        `byte ${at}`,
      );
      corrupt++;
    }
    assert.ok(corrupt > 200);
  });

  it("property: after a crash at any point, the records read are a prefix holding every appended batch", async () => {
    const modes: CrashMode[] = ["synced-only", "per-file-prefix", "subset", "trash", "process"];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 8 }),
        fc.constantFrom(...modes),
        fc.nat(),
        async (batches, crashAfter, mode, seed) => {
          const fs = new MemFs();
          await fs.mkdir("/db");
          await fs.syncDir("/");
          const log = await LogFile.create(fs, PATH, { id: 3, blockBytes: 256 });
          let appended = 0;
          let index = 0;
          const sizes = batches.flat();
          for (const batch of batches.slice(0, crashAfter)) {
            await log.append(batch.map((size) => recordBytes(index++, size)));
            appended = index;
          }
          // An append in flight when the power goes.
          const inflight = batches[crashAfter];
          if (inflight !== undefined) void log.append(inflight.map((size) => recordBytes(index++, size))).catch(() => {});
          const image = fs.crash({ mode, seed });
          const { records } = await LogFile.read(image, PATH, { id: 3 });
          assert.ok(records.length >= appended && records.length <= index);
          records.forEach((record, position) => assert.ok(equalBytes(record, recordBytes(position, sizes[position]!)), `record ${position}`));
        },
      ),
      { numRuns: 200 },
    );
  });
});
