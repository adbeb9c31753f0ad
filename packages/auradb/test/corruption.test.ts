/**
 * Corruption and hostile files (RELIABILITY-PLAN §3d): a database built by a seeded workload
 * (tables with learned-index blocks, a value log, an unflushed WAL tail, a MANIFEST and CURRENT)
 * is copied, one file of one kind is mutated (bit flips, a zeroed or random sector, truncation,
 * garbage appended, two files of a kind swapped), and the copy is opened, every key of the model
 * read and the whole database scanned, with `paranoidChecks` off and on. Every outcome must be:
 *
 * - DETECTED: open refused, or a read/scan threw a `CorruptionError` (or `NotSupportedError`);
 * - RECOVERED: the WAL lost a suffix of the unflushed writes (recovery's documented rule), and
 *   what remains equals the model after a prefix of them;
 * - BENIGN: every answer equals the model.
 *
 * Never SILENT-WRONG (an answer differs without an error), CRASH (a non-AuraDB exception) or
 * HANG (a case over the time limit). With `paranoidChecks`, a mutation of a table or a value-log
 * file that changes any byte must be refused at open.
 *
 * `AURADB_CORRUPTION_CASES` (default 12 per file kind and mutation) and `AURADB_CORRUPTION_SEED`
 * set the size and the seed; the seed and the case are printed on failure.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { AuraError, ErrorCode, readFile } from "@auradb/fs";
import { createSeededRandom, MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import type { AuraDBOptions } from "../src/index.ts";

const CASES = Number(process.env.AURADB_CORRUPTION_CASES ?? 12);
const SEED = Number(process.env.AURADB_CORRUPTION_SEED ?? 20261124);
const CASE_TIMEOUT_MS = 20_000;

const OPTIONS: AuraDBOptions = {
  memtableBytes: 32 * 1024,
  blockBytes: 512,
  targetFileBytes: 16 * 1024,
  l0CompactionTrigger: 2,
  level1Bytes: 64 * 1024,
  valueThreshold: 300,
  valueLogFileBytes: 64 * 1024,
  learnedIndex: true,
  autoCompaction: true,
};

type Model = Map<string, string>;
type Op = { key: string; value: string | null };


const valueOf = (index: number, round: number): string => `v${round}-${index}-${"abcdefghij".repeat((index * 7 + round) % 60)}`;

/** Builds the database: flushed history (tables, vlog), then a WAL tail of unflushed writes. */
async function buildDatabase(): Promise<{ files: Map<string, Uint8Array>; base: Model; tail: Op[] }> {
  const fs = new MemFs();
  const db = await AuraDB.open("/db", { fs, ...OPTIONS });
  const base: Model = new Map();
  const random = createSeededRandom(SEED);
  for (let round = 0; round < 3; round++) {
    for (let start = 0; start < 1500; start += 100) {
      const batch = [];
      for (let index = start; index < start + 100; index++) {
        const key = `key${String(Math.floor(random() * 1200)).padStart(5, "0")}`;
        if (random() < 0.08) {
          batch.push({ type: "del" as const, key });
          base.delete(key);
        } else {
          const value = valueOf(index, round);
          batch.push({ type: "put" as const, key, value });
          base.set(key, value);
        }
      }
      await db.batch(batch);
    }
    await db.flush();
  }
  await db.compactRange();
  await db.gcValueLog({ ratio: 0.3 });
  await db.flush();
  // The tail: synced puts that stay in the WAL (and the value log) only.
  const tail: Op[] = [];
  for (let index = 0; index < 40; index++) {
    const key = `tail${String(index % 25).padStart(3, "0")}`;
    const value = index % 9 === 0 ? null : valueOf(index, 9);
    if (value === null) await db.delete(key, { sync: true });
    else await db.put(key, value, { sync: true });
    tail.push({ key, value });
  }
  await db.close();
  const files = new Map<string, Uint8Array>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of await fs.list(dir)) {
      const path = `${dir}/${name}`;
      if ((await fs.stat(path)).isDirectory) await walk(path);
      else if (name !== "LOCK") files.set(path, await readFile(fs, path));
    }
  };
  await walk("/db");
  return { files, base, tail };
}

type Kind = "wal" | "vlog" | "sst" | "manifest" | "current";

