/**
 * Opening a database for a command: read commands with the engine's read-only open (nothing on
 * disk changes), write commands normally. Loaded only by commands that open the engine.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AuraDB, type AuraDBOptions } from "auradb";
import { CommandError, printError, errorColors } from "./_output.ts";

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
 * Opens `dir` without changing it: the engine's read-only open (its fresh manifest, CURRENT
 * switch and any recovery work stay in memory; no background work; writes refused).
 */
export async function openReadOnly(dir: string, options: AuraDBOptions = {}): Promise<AuraDB> {
  requireDatabase(dir);
  const holder = lockHolder(dir);
  if (holder !== null && holder !== process.pid) {
    printError(errorColors.yellow(`note: process ${holder} has this database open (or crashed with it open); reading it anyway, without changing it`));
  }
  return AuraDB.open(dir, { ...options, readOnly: true });
}

/** Opens `dir` for writing; `create`: make a new database when there is none. */
export async function openWritable(dir: string, create: boolean, options: AuraDBOptions = {}): Promise<AuraDB> {
  if (!create) requireDatabase(dir);
  return AuraDB.open(dir, { ...options, createIfMissing: create });
}
