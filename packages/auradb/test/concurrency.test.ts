/**
 * Concurrency (RELIABILITY-PLAN §3b, "under concurrency"): many async clients issue puts, deletes,
 * batches, gets, snapshots and iterators at once while flushes, compactions and value-log GC run
 * (tiny memtables, separated values, GC forced). Every completed operation is recorded with its
 * invocation and response times (a logical clock), and every read is checked against the writes:
 *
 * - a get of k returned a value some write of k could have left there: a write w with
 *   w.invoked < read.responded that no other write of k definitely overwrote before the read
 *   started (w.responded < w2.invoked and w2.responded < read.invoked), or undefined when no
 *   write of k definitely completed before the read started (or one such write was a delete);
 * - a snapshot reads one state: the same answers every time it is asked, and each answer obeys
 *   the rule above for the interval in which the snapshot was taken;
 * - an iterator opened on that snapshot agrees with the snapshot's gets, key by key.
 *
 * Writes are unique (a value names its client and counter), so a value identifies its write.
 * `AURADB_CONCURRENCY_SEED` replays a run (the seed is printed on failure).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { createSeededRandom, MemFs } from "@auradb/fs/testing";
import { AuraDB } from "../src/index.ts";
import type { Snapshot } from "../src/index.ts";

const SEED = Number(process.env.AURADB_CONCURRENCY_SEED ?? Date.now() % 1_000_000);
const CLIENTS = 12;
const OPS_PER_CLIENT = 400;
const KEYS = 40;

interface Write {
  readonly key: string;
  /** null: a delete. */
  readonly value: string | null;
  readonly invoked: number;
  responded: number;
}


const decoder = new TextDecoder();

