// Compaction policies on a shifting workload: the same operations, same seed, on one database
// per policy, run back to back in one process (real files in the OS temp directory).
//
//   npm run build
//   node bench/compaction.mjs [--keys N] [--ops OPS] [--scan-ops S] [--seed SEED] [--policies leveled,tiered,...]
//
// Load: N keys (16 B keys, 100 B values) in shuffled order, batches of 100 (timed apart). Then the
// phases, one client, single awaited puts, getSync, iterators:
//   A  write-heavy  OPS ops: 90 % puts, 10 % gets, keys uniform
//   B  read-heavy   OPS ops: 90 % gets (zipfian, θ 0.99, hot keys spread over the key space), 10 % puts
//   C  scan-heavy   S ops:   90 % range scans of 100 entries (start uniform), 10 % puts
//   D  mixed        OPS ops: 50 % puts, 50 % gets, uniform
//   A' write-heavy  again (the same generator continues)
// Per phase: time, ops/s, write amplification (WAL + flush + compaction bytes written over user
// bytes written in the phase, engine counters) and read amplification (table probes per get:
// tables whose key range holds the key, asked through their Bloom filter; and the runs a get
// may probe at the phase's end). 'learned (memory)' is a fresh database given the state file the
// 'learned' run left: what the agent remembers, on the same data and operations.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []));
const KEYS = Number(args.keys ?? 200_000);
const OPS = Number(args.ops ?? 120_000);
const SCAN_OPS = Number(args['scan-ops'] ?? 12_000);
const SEED = Number(args.seed ?? 42);
const POLICIES = (args.policies ?? 'leveled,tiered,lazy-leveling,learned,learned-memory').split(',');
const VALUE_BYTES = 100;

const { AuraDB, AGENT_STATE_FILE } = await import(new URL('../packages/auradb/dist/index.js', import.meta.url).href);

/** The tree is kept small relative to the data so that it has three levels and compaction matters. */
const BASE_OPTIONS = { memtableBytes: 1 << 20, level1Bytes: 4 << 20, targetFileBytes: 1 << 20, cacheBytes: 8 << 20, sizeRatio: 10 };
const AGENT = { windowOperations: 4000, windowMs: 500, seed: 7 };

function prng(seed) {
  let state = seed >>> 0 || 1;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** YCSB's zipfian generator (Gray et al.), θ = 0.99, over [0, n). */
function zipfian(n, random, theta = 0.99) {
  let zetan = 0;
  for (let index = 1; index <= n; index++) zetan += 1 / index ** theta;
  const zeta2 = 1 + 0.5 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / n) ** (1 - theta)) / (1 - zeta2 / zetan);
  return () => {
    const u = random();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < 1 + 0.5 ** theta) return 1;
    return Math.min(n - 1, Math.floor(n * (eta * u - eta + 1) ** alpha));
  };
}

const keyOf = (index) => Buffer.from(`k${String(index).padStart(15, '0')}`);
/** Spreads zipfian ranks over the key space (hot keys are not neighbours). */
const scramble = (rank) => Number((BigInt(rank) * 2654435761n) % BigInt(KEYS));

function valueOf(random) {
  const value = Buffer.allocUnsafe(VALUE_BYTES);
  for (let index = 0; index < VALUE_BYTES; index += 4) value.writeUInt32LE((random() * 2 ** 32) >>> 0, index);
  return value;
}

const PHASES = [
  { name: 'A write', ops: OPS, put: 0.9, scan: 0, zipf: false },
  { name: 'B read', ops: OPS, put: 0.1, scan: 0, zipf: true },
  { name: 'C scan', ops: SCAN_OPS, put: 0.1, scan: 0.9, zipf: false },
  { name: 'D mixed', ops: OPS, put: 0.5, scan: 0, zipf: false },
  { name: "A' write", ops: OPS, put: 0.9, scan: 0, zipf: false },
];

function counters(db) {
  const stats = db.stats();
  return {
    user: stats.userBytesWritten,
    written: stats.walBytesWritten + stats.flushBytesWritten + stats.compactionBytesWritten + stats.valueLog.bytesWritten,
    reads: stats.operations.reads,
    probes: stats.operations.tableProbes,
  };
}

async function load(db, random) {
  const order = Array.from({ length: KEYS }, (_, index) => index);
  for (let index = KEYS - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other], order[index]];
  }
  for (let start = 0; start < KEYS; start += 100) {
    await db.batch(order.slice(start, start + 100).map((index) => ({ type: 'put', key: keyOf(index), value: valueOf(random) })));
  }
}

