// End-to-end learned-index benchmark: point reads of the engine with `learnedIndex` on vs off,
// on the SAME table files (written once with models), so that only the read path differs.
//
//   npm run build
//   node bench/learned-index-e2e.mjs [--keys 1000000] [--value 100] [--rounds 5] [--reads 200000] [--dir D]
//
// The database is filled once (random order, batches of 1000, keys of 16 zero-padded digits, the
// peer harness's shape: even numbers only, so that odd ones are absent), then compacted, then
// copied: the original is opened with learnedIndex true, the copy with false, both at once, and
// the reads are timed in interleaved slices (on, off, off, on, ...; `--rounds` × 4 slices):
// - readrandom warm: getSync of `--reads` random present keys, block cache 1 GiB, after a full
//   scan and one untimed pass of all the reads put every block in the cache and warm the JIT;
// - readmissing warm: the same with absent keys (odd numbers; most stop at the Bloom filter);
// - readrandom cold: block cache 4 MiB (the OS page cache stays warm: no disk, but every lookup
//   pays a block read, a checksum and a decode);
// - readrandom async warm: `await db.get` of the same keys.
// - TableReader.get warm: the same, one level down (8 of the tables, opened twice).
// Prints the median ops/s of each mode over the slices and the median of the per-slice ratios
// on ÷ off, plus the tables' learned-index stats.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuraDB } from '../packages/auradb/dist/index.js';
import { BlockCache, TableReader } from '../packages/lsm/dist/index.js';
import { nodeFs } from '../packages/fs/dist/node.js';
import { readdirSync, statSync } from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []));
const N = Number(args.keys ?? 1_000_000);
const VALUE = Number(args.value ?? 100);
const ROUNDS = Number(args.rounds ?? 5);
const READS = Number(args.reads ?? 200_000);
const dir = args.dir ?? join(mkdtempSync(join(tmpdir(), 'aura-learned-')), 'db');
const keep = args.dir !== undefined;
const encoder = new TextEncoder();
const keyOf = (n) => encoder.encode(String(n).padStart(16, '0'));
let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const log = (text) => process.stderr.write(`${text}\n`);

if (!existsSync(join(dir, 'CURRENT'))) {
  log(`filling ${N} keys of ${VALUE} B into ${dir}`);
  const db = await AuraDB.open(dir, { learnedIndex: true });
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const value = new Uint8Array(VALUE).fill(97);
  for (let i = 0; i < N; i += 1000) await db.batch(order.slice(i, i + 1000).map((k) => ({ type: 'put', key: keyOf(2 * k), value })));
  await db.compactRange();
  await db.close();
}

const present = Array.from({ length: READS }, () => keyOf(2 * Math.floor(random() * N)));
const absent = Array.from({ length: READS }, () => keyOf(2 * Math.floor(random() * N) + 1));

// A copy of the database, so that both modes are open at once on identical files and their
// measurements interleave slice by slice: the machine's drift hits both alike.
const copy = `${dir}-copy`;
rmSync(copy, { recursive: true, force: true });
cpSync(dir, copy, { recursive: true });

function timeSync(db, keys, from, to, expectFound) {
  const started = performance.now();
  for (let i = from; i < to; i++) if ((db.getSync(keys[i]) !== undefined) !== expectFound) throw new Error('wrong answer');
  return (to - from) / ((performance.now() - started) / 1000);
}

async function timeAsync(db, keys, from, to) {
  const started = performance.now();
  for (let i = from; i < to; i++) if ((await db.get(keys[i])) === undefined) throw new Error('wrong answer');
  return (to - from) / ((performance.now() - started) / 1000);
}

const SLICES = ROUNDS * 4;
const slice = Math.floor(READS / SLICES);
const results = {};

