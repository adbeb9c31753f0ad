/**
 * The conformance suite of the `FileSystem` contract (`types.ts`): every adapter, `MemFs` and
 * `FaultFs` (with no faults) must pass it unchanged.
 *
 * ```ts
 * import { fsConformance } from "@auradb/fs/testing";
 * import { nodeFs } from "@auradb/fs/node";
 *
 * fsConformance({
 *   name: "nodeFs",
 *   factory: async () => {
 *     const root = await mkdtemp(join(tmpdir(), "auradb-"));
 *     return { fs: nodeFs(), root, cleanup: () => rm(root, { recursive: true, force: true }) };
 *   },
 * });
 * ```
 *
 * Written with `node:test` and `node:assert/strict` only, so the same suite runs under
 * `node --test`, `bun test` and `deno test`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuraError, ErrorCode, isIOError, isLocked, isNotFound } from "./errors.ts";
import { joinPath } from "./path.ts";
import type { File, FileSystem } from "./types.ts";

/** How `fsConformance` gets a file system to test. */
export interface ConformanceOptions {
  /** Names the suite in the report (`fsConformance: <name>`). */
  readonly name: string;
  /**
   * Called once per test. `root` must be an existing, empty directory that the test may fill;
   * `cleanup`, when given, runs after the test whatever its outcome.
   */
  readonly factory: () => Promise<{ fs: FileSystem; root: string; cleanup?: () => Promise<void> }>;
}

interface Context {
  readonly fs: FileSystem;
  readonly root: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** Reads the whole file as text (test helper: loops over short reads). */
async function readText(file: File): Promise<string> {
  const size = await file.size();
  const buffer = new Uint8Array(size);
  let done = 0;
  while (done < size) {
    const bytesRead = await file.read(buffer.subarray(done), done);
    assert.ok(bytesRead > 0, "read made no progress before the end of the file");
    done += bytesRead;
  }
  return decoder.decode(buffer);
}

/** Writes all of `data` at `position` (test helper: loops over short writes). */
async function writeFully(file: File, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const written = await file.write(data.subarray(done), position + done);
    assert.ok(written > 0, "write made no progress");
    done += written;
  }
}

async function writeNewFile(fs: FileSystem, path: string, content: string): Promise<void> {
  const file = await fs.open(path, { create: true, truncate: true });
  try {
    await writeFully(file, text(content), 0);
  } finally {
    await file.close();
  }
}

async function readNewFile(fs: FileSystem, path: string): Promise<string> {
  const file = await fs.open(path, { readOnly: true });
  try {
    return await readText(file);
  } finally {
    await file.close();
  }
}

/** An assertion for `assert.rejects`/`assert.throws`: an AuraError about `path` passing `check`. */
function auraError(path: string, check: (error: AuraError) => boolean, what: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(AuraError.isInstance(error), `expected an AuraError (${what}), got ${String(error)}`);
    assert.equal(error.path, path, `the ${what} must carry the path`);
    assert.ok(error.message.startsWith("auradb/"), `messages start with the package: ${error.message}`);
    assert.ok(check(error), `expected ${what}, got ${error.name} ${error.code}: ${error.message}`);
    return true;
  };
}

const notFound = (path: string): ((error: unknown) => boolean) => auraError(path, isNotFound, "NotFoundError");
const closed = (path: string): ((error: unknown) => boolean) =>
  auraError(path, (error) => error.code === ErrorCode.Closed, "ClosedError");
const exists = (path: string): ((error: unknown) => boolean) =>
  auraError(path, (error) => isIOError(error) && error.systemCode === "EEXIST", "IOError EEXIST");
/** A refused write to a readOnly file: adapters report the OS's `EBADF`; a `ReadOnlyError` is fine too. */
const refusedReadOnly = (path: string): ((error: unknown) => boolean) =>
  auraError(path, (error) => isIOError(error) || error.code === ErrorCode.ReadOnly, "IOError or ReadOnlyError");

/**
 * Registers the conformance suite (`describe("fsConformance: <name>")`) with `node:test`.
 * Each test calls `options.factory` for a fresh file system and directory.
 */
