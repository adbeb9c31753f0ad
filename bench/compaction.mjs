// Compaction policies on a shifting workload: the same operations, same seed, on one database
// per policy (real files in the OS temp directory). The policies run one after another, and the
// whole list again for each round (interleaved, so a noisy spell on the machine hits every policy
// alike); the tables give each phase's median over the rounds.
//
//   npm run build
//   node bench/compaction.mjs [--keys N] [--ops OPS] [--scan-ops S] [--seed SEED] [--rounds R]
//                             [--window W] [--policies leveled,tiered,lazy-leveling,fluid:K:Z,learned,learned-memory]
//                             [--decisions DIR]  (writes each agent's decision log there as JSON)
// An agent's knobs can be set per entry: learned/explorationFloor=0.02/reward=latency/initial.runsUpper=1.
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
// may probe at the phase's end). 'fluid:K:Z' is the fixed shape with K runs per upper level and Z
// at the last ('fluid' compaction). 'learned (memory)' is a fresh database given the state file
// the 'learned' run of the same round left: what the agent remembers, on the same operations.
// "Best fixed shape per phase" adds up, phase by phase, the fastest fixed policy's median: what a
// policy that switched to the right fixed shape at each phase, for free, would take.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []));
const KEYS = Number(args.keys ?? 200_000);
const OPS = Number(args.ops ?? 300_000);
const SCAN_OPS = Number(args['scan-ops'] ?? 30_000);
const SEED = Number(args.seed ?? 42);
const ROUNDS = Number(args.rounds ?? 3);
const WINDOW = Number(args.window ?? 10_000);
const POLICIES = (args.policies ?? 'leveled,tiered,lazy-leveling,learned,learned-memory').split(',');
const VALUE_BYTES = 100;

const { AuraDB, AGENT_STATE_FILE } = await import(new URL('../packages/auradb/dist/index.js', import.meta.url).href);

/** The tree is kept small relative to the data so that it has three levels and compaction matters. */
const BASE_OPTIONS = { memtableBytes: 1 << 20, level1Bytes: 4 << 20, targetFileBytes: 1 << 20, cacheBytes: 8 << 20, sizeRatio: 10 };
const AGENT = { windowOperations: WINDOW, windowMs: 1000, seed: 7 };

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
      windowsAtEnd: stats.compaction.agent?.windows ?? 0,
      shape: stats.compaction.agent === null ? '' : `K${stats.compaction.agent.config.runsUpper} Z${stats.compaction.agent.config.runsLast} L0 ${stats.compaction.agent.config.l0Trigger}`,
    });
  }
  const stats = db.stats();
  if (args.decisions !== undefined && stats.compaction.agent !== null) {
    mkdirSync(args.decisions, { recursive: true });
    writeFileSync(join(args.decisions, `${label.replace(/[^a-z0-9-]/gi, "-")}-${Date.now()}.json`), JSON.stringify({ label, phases: phases.map((phase) => phase.windowsAtEnd), decisions: db.compactionDecisions() }));
  }
  await db.close();
  if (sink < 0) console.log(sink);
  return { label, loadMs, phases, totalMs: phases.reduce((sum, phase) => sum + phase.ms, 0), stats };
}