/** Opens both modes with `cacheBytes`, warms them, and interleaves slices of each workload. */
async function compare(cacheBytes, warm, workloads) {
  const on = await AuraDB.open(dir, { learnedIndex: true, cacheBytes, autoCompaction: false });
  const off = await AuraDB.open(copy, { learnedIndex: false, cacheBytes, autoCompaction: false });
  for (const db of [on, off]) {
    if (warm) for (const _ of db.keys()) { /* every block into the cache */ }
    timeSync(db, present, 0, READS, true);
  }
  for (const [name, run] of workloads) {
    const rows = (results[name] = { on: [], off: [], ratio: [] });
    for (let index = 0; index < SLICES; index++) {
      const from = index * slice;
      const first = index % 2 === 0 ? [on, off] : [off, on];
      const rates = new Map();
      for (const db of first) rates.set(db, await run(db, from, from + slice));
      rows.on.push(rates.get(on));
      rows.off.push(rates.get(off));
      rows.ratio.push(rates.get(on) / rates.get(off));
    }
    log(`${name}: on ${Math.round(median(rows.on))}, off ${Math.round(median(rows.off))}, ratio ${median(rows.ratio).toFixed(3)}`);
  }
  const stats = on.stats().learnedIndex;
  await on.close();
  await off.close();
  return stats;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Table level: the same table files opened twice (model used / ignored), warm caches, `get` of
// present keys table by table, interleaved slices: what the model changes inside a table lookup.
{
  const fs = nodeFs();
  const tableFiles = readdirSync(dir).filter((name) => name.endsWith('.sst')).slice(0, 8);
  const readers = { on: [], off: [] };
  for (const mode of ['on', 'off']) {
    const cache = new BlockCache(1 << 30);
    for (const name of tableFiles) {
      const file = await fs.open(join(dir, name), { readOnly: true });
      readers[mode].push(TableReader.open(file, Number(name.slice(0, -4)), cache, { fileBytes: statSync(join(dir, name)).size, learnedIndex: mode === 'on' }));
    }
  }
  const probes = [];
  readers.on.forEach((reader, index) => {
    const cursor = reader.iterator();
    for (cursor.seekToFirst(); cursor.valid(); cursor.next()) probes.push([index, cursor.key().slice()]);
    cursor.close();
  });
  const order = Array.from({ length: READS }, () => probes[Math.floor(random() * probes.length)]);
  const run = (mode, from, to) => {
    const set = readers[mode];
    const started = performance.now();
    for (let i = from; i < to; i++) if (set[order[i][0]].get(order[i][1]) === undefined) throw new Error('wrong answer');
    return (to - from) / ((performance.now() - started) / 1000);
  };
  for (const mode of ['on', 'off', 'on', 'off']) run(mode, 0, READS);
  const rows = (results['TableReader.get, warm (8 tables)'] = { on: [], off: [], ratio: [] });
  for (let index = 0; index < SLICES; index++) {
    const from = index * slice;
    const [a, b] = index % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    const rates = { [a]: run(a, from, from + slice), [b]: run(b, from, from + slice) };
    rows.on.push(rates.on);
    rows.off.push(rates.off);
    rows.ratio.push(rates.on / rates.off);
  }
  log(`tables: on ${Math.round(median(rows.on))}, off ${Math.round(median(rows.off))}, ratio ${median(rows.ratio).toFixed(3)}`);
  for (const set of Object.values(readers)) for (const reader of set) { await reader.file.close(); reader.close(); }
}

const stats = await compare(1 << 30, true, [
  ['readrandom warm (getSync)', (db, from, to) => timeSync(db, present, from, to, true)],
  ['readmissing warm (getSync)', (db, from, to) => timeSync(db, absent, from, to, false)],
  ['readrandom warm (await get)', (db, from, to) => timeAsync(db, present, from, to)],
]);
await compare(4 << 20, false, [['readrandom cold (getSync, 4 MiB block cache)', (db, from, to) => timeSync(db, present, from, to, true)]]);

const runtime = globalThis.Bun ? `bun ${Bun.version}` : globalThis.Deno ? `deno ${Deno.version.deno}` : `node ${process.version}`;
console.log(`### Learned index on vs off: ${N.toLocaleString('en-US')} keys × ${VALUE} B, ${SLICES} interleaved slices of ${slice.toLocaleString('en-US')} reads (${runtime})\n`);
console.log('| workload | on ops/s (median) | off ops/s (median) | on ÷ off (median of slices) |');
console.log('|---|---|---|---|');
for (const [name, rows] of Object.entries(results)) {
  console.log(`| ${name} | ${Math.round(median(rows.on)).toLocaleString('en-US')} | ${Math.round(median(rows.off)).toLocaleString('en-US')} | ${median(rows.ratio).toFixed(2)} |`);
}
console.log(`\nTables by status: ${JSON.stringify(stats.tablesByStatus)}; model bytes ${stats.modelBytes.toLocaleString('en-US')} (${(stats.modelBytes / N).toFixed(2)} B/key); direct hits ${(stats.hitRate * 100).toFixed(1)} %; mean window ${stats.averageWindow.toFixed(1)} keys.`);
rmSync(copy, { recursive: true, force: true });
if (!keep) rmSync(dirname(dir), { recursive: true, force: true });

function dirname(path) {
  return path.slice(0, path.lastIndexOf('/'));
}
