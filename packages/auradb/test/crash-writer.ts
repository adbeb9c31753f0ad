/**
 * The writer child of the kill -9 crash test: opens the database in `--dir`, then issues the
 * workload's ops from `--start` on (crash-workload.ts) until it is killed.
 *
 * Protocol on stdout, one line each, written with a synchronous write to fd 1 so that a line is
 * in the pipe before the next step (a SIGKILL cannot lose a line already written):
 * - `ready`: the database is open (recovery done);
 * - `w <index>`: write `index` is about to be issued (the parent's upper bound of the prefix);
 * - `a <index>`: write `index` was acknowledged (its promise resolved);
 * - `m <index> <kind>` / `e <index>`: maintenance op (flush, compact, gc) started / finished;
 * - `P <event>`: the engine's `onEvent` (a flush, compaction or GC starting or ending, tables
 *   written, a WAL roll), explicit or in the background: the parent may aim a kill at one.
 * Up to `--window` writes are in flight at once (group commit); at most one maintenance op runs
 * beside them. Any error is fatal: it goes to stderr and the exit code is 1. With `--lossy SIDE`
 * the database runs on `LossyFs` (lossy-fs.ts): unsynced bytes die with the process.
 */
import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { nodeFs } from "@auradb/fs/node";
import { AuraDB, type AuraEvent } from "../src/index.ts";
import { CRASH_DB_OPTIONS, isWrite, opAt, toBatch, valueBytes } from "./crash-workload.ts";
import { LossyFs } from "./lossy-fs.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { dir: { type: "string" }, seed: { type: "string" }, start: { type: "string" }, window: { type: "string" }, lossy: { type: "string" } },
});
if (values.dir === undefined || values.seed === undefined || values.start === undefined) {
  throw new TypeError("crash-writer: --dir, --seed and --start are required");
}
const dir = values.dir;
const seed = Number(values.seed);
const start = Number(values.start);
const window = Number(values.window ?? 4);

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};
const fail = (error: unknown): never => {
  writeSync(2, `crash-writer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
};

// --lossy SIDE: the "lossy" flavour, where the kill is a power cut (lossy-fs.ts; SIDE holds its journal).
const fs = values.lossy === undefined ? undefined : new LossyFs(nodeFs(), values.lossy);
const onEvent = (event: AuraEvent): void => say(`P ${event.kind}`);
const db = await AuraDB.open(dir, { ...CRASH_DB_OPTIONS, onEvent, ...(fs === undefined ? {} : { fs }) }).catch(fail);
say("ready");
const inFlight = new Set<Promise<void>>();
let maintenance: Promise<void> | null = null;
for (let index = start; ; index++) {
  const op = opAt(seed, index);
  if (!isWrite(op)) {
    // One maintenance op at a time, beside the writes; a skipped one changes nothing in the model.
    if (maintenance !== null) continue;
    say(`m ${index} ${op.kind}`);
    const started = op.kind === "flush" ? db.flush() : op.kind === "compact" ? db.compactRange() : db.gcValueLog({ ratio: 0.2 }).then(() => {});
    maintenance = started.then(() => {
      say(`e ${index}`);
      maintenance = null;
    }, fail);
    continue;
  }
  while (inFlight.size >= window) await Promise.race(inFlight);
  say(`w ${index}`);
  // Single puts and deletes go through put/delete, the rest through batch: every write API is used.
  const issued = op.kind === "put" ? db.put(op.key, valueBytes(op.value), { sync: op.sync }) : op.kind === "del" ? db.delete(op.key, { sync: op.sync }) : db.batch(toBatch(op), { sync: op.sync });
  const written: Promise<void> = issued.then(() => {
    say(`a ${index}`);
    inFlight.delete(written);
  }, fail);
  inFlight.add(written);
  // NB: let acknowledged writes print before the next op, so acks trail issues only by the window.
  if (inFlight.size >= window || index % 8 === 0) await Promise.race(inFlight);
}
