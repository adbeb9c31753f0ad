/**
 * The parent of the kill -9 crash test (RELIABILITY-PLAN §3c, "plain" and "lossy" flavours): starts the writer
 * child (crash-writer.ts) with the current runtime, kills it with SIGKILL at a random moment,
 * reopens the database itself and checks it, then starts the next child where the recovered state
 * ends.
 *
 * The check after each kill: the recovered state must equal the model after some prefix of the
 * issued ops, ops `0..j`, with `j` at least the last acknowledged write (a kill is a process
 * crash: every acknowledged write survives, synced or not, ARCHITECTURE invariant 1; synced ones
 * are counted apart) and at most the last issued one; every value must be byte for byte the one
 * its write stored. The model then carries on from `j`, and the next child resumes at `j + 1`:
 * the ops after `j` never happened.
 *
 * Used by crash.test.ts (a short run on each runtime) and scripts/crash-test.ts (long runs).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AuraError, ErrorCode } from "@auradb/fs";
import { createSeededRandom } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import { applyWriteFingerprinted, CRASH_DB_OPTIONS, descriptorOf, equalModels, fingerprint, isWrite, opAt } from "./crash-workload.ts";
import { undoUnsyncedDirOps } from "./lossy-fs.ts";
import type { CrashModel } from "./crash-workload.ts";

export interface CrashTestOptions {
  /** How many times the writer is killed. */
  readonly kills: number;
  /** Seed of the workload and of the kill schedule. */
  readonly seed: number;
  /** Writes in flight at once in the child (group commit). Default 4. */
  readonly window?: number;
  /** Longest delay from the child's `ready` to the kill. Default 250 ms. */
  readonly killDelayMsMax?: number;
  /** Share of kills aimed at the child's start-up, where recovery runs. Default 0.15. */
  readonly openKillShare?: number;
  /**
   * Share of kills aimed at a phase of the engine's work: 0–5 ms after the child reports one
   * (`onEvent`: a flush, compaction or GC starting, tables written and synced, a WAL roll).
   * Default 0.3.
   */
  readonly phaseKillShare?: number;
  /**
   * "plain" (default): the child writes to the real file system, so a kill is a process crash and
   * every acknowledged write must survive. "lossy": the child runs on `LossyFs` (lossy-fs.ts) and
   * the parent undoes unsynced directory operations before it reopens, so a kill is a power cut
   * and only writes acknowledged with sync must survive (RELIABILITY-PLAN §3c).
   */
  readonly flavour?: "plain" | "lossy";
  /** Progress lines (one per kill when given). */
  readonly log?: (line: string) => void;
}

export interface CrashTestReport {
  readonly runtime: string;
  readonly flavour: "plain" | "lossy";
  /** Lossy flavour: directory operations (creates, renames, removes) undone after kills as unsynced. */
  readonly dirOpsUndone: number;
  readonly seed: number;
  readonly kills: number;
  /** Kills that landed before the child reported `ready` (start-up or recovery). */
  readonly killsBeforeReady: number;
  /** Kills while an explicit flush / compaction / value-log GC was running. */
  readonly killsDuringMaintenance: { flush: number; compact: number; gc: number };
  /** Kills while the engine reported a flush / compaction / GC under way (explicit or background). */
  readonly killsDuringWork: { flush: number; compaction: number; gc: number };
  /** Phase-aimed kills, by the phase aimed at (a phase that never came is killed at a fallback time). */
  readonly killsAimed: Record<string, number>;
  readonly opsIssued: number;
  /** Acknowledged writes, all checked present after the kill that followed them. */
  readonly acknowledgedSynced: number;
  readonly acknowledgedUnsynced: number;
  /** Writes of the recovered prefixes: issued writes whose effect (with all before it) the checks verified. */
  readonly opsVerified: number;
  /** Issued but unacknowledged writes that did not survive (allowed), summed over kills. */
  readonly unacknowledgedLost: number;
  /** Lossy flavour: writes acknowledged without sync that did not survive (allowed there: a power cut). */
  readonly acknowledgedUnsyncedLost: number;
  /** Recoveries that cut the WAL at a pointer whose value did not survive. */
  readonly recoveryCuts: number;
  readonly recoveryMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly finalKeys: number;
  /** Reopens that found a LOCK file without a record (a kill inside lock acquisition) and waited 5 s. */
  readonly lockWaits: number;
  readonly durationMs: number;
}

