/**
 * `npm run crash-test -- --kills 1000 [--seed N] [--window 4] [--delay-max-ms 250] [--lossy] [--verbose]`:
 * the long kill -9 run (packages/auradb/test/crash-harness.ts). A writer child is killed with
 * SIGKILL `--kills` times; after each kill the database must hold every acknowledged write and
 * equal the model after a prefix of the issued ops. `--lossy`: the power-cut flavour (the child
 * runs on LossyFs, unsynced bytes and directory operations are lost; only synced writes must
 * survive). Prints progress, then the figures that
 * RELIABILITY.md reports. Runs on the runtime that runs it: `bun scripts/crash-test.ts …` and
 * `deno run -A --no-check scripts/crash-test.ts …` run the children under Bun and Deno.
 * Exit code 1 on a failed check; the message names the seed and keeps the database directory.
 */
import { parseArgs } from "node:util";
import { CrashTestFailure, runCrashTest } from "../packages/auradb/test/crash-harness.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    kills: { type: "string", default: "1000" },
    seed: { type: "string" },
    window: { type: "string", default: "4" },
    "delay-max-ms": { type: "string", default: "250" },
    lossy: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});

function integer(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`crash-test: --${name} must be an integer >= ${min}, got ${String(text)}`);
    process.exit(2);
  }
  return value;
}

const kills = integer("kills", values.kills, 1);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : integer("seed", values.seed, 0);
const window = integer("window", values.window, 1);
const killDelayMsMax = integer("delay-max-ms", values["delay-max-ms"], 1);
const flavour = values.lossy ? "lossy" : "plain";
console.log(`crash-test: ${kills} kills (${flavour}), seed ${seed}, window ${window}, kill delay up to ${killDelayMsMax} ms`);

const every = Math.max(1, Math.floor(kills / 20));
let seen = 0;
try {
  const report = await runCrashTest({
    kills,
    seed,
    window,
    killDelayMsMax,
    flavour,
    log: (line) => {
      seen++;
      if (values.verbose || seen % every === 0) console.log(line);
    },
  });
  const { recoveryMs } = report;
  console.log(JSON.stringify(report, null, 2));
  console.log(
    `crash-test passed: ${report.runtime}, ${report.kills} ${report.flavour} kills (${report.killsBeforeReady} before ready; during flush ${report.killsDuringMaintenance.flush}, ` +
      `compaction ${report.killsDuringMaintenance.compact}, GC ${report.killsDuringMaintenance.gc}; with the engine's work under way: flush ${report.killsDuringWork.flush}, ` +
      `compaction ${report.killsDuringWork.compaction}, GC ${report.killsDuringWork.gc}; aimed at a phase ${Object.values(report.killsAimed).reduce((sum, count) => sum + count, 0)}), ${report.opsIssued} writes issued, ` +
      `${report.acknowledgedSynced} synced + ${report.acknowledgedUnsynced} unsynced acknowledged, ${report.opsVerified} verified, ` +
      `${report.unacknowledgedLost} unacknowledged lost, ${report.flavour === "lossy" ? `${report.acknowledgedUnsyncedLost} acknowledged unsynced lost (allowed: a power cut), ${report.dirOpsUndone} directory ops undone, ` : ""}recovery p50 ${recoveryMs.p50.toFixed(1)} / p99 ${recoveryMs.p99.toFixed(1)} / max ${recoveryMs.max.toFixed(1)} ms, ` +
      `${(report.durationMs / 1000).toFixed(1)} s, seed ${report.seed}`,
  );
} catch (error) {
  if (error instanceof CrashTestFailure) {
    console.error(`crash-test FAILED: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
