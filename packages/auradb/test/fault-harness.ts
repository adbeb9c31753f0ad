/**
 * Systematic fault injection (RELIABILITY-PLAN §3a, SQLite's k-th-call loop): a fixed workload
 * (writes synced and not, small and separated values, batches, flush, compaction, value-log GC,
 * close, reopen, more writes) runs on `FaultFs(MemFs)` once to count its file-system calls, then
 * once per fault point k and fault kind with the fault injected at the k-th matching call.
 *
 * Each faulty run must end with:
 * - the error surfaced to the caller as an AuraDB error (or, when the fault hit a call whose
 *   failure the engine legitimately tolerates, no error: those calls are listed);
 * - no unhandled rejection;
 * - fail-stop: once a write was refused in a session, no later write of that session is
 *   acknowledged (a write after a failed sync or write could otherwise be acknowledged over lost
 *   bytes);
 * - a crash image of the disk (kill -9: `process`, or power cut: `synced-only`) that opens on a
 *   healthy file system, holds every write acknowledged (synced, for a power cut), equals the
 *   state after a prefix of the issued writes, and takes new writes.
 */
import { AuraError, ErrorCode, isFailedDataSync } from "@auradb/fs";
import type { File, FileStat, FileSystem, FsLock, FsSupports, OpenOptions } from "@auradb/fs";
import { FaultFs, MemFs } from "@auradb/fs/testing";
import type { CrashMode, FaultKind, FaultOp } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import type { AuraDBOptions } from "../src/index.ts";

const DIR = "/db";

/** Small budgets so that the short workload flushes, compacts, rolls value-log files and collects one. */
export const FAULT_DB_OPTIONS: AuraDBOptions = {
  memtableBytes: 4 * 1024,
  blockBytes: 512,
  valueThreshold: 512,
  valueLogFileBytes: 64 * 1024,
  // NB: no background GC: it is rate limited by the clock, which would make call counts vary.
  valueLogGcRatio: 0,
  l0CompactionTrigger: 2,
  level1Bytes: 16 * 1024,
  sizeRatio: 4,
  targetFileBytes: 8 * 1024,
};

/** The fault kinds swept, and the ops each counts (FaultFs's defaults for the kind). */
export const SWEPT_KINDS: readonly { readonly kind: FaultKind; readonly ops: readonly FaultOp[] }[] = [
  { kind: "EIO", ops: ["open", "read", "write", "sync", "datasync", "truncate", "size", "close", "list", "mkdir", "rename", "remove", "stat", "exists", "syncDir", "lock"] },
  { kind: "ENOSPC", ops: ["write"] },
  { kind: "short-write", ops: ["write"] },
  { kind: "fsync-fail", ops: ["sync", "datasync", "syncDir"] },
];

type State = Map<string, string>;

/** What a run of the workload did, as the caller saw it. */
interface Outcome {
  /** The state after each issued write (index 0: empty), in issue order. */
  readonly states: State[];
  /** Highest index in `states` of an acknowledged write, and of an acknowledged synced one. */
  acknowledged: number;
  durable: number;
  /** Errors surfaced to the caller, in order. */
  readonly errors: { readonly step: string; readonly error: unknown }[];
  /** Writes acknowledged after a refused write in the same session (must stay 0). */
  acknowledgedAfterRefusal: number;
  /** Checks that failed inside the workload (the state at a reopen). */
  readonly problems: string[];
}

/**
 * True when a data sync (fsync/fdatasync) failed in what the caller saw (the error itself or the
 * failure a refusal names as its cause). Then the writes acknowledged without sync since the
 * last successful sync may be lost (RELIABILITY.md, F1): the kernel may have dropped their pages,
 * and the engine drops the unsynced tail of the failed file so that nothing reads them as data.
 * NB: coarse: once a sync failed, the rest of the run is held to the synced writes only.
 */
