import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { fsConformance } from "../src/conformance.ts";
import { AuraError, ErrorCode, isIOError, isLocked } from "../src/errors.ts";
import { nodeFs } from "../src/node.ts";

const nodeModuleUrl = new URL("../src/node.ts", import.meta.url).href;

async function temporaryDirectory(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "auradb-fs-node-"));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

fsConformance({
  name: "nodeFs",
  factory: async () => ({ fs: nodeFs(), ...(await temporaryDirectory()) }),
});

/** The command that runs a script with the runtime running these tests. */
function runtimeCommand(script: string, args: string[]): { command: string; args: string[] } {
  // Under Deno, process.execPath is the deno binary, which needs a subcommand and permissions;
  // node and bun run a script given as the first argument.
  if ("Deno" in globalThis) return { command: process.execPath, args: ["run", "-A", script, ...args] };
  return { command: process.execPath, args: [script, ...args] };
}

/** Spawns a child that takes the lock at `lockPath` with nodeFs, prints "locked" and waits. */
async function spawnLockHolder(root: string, lockPath: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const script = join(root, "hold-lock.mjs");
  await writeFile(
    script,
    [
      'import process from "node:process";',
      "const { nodeFs } = await import(process.argv[2]);",
      "await nodeFs().lock(process.argv[3]);",
      'process.stdout.write("locked\\n");',
      "setInterval(() => {}, 1000);",
    ].join("\n"),
  );
  const { command, args } = runtimeCommand(script, [nodeModuleUrl, lockPath]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = exitOf(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not lock within 30 s: ${output}`)), 30_000);
    child.stdout?.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      if (output.includes("locked")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before locking: ${output}`));
    });
  });
  return { child, exited };
}

/**
 * A promise of the child's "exit" event, to take right after spawning. NB: exitCode/signalCode
 * cannot tell whether it already exited: Deno sets signalCode as soon as kill() is called.
 */
