import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isIOError } from "../src/errors.ts";
import { readAt, readAtSync, readFile as readWholeFile, writeAll, writeAllSync, writeFileAtomic } from "../src/io.ts";
import { nodeFs } from "../src/node.ts";
import type { File } from "../src/types.ts";

/**
 * A file in memory that reads and writes at most `chunkBytes` per call (0: writes make no
 * progress), recording each call, to drive the loops in io.ts.
 */
class ChunkyFile implements File {
  readonly path = "/memory/chunky";
  bytes = new Uint8Array(0);
  readonly calls: Array<{ op: "read" | "write"; position: number; length: number }> = [];
  readonly #chunkBytes: number;

  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
  }

  readSync(buffer: Uint8Array, position: number): number {
    const length = Math.max(0, Math.min(buffer.length, this.#chunkBytes, this.bytes.length - position));
    this.calls.push({ op: "read", position, length: buffer.length });
    buffer.set(this.bytes.subarray(position, position + length));
    return length;
  }

  writeSync(data: Uint8Array, position: number): number {
    const length = Math.min(data.length, this.#chunkBytes);
    this.calls.push({ op: "write", position, length: data.length });
    if (position + length > this.bytes.length) {
      const grown = new Uint8Array(position + length);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(data.subarray(0, length), position);
    return length;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    return this.readSync(buffer, position);
  }
  async write(data: Uint8Array, position: number): Promise<number> {
    return this.writeSync(data, position);
  }
  async sync(): Promise<void> {}
  async datasync(): Promise<void> {}
  async truncate(size: number): Promise<void> {
    this.bytes = this.bytes.slice(0, size);
  }
  async size(): Promise<number> {
    return this.bytes.length;
  }
  async close(): Promise<void> {}
}

const data = Uint8Array.from({ length: 10 }, (_, index) => index + 1);

describe("writeAll", () => {
  it("loops over short writes until every byte is written at the right position", async () => {
    const file = new ChunkyFile(3);
    await writeAll(file, data, 5);
    assert.deepEqual([...file.bytes], [0, 0, 0, 0, 0, ...data]);
    assert.deepEqual(
      file.calls.map((call) => [call.position, call.length]),
      [[5, 10], [8, 7], [11, 4], [14, 1]],
    );
  });

  it("a write that makes no progress is an IOError, not an endless loop", async () => {
    const file = new ChunkyFile(0);
    await assert.rejects(writeAll(file, data, 7), (error: unknown) => {
      assert.ok(isIOError(error));
      assert.equal(error.op, "write");
      assert.equal(error.path, file.path);
      assert.equal(error.offset, 7);
      return true;
    });
  });

  it("writeAllSync does the same without promises", () => {
    const file = new ChunkyFile(4);
    writeAllSync(file, data, 0);
    assert.deepEqual([...file.bytes], [...data]);
    assert.equal(file.calls.length, 3);
    assert.throws(() => writeAllSync(new ChunkyFile(0), data, 0), isIOError);
  });

  it("an empty write makes no call", async () => {
    const file = new ChunkyFile(3);
    await writeAll(file, new Uint8Array(0), 0);
    assert.equal(file.calls.length, 0);
  });
});

describe("readAt", () => {
  it("loops over short reads to fill the buffer", async () => {
    const file = new ChunkyFile(3);
    file.bytes = data.slice();
    assert.deepEqual([...(await readAt(file, 1, 8))], [...data.subarray(1, 9)]);
    assert.deepEqual([...readAtSync(file, 1, 8)], [...data.subarray(1, 9)]);
  });

  it("returns fewer bytes only at the end of the file", async () => {
    const file = new ChunkyFile(3);
    file.bytes = data.slice();
    assert.deepEqual([...(await readAt(file, 6, 100))], [7, 8, 9, 10]);
    assert.deepEqual([...readAtSync(file, 6, 100)], [7, 8, 9, 10]);
    assert.equal((await readAt(file, 10, 4)).length, 0);
  });
});

describe("writeFileAtomic and readFile on nodeFs", () => {
  it("creates, then replaces the file; no temporary file remains", async () => {
    const root = await mkdtemp(join(tmpdir(), "auradb-fs-io-"));
    try {
      const fs = nodeFs();
      const path = join(root, "CURRENT");
      await writeFileAtomic(fs, path, new TextEncoder().encode("MANIFEST-000001\n"));
      assert.equal(await readFile(path, "utf8"), "MANIFEST-000001\n");
      await writeFileAtomic(fs, path, new TextEncoder().encode("MANIFEST-000002\n"));
      assert.equal(new TextDecoder().decode(await readWholeFile(fs, path)), "MANIFEST-000002\n");
      assert.deepEqual(await readdir(root), ["CURRENT"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