function dataSyncFailed(outcome: Outcome): boolean {
  return outcome.errors.some(({ error }) => {
    for (let cause: unknown = error, depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
      if (isFailedDataSync(cause)) return true;
      cause = (cause as { cause?: unknown }).cause;
    }
    return false;
  });
}

/** The highest index ≥ `lowest` whose state equals `state`, or -1. */
function findPrefix(states: readonly State[], lowest: number, state: State): number {
  for (let index = states.length - 1; index >= lowest; index--) {
    const candidate = states[index]!;
    if (candidate.size === state.size && [...candidate].every(([key, value]) => state.get(key) === value)) return index;
  }
  return -1;
}

const big = (tag: string, size: number): string => `${tag}:`.padEnd(size, tag.slice(-1));

/**
 * The fixed workload: two sessions on `fs`. Every step's error is caught and recorded, and the
 * workload goes on (a fail-stopped database must refuse the later writes, which is checked).
 */
async function workload(fs: FileSystem): Promise<Outcome> {
  const outcome: Outcome = { states: [new Map()], acknowledged: 0, durable: 0, errors: [], acknowledgedAfterRefusal: 0, problems: [] };
  const state: State = new Map();
  for (let session = 1; session <= 2; session++) {
    let db: AuraDB;
    try {
      db = await AuraDB.open(DIR, { ...FAULT_DB_OPTIONS, fs });
    } catch (error) {
      outcome.errors.push({ step: `open ${session}`, error });
      continue;
    }
    if (session > 1) {
      // A reopen recovers some prefix of what the last session issued (a refused write may have
      // reached the log): the realized history goes on from the prefix it holds.
      const recovered: State = new Map();
      const decoder = new TextDecoder();
      try {
        for (const [key, value] of db.iterator()) recovered.set(decoder.decode(key), decoder.decode(value));
      } catch (error) {
        // The fault hit this scan: surfaced; the session writes nothing, so nothing is unknown.
        outcome.errors.push({ step: `scan after open ${session}`, error });
        await db.close().catch((closeError: unknown) => outcome.errors.push({ step: `close ${session}`, error: closeError }));
        continue;
      }
      const match = findPrefix(outcome.states, dataSyncFailed(outcome) ? outcome.durable : outcome.acknowledged, recovered);
      if (match < 0) {
        outcome.problems.push(`reopen ${session}: the state is no prefix holding every acknowledged write (write ${outcome.acknowledged}; recovery ${JSON.stringify(db.recovery)})`);
      } else {
        outcome.states.length = match + 1;
        state.clear();
        for (const [key, value] of recovered) state.set(key, value);
      }
    }
    let refused = false;
    const write = async (name: string, sync: boolean, operations: { key: string; value: string | null }[]): Promise<void> => {
      // NB: a write that fails may still have reached the log: its state is a candidate too.
      for (const { key, value } of operations) {
        if (value === null) state.delete(key);
        else state.set(key, value);
      }
      outcome.states.push(new Map(state));
      const index = outcome.states.length - 1;
      try {
        if (operations.length === 1 && operations[0]!.value !== null) await db.put(operations[0]!.key, operations[0]!.value, { sync });
        else if (operations.length === 1) await db.delete(operations[0]!.key, { sync });
        else await db.batch(operations.map(({ key, value }) => (value === null ? { type: "del" as const, key } : { type: "put" as const, key, value })), { sync });
      } catch (error) {
        refused = true;
        outcome.errors.push({ step: `${name} (session ${session})`, error });
        return;
      }
      if (refused) outcome.acknowledgedAfterRefusal++;
      outcome.acknowledged = index;
      if (sync) outcome.durable = index;
    };
    const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
      } catch (error) {
        outcome.errors.push({ step: `${name} (session ${session})`, error });
      }
    };
    const s = `s${session}`;
    for (let index = 0; index < 10; index++) {
      const large = index % 3 === 0;
      await write(`put ${index}`, index % 4 === 1, [{ key: `${s}k${index}`, value: big(`${s}v${index}`, large ? 15_000 : 60) }]);
    }
    await write("batch a", true, [
      { key: `${s}k1`, value: null },
      { key: `${s}b1`, value: big(`${s}b1`, 9000) },
      { key: `${s}b2`, value: "small" },
    ]);
    await step("flush", () => db.flush());
    for (let index = 0; index < 8; index++) {
      // Overwrites of separated values: garbage for the GC below.
      await write(`overwrite ${index}`, index % 3 === 2, [{ key: `${s}k${(index * 3) % 10}`, value: big(`${s}w${index}`, 14_000) }]);
    }
    await write("delete", false, [{ key: `${s}k6`, value: null }]);
    await step("compactRange", () => db.compactRange());
    if (session === 1) await step("gcValueLog", () => db.gcValueLog({ ratio: 0 }));
    await write("batch b", session === 2, [
      { key: `${s}c1`, value: big(`${s}c1`, 7000) },
      { key: `${s}k0`, value: null },
    ]);
    await write("last", true, [{ key: `${s}z`, value: "last" }]);
    await step("close", () => db.close());
  }
  return outcome;
}