/** A failed check, with what is needed to look at it again. */
export class CrashTestFailure extends Error {
  readonly seed: number;
  readonly kill: number;
  readonly start: number;
  readonly dir: string;
  constructor(message: string, details: { seed: number; kill: number; start: number; dir: string }) {
    super(`${message} (seed ${details.seed}, kill ${details.kill}, child started at op ${details.start}; database kept in ${details.dir}, the child's lines in ${details.dir}.failure.json)`);
    this.name = "CrashTestFailure";
    this.seed = details.seed;
    this.kill = details.kill;
    this.start = details.start;
    this.dir = details.dir;
  }
}

interface RuntimeGlobals {
  readonly Bun?: { readonly version: string };
  readonly Deno?: { readonly version: { readonly deno: string } };
}

/** "node v24…", "bun 1.4.5" or "deno 2.9.6": the runtime this process runs on. */
export function runtimeName(): string {
  const globals = globalThis as RuntimeGlobals;
  if (globals.Deno !== undefined) return `deno ${globals.Deno.version.deno}`;
  if (globals.Bun !== undefined) return `bun ${globals.Bun.version}`;
  return `node ${process.version}`;
}

/** The command that runs a TypeScript file with this process's runtime. */
function runtimeCommand(script: string): { command: string; args: string[] } {
  if ((globalThis as RuntimeGlobals).Deno !== undefined) return { command: process.execPath, args: ["run", "-A", "--no-check", script] };
  // Node (≥ 22.18 strips types) and Bun run TypeScript directly.
  return { command: process.execPath, args: [script] };
}

const WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));

/** The `onEvent` kinds a kill may be aimed at (RELIABILITY-PLAN §3c, phase-targeted kills). */
const AIMED_PHASES = ["flush-start", "tables-written", "flush-end", "compaction-start", "compaction-end", "gc-start", "wal-roll"] as const;

/** The kill schedule's PRNG (mulberry32, as every seeded test), apart from the workload's stream. */
function scheduleRandom(seed: number): () => number {
  return createSeededRandom(seed ^ 0x5bd1e995);
}

