/**
 * `auradb demo`: the guided tour of the README's quick start, on a real directory. Load with a
 * progress bar (small values inline, 8 KiB values in the value log), read back, scan, crash a
 * writer with SIGKILL and check every acknowledged synced write after recovery, then the stats
 * and where the files are. Every check is real: a lost write or a wrong value fails the demo.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { AuraDB, type DbStats } from "auradb";
import { expectPositionals, integerFlag, parseArgs, stringFlag } from "../_args.ts";
import { colors, CommandError, formatBytes, formatCount, formatDuration, print } from "../_output.ts";
import type { CommandContext } from "../cli.ts";
import { crashKey, crashValue } from "./demo-writer.ts";
import { diskUsage, formatStats } from "./stats.ts";

const DEFAULT_KEYS = 200_000;
/** Every LARGE_EVERY-th value is large: it goes to the value log. */
const LARGE_EVERY = 50;
const LARGE_VALUE_BYTES = 8192;
const BATCH_OPERATIONS = 1000;
const SAMPLE_READS = 10_000;
/** The writer is killed after this many acknowledgements, or after CRASH_AFTER_MS. */
const CRASH_AFTER_ACKS = 300;
const CRASH_AFTER_MS = 3000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function userKey(index: number): string {
  return `user:${String(index).padStart(9, "0")}`;
}

/** The value stored under key `index`: checkable after the fact, large for every 50th. */
function userValue(index: number): Uint8Array {
  if (index % LARGE_EVERY === 0) {
    const unit = encoder.encode(`[large value ${index}]`);
    const bytes = new Uint8Array(LARGE_VALUE_BYTES);
    for (let offset = 0; offset < bytes.length; offset += unit.length) bytes.set(unit.subarray(0, Math.min(unit.length, bytes.length - offset)), offset);
    return bytes;
  }
  return encoder.encode(`{"id":${index},"name":"user ${index}","balance":${(index * 7919) % 100_000}}`);
}

function sameBytes(left: Uint8Array | undefined, right: Uint8Array): boolean {
  return left !== undefined && left.length === right.length && Buffer.compare(left, right) === 0;
}

/** How to run this CLI again in a child process, with the runtime running it now. */
function selfCommand(entryPath: string): { command: string; args: string[] } {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  return { command: process.execPath, args: isDeno ? ["run", "-A", entryPath] : [entryPath] };
}

function step(number: number, title: string): void {
  print("");
  print(colors.bold(`${colors.cyan(`[${number}/5]`)} ${title}`));
}

/** A progress bar on a terminal; plain lines, about one a second, elsewhere (logs, CI, tests). */
async function progressBar(total: number): Promise<{ update(value: number): void; stop(): void }> {
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: `  loading ${colors.cyan("{bar}")} {percentage}% | {value}/{total} keys | {speed} keys/s | eta {eta_formatted}`,
      barCompleteChar: "█",
      barIncompleteChar: "░",
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      stream: process.stdout,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { speed: "-" });
  return {
    update(value) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(value, { speed: seconds > 0 ? formatCount(value / seconds) : "-" });
    },
    stop() {
      bar.stop();
    },
  };
}

async function load(db: AuraDB, keys: number): Promise<number> {
  const bar = await progressBar(keys);
  const started = performance.now();
  for (let start = 0; start < keys; start += BATCH_OPERATIONS) {
    const end = Math.min(keys, start + BATCH_OPERATIONS);
    const operations = [];
    for (let index = start; index < end; index++) operations.push({ type: "put" as const, key: userKey(index), value: userValue(index) });
    await db.batch(operations);
    bar.update(end);
  }
  bar.stop();
  return performance.now() - started;
}