function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["--version"], { stdio: "ignore" });
  await exitOf(child);
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** Field 22 of /proc/self/stat, as the lock file records it on Linux. */
async function ownProcessStart(): Promise<number> {
  const stat = await readFile(`/proc/${process.pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

async function writeLockRecord(path: string, record: Record<string, unknown>): Promise<void> {
  await writeFile(path, JSON.stringify({ token: "someone-else", startedAt: Date.now() - 1000, ...record }));
}

describe("nodeFs: lock across processes", () => {
  it("a child process holding the lock makes lock() fail; once it is killed the stale lock is taken over at once", async () => {
    const { root, cleanup } = await temporaryDirectory();
    const fs = nodeFs();
    const lockPath = join(root, "LOCK");
    const { child, exited } = await spawnLockHolder(root, lockPath);
    try {
      await assert.rejects(fs.lock(lockPath), (error: unknown) => {
        assert.ok(isLocked(error));
        assert.equal(error.holderPid, child.pid);
        assert.equal(error.path, lockPath);
        return true;
      });
      child.kill("SIGKILL");
      await exited;
      const started = performance.now();
      const lock = await fs.lock(lockPath);
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs < 1000, `took ${elapsedMs} ms: a dead holder must not be waited for`);
      const record = JSON.parse(await readFile(lockPath, "utf8")) as { pid: number };
      assert.equal(record.pid, process.pid);
      assert.deepEqual(await readdir(root), ["LOCK", "hold-lock.mjs"], "the stale file was removed, not left aside");
      await lock.release();
      assert.deepEqual(await readdir(root), ["hold-lock.mjs"]);
    } finally {
      child.kill("SIGKILL");
      await exited;
      await cleanup();
    }
  });
});

describe("nodeFs: stale and live lock files", () => {
  it("a lock file of a dead pid on this host is taken over", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      await writeLockRecord(lockPath, { pid: await deadPid(), hostname: hostname() });
      const lock = await nodeFs().lock(lockPath);
      assert.deepEqual(await readdir(root), ["LOCK"]);
      await lock.release();
    } finally {
      await cleanup();
    }
  });

  it("a lock file of another host is held, even with a pid that is dead here", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      const pid = await deadPid();
      await writeLockRecord(lockPath, { pid, hostname: `not-${hostname()}.example` });
      await assert.rejects(nodeFs().lock(lockPath), (error: unknown) => isLocked(error) && error.holderPid === pid);
    } finally {
      await cleanup();
    }
  });

  it("a fresh lock file that is not a record is held (its writer may be mid-write); an old one is stale", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      await writeFile(lockPath, "");
      await assert.rejects(nodeFs().lock(lockPath), (error: unknown) => isLocked(error) && error.holderPid === undefined);
      const minuteAgo = new Date(Date.now() - 60_000);
      await utimes(lockPath, minuteAgo, minuteAgo);
      const lock = await nodeFs().lock(lockPath);
      await lock.release();
      await writeFile(lockPath, '{"pid": 0, "hostname": 7}');
      await utimes(lockPath, minuteAgo, minuteAgo);
      await (await nodeFs().lock(lockPath)).release();
    } finally {
      await cleanup();
    }
  });

  it("our own pid from an earlier process (a restarted container) is stale (Linux)", async () => {
    if (process.platform !== "linux") return; // the start time comes from /proc
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      await writeLockRecord(lockPath, { pid: process.pid, hostname: hostname(), processStart: (await ownProcessStart()) - 1 });
      const lock = await nodeFs().lock(lockPath);
      await lock.release();
      // The same pid and start time is this very process (another realm, e.g. a worker): held.
      await writeLockRecord(lockPath, { pid: process.pid, hostname: hostname(), processStart: await ownProcessStart() });
      await assert.rejects(nodeFs().lock(lockPath), (error: unknown) => isLocked(error) && error.holderPid === process.pid);
    } finally {
      await cleanup();
    }
  });

  it("a lock file from another boot is stale even if its pid runs now (Linux)", async () => {
    if (process.platform !== "linux") return; // boot ids come from /proc
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      await writeLockRecord(lockPath, { pid: 1, hostname: hostname(), bootId: "00000000-0000-0000-0000-000000000000" });
      const lock = await nodeFs().lock(lockPath);
      await lock.release();
      // Without a boot id, pid 1 runs: held.
      await writeLockRecord(lockPath, { pid: 1, hostname: hostname() });
      await assert.rejects(nodeFs().lock(lockPath), (error: unknown) => isLocked(error) && error.holderPid === 1);
    } finally {
      await cleanup();
    }
  });

  it("a holder that died but was not reaped (a zombie) is stale (Linux)", async () => {
    if (process.platform !== "linux") return; // the process state comes from /proc
    const { root, cleanup } = await temporaryDirectory();
    // sh forks `sleep 0` and execs into `sleep 30`, which never reaps it: a zombie for 30 s.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    const exited = exitOf(parent);
    try {
      const zombiePid = await new Promise<number>((resolve) => {
        parent.stdout?.once("data", (chunk: Uint8Array) => resolve(Number(new TextDecoder().decode(chunk).trim())));
      });
      let state = "";
      for (let attempt = 0; attempt < 100 && state !== "Z"; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const stat = await readFile(`/proc/${zombiePid}/stat`, "utf8");
        state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "";
      }
      assert.equal(state, "Z", "the child became a zombie");
      process.kill(zombiePid, 0); // NB: kill(pid, 0) alone calls it alive
      const lockPath = join(root, "LOCK");
      await writeLockRecord(lockPath, { pid: zombiePid, hostname: hostname() });
      const lock = await nodeFs().lock(lockPath);
      await lock.release();
    } finally {
      parent.kill("SIGKILL");
      await exited;
      await cleanup();
    }
  });

  it("release leaves a lock file that is no longer ours in place", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      const lock = await nodeFs().lock(lockPath);
      await writeLockRecord(lockPath, { pid: 1, hostname: hostname() });
      await lock.release();
      assert.equal(JSON.parse(await readFile(lockPath, "utf8")).token, "someone-else");
    } finally {
      await cleanup();
    }
  });

  it("a second copy of the module sees the locks of the first (shared registry)", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const lockPath = join(root, "LOCK");
      // A query string makes the runtime load a second, separate instance of the module.
      const copy = (await import(`${nodeModuleUrl}?copy`)) as typeof import("../src/node.ts");
      const lock = await nodeFs().lock(lockPath);
      // Make the file name a dead holder: only the registry can refuse now.
      await writeLockRecord(lockPath, { pid: await deadPid(), hostname: hostname() });
      await assert.rejects(copy.nodeFs().lock(lockPath), (error: unknown) => isLocked(error) && error.holderPid === process.pid);
      await lock.release();
      const other = await copy.nodeFs().lock(lockPath);
      await other.release();
    } finally {
      await cleanup();
    }
  });
});

describe("nodeFs: errors are typed, never raw", () => {
  it("opening a directory for writing is an IOError EISDIR with op, path and cause", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      await assert.rejects(nodeFs().open(root), (error: unknown) => {
        assert.ok(isIOError(error));
        assert.equal(error.op, "open");
        assert.equal(error.path, root);
        assert.equal(error.systemCode, "EISDIR");
        assert.ok(error.cause !== undefined);
        assert.ok(error.message.startsWith("auradb/fs: "));
        return true;
      });
    } finally {
      await cleanup();
    }
  });

  it("removing a non-empty directory without recursive is an IOError ENOTEMPTY; an empty one goes", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const fs = nodeFs();
      const dir = join(root, "dir");
      await fs.mkdir(dir);
      await writeFile(join(dir, "file"), "x");
      await assert.rejects(fs.remove(dir), (error: unknown) => isIOError(error) && error.systemCode === "ENOTEMPTY" && error.path === dir);
      await fs.remove(join(dir, "file"));
      await fs.remove(dir);
      assert.equal(await fs.exists(dir), false);
    } finally {
      await cleanup();
    }
  });

  it("contradictory open options are an InvalidArgumentError; a bad position is a RangeError", async () => {
    const { root, cleanup } = await temporaryDirectory();
    try {
      const fs = nodeFs();
      const path = join(root, "file");
      const isInvalid = (error: unknown): boolean => AuraError.isInstance(error) && error.code === ErrorCode.InvalidArgument;
      await assert.rejects(fs.open(path, { exclusive: true }), isInvalid);
      await assert.rejects(fs.open(path, { create: true, readOnly: true, truncate: true }), isInvalid);
      const file = await fs.open(path, { create: true });
      await assert.rejects(file.read(new Uint8Array(1), -1), RangeError);
      await assert.rejects(file.write(new Uint8Array(1), 1.5), RangeError);
      assert.throws(() => file.writeSync(new Uint8Array(1), Number.NaN), RangeError);
      await file.close();
    } finally {
      await cleanup();
    }
  });

  it("supports: everything, directory sync except on Windows", () => {
    assert.deepEqual(nodeFs().supports, {
      positionalWrite: true,
      datasync: true,
      dirSync: process.platform !== "win32",
      crossProcessLock: true,
      syncIO: true,
    });
    assert.equal(nodeFs().name, "node");
  });
});
