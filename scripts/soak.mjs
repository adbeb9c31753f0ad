// Soak: a mixed workload on one database for a long time, with periodic reopens, printing
// throughput, p50/p99 latency, heap and RSS every interval, and failing when memory grows
// without bound.
//
//   npm run soak -- --minutes 30 [--keys 200000] [--report-seconds 30] [--reopen-seconds 120] [--dir D]
//
// Workload: 50 % gets, 25 % puts (values of 100 B to 16 KiB: some inline, some in the value log),
// 10 % deletes, 10 % batches of 10, 5 % short scans, in a loop of awaited operations with 8 in
// flight; value-log GC in the background (the default policy). Every `--reopen-seconds` the
// database is closed and reopened. Memory bound: after the first quarter of the run (caches,
// memtables and JIT settled), the peak RSS (and heap) of the last half may exceed the peak of
// the half before it by at most 25 % + 64 MiB. Exit code 1 when either grows more, or an
// operation failed; 0 otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { AuraDB } from '../packages/auradb/dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []));
const MINUTES = Number(args.minutes ?? 30);
const KEYS = Number(args.keys ?? 200_000);
const REPORT_MS = 1000 * Number(args['report-seconds'] ?? 30);
const REOPEN_MS = 1000 * Number(args['reopen-seconds'] ?? 120);
const IN_FLIGHT = 8;
const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'auradb-soak-'));
const encoder = new TextEncoder();

let seed = 42;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const keyOf = (n) => encoder.encode(`soak:${String(n).padStart(9, '0')}`);
const pool = new Uint8Array(1 << 20);
for (let i = 0; i < pool.length; i++) pool[i] = (i * 2654435761) >>> 24;
const valueOf = () => {
  const size = random() < 0.8 ? 100 + Math.floor(random() * 900) : 4096 + Math.floor(random() * 12288);
  const start = Math.floor(random() * (pool.length - size));
  return pool.subarray(start, start + size);
};

const MiB = 1024 * 1024;
const started = Date.now();
const deadline = started + MINUTES * 60_000;
let db = await AuraDB.open(dir);
let lastReopen = Date.now();
let latencies = [];
let ops = 0;
let errors = 0;
const samples = [];

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function operation() {
  const roll = random();
  const key = keyOf(Math.floor(random() * KEYS));
  if (roll < 0.5) await db.get(key);
  else if (roll < 0.75) await db.put(key, valueOf());
  else if (roll < 0.85) await db.delete(key);
  else if (roll < 0.95) {
    const batch = [];
    for (let i = 0; i < 10; i++) batch.push({ type: 'put', key: keyOf(Math.floor(random() * KEYS)), value: valueOf() });
    await db.batch(batch);
  } else {
    let n = 0;
    for (const _ of db.iterator({ gte: key, limit: 20 })) n++;
  }
}

let inFlight = 0;
let drained = null;
async function worker() {
  while (Date.now() < deadline) {
    if (reopening !== null) await reopening;
    inFlight++;
    const t = performance.now();
    try {
      await operation();
    } catch (error) {
      errors++;
      if (errors < 5) console.error(`error: ${error?.message ?? error}`);
    }
    latencies.push(performance.now() - t);
    ops++;
    if (--inFlight === 0 && drained !== null) drained();
  }
}

let reopening = null;
/** Stops new operations, waits for those in flight, then closes and reopens. */
async function reopen() {
  if (inFlight > 0) await new Promise((resolve) => (drained = resolve));
  drained = null;
  await db.close();
  db = await AuraDB.open(dir);
  lastReopen = Date.now();
}

console.log(`soak: ${MINUTES} min, ${KEYS} keys, reopen every ${REOPEN_MS / 1000} s, in ${dir}`);
console.log('| elapsed s | ops/s | p50 ms | p99 ms | heap MiB | RSS MiB | levels (files) | vlog MiB (garbage) | GC runs |');
console.log('|---|---|---|---|---|---|---|---|---|');
const reporter = setInterval(() => {
  const sorted = latencies.sort((a, b) => a - b);
  const memory = process.memoryUsage();
  const stats = db.stats();
  const sample = {
    elapsed: Math.round((Date.now() - started) / 1000),
    opsPerSecond: Math.round(ops / (REPORT_MS / 1000)),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    heap: memory.heapUsed / MiB,
    rss: memory.rss / MiB,
  };
  samples.push(sample);
  console.log(
    `| ${sample.elapsed} | ${sample.opsPerSecond} | ${sample.p50.toFixed(3)} | ${sample.p99.toFixed(3)} | ${sample.heap.toFixed(0)} | ${sample.rss.toFixed(0)} | ${stats.levels
      .filter((level) => level.files > 0)
      .map((level) => `L${level.level}:${level.files}`)
      .join(' ')} | ${(stats.valueLog.bytes / MiB).toFixed(0)} (${(stats.valueLog.garbageBytes / MiB).toFixed(0)}) | ${stats.valueLog.gcRuns} (read ${(stats.valueLog.bytesRead / MiB).toFixed(0)} MiB, files ${stats.valueLog.gcFilesCollected} collected, ${stats.valueLog.filesAwaitingDelete} awaiting delete, ${stats.valueLog.files} in all) |`,
  );
  latencies = [];
  ops = 0;
  if (Date.now() - lastReopen >= REOPEN_MS && reopening === null) {
    reopening = reopen().finally(() => {
      reopening = null;
    });
  }
}, REPORT_MS);

await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
clearInterval(reporter);
if (reopening !== null) await reopening;
await db.close();
if (args.dir === undefined) rmSync(dir, { recursive: true, force: true });

// Bounded memory: after the first quarter (caches, memtables and JIT settle), the peak of the
// last half of the run may exceed the peak of the half before it by at most 25 % + 64 MiB: a
// plateau passes, a steady climb does not.
const settled = samples.slice(Math.floor(samples.length / 4));
let verdict = 0;
if (settled.length >= 4) {
  const middle = Math.floor(settled.length / 2);
  const peak = (part, field) => Math.max(...part.map((s) => s[field]));
  const [early, late] = [settled.slice(0, middle), settled.slice(middle)];
  const rssBound = peak(early, 'rss') * 1.25 + 64;
  const heapBound = peak(early, 'heap') * 1.25 + 64;
  console.log(
    `\nmemory: RSS peak ${peak(early, 'rss').toFixed(0)} MiB, then ${peak(late, 'rss').toFixed(0)} MiB (bound ${rssBound.toFixed(0)}); heap peak ${peak(early, 'heap').toFixed(0)}, then ${peak(late, 'heap').toFixed(0)} MiB (bound ${heapBound.toFixed(0)})`,
  );
  const p99s = settled.map((s) => s.p99).sort((a, b) => a - b);
  console.log(`p99 latency over the settled intervals: median ${percentile(p99s, 0.5).toFixed(3)} ms, worst ${p99s[p99s.length - 1].toFixed(3)} ms; errors: ${errors}`);
  if (peak(late, 'rss') > rssBound || peak(late, 'heap') > heapBound) {
    console.log('FAIL: memory grew past the bound');
    verdict = 1;
  }
} else {
  console.log('\nrun too short to judge memory (needs at least 6 report intervals)');
}
if (errors > 0) {
  console.log(`FAIL: ${errors} operations failed`);
  verdict = 1;
}
process.exit(verdict);