/** Reads a seeded random sample back and checks every value. */
function readBack(db: AuraDB, keys: number): { reads: number; wrong: number; milliseconds: number } {
  let seed = 0x2545f491;
  const reads = Math.min(SAMPLE_READS, keys);
  let wrong = 0;
  const started = performance.now();
  for (let count = 0; count < reads; count++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const index = seed % keys;
    if (!sameBytes(db.getSync(userKey(index)), userValue(index))) wrong++;
  }
  return { reads, wrong, milliseconds: performance.now() - started };
}

interface CrashResult {
  readonly acknowledged: Set<number>;
  readonly highest: number;
}

/** Starts the writer, kills it with SIGKILL after some acknowledgements, returns what it acknowledged. */
async function crashWriter(entryPath: string, dir: string): Promise<CrashResult> {
  const { command, args } = selfCommand(entryPath);
  const child = spawn(command, [...args, "__demo-writer", dir], { stdio: ["ignore", "pipe", "pipe"] });
  const acknowledged = new Set<number>();
  let highest = 0;
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.on("exit", (code) => resolvePromise(code)));
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line === "ready") {
      killTimer = setTimeout(kill, CRASH_AFTER_MS);
      continue;
    }
    const match = /^ack (\d+)$/.exec(line);
    if (match === null) continue;
    const n = Number(match[1]);
    acknowledged.add(n);
    highest = Math.max(highest, n);
    if (acknowledged.size >= CRASH_AFTER_ACKS) kill();
  }
  clearTimeout(killTimer);
  const code = await exited;
  if (child.signalCode !== "SIGKILL") throw new CommandError(`the writer process ended by itself (exit code ${code}): ${stderr.trim().split("\n")[0] ?? ""}`);
  return { acknowledged, highest };
}