describe("concurrent clients against flushes, compactions and GC", () => {
  it(`every completed read is explained by the writes around it (seed ${SEED})`, async () => {
    const db = await AuraDB.open("/db", {
      fs: new MemFs(),
      memtableBytes: 8 * 1024,
      blockBytes: 512,
      targetFileBytes: 8 * 1024,
      l0CompactionTrigger: 2,
      level1Bytes: 32 * 1024,
      valueThreshold: 64,
      valueLogFileBytes: 64 * 1024,
      valueLogGcRatio: 0.2,
      learnedIndex: true,
    });
    let clock = 0;
    const writes = new Map<string, Write[]>();
    const checks: Array<() => void> = [];
    let reads = 0;

    /** The values a read of `key` over [invoked, responded] may return (undefined included or not). */
    const allowed = (key: string, invoked: number, responded: number): Set<string | null> => {
      const ofKey = writes.get(key) ?? [];
      const result = new Set<string | null>();
      let anyBefore = false;
      for (const write of ofKey) {
        if (write.invoked >= responded) continue; // started after the read ended
        const overwritten = ofKey.some((other) => other !== write && write.responded < other.invoked && other.responded < invoked);
        if (overwritten) continue;
        result.add(write.value);
        if (write.responded < invoked) anyBefore = true;
      }
      if (!anyBefore) result.add(null); // nothing definitely written yet: absent is possible
      return result;
    };

    const recordWrite = (key: string, value: string | null): Write => {
      const write: Write = { key, value, invoked: ++clock, responded: Number.POSITIVE_INFINITY };
      let list = writes.get(key);
      if (list === undefined) writes.set(key, (list = []));
      list.push(write);
      return write;
    };

    const checkRead = (key: string, got: Uint8Array | undefined, invoked: number, responded: number, what: string) => {
      const value = got === undefined ? null : decoder.decode(got);
      // Checked at the end, when every write's response time is known.
      checks.push(() => {
        const ok = allowed(key, invoked, responded);
        assert.ok(ok.has(value), `seed ${SEED}: ${what} of ${key} returned ${value === null ? "nothing" : value.slice(0, 24)}, allowed: ${[...ok].map((v) => (v === null ? "nothing" : v.slice(0, 24))).join(" | ")}`);
      });
      reads++;
    };

    const client = async (id: number) => {
      const random = createSeededRandom(SEED * 31 + id);
      for (let op = 0; op < OPS_PER_CLIENT; op++) {
        const key = `k${String(Math.floor(random() * KEYS)).padStart(3, "0")}`;
        const roll = random();
        if (roll < 0.3) {
          // Values straddle the separation threshold: some inline, some in the value log.
          const value = `c${id}-${op}-${"x".repeat(Math.floor(random() * 150))}`;
          const write = recordWrite(key, value);
          await db.put(key, value);
          write.responded = ++clock;
        } else if (roll < 0.38) {
          const write = recordWrite(key, null);
          await db.delete(key);
          write.responded = ++clock;
        } else if (roll < 0.48) {
          const other = `k${String(Math.floor(random() * KEYS)).padStart(3, "0")}`;
          const value = `b${id}-${op}`;
          const pending = [recordWrite(key, value)];
          const operations: Array<{ type: "put"; key: string; value: string } | { type: "del"; key: string }> = [{ type: "put", key, value }];
          if (other !== key) {
            pending.push(recordWrite(other, null));
            operations.push({ type: "del", key: other });
          }
          await db.batch(operations);
          const responded = ++clock;
          for (const write of pending) write.responded = responded;
        } else if (roll < 0.8) {
          const invoked = ++clock;
          const got = random() < 0.5 ? db.getSync(key) : await db.get(key);
          checkRead(key, got, invoked, ++clock, "get");
        } else if (roll < 0.93) {
          const invoked = ++clock;
          const snapshot: Snapshot = db.snapshot();
          const responded = ++clock;
          const probe = Array.from({ length: 6 }, () => `k${String(Math.floor(random() * KEYS)).padStart(3, "0")}`);
          const first = new Map<string, string | undefined>();
          for (const probed of probe) {
            const got = await snapshot.get(probed);
            first.set(probed, got === undefined ? undefined : decoder.decode(got));
            checkRead(probed, got, invoked, responded, "snapshot get");
          }
          await new Promise<void>((resolve) => setImmediate(resolve)); // let writes and background work run
          for (const probed of probe) {
            const again = snapshot.getSync(probed);
            assert.equal(again === undefined ? undefined : decoder.decode(again), first.get(probed), `seed ${SEED}: a snapshot read ${probed} twice differently`);
          }
          // An iterator on the snapshot sees the same state.
          for await (const [rawKey, rawValue] of snapshot.iterator({ gte: "k000", lt: "k999" })) {
            const iterated = decoder.decode(rawKey);
            const expected = snapshot.getSync(iterated);
            assert.ok(expected !== undefined, `seed ${SEED}: the snapshot's iterator shows ${iterated}, its get does not`);
            assert.equal(decoder.decode(rawValue), decoder.decode(expected), `seed ${SEED}: snapshot iterator and get disagree on ${iterated}`);
          }
          snapshot.release();
        } else if (roll < 0.97) {
          // A plain iterator reads a consistent view: every key it shows obeys the rule over its life.
          const invoked = ++clock;
          const seen: Array<[string, Uint8Array]> = [];
          for await (const [rawKey, rawValue] of db.iterator({ limit: 10, gte: key })) seen.push([decoder.decode(rawKey), rawValue]);
          const responded = ++clock;
          for (const [seenKey, value] of seen) checkRead(seenKey, value, invoked, responded, "iterator");
        } else {
          await db.gcValueLog({ ratio: 0.1 });
        }
      }
    };

    await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    for (const check of checks) check();
    const stats = db.stats();
    await db.close();
    assert.ok(stats.flushes > 3 && stats.compactions > 0, `background work ran: ${stats.flushes} flushes, ${stats.compactions} compactions`);
    assert.ok(stats.valueLog.gcRuns > 0, "value-log GC ran");
    assert.ok(reads > 1000, `reads checked: ${reads}`);
  });
});