function kindOf(path: string): Kind | null {
  if (path.endsWith(".wal")) return "wal";
  if (path.endsWith(".vlog")) return "vlog";
  if (path.endsWith(".sst")) return "sst";
  if (/\/MANIFEST-\d+$/.test(path)) return "manifest";
  if (path.endsWith("/CURRENT")) return "current";
  return null;
}

type Mutation = "bit-flips" | "sector-zeroed" | "sector-random" | "truncated" | "garbage-appended" | "swapped";
const MUTATIONS: Mutation[] = ["bit-flips", "sector-zeroed", "sector-random", "truncated", "garbage-appended", "swapped"];

/** Applies `mutation` to one file of `kind`; null when the database has no such case (e.g. one file: no swap). */
function mutate(files: Map<string, Uint8Array>, kind: Kind, mutation: Mutation, random: () => number): { files: Map<string, Uint8Array>; what: string } | null {
  const paths = [...files.keys()].filter((path) => kindOf(path) === kind).sort();
  if (paths.length === 0) return null;
  const copy = new Map(files);
  const path = paths[Math.floor(random() * paths.length)]!;
  const bytes = files.get(path)!.slice();
  const at = (limit: number) => Math.floor(random() * limit);
  switch (mutation) {
    case "bit-flips": {
      const flips = 1 + at(8);
      const offsets = [];
      for (let flip = 0; flip < flips; flip++) {
        const offset = at(bytes.length);
        bytes[offset]! ^= 1 << at(8);
        offsets.push(offset);
      }
      copy.set(path, bytes);
      return { files: copy, what: `${path}: bits flipped at ${offsets.join(",")}` };
    }
    case "sector-zeroed":
    case "sector-random": {
      const size = random() < 0.5 ? 512 : 4096;
      const start = at(Math.max(1, bytes.length - 16));
      const end = Math.min(bytes.length, start + size);
      for (let offset = start; offset < end; offset++) bytes[offset] = mutation === "sector-zeroed" ? 0 : at(256);
      copy.set(path, bytes);
      return { files: copy, what: `${path}: ${mutation} ${start}..${end}` };
    }
    case "truncated": {
      const length = at(bytes.length);
      copy.set(path, bytes.slice(0, length));
      return { files: copy, what: `${path}: truncated to ${length} of ${bytes.length}` };
    }
    case "garbage-appended": {
      const garbage = new Uint8Array(1 + at(5000));
      for (let index = 0; index < garbage.length; index++) garbage[index] = at(256);
      const grown = new Uint8Array(bytes.length + garbage.length);
      grown.set(bytes);
      grown.set(garbage, bytes.length);
      copy.set(path, grown);
      return { files: copy, what: `${path}: ${garbage.length} garbage bytes appended` };
    }
    case "swapped": {
      if (paths.length < 2) return null;
      let other = paths[at(paths.length)]!;
      if (other === path) other = paths[(paths.indexOf(path) + 1) % paths.length]!;
      copy.set(path, files.get(other)!);
      copy.set(other, files.get(path)!);
      return { files: copy, what: `${path} and ${other} swapped` };
    }
  }
}

/** "refused": open threw; "detected": a read or the scan threw. */
type Outcome = "refused" | "detected" | "recovered" | "benign";

function isCorruption(error: unknown): boolean {
  return AuraError.isInstance(error) && (error.code === ErrorCode.Corruption || error.code === ErrorCode.NotSupported);
}