/** A file-system wrapper that records each call as FaultFs counts it (op and path). */
class TraceFs implements FileSystem {
  readonly name: string;
  readonly supports: FsSupports;
  readonly calls: { op: FaultOp; path: string }[] = [];
  readonly #inner: FileSystem;
  constructor(inner: FileSystem) {
    this.#inner = inner;
    this.name = `trace(${inner.name})`;
    this.supports = inner.supports;
  }
  #note(op: FaultOp, path: string): void {
    this.calls.push({ op, path });
  }
  async open(path: string, options?: OpenOptions): Promise<File> {
    this.#note("open", path);
    return new TraceFile(this.calls, await this.#inner.open(path, options));
  }
  list(dir: string): Promise<string[]> {
    this.#note("list", dir);
    return this.#inner.list(dir);
  }
  mkdir(dir: string): Promise<void> {
    this.#note("mkdir", dir);
    return this.#inner.mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    this.#note("rename", `${from} -> ${to}`);
    return this.#inner.rename(from, to);
  }
  remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    this.#note("remove", path);
    return this.#inner.remove(path, options);
  }
  stat(path: string): Promise<FileStat> {
    this.#note("stat", path);
    return this.#inner.stat(path);
  }
  exists(path: string): Promise<boolean> {
    this.#note("exists", path);
    return this.#inner.exists(path);
  }
  syncDir(dir: string): Promise<void> {
    this.#note("syncDir", dir);
    return this.#inner.syncDir(dir);
  }
  async lock(path: string): Promise<FsLock> {
    this.#note("lock", path);
    const inner = await this.#inner.lock(path);
    return {
      path: inner.path,
      release: () => {
        this.#note("lock", `${path} (release)`);
        return inner.release();
      },
    };
  }
}

class TraceFile implements File {
  readonly path: string;
  readonly #calls: { op: FaultOp; path: string }[];
  readonly #inner: File;
  constructor(calls: { op: FaultOp; path: string }[], inner: File) {
    this.#calls = calls;
    this.#inner = inner;
    this.path = inner.path;
  }
  #note(op: FaultOp): void {
    this.#calls.push({ op, path: this.path });
  }
  read(buffer: Uint8Array, position: number): Promise<number> {
    this.#note("read");
    return this.#inner.read(buffer, position);
  }
  readSync(buffer: Uint8Array, position: number): number {
    this.#note("read");
    return this.#inner.readSync(buffer, position);
  }
  write(data: Uint8Array, position: number): Promise<number> {
    this.#note("write");
    return this.#inner.write(data, position);
  }
  writeSync(data: Uint8Array, position: number): number {
    this.#note("write");
    return this.#inner.writeSync(data, position);
  }
  sync(): Promise<void> {
    this.#note("sync");
    return this.#inner.sync();
  }
  datasync(): Promise<void> {
    this.#note("datasync");
    return this.#inner.datasync();
  }
  truncate(size: number): Promise<void> {
    this.#note("truncate");
    return this.#inner.truncate(size);
  }
  size(): Promise<number> {
    this.#note("size");
    return this.#inner.size();
  }
  close(): Promise<void> {
    this.#note("close");
    return this.#inner.close();
  }
}