export function fsConformance(options: ConformanceOptions): void {
  const test = (name: string, body: (context: Context) => Promise<void>): void => {
    it(name, async () => {
      const { fs, root, cleanup } = await options.factory();
      try {
        await body({ fs, root });
      } finally {
        await cleanup?.();
      }
    });
  };

  describe(`fsConformance: ${options.name}`, () => {
    describe("capabilities", () => {
      test("name is a non-empty string and supports lists five booleans", async ({ fs }) => {
        assert.equal(typeof fs.name, "string");
        assert.ok(fs.name.length > 0);
        for (const key of ["positionalWrite", "datasync", "dirSync", "crossProcessLock", "syncIO"] as const) {
          assert.equal(typeof fs.supports[key], "boolean", `supports.${key}`);
        }
      });
    });

    describe("open", () => {
      test("a missing file is a NotFoundError carrying the path", async ({ fs, root }) => {
        const path = joinPath(root, "missing");
        await assert.rejects(fs.open(path), notFound(path));
        await assert.rejects(fs.open(path, { readOnly: true }), notFound(path));
        assert.equal(await fs.exists(path), false, "a failed open creates nothing");
      });

      test("a missing parent directory is a NotFoundError even with create", async ({ fs, root }) => {
        const path = joinPath(root, "no-such-dir", "file");
        await assert.rejects(fs.open(path, { create: true }), notFound(path));
      });

      test("create makes an empty file and keeps an existing one's content", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const created = await fs.open(path, { create: true });
        assert.equal(created.path, path);
        assert.equal(await created.size(), 0);
        await writeFully(created, text("kept"), 0);
        await created.close();
        const reopened = await fs.open(path, { create: true });
        assert.equal(await readText(reopened), "kept");
        await reopened.close();
      });

      test("create with exclusive fails with IOError EEXIST when the file exists", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const first = await fs.open(path, { create: true, exclusive: true });
        await first.close();
        await assert.rejects(fs.open(path, { create: true, exclusive: true }), exists(path));
      });

      test("truncate empties the file on open", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "some content");
        const file = await fs.open(path, { truncate: true });
        assert.equal(await file.size(), 0);
        await file.close();
        assert.equal((await fs.stat(path)).size, 0);
      });

      test("readOnly reads, and refuses write, truncate, sync and datasync", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "read me");
        const file = await fs.open(path, { readOnly: true });
        try {
          assert.equal(await readText(file), "read me");
          await assert.rejects(file.write(text("x"), 0), refusedReadOnly(path));
          await assert.rejects(file.truncate(0), refusedReadOnly(path));
          await assert.rejects(file.sync(), refusedReadOnly(path));
          await assert.rejects(file.datasync(), refusedReadOnly(path));
          if (fs.supports.syncIO) assert.throws(() => file.writeSync(text("x"), 0), refusedReadOnly(path));
        } finally {
          await file.close();
        }
        assert.equal(await readNewFile(fs, path), "read me", "nothing was changed");
      });
    });

    describe("read and write", () => {
      test("write at a position and read it back", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        await writeFully(file, text("hello world"), 0);
        await writeFully(file, text("WORLD"), 6);
        const buffer = new Uint8Array(11);
        assert.equal(await file.read(buffer, 0), 11);
        assert.equal(decoder.decode(buffer), "hello WORLD");
        const middle = new Uint8Array(3);
        assert.equal(await file.read(middle, 2), 3);
        assert.equal(decoder.decode(middle), "llo");
        await file.close();
      });

      test("a write past the end extends the file and the gap reads as zeros", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        await writeFully(file, new Uint8Array([1, 2]), 0);
        await writeFully(file, new Uint8Array([9, 9, 9]), 10);
        assert.equal(await file.size(), 13);
        const buffer = new Uint8Array(13).fill(0xff);
        assert.equal(await file.read(buffer, 0), 13);
        assert.deepEqual([...buffer], [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9]);
        await file.close();
      });

      test("a read at the end is short, at or past the end it reads nothing", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        await writeFully(file, text("0123456789"), 0);
        const buffer = new Uint8Array(8).fill(0xff);
        assert.equal(await file.read(buffer, 6), 4);
        assert.equal(decoder.decode(buffer.subarray(0, 4)), "6789");
        assert.deepEqual([...buffer.subarray(4)], [0xff, 0xff, 0xff, 0xff], "bytes past the read are untouched");
        assert.equal(await file.read(buffer, 10), 0);
        assert.equal(await file.read(buffer, 1000), 0);
        assert.equal(await file.read(new Uint8Array(0), 0), 0);
        await file.close();
      });

      test("subarrays are honoured on both sides (byteOffset is not ignored)", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        const source = text("..abc..");
        await writeFully(file, source.subarray(2, 5), 0);
        assert.equal(await file.size(), 3);
        const target = new Uint8Array(7).fill(0x2e);
        assert.equal(await file.read(target.subarray(3, 6), 0), 3);
        assert.equal(decoder.decode(target), "...abc.");
        await file.close();
      });

      test("1 MiB round-trips intact", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        const data = new Uint8Array(1 << 20);
        for (let index = 0; index < data.length; index++) data[index] = (index * 31 + (index >> 8)) & 0xff;
        await writeFully(file, data, 4096);
        assert.equal(await file.size(), 4096 + data.length);
        const back = new Uint8Array(data.length);
        let done = 0;
        while (done < back.length) {
          const bytesRead = await file.read(back.subarray(done), 4096 + done);
          assert.ok(bytesRead > 0);
          done += bytesRead;
        }
        assert.ok(bytesEqual(back, data), "content differs");
        await file.close();
      });

      test("overlapping calls on disjoint ranges all land", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        const writes = Array.from({ length: 32 }, (_, index) => writeFully(file, new Uint8Array(100).fill(index), index * 100));
        await Promise.all(writes);
        const reads = Array.from({ length: 32 }, async (_, index) => {
          const buffer = new Uint8Array(100);
          assert.equal(await file.read(buffer, index * 100), 100);
          assert.ok(buffer.every((byte) => byte === index), `range ${index}`);
        });
        await Promise.all(reads);
        await file.close();
      });

      test("readSync and writeSync (when supports.syncIO) agree with the async calls", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        try {
          if (!fs.supports.syncIO) return;
          let done = 0;
          const data = text("synchronous");
          while (done < data.length) {
            const written = file.writeSync(data.subarray(done), 4 + done);
            assert.ok(written > 0);
            done += written;
          }
          assert.equal(await file.size(), 4 + data.length);
          const buffer = new Uint8Array(data.length);
          assert.equal(await file.read(buffer, 4), data.length);
          assert.equal(decoder.decode(buffer), "synchronous");
          await writeFully(file, text("ASYN"), 0);
          const syncBuffer = new Uint8Array(8).fill(0xff);
          assert.equal(file.readSync(syncBuffer, 0), 8);
          assert.deepEqual([...syncBuffer.subarray(4)], [...text("sync")]);
          assert.equal(decoder.decode(syncBuffer.subarray(0, 4)), "ASYN");
          assert.equal(file.readSync(syncBuffer, 4 + data.length - 3), 3, "short at the end");
          assert.equal(file.readSync(syncBuffer, 100), 0);
        } finally {
          await file.close();
        }
      });

      test("the data written is there after close and reopen", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const file = await fs.open(path, { create: true });
        await writeFully(file, text("persisted"), 0);
        await file.datasync();
        await file.sync();
        await file.close();
        assert.equal(await readNewFile(fs, path), "persisted");
      });
    });

    describe("size, truncate, sync", () => {
      test("size follows writes at once, synced or not", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const file = await fs.open(path, { create: true });
        assert.equal(await file.size(), 0);
        await writeFully(file, new Uint8Array(10), 0);
        assert.equal(await file.size(), 10);
        await writeFully(file, new Uint8Array(5), 100);
        assert.equal(await file.size(), 105);
        assert.equal((await fs.stat(path)).size, 105);
        await file.close();
      });

      test("truncate shrinks (bytes gone) and grows (zeros)", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        await writeFully(file, text("abcdefgh"), 0);
        await file.truncate(3);
        assert.equal(await file.size(), 3);
        const buffer = new Uint8Array(8).fill(0xff);
        assert.equal(await file.read(buffer, 0), 3);
        assert.equal(decoder.decode(buffer.subarray(0, 3)), "abc");
        await file.truncate(6);
        assert.equal(await file.size(), 6);
        assert.equal(await file.read(buffer, 0), 6);
        assert.deepEqual([...buffer.subarray(0, 6)], [...text("abc"), 0, 0, 0], "grown bytes read as zeros, not the old ones");
        await file.truncate(0);
        assert.equal(await file.size(), 0);
        await file.close();
      });

      test("sync and datasync resolve", async ({ fs, root }) => {
        const file = await fs.open(joinPath(root, "file"), { create: true });
        await file.sync();
        await writeFully(file, text("x"), 0);
        assert.equal(await file.datasync(), undefined);
        assert.equal(await file.sync(), undefined);
        await file.close();
      });
    });

    describe("close", () => {
      test("every call on a closed file is a ClosedError; a second close is a no-op", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const file = await fs.open(path, { create: true });
        await file.close();
        await file.close();
        await assert.rejects(file.read(new Uint8Array(1), 0), closed(path));
        await assert.rejects(file.write(text("x"), 0), closed(path));
        await assert.rejects(file.sync(), closed(path));
        await assert.rejects(file.datasync(), closed(path));
        await assert.rejects(file.truncate(0), closed(path));
        await assert.rejects(file.size(), closed(path));
        if (fs.supports.syncIO) {
          assert.throws(() => file.readSync(new Uint8Array(1), 0), closed(path));
          assert.throws(() => file.writeSync(text("x"), 0), closed(path));
        }
        await file.close();
      });

      test("close lets the calls in flight finish", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "in flight");
        const file = await fs.open(path, { readOnly: true });
        const buffer = new Uint8Array(9);
        const reading = file.read(buffer, 0);
        const closing = file.close();
        assert.equal(await reading, 9);
        assert.equal(decoder.decode(buffer), "in flight");
        await closing;
      });
    });

    describe("directories", () => {
      test("list returns the sorted names (not paths) of files and directories", async ({ fs, root }) => {
        assert.deepEqual(await fs.list(root), []);
        for (const name of ["b", "a", "B", "10", "9", "é", "a.log"]) await writeNewFile(fs, joinPath(root, name), name);
        await fs.mkdir(joinPath(root, "dir"));
        await writeNewFile(fs, joinPath(root, "dir", "nested"), "not listed");
        // UTF-16 code unit order: digits < upper case < lower case < 'é'.
        assert.deepEqual(await fs.list(root), ["10", "9", "B", "a", "a.log", "b", "dir", "é"]);
      });

      test("list of a missing directory is a NotFoundError", async ({ fs, root }) => {
        const path = joinPath(root, "missing");
        await assert.rejects(fs.list(path), notFound(path));
      });

      test("mkdir creates missing parents and accepts an existing directory", async ({ fs, root }) => {
        const path = joinPath(root, "a", "b", "c");
        await fs.mkdir(path);
        assert.equal((await fs.stat(path)).isDirectory, true);
        await fs.mkdir(path);
        await fs.mkdir(joinPath(root, "a"));
        await writeNewFile(fs, joinPath(path, "file"), "x");
        assert.deepEqual(await fs.list(path), ["file"]);
      });

      test("mkdir over a file is an error", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "x");
        await assert.rejects(fs.mkdir(path), auraError(path, () => true, "an AuraError"));
      });

      test("syncDir resolves for the root and a subdirectory", async ({ fs, root }) => {
        await writeNewFile(fs, joinPath(root, "file"), "x");
        await fs.syncDir(root);
        await fs.mkdir(joinPath(root, "sub"));
        await fs.syncDir(joinPath(root, "sub"));
      });

      test("syncDir of a missing directory is a NotFoundError", async ({ fs, root }) => {
        const path = joinPath(root, "missing");
        await assert.rejects(fs.syncDir(path), notFound(path));
      });
    });

    describe("rename and remove", () => {
      test("rename moves a file and replaces an existing target", async ({ fs, root }) => {
        const from = joinPath(root, "from");
        const to = joinPath(root, "to");
        await writeNewFile(fs, from, "new");
        await writeNewFile(fs, to, "old content");
        await fs.rename(from, to);
        assert.equal(await fs.exists(from), false);
        assert.equal(await readNewFile(fs, to), "new");
        assert.deepEqual(await fs.list(root), ["to"]);
      });

      test("rename into another directory", async ({ fs, root }) => {
        await fs.mkdir(joinPath(root, "dir"));
        await writeNewFile(fs, joinPath(root, "file"), "moved");
        await fs.rename(joinPath(root, "file"), joinPath(root, "dir", "file"));
        assert.deepEqual(await fs.list(root), ["dir"]);
        assert.equal(await readNewFile(fs, joinPath(root, "dir", "file")), "moved");
      });

      test("rename of a missing file is a NotFoundError", async ({ fs, root }) => {
        const from = joinPath(root, "missing");
        await assert.rejects(fs.rename(from, joinPath(root, "to")), notFound(from));
      });

      test("an open file keeps reading its bytes after a rename over it", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "first");
        const file = await fs.open(path, { readOnly: true });
        await writeNewFile(fs, joinPath(root, "next"), "second");
        await fs.rename(joinPath(root, "next"), path);
        assert.equal(await readText(file), "first");
        await file.close();
        assert.equal(await readNewFile(fs, path), "second");
      });

      test("remove deletes a file", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        await writeNewFile(fs, path, "x");
        await fs.remove(path);
        assert.equal(await fs.exists(path), false);
        assert.deepEqual(await fs.list(root), []);
      });

      test("remove with recursive deletes a directory tree", async ({ fs, root }) => {
        const dir = joinPath(root, "dir");
        await fs.mkdir(joinPath(dir, "a", "b"));
        await writeNewFile(fs, joinPath(dir, "a", "b", "file"), "x");
        await writeNewFile(fs, joinPath(dir, "top"), "y");
        await fs.remove(dir, { recursive: true });
        assert.equal(await fs.exists(dir), false);
        assert.deepEqual(await fs.list(root), []);
      });

      test("remove of a missing path is a NotFoundError, recursive or not", async ({ fs, root }) => {
        const path = joinPath(root, "missing");
        await assert.rejects(fs.remove(path), notFound(path));
        await assert.rejects(fs.remove(path, { recursive: true }), notFound(path));
      });
    });

    describe("stat and exists", () => {
      test("stat describes a file and a directory", async ({ fs, root }) => {
        const path = joinPath(root, "file");
        const before = Date.now();
        await writeNewFile(fs, path, "12345");
        const file = await fs.stat(path);
        assert.equal(file.size, 5);
        assert.equal(file.isFile, true);
        assert.equal(file.isDirectory, false);
        assert.equal(typeof file.mtimeMs, "number");
        // 0 means "unknown"; otherwise it is a recent wall-clock time (allowing coarse clocks).
        assert.ok(file.mtimeMs === 0 || Math.abs(file.mtimeMs - before) < 60_000, `mtimeMs ${file.mtimeMs}`);
        const dir = await fs.stat(root);
        assert.equal(dir.isDirectory, true);
        assert.equal(dir.isFile, false);
      });

      test("stat of a missing path is a NotFoundError", async ({ fs, root }) => {
        const path = joinPath(root, "missing");
        await assert.rejects(fs.stat(path), notFound(path));
      });

      test("exists is true for files and directories, false for missing paths", async ({ fs, root }) => {
        await writeNewFile(fs, joinPath(root, "file"), "x");
        await fs.mkdir(joinPath(root, "dir"));
        assert.equal(await fs.exists(joinPath(root, "file")), true);
        assert.equal(await fs.exists(joinPath(root, "dir")), true);
        assert.equal(await fs.exists(root), true);
        assert.equal(await fs.exists(joinPath(root, "missing")), false);
        assert.equal(await fs.exists(joinPath(root, "missing", "deeper")), false);
      });
    });

    describe("lock", () => {
      test("a second lock is a LockedError; after release the path locks again", async ({ fs, root }) => {
        const path = joinPath(root, "LOCK");
        const lock = await fs.lock(path);
        assert.equal(lock.path, path);
        assert.equal(await fs.exists(path), true, "the lock file is created");
        await assert.rejects(fs.lock(path), auraError(path, isLocked, "LockedError"));
        await lock.release();
        await lock.release();
        const again = await fs.lock(path);
        await assert.rejects(fs.lock(path), auraError(path, isLocked, "LockedError"));
        await again.release();
      });

      test("two concurrent lock calls: exactly one wins", async ({ fs, root }) => {
        const path = joinPath(root, "LOCK");
        const results = await Promise.allSettled([fs.lock(path), fs.lock(path), fs.lock(path)]);
        const held = results.filter((result) => result.status === "fulfilled");
        assert.equal(held.length, 1);
        for (const result of results) {
          if (result.status === "rejected") assert.ok(isLocked(result.reason));
        }
        await held[0]?.value.release();
      });

      test("locks on different paths are independent", async ({ fs, root }) => {
        const first = await fs.lock(joinPath(root, "LOCK-1"));
        const second = await fs.lock(joinPath(root, "LOCK-2"));
        await first.release();
        await second.release();
      });
    });
  });
}

/** Byte equality without `node:buffer` (the suite runs on every runtime). */
function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}
