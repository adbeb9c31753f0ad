/**
 * Opening a database for a command: read commands through the copy-on-write overlay (nothing on
 * disk changes), write commands normally. Loaded only by commands that open the engine.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AuraDB, type AuraDBOptions } from "auradb";
import { nodeFs } from "@auradb/fs/node";
import { CommandError, printError, errorColors } from "./_output.ts";
import { ReadOnlyOverlayFs } from "./_readonly-fs.ts";

/** What a read-only open returns: the database and the overlay that kept its changes. */
export interface ReadOnlyDatabase {
  readonly db: AuraDB;
  readonly overlay: ReadOnlyOverlayFs;
}

/** Fails with one clear line unless `dir` holds a database (a CURRENT file). */
export function requireDatabase(dir: string): void {
  if (!existsSync(dir)) throw new CommandError(`no database at ${dir} (the directory does not exist)`);
  if (!statSync(dir).isDirectory()) throw new CommandError(`${dir} is not a directory`);
  if (!existsSync(join(dir, "CURRENT"))) throw new CommandError(`no database at ${dir} (no CURRENT file)`);
}

/**
 * The pid in the database's LOCK file when one is there: another process (or one that crashed)
 * has the database open. Read commands warn: they read files that may change under them.
 */
export function lockHolder(dir: string): number | null {
  try {
    const record = JSON.parse(readFileSync(join(dir, "LOCK"), "utf8")) as { pid?: unknown };
    return typeof record.pid === "number" ? record.pid : null;
  } catch {
    return null;
  }
}

/**
 * Opens `dir` without changing it: the engine runs on a copy-on-write overlay (its fresh manifest,
 * CURRENT switch and any recovery work stay in memory), with background compaction and
 * value-log GC off so that it does no work nobody asked for.
 */
export async function openReadOnly(dir: string, options: AuraDBOptions = {}): Promise<ReadOnlyDatabase> {
  requireDatabase(dir);
  const holder = lockHolder(dir);
  if (holder !== null && holder !== process.pid) {
    printError(errorColors.yellow(`note: process ${holder} has this database open (or crashed with it open); reading it anyway, without changing it`));
  }
  const overlay = new ReadOnlyOverlayFs(nodeFs());
  const db = await AuraDB.open(dir, { ...options, fs: overlay, createIfMissing: false, autoCompaction: false, valueLogGcRatio: 0 });
  return { db, overlay };
}

/** Opens `dir` for writing; `create`: make a new database when there is none. */
export async function openWritable(dir: string, create: boolean, options: AuraDBOptions = {}): Promise<AuraDB> {
  if (!create) requireDatabase(dir);
  return AuraDB.open(dir, { ...options, createIfMissing: create });
}