/** Opens, reads every model key and scans; classifies the outcome, or throws on a forbidden one. */
async function oracle(files: Map<string, Uint8Array>, base: Model, tail: Op[], paranoidChecks: boolean): Promise<Outcome> {
  const fs = new MemFs();
  const made = new Set<string>();
  for (const [path, bytes] of files) {
    const parts = path.split("/").slice(1, -1);
    for (let depth = 1; depth <= parts.length; depth++) {
      const dir = `/${parts.slice(0, depth).join("/")}`;
      if (!made.has(dir)) await fs.mkdir(dir);
      made.add(dir);
    }
    const file = await fs.open(path, { create: true });
    await file.write(bytes, 0);
    await file.close();
  }
  let db: AuraDB;
  try {
    db = await AuraDB.open("/db", { fs, ...OPTIONS, autoCompaction: false, paranoidChecks });
  } catch (error) {
    if (isCorruption(error)) return "refused";
    throw error;
  }
  try {
    const seen = new Map<string, string>();
    try {
      for (const [key, value] of db.iterator()) seen.set(new TextDecoder().decode(key), new TextDecoder().decode(value));
    } catch (error) {
      if (isCorruption(error)) return "detected";
      throw error;
    }
    // Point reads agree with the scan, key by key (a damaged part may surface only here).
    const keys = new Set([...base.keys(), ...tail.map((op) => op.key), ...seen.keys()]);
    for (const key of keys) {
      let got: Uint8Array | undefined;
      try {
        got = db.getSync(key);
      } catch (error) {
        if (isCorruption(error)) return "detected";
        throw error;
      }
      const text = got === undefined ? undefined : new TextDecoder().decode(got);
      assert.equal(text, seen.get(key), `get(${key}) disagrees with the scan`);
    }
    // The state must equal base + a prefix of the tail (all of it: benign; less: recovered).
    const state = new Map(base);
    const matches = (candidate: Model) => candidate.size === seen.size && [...candidate].every(([key, value]) => seen.get(key) === value);
    const prefixes: Model[] = [new Map(state)];
    for (const op of tail) {
      if (op.value === null) state.delete(op.key);
      else state.set(op.key, op.value);
      prefixes.push(new Map(state));
    }
    if (matches(prefixes[prefixes.length - 1]!)) return "benign";
    for (let length = tail.length - 1; length >= 0; length--) if (matches(prefixes[length]!)) return "recovered";
    const differing = [...new Set([...seen.keys(), ...base.keys()])].filter((key) => seen.get(key) !== prefixes[prefixes.length - 1]!.get(key)).slice(0, 5);
    throw new assert.AssertionError({ message: `SILENT-WRONG: no prefix of the writes matches (e.g. ${differing.join(", ")})` });
  } finally {
    await db.close().catch(() => {});
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} took over ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("corruption and hostile files", () => {
  it(`every mutation of every file kind is detected, recovered or benign; never wrong, never a crash (seed ${SEED}, ${CASES} cases each)`, async () => {
    const { files, base, tail } = await buildDatabase();
    const kinds = new Set([...files.keys()].map(kindOf));
    for (const kind of ["wal", "vlog", "sst", "manifest", "current"] as const) assert.ok(kinds.has(kind), `the database has ${kind} files`);
    assert.equal(await oracle(files, base, tail, false), "benign", "the unmutated database opens and reads right");
    const clean = await oracle(files, base, tail, true);
    assert.equal(clean, "benign", "the unmutated database opens and reads right, paranoid included");
    const random = createSeededRandom(SEED ^ 0x5eed);
    const tally = new Map<string, number>();
    let injected = 0;
    for (const kind of ["wal", "vlog", "sst", "manifest", "current"] as const) {
      for (const mutation of MUTATIONS) {
        for (let index = 0; index < CASES; index++) {
          const mutated = mutate(files, kind, mutation, random);
          if (mutated === null) continue;
          injected++;
          for (const paranoid of [false, true]) {
            const context: string = `seed ${SEED}, ${kind} ${mutation} case ${index}${paranoid ? " (paranoid)" : ""}: ${mutated.what}`;
            let outcome: Outcome;
            try {
              outcome = await withTimeout(oracle(mutated.files, base, tail, paranoid), context);
            } catch (error) {
              throw new Error(`${context}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
            }
            const key = `${kind} ${paranoid ? "paranoid" : "default"} ${outcome}`;
            tally.set(key, (tally.get(key) ?? 0) + 1);
            // A paranoid open reads every table block: any changed byte of a table is refused at open.
            if (paranoid && kind === "sst" && !sameFiles(files, mutated.files)) {
              assert.equal(outcome, "refused", `${context}: paranoidChecks opened a damaged table`);
            }
          }
        }
      }
    }
    const summary = [...tally].sort().map(([key, count]) => `${key}: ${count}`).join("; ");
    console.log(`corruption: ${injected} mutations injected, outcomes: ${summary}`);
    assert.ok(injected >= 5 * 5 * CASES);
  });
});

function sameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  for (const [path, bytes] of a) {
    const other = b.get(path);
    if (other === undefined || other.length !== bytes.length) return false;
    for (let index = 0; index < bytes.length; index++) if (other[index] !== bytes[index]) return false;
  }
  return true;
}