export async function run(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { dir: { type: "string" }, keys: { type: "string", short: "n" } });
  expectPositionals(positionals, []);
  const keys = integerFlag(values, "keys", DEFAULT_KEYS, 1);
  const given = stringFlag(values, "dir");
  if (given !== undefined && existsSync(given) && readdirSync(given).length > 0) {
    throw new CommandError(`--dir ${given} is not empty: the demo needs a new or empty directory`);
  }
  const dir = resolve(given ?? mkdtempSync(join(tmpdir(), "auradb-demo-")));
  const demoStarted = performance.now();
  print(colors.bold("AuraDB demo"));
  print(`  database: ${dir}`);
  let failures = 0;

  // 1. Load.
  step(1, `Loading ${formatCount(keys)} keys in batches of ${BATCH_OPERATIONS} (every ${LARGE_EVERY}th value is ${formatBytes(LARGE_VALUE_BYTES)})`);
  // NB: a 4 MiB memtable (default 8) so that even a small demo flushes and compacts.
  const options = { memtableBytes: 4 * 1024 * 1024 };
  let db = await AuraDB.open(dir, options);
  const loadMs = await load(db, keys);
  const loadStats: DbStats = db.stats();
  const largeCount = Math.ceil(keys / LARGE_EVERY);
  print(`  loaded in ${formatDuration(loadMs)}: ${colors.bold(formatCount((keys / loadMs) * 1000))} keys/s`);
  print(
    `  ${formatCount(largeCount)} large values went to the value log once (${formatBytes(loadStats.valueLog.bytes)}); the WAL and the tables hold only pointers to them`,
  );

  // 2. Read back.
  step(2, "Reading a random sample back (getSync: no Promise per read)");
  const reads = readBack(db, keys);
  if (reads.wrong > 0) failures++;
  print(
    `  ${formatCount(reads.reads)} reads in ${formatDuration(reads.milliseconds)} (${formatCount((reads.reads / reads.milliseconds) * 1000)} reads/s): ` +
      (reads.wrong === 0 ? colors.green("every value correct") : colors.red(`${reads.wrong} wrong values`)),
  );

  // 3. Scan.
  const from = Math.floor(keys / 2);
  step(3, `Scanning in key order from ${userKey(from)}`);
  let shown = 0;
  for (const [key, value] of db.iterator({ gte: userKey(from), limit: 3 })) {
    const text = value.length > 60 ? `${decoder.decode(value.subarray(0, 40))}… (${formatBytes(value.length)})` : decoder.decode(value);
    print(`  ${colors.cyan(decoder.decode(key))}  ${text}`);
    shown++;
  }
  const scanStarted = performance.now();
  let scanned = 0;
  for (const _entry of db.iterator({ gte: userKey(0), limit: 10_000 })) scanned++;
  const scanMs = performance.now() - scanStarted;
  print(`  ${formatCount(scanned)} entries scanned in ${formatDuration(scanMs)} (${formatCount((scanned / scanMs) * 1000)} entries/s, large values included)`);
  if (shown === 0) failures++;
  await db.close();

  // 4. Crash and recover.
  step(4, "Crash test: a writer process makes synced puts; we kill it with SIGKILL mid-stream");
  const crash = await crashWriter(context.entryPath, dir);
  print(`  writer killed after ${formatCount(crash.acknowledged.size)} acknowledged synced puts (highest ${crashKey(crash.highest)})`);
  const reopenStarted = performance.now();
  db = await AuraDB.open(dir, options);
  const reopenMs = performance.now() - reopenStarted;
  let lost = 0;
  for (const n of crash.acknowledged) if (!sameBytes(db.getSync(crashKey(n)), encoder.encode(crashValue(n)))) lost++;
  let survived = 0;
  for (const _entry of db.iterator({ gte: "crash:", lt: "crash;" })) survived++;
  print(`  reopened in ${formatDuration(reopenMs)}; recovery replayed ${formatCount(db.recovery.replayedRecords)} WAL records${db.recovery.cut !== null ? ` and cut the log at ${db.recovery.cut.lsn}` : ""}`);
  if (lost === 0) {
    print(colors.green(`  ✓ all ${formatCount(crash.acknowledged.size)} acknowledged writes survived`) + colors.dim(` (${formatCount(survived)} crash:* keys in all: writes in flight at the kill may land too)`));
  } else {
    failures++;
    print(colors.red(`  ✗ ${formatCount(lost)} acknowledged writes were lost`));
  }
  let userKeys = 0;
  for (const _entry of db.iterator({ gte: "user:", lt: "user;" })) userKeys++;
  if (userKeys !== keys) failures++;
  print(`  ${userKeys === keys ? colors.green("✓") : colors.red("✗")} ${formatCount(userKeys)} of ${formatCount(keys)} loaded keys are there`);

  // 5. Stats and files.
  step(5, "What the engine did");
  print(
    `  while loading: write amplification ${colors.bold(`${loadStats.writeAmplification.toFixed(2)}×`)} ` +
      `(${formatBytes(loadStats.userBytesWritten)} from you → WAL ${formatBytes(loadStats.walBytesWritten)}, value log ${formatBytes(loadStats.valueLog.bytesWritten)}, ` +
      `flushes ${formatBytes(loadStats.flushBytesWritten)}, compactions ${formatBytes(loadStats.compactionBytesWritten)}); ${loadStats.flushes} flushes, ${loadStats.compactions} compactions`,
  );
  const finalStats = db.stats();
  await db.close();
  print(await formatStats(finalStats, { disk: diskUsage(dir) }));
  print("");
  print(`${colors.bold("Your database is in")} ${dir}`);
  print(`  explore it:  auradb shell ${dir}`);
  print(`               auradb scan ${dir} --prefix crash: --limit 5`);
  print(`               auradb verify ${dir}`);
  print(`  remove it:   rm -rf ${dir}`);
  print("");
  const total = formatDuration(performance.now() - demoStarted);
  if (failures > 0) {
    print(colors.red(`demo finished in ${total} with ${failures} failed check${failures === 1 ? "" : "s"}`));
    return 1;
  }
  print(colors.green(`demo finished in ${total}: every check passed`));
  return 0;
}