interface ChildRun {
  readonly lines: string[];
  readonly readyMs: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs one child until the kill; returns everything it printed. */
type KillSchedule = { afterReadyMs: number } | { afterSpawnMs: number } | { afterPhase: string; delayMs: number; fallbackMs: number };

function runChild(dir: string, seed: number, start: number, window: number, kill: KillSchedule, lossySide: string | null): Promise<ChildRun> {
  const { command, args } = runtimeCommand(WRITER);
  const lossy = lossySide === null ? [] : ["--lossy", lossySide];
  const child = spawn(command, [...args, "--dir", dir, "--seed", String(seed), "--start", String(start), "--window", String(window), ...lossy], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const spawned = performance.now();
  const lines: string[] = [];
  let readyMs: number | null = null;
  let stderr = "";
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const timers: ReturnType<typeof setTimeout>[] = [];
  // A child that neither gets ready nor dies is a hang: kill it, and the check reports it.
  timers.push(setTimeout(killNow, 60_000));
  if ("afterSpawnMs" in kill) timers.push(setTimeout(killNow, kill.afterSpawnMs));
  child.stderr.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const reader = createInterface({ input: child.stdout });
  let aimed = false;
  reader.on("line", (line) => {
    lines.push(line);
    if (line === "ready" && readyMs === null) {
      readyMs = performance.now() - spawned;
      if ("afterReadyMs" in kill) timers.push(setTimeout(killNow, kill.afterReadyMs));
      if ("afterPhase" in kill) timers.push(setTimeout(killNow, kill.fallbackMs));
    }
    // NB: the phase after `ready` (recovery's own work has its share of kills already).
    if ("afterPhase" in kill && readyMs !== null && !aimed && line === `P ${kill.afterPhase}`) {
      aimed = true;
      timers.push(setTimeout(killNow, kill.delayMs));
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    // NB: "close" comes after stdout ended: every line the child wrote before the kill is read.
    child.on("close", (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ lines, readyMs, signal, code, stderr });
    });
  });
}

/** What a child's lines say. */
interface ChildSummary {
  readonly ready: boolean;
  /** Highest write index issued (`w`), or start − 1. */
  readonly issuedMax: number;
  readonly acknowledged: number[];
  readonly maintenanceAtKill: "flush" | "compact" | "gc" | null;
  /** The engine's work under way at the kill (from its `P` events). */
  readonly workAtKill: { flush: boolean; compaction: boolean; gc: boolean };
}

function summarize(lines: readonly string[], start: number, seed: number): ChildSummary {
  let issuedMax = start - 1;
  const acknowledged: number[] = [];
  let ready = false;
  let maintenance: { index: number; kind: "flush" | "compact" | "gc" } | null = null;
  const work = { flush: false, compaction: false, gc: false };
  for (const line of lines) {
    const [tag, indexText, kind] = line.split(" ");
    const index = Number(indexText);
    if (tag === "P") {
      const [what, edge] = [indexText!.replace(/-(start|end)$/, ""), indexText!.endsWith("-start")];
      if (what === "flush" || what === "compaction" || what === "gc") work[what] = edge;
      continue;
    }
    if (tag === "ready") ready = true;
    else if (tag === "w") issuedMax = Math.max(issuedMax, index);
    else if (tag === "a") acknowledged.push(index);
    else if (tag === "m" && (kind === "flush" || kind === "compact" || kind === "gc")) maintenance = { index, kind };
    else if (tag === "e" && maintenance !== null && maintenance.index === index) maintenance = null;
    else throw new TypeError(`crash test: unexpected line from the writer: ${JSON.stringify(line)} (seed ${seed})`);
  }
  return { ready, issuedMax, acknowledged, maintenanceAtKill: maintenance?.kind ?? null, workAtKill: work };
}

/** How long a LOCK file without a record counts as held (`GARBAGE_STALE_MS` of the fs adapters). */
const LOCK_GARBAGE_STALE_MS = 5_000;
/** Reopens that had to wait for such a LOCK file (a kill inside lock acquisition). */
let lockWaits = 0;

/** Reads the whole database: key → value descriptor; a value that is not its write's bytes is a failure. */
async function readState(dir: string): Promise<{ state: CrashModel; wrong: string[]; recoveryMs: number; cut: boolean }> {
  let started = performance.now();
  let db: AuraDB;
  try {
    db = await AuraDB.open(dir, CRASH_DB_OPTIONS);
  } catch (error) {
    // A kill between creating the LOCK file and writing its record leaves a file that reads as
    // "being written": by design (@auradb/fs, node.ts) it counts as held for 5 s, then as stale.
    if (!(AuraError.isInstance(error) && error.code === ErrorCode.Locked && (error as { holderPid?: number }).holderPid === undefined)) throw error;
    lockWaits++;
    await new Promise((resolve) => setTimeout(resolve, LOCK_GARBAGE_STALE_MS + 200));
    started = performance.now();
    db = await AuraDB.open(dir, CRASH_DB_OPTIONS);
  }
  const recoveryMs = performance.now() - started;
  const state: CrashModel = new Map();
  const wrong: string[] = [];
  const decoder = new TextDecoder();
  try {
    for (const [key, value] of db.iterator()) {
      const descriptor = descriptorOf(value);
      if (descriptor === null) wrong.push(decoder.decode(key));
      else state.set(decoder.decode(key), descriptor);
    }
    return { state, wrong, recoveryMs, cut: db.recovery.cut !== null };
  } finally {
    await db.close();
  }
}

function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

/**
 * Runs `kills` kill-and-check cycles in a new temporary database. Throws `CrashTestFailure` at
 * the first failed check (the database directory is then kept for inspection).
 */
export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestReport> {
  const { kills, seed } = options;
  if (!Number.isSafeInteger(kills) || kills < 1) throw new RangeError(`crash test: kills must be a positive integer, got ${kills}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`crash test: seed must be an integer, got ${seed}`);
  const window = options.window ?? 4;
  const delayMax = options.killDelayMsMax ?? 250;
  const openShare = options.openKillShare ?? 0.15;
  const phaseShare = options.phaseKillShare ?? 0.3;
  const flavour = options.flavour ?? "plain";
  const random = scheduleRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), "auradb-crash-"));
  const lossySide = flavour === "lossy" ? `${dir}.lossy` : null;
  let dirOpsUndone = 0;
  const started = performance.now();
  let model: CrashModel = new Map();
  let modelSum = 0;
  let next = 0;
  let lastReadyMs = 150;
  const recoveryTimes: number[] = [];
  const totals = {
    killsBeforeReady: 0,
    maintenance: { flush: 0, compact: 0, gc: 0 },
    work: { flush: 0, compaction: 0, gc: 0 },
    aimed: {} as Record<string, number>,
    opsIssued: 0,
    acknowledgedSynced: 0,
    acknowledgedUnsynced: 0,
    opsVerified: 0,
    unacknowledgedLost: 0,
    acknowledgedUnsyncedLost: 0,
    recoveryCuts: 0,
  };
  let finalKeys = 0;
  for (let kill = 1; kill <= kills; kill++) {
    const start = next;
    let childLines: readonly string[] = [];
    const fail = (message: string): never => {
      // The child's protocol lines (issues, acks, maintenance) beside the kept database, to study it.
      writeFileSync(`${dir}.failure.json`, JSON.stringify({ seed, kill, start, message, lines: childLines }));
      throw new CrashTestFailure(message, { seed, kill, start, dir });
    };
    const draw = random();
    const schedule: KillSchedule =
      draw < openShare
        ? { afterSpawnMs: lastReadyMs * (0.4 + 0.6 * random()) }
        : draw < openShare + phaseShare
          ? { afterPhase: AIMED_PHASES[Math.floor(random() * AIMED_PHASES.length)]!, delayMs: random() * 5, fallbackMs: delayMax + 1_000 }
          : { afterReadyMs: 2 + random() * delayMax };
    if ("afterPhase" in schedule) totals.aimed[schedule.afterPhase] = (totals.aimed[schedule.afterPhase] ?? 0) + 1;
    const child = await runChild(dir, seed, start, window, schedule, lossySide);
    if (child.signal !== "SIGKILL") fail(`the writer ended by itself (exit code ${child.code}): ${child.stderr.trim().slice(0, 2000)}`);
    childLines = child.lines;
    if (child.readyMs !== null) lastReadyMs = child.readyMs;
    const summary = summarize(child.lines, start, seed);
    if (!summary.ready) totals.killsBeforeReady++;
    if (summary.maintenanceAtKill !== null) totals.maintenance[summary.maintenanceAtKill]++;
    for (const what of ["flush", "compaction", "gc"] as const) if (summary.workAtKill[what]) totals.work[what]++;

    // The power cut of the lossy flavour: the child's unsynced bytes died with it; its unsynced
    // directory operations are undone now (a random suffix of them).
    let undone = 0;
    if (lossySide !== null) dirOpsUndone += undone = undoUnsyncedDirOps(lossySide, random);
    let recovered: Awaited<ReturnType<typeof readState>>;
    try {
      recovered = await readState(dir);
    } catch (error) {
      return fail(`reopening after the kill failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (recovered.wrong.length > 0) fail(`values that no write stored, under keys ${recovered.wrong.slice(0, 10).join(", ")}`);
    recoveryTimes.push(recovered.recoveryMs);
    if (recovered.cut) totals.recoveryCuts++;

    // Which prefix 0..j is the recovered state? j = start − 1 means nothing of this child's run.
    const stateSum = fingerprint(recovered.state);
    const candidate: CrashModel = new Map(model);
    let candidateSum = modelSum;
    const matches: number[] = [];
    const check = (j: number): void => {
      if (candidateSum === stateSum && equalModels(candidate, recovered.state)) matches.push(j);
    };
    check(start - 1);
    for (let index = start; index <= summary.issuedMax; index++) {
      const op = opAt(seed, index);
      if (!isWrite(op)) continue;
      candidateSum = applyWriteFingerprinted(candidate, op, candidateSum);
      check(index);
    }
    let acknowledgedMax = start - 1;
    let synced = 0;
    let syncedMax = start - 1;
    for (const index of summary.acknowledged) {
      acknowledgedMax = Math.max(acknowledgedMax, index);
      const op = opAt(seed, index);
      if (isWrite(op) && op.sync) {
        synced++;
        syncedMax = Math.max(syncedMax, index);
      }
    }
    if (matches.length === 0) {
      const missing = [...candidate.keys()].filter((key) => !recovered.state.has(key)).slice(0, 5);
      fail(`the recovered state (${recovered.state.size} keys) equals the model after no prefix of ops ${start - 1}..${summary.issuedMax}; last acknowledged ${acknowledgedMax}; keys of the last prefix missing: ${missing.join(", ")}`);
    }
    const j = matches[matches.length - 1]!;
    if (j < syncedMax) fail(`acknowledged synced write ${syncedMax} lost: the state is the prefix up to op ${j}`);
    if (flavour === "plain" && j < acknowledgedMax) fail(`acknowledged (unsynced) write ${acknowledgedMax} lost in a process crash: the state is the prefix up to op ${j}`);

    // The realized history is ops 0..j: the model carries on from there.
    for (let index = start; index <= j; index++) {
      const op = opAt(seed, index);
      if (isWrite(op)) modelSum = applyWriteFingerprinted(model, op, modelSum);
    }
    next = j + 1;
    let issuedWrites = 0;
    let lostWrites = 0;
    for (let index = start; index <= Math.max(summary.issuedMax, j); index++) {
      if (!isWrite(opAt(seed, index))) continue;
      issuedWrites++;
      if (index > j) lostWrites++;
    }
    totals.opsIssued += issuedWrites;
    totals.acknowledgedSynced += synced;
    totals.acknowledgedUnsynced += summary.acknowledged.length - synced;
    totals.opsVerified += issuedWrites - lostWrites;
    const acknowledgedLost = summary.acknowledged.filter((index) => index > j).length;
    totals.unacknowledgedLost += lostWrites - acknowledgedLost;
    totals.acknowledgedUnsyncedLost += acknowledgedLost;
    finalKeys = model.size;
    options.log?.(
      `kill ${kill}/${kills}: ${summary.ready ? `after ${child.lines.length} lines` : "before ready"}${"afterPhase" in schedule ? ` aimed at ${schedule.afterPhase}` : ""}` +
        `${summary.maintenanceAtKill === null ? "" : ` during ${summary.maintenanceAtKill}`}${(["flush", "compaction", "gc"] as const).filter((what) => summary.workAtKill[what]).map((what) => ` in ${what}`).join("")}, ` +
        `acked ${summary.acknowledged.length} (synced ${synced}), prefix ${start}..${j} of issued ..${summary.issuedMax}, recovery ${recovered.recoveryMs.toFixed(1)} ms${recovered.cut ? " (cut)" : ""}${lossySide === null ? "" : `, ${undone} directory ops undone`}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  if (lossySide !== null) rmSync(lossySide, { recursive: true, force: true });
  const sorted = recoveryTimes.slice().sort((left, right) => left - right);
  return {
    runtime: runtimeName(),
    flavour,
    dirOpsUndone,
    seed,
    kills,
    killsBeforeReady: totals.killsBeforeReady,
    killsDuringMaintenance: totals.maintenance,
    killsDuringWork: totals.work,
    killsAimed: totals.aimed,
    opsIssued: totals.opsIssued,
    acknowledgedSynced: totals.acknowledgedSynced,
    acknowledgedUnsynced: totals.acknowledgedUnsynced,
    opsVerified: totals.opsVerified,
    unacknowledgedLost: totals.unacknowledgedLost,
    acknowledgedUnsyncedLost: totals.acknowledgedUnsyncedLost,
    recoveryCuts: totals.recoveryCuts,
    recoveryMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
    finalKeys,
    lockWaits,
    durationMs: performance.now() - started,
  };
}
