import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuraError, ErrorCode } from "@auradb/fs";
import { type CrashMode, MemFs } from "@auradb/fs/testing";
import { LogFile } from "../src/index.ts";
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