async function runPolicy(label, dir, options) {
  const random = prng(SEED);
  const zipf = zipfian(KEYS, random);
  let db = await AuraDB.open(dir, options);
  const loadStarted = performance.now();
  await load(db, random);
  const loadMs = performance.now() - loadStarted;
  const phases = [];
  let sink = 0;
  for (const phase of PHASES) {
    const before = counters(db);
    const started = performance.now();
    for (let op = 0; op < phase.ops; op++) {
      const choice = random();
      const index = phase.zipf ? scramble(zipf()) : Math.floor(random() * KEYS);
      if (choice < phase.put) {
        await db.put(keyOf(index), valueOf(random));
      } else if (choice < phase.put + phase.scan) {
        for (const [key] of db.iterator({ gte: keyOf(index), limit: 100 })) sink += key.length;
      } else {
        const value = db.getSync(keyOf(index));
        if (value !== undefined) sink += value.length;
      }
    }
    const ms = performance.now() - started;
    const after = counters(db);
    const stats = db.stats();
    phases.push({
      name: phase.name,
      ms,
      opsPerSecond: (phase.ops / ms) * 1000,
      writeAmplification: (after.written - before.written) / Math.max(1, after.user - before.user),
      probesPerGet: (after.probes - before.probes) / Math.max(1, after.reads - before.reads),
      runsPerRead: stats.compaction.runsPerRead,
      shape: stats.compaction.agent === null ? '' : `K${stats.compaction.agent.config.runsUpper} Z${stats.compaction.agent.config.runsLast} L0 ${stats.compaction.agent.config.l0Trigger}`,
    });
  }
  const stats = db.stats();
  await db.close();
  if (sink < 0) console.log(sink);
  return { label, loadMs, phases, totalMs: phases.reduce((sum, phase) => sum + phase.ms, 0), stats };
}

const root = mkdtempSync(join(tmpdir(), 'auradb-compaction-'));
const results = [];
try {
  let learnedDir = null;
  for (const policy of POLICIES) {
    const dir = join(root, policy);
    let options = { ...BASE_OPTIONS, compaction: policy === 'learned-memory' ? 'learned' : policy };
    if (options.compaction === 'learned') options = { ...options, compactionAgent: AGENT };
    if (policy === 'learned-memory') {
      if (learnedDir === null) throw new Error("learned-memory needs the 'learned' run before it");
      // A fresh database that starts with what the first agent learned.
      const fresh = await AuraDB.open(dir, options);
      await fresh.close();
      copyFileSync(join(learnedDir, AGENT_STATE_FILE), join(dir, AGENT_STATE_FILE));
    }
    const result = await runPolicy(policy, dir, options);
    if (policy === 'learned') learnedDir = dir;
    results.push(result);
    const agent = result.stats.compaction.agent;
    console.log(
      `${policy.padEnd(15)} load ${(result.loadMs / 1000).toFixed(1)} s, phases ${(result.totalMs / 1000).toFixed(1)} s, WA ${result.stats.writeAmplification.toFixed(2)}` +
        (agent === null ? '' : `, agent: ${agent.windows} windows, ${agent.explorations} explorations, ${agent.rollbacks} rollbacks, state file ${agent.stateFile.status}`),
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

console.log(`\nkeys ${KEYS}, ops per phase ${OPS} (scan phase ${SCAN_OPS}), seed ${SEED}, ${process.version}\n`);
const header = ['policy', ...PHASES.map((phase) => phase.name), 'total'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const result of results) {
  const cells = result.phases.map((phase) => `${(phase.ms / 1000).toFixed(2)} s · ${Math.round(phase.opsPerSecond / 1000)} k/s · WA ${phase.writeAmplification.toFixed(1)} · RA ${phase.probesPerGet.toFixed(2)} (${phase.runsPerRead} runs)${phase.shape ? ` · ${phase.shape}` : ''}`);
  console.log(`| ${result.label} | ${cells.join(' | ')} | ${(result.totalMs / 1000).toFixed(2)} s |`);
}
const fixed = results.filter((result) => !result.label.startsWith('learned'));
if (fixed.length > 0) {
  const best = fixed.reduce((a, b) => (a.totalMs <= b.totalMs ? a : b));
  console.log(`\nbest fixed policy by total: ${best.label} (${(best.totalMs / 1000).toFixed(2)} s)`);
  for (const result of results.filter((entry) => entry.label.startsWith('learned'))) {
    console.log(`${result.label}: total ${(result.totalMs / best.totalMs).toFixed(2)} × the best fixed policy's`);
    result.phases.forEach((phase, index) => {
      const bestPhase = Math.min(...fixed.map((entry) => entry.phases[index].ms));
      console.log(`  ${phase.name}: ${(phase.ms / bestPhase).toFixed(2)} × the best fixed policy's time in the phase`);
    });
  }
}