function optionsOf(policy) {
  if (policy.startsWith('fluid:')) {
    const [, runsPerLevel, runsLastLevel] = policy.split(':').map(Number);
    return { ...BASE_OPTIONS, compaction: 'fluid', runsPerLevel, runsLastLevel };
  }
  if (policy === 'learned' || policy === 'learned-memory') return { ...BASE_OPTIONS, compaction: 'learned', compactionAgent: AGENT };
  if (policy.startsWith('learned/')) {
    const agent = { ...AGENT };
    for (const [path, text] of policy.split('/').slice(1).map((pair) => pair.split('='))) {
      const value = text === 'true' ? true : text === 'false' ? false : Number.isNaN(Number(text)) ? text : Number(text);
      const [key, field] = path.split('.');
      if (field === undefined) agent[key] = value;
      else agent[key] = { ...agent[key], [field]: value };
    }
    return { ...BASE_OPTIONS, compaction: 'learned', compactionAgent: agent };
  }
  return { ...BASE_OPTIONS, compaction: policy };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const root = mkdtempSync(join(tmpdir(), 'auradb-compaction-'));
/** policy → its result in each round */
const runs = new Map(POLICIES.map((policy) => [policy, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    let learnedDir = null;
    for (const policy of POLICIES) {
      const dir = join(root, `${round}-${policy.replace(/[^a-z0-9-]/gi, '-')}`);
      const options = optionsOf(policy);
      if (policy === 'learned-memory') {
        if (learnedDir === null) throw new Error("learned-memory needs the 'learned' run before it");
        // A fresh database that starts with what the first agent learned.
        const fresh = await AuraDB.open(dir, options);
        await fresh.close();
        copyFileSync(join(learnedDir, AGENT_STATE_FILE), join(dir, AGENT_STATE_FILE));
      }
      const result = await runPolicy(policy, dir, options);
      if (policy === 'learned') learnedDir = dir;
      runs.get(policy).push(result);
      const agent = result.stats.compaction.agent;
      console.log(
        `round ${round + 1} ${policy.padEnd(15)} load ${(result.loadMs / 1000).toFixed(1)} s, phases ${result.phases.map((phase) => (phase.ms / 1000).toFixed(2)).join(' ')}, total ${(result.totalMs / 1000).toFixed(2)} s, WA ${result.stats.writeAmplification.toFixed(2)}` +
          (agent === null ? '' : `, agent: ${agent.windows} windows, ${agent.explorations} explorations, ${agent.rollbacks} rollbacks, state file ${agent.stateFile.status}`),
      );
      if (!policy.startsWith('learned')) rmSync(dir, { recursive: true, force: true });
    }
    for (const policy of POLICIES) if (policy.startsWith('learned')) rmSync(join(root, `${round}-${policy.replace(/[^a-z0-9-]/gi, '-')}`), { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

/** The run of a policy whose total is the median (for the per-phase details), and the medians. */
const results = POLICIES.map((policy) => {
  const list = runs.get(policy);
  const totals = list.map((result) => result.totalMs);
  const phaseMs = PHASES.map((_, index) => median(list.map((result) => result.phases[index].ms)));
  const middle = [...list].sort((a, b) => a.totalMs - b.totalMs)[list.length >> 1];
  return { label: policy, totals, totalMs: median(totals), phaseMs, middle };
});

console.log(`\nkeys ${KEYS}, ops per phase ${OPS} (scan phase ${SCAN_OPS}), seed ${SEED}, ${ROUNDS} rounds, agent window ${WINDOW} ops, ${process.version}\n`);
console.log('Medians over the rounds (each phase and the total on its own):\n');
const header = ['policy', ...PHASES.map((phase) => phase.name), 'total', 'totals of the rounds'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const result of results) {
  const cells = result.phaseMs.map((ms) => `${(ms / 1000).toFixed(2)} s`);
  console.log(`| ${result.label} | ${cells.join(' | ')} | ${(result.totalMs / 1000).toFixed(2)} s | ${result.totals.map((ms) => (ms / 1000).toFixed(2)).join(', ')} |`);
}
console.log('\nThe round with the median total, per phase: ops/s · write amplification · read amplification (runs a get may probe at the end) · the agent\'s shape at the end (K, Z, L0 trigger):\n');
console.log(`| ${['policy', ...PHASES.map((phase) => phase.name)].join(' | ')} |`);
console.log(`|${['policy', ...PHASES].map(() => '---').join('|')}|`);
for (const { label, middle } of results) {
  const cells = middle.phases.map((phase) => `${Math.round(phase.opsPerSecond / 1000)} k/s · WA ${phase.writeAmplification.toFixed(1)} · RA ${phase.probesPerGet.toFixed(2)} (${phase.runsPerRead})${phase.shape ? ` · ${phase.shape}` : ''}`);
  console.log(`| ${label} | ${cells.join(' | ')} |`);
}
const fixed = results.filter((result) => !result.label.startsWith('learned'));
if (fixed.length > 0) {
  const best = fixed.reduce((a, b) => (a.totalMs <= b.totalMs ? a : b));
  const bestPerPhase = PHASES.map((_, index) => Math.min(...fixed.map((entry) => entry.phaseMs[index])));
  const switching = bestPerPhase.reduce((sum, ms) => sum + ms, 0);
  console.log(`\nbest fixed policy by median total: ${best.label} (${(best.totalMs / 1000).toFixed(2)} s)`);
  console.log(`best fixed shape per phase, switched for free: ${(switching / 1000).toFixed(2)} s = ${(switching / best.totalMs).toFixed(2)} × the best fixed policy (${PHASES.map((phase, index) => `${phase.name}: ${fixed.find((entry) => entry.phaseMs[index] === bestPerPhase[index]).label}`).join(', ')})`);
  for (const result of results.filter((entry) => entry.label.startsWith('learned'))) {
    console.log(`${result.label}: median total ${(result.totalMs / best.totalMs).toFixed(2)} × the best fixed policy's (rounds: ${result.totals.map((ms, round) => (ms / best.totals[round]).toFixed(2)).join(', ')})`);
    result.phaseMs.forEach((ms, index) => {
      console.log(`  ${PHASES[index].name}: ${(ms / bestPerPhase[index]).toFixed(2)} × the best fixed policy's median in the phase`);
    });
  }
}