/** The kind of file a path names, for the report ("wal", "vlog", "sst", "manifest", …). */
export function fileKind(path: string): string {
  const name = path.split(" -> ").pop()!.split("/").pop()!.replace(/ \(release\)$/, "");
  if (path.includes("/wal")) return name.endsWith(".log") || /^\d+/.test(name) ? "wal" : `wal:${name}`;
  if (path.includes("/vlog")) return name.endsWith(".vlog") ? "vlog" : "vlog-dir";
  if (name.endsWith(".sst")) return "sst";
  if (/MANIFEST/i.test(name)) return "manifest";
  if (/CURRENT/i.test(name)) return "current";
  if (/LOCK/i.test(name)) return "lock";
  if (path === DIR) return "db-dir";
  return name.replace(/\d+/g, "N");
}

/** The calls of the fault-free workload, in FaultFs's counting. */
export async function traceWorkload(): Promise<{ op: FaultOp; path: string }[]> {
  const trace = new TraceFs(new MemFs());
  const outcome = await workload(trace);
  if (outcome.errors.length > 0) throw new Error(`fault sweep: the fault-free workload failed: ${String(outcome.errors[0]!.error)}`);
  return trace.calls;
}

export interface FaultPointResult {
  readonly kind: FaultKind;
  readonly k: number;
  readonly mode: CrashMode;
  /** False when the k-th matching call got no fault (a 1-byte write cannot be short). */
  readonly injected: boolean;
  /** The error codes surfaced to the caller (empty: the fault was tolerated). */
  readonly surfaced: string[];
  readonly problems: string[];
}

/**
 * Runs the workload with one fault: `kind` at the k-th call among its ops, once. Then checks a
 * `mode` crash image on a healthy file system. Never throws for a finding: it is in `problems`.
 */
export async function runFaultPoint(kind: FaultKind, k: number, mode: CrashMode): Promise<FaultPointResult> {
  const memory = new MemFs();
  const fs = new FaultFs(memory, { seed: k, rules: [{ kind, onCall: k, persistence: "once" }] });
  const problems: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  let outcome: Outcome;
  try {
    outcome = await workload(fs);
    // Background work the workload left running gets a few turns to fail loudly.
    for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  for (const reason of unhandled) problems.push(`unhandled rejection: ${String(reason)}`);
  const surfaced: string[] = [];
  for (const { step, error } of outcome.errors) {
    if (!AuraError.isInstance(error) || error.code === ErrorCode.SimulatedCrash) {
      problems.push(`${step}: not a typed AuraDB error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } else {
      surfaced.push(error.code);
    }
  }
  problems.push(...outcome.problems);
  if (outcome.acknowledgedAfterRefusal > 0) problems.push(`fail-stop: ${outcome.acknowledgedAfterRefusal} write(s) acknowledged after a refused write in the same session`);

  const image = memory.crash({ mode, seed: k });
  const lowest = mode === "process" && !dataSyncFailed(outcome) ? outcome.acknowledged : outcome.durable;
  let db: AuraDB | undefined;
  try {
    db = await AuraDB.open(DIR, { ...FAULT_DB_OPTIONS, fs: image });
    const state: State = new Map();
    const decoder = new TextDecoder();
    for (const [key, value] of db.iterator()) state.set(decoder.decode(key), decoder.decode(value));
    if (findPrefix(outcome.states, lowest, state) < 0) {
      const expected = outcome.states[lowest]!;
      const missing = [...expected.keys()].filter((key) => !state.has(key));
      problems.push(
        `${mode} image: the state (${state.size} keys) is no prefix holding every ${mode === "process" ? "acknowledged" : "synced"} write ` +
          `(write ${lowest} of ${outcome.states.length - 1}; keys of that prefix missing: ${missing.slice(0, 6).join(", ")}; recovery ${JSON.stringify(db.recovery)})`,
      );
    }
    await db.put("after-fault", "x", { sync: true });
    await db.close();
    db = await AuraDB.open(DIR, { ...FAULT_DB_OPTIONS, fs: image });
    if (decoder.decode(db.getSync("after-fault")) !== "x") problems.push(`${mode} image: a write after recovery did not survive a reopen`);
  } catch (error) {
    problems.push(`${mode} image on a healthy file system: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await db?.close().catch(() => {});
  }
  return { kind, k, mode, injected: fs.injectedCount > 0, surfaced, problems };
}

export interface SweepReport {
  readonly calls: number;
  /** Per kind: matching calls of the workload, fault points run, injected, surfaced, tolerated. */
  readonly kinds: {
    readonly kind: FaultKind;
    readonly points: number;
    readonly run: number;
    readonly injected: number;
    readonly surfaced: number;
    readonly tolerated: number;
    /** Where tolerated faults hit: "op file-kind" → count. */
    readonly toleratedAt: Record<string, number>;
    /** Each tolerated point: "k=…: op path". */
    readonly toleratedPoints: string[];
    readonly codes: Record<string, number>;
  }[];
  readonly failures: (FaultPointResult & { readonly call: string })[];
  readonly durationMs: number;
}

/**
 * The sweep: for each kind, k = first, first + stride, … up to the kind's call count, each in
 * the given crash-image modes (`alternate`: process for odd steps, synced-only for even ones).
 */
export async function sweep(options: {
  readonly stride: number;
  readonly modes: readonly CrashMode[] | "alternate";
  readonly kinds?: readonly FaultKind[];
  readonly log?: (line: string) => void;
}): Promise<SweepReport> {
  const started = performance.now();
  const trace = await traceWorkload();
  const kinds = SWEPT_KINDS.filter(({ kind }) => options.kinds === undefined || options.kinds.includes(kind));
  const report: SweepReport = { calls: trace.length, kinds: [], failures: [], durationMs: 0 };
  for (const { kind, ops } of kinds) {
    const matching = trace.filter((call) => ops.includes(call.op));
    const entry = { kind, points: matching.length, run: 0, injected: 0, surfaced: 0, tolerated: 0, toleratedAt: {} as Record<string, number>, toleratedPoints: [] as string[], codes: {} as Record<string, number> };
    for (let k = 1, step = 0; k <= matching.length; k += options.stride, step++) {
      const modes: readonly CrashMode[] = options.modes === "alternate" ? [step % 2 === 0 ? "process" : "synced-only"] : options.modes;
      const call = matching[k - 1]!;
      for (const mode of modes) {
        const result = await runFaultPoint(kind, k, mode);
        entry.run++;
        if (result.injected) entry.injected++;
        if (result.surfaced.length > 0) entry.surfaced++;
        else if (result.injected) {
          entry.tolerated++;
          const where = `${call.op} ${fileKind(call.path)}`;
          entry.toleratedAt[where] = (entry.toleratedAt[where] ?? 0) + 1;
          entry.toleratedPoints.push(`k=${k}: ${call.op} ${call.path}`);
        }
        for (const code of result.surfaced) entry.codes[code] = (entry.codes[code] ?? 0) + 1;
        if (result.problems.length > 0) {
          report.failures.push({ ...result, call: `${call.op} ${call.path}` });
          options.log?.(`FAIL ${kind} k=${k} (${call.op} ${call.path}) ${mode}: ${result.problems.join(" | ")}`);
        }
      }
    }
    report.kinds.push(entry);
    options.log?.(`${kind}: ${entry.points} points, ${entry.run} runs, ${entry.injected} injected, ${entry.surfaced} surfaced, ${entry.tolerated} tolerated`);
  }
  return { ...report, durationMs: performance.now() - started };
}
