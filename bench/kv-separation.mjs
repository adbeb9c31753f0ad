// Key-value separation benchmark: write amplification and space amplification over overwrite
// passes, GC on, and value-threshold choices on a mixed value-size workload.
//
//   npm run build
//   node bench/kv-separation.mjs [--keys N] [--value BYTES] [--passes P] [--modules DIR]
//
// Part 1 (overwrite passes): fill N keys with BYTES-byte values (batches of 100), then P passes
// that overwrite every key in a new random order (awaited single puts), then compactRange and
// gcValueLog. Write amplification = bytes this process wrote (/proc/self/io write_bytes, so Linux
// only) / user bytes (key + value per put); space amplification = bytes on disk / live user
// bytes. With --modules DIR (a folder where classic-level is installed, e.g. the peer harness's)
// the same run is made with classic-level (LevelDB) in a child process for comparison.
//
// Part 3 (--part shift) is described at its function. Part 2 (thresholds): puts of 100 B (70 %), 1 KiB (15 %), 4 KiB (10 %) and 16 KiB (5 %) values,
// N keys, two passes: fill time,
// overwrite time, readrandom (getSync) time, and write amplification for valueThreshold
// Infinity (all inline), 1024, 4096, 16384 and 'auto'.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []));
const N = Number(args.keys ?? 50_000);
const VALUE = Number(args.value ?? 4096);
const PASSES = Number(args.passes ?? 3);
const ENGINE = args.engine ?? 'auradb';

function writtenBytes() {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)[1]);
  return field('write_bytes') - field('cancelled_write_bytes');
}

function diskBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    total += name.isDirectory() ? diskBytes(path) : statSync(path).size;
  }
  return total;
}

function prng(seed) {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function permutation(n, seed) {
  const random = prng(seed);
  const out = Array.from({ length: n }, (_, index) => index);
  for (let index = n - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [out[index], out[other]] = [out[other], out[index]];
  }
  return out;
}

const key = (index) => Buffer.from(String(index).padStart(16, '0'));
// Incompressible values, distinct per (key, pass).
const pool = Buffer.alloc(64 * 1024 * 1024);
{
  const random = prng(7);
  for (let index = 0; index < pool.length; index += 4) pool.writeUInt32LE((random() * 2 ** 32) >>> 0, index);
}
let poolOffset = 0;
function value(size) {
  if (poolOffset + size > pool.length) poolOffset = 0;
  const out = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size + 61;
  return out;
}

async function openEngine(dir, options) {
  if (ENGINE === 'classic-level') {
    const require = createRequire(join(args.modules, 'node_modules', 'x.js'));
    const { ClassicLevel } = require('classic-level');
    const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return {
      put: (k, v) => db.put(k, v),
      batch: (ops) => db.batch(ops),
      getSync: undefined,
      get: (k) => db.get(k),
      finish: () => db.compactRange(Buffer.alloc(0), Buffer.alloc(17, 0xff)),
      stats: () => ({}),
      close: () => db.close(),
    };
  }
  const { AuraDB } = await import(new URL('../packages/auradb/dist/index.js', import.meta.url).href);
  const db = await AuraDB.open(dir, options);
  return {
    put: (k, v) => db.put(k, v),
    batch: (ops) => db.batch(ops),
    getSync: (k) => db.getSync(k),
    get: (k) => db.get(k),
    finish: async () => {
      await db.compactRange();
      return db.gcValueLog();
    },
    stats: () => db.stats(),
    close: () => db.close(),
  };
}

async function overwritePasses() {
  const dir = mkdtempSync(join(tmpdir(), 'aura-kvsep-'));
  try {
    const userBytes = (puts) => puts * (16 + VALUE);
    const start = writtenBytes();
    const db = await openEngine(dir, {});
    const began = performance.now();
    for (let index = 0; index < N; index += 100) {
      const ops = [];
      for (let inner = index; inner < Math.min(N, index + 100); inner++) ops.push({ type: 'put', key: key(inner), value: value(VALUE) });
      await db.batch(ops);
    }
    const fillSeconds = (performance.now() - began) / 1000;
    const passTimes = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const order = permutation(N, 100 + pass);
      const passBegan = performance.now();
      for (const index of order) await db.put(key(index), value(VALUE));
      passTimes.push(N / ((performance.now() - passBegan) / 1000));
    }
    const gc = await db.finish();
    const stats = db.stats();
    await db.close();
    execFileSync('sync');
    const written = writtenBytes() - start;
    const user = userBytes(N * (1 + PASSES));
    const disk = diskBytes(dir);
    return {
      engine: ENGINE,
      keys: N,
      valueBytes: VALUE,
      passes: PASSES,
      fillOpsPerSec: Math.round(N / fillSeconds),
      overwriteOpsPerSec: passTimes.map(Math.round),
      writeAmplification: +(written / user).toFixed(2),
      spaceAmplification: +(disk / userBytes(N)).toFixed(2),
      diskMiB: +(disk / 2 ** 20).toFixed(1),
      gc,
      valueLog: stats.valueLog,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function thresholds() {
  const rows = [];
  for (const threshold of [Infinity, 1024, 4096, 16384, 'auto']) {
    const dir = mkdtempSync(join(tmpdir(), 'aura-kvsep-'));
    try {
      const start = writtenBytes();
      const db = await openEngine(dir, { valueThreshold: threshold });
      // 70 % of puts 100 B, 15 % 1 KiB, 10 % 4 KiB, 5 % 16 KiB.
      const sizeOf = (index, pass) => {
        const slot = (index * 7 + pass * 3) % 20;
        return slot === 0 ? 16384 : slot <= 2 ? 4096 : slot <= 5 ? 1024 : 100;
      };
      let user = 0;
      const time = async (work) => {
        const began = performance.now();
        await work();
        return Math.round(N / ((performance.now() - began) / 1000));
      };
      const fill = await time(async () => {
        for (let index = 0; index < N; index += 100) {
          const ops = [];
          for (let inner = index; inner < Math.min(N, index + 100); inner++) {
            const size = sizeOf(inner, 0);
            user += 16 + size;
            ops.push({ type: 'put', key: key(inner), value: value(size) });
          }
          await db.batch(ops);
        }
      });
      const overwrite = await time(async () => {
        for (const index of permutation(N, 5)) {
          const size = sizeOf(index, 1);
          user += 16 + size;
          await db.put(key(index), value(size));
        }
      });
      const random = prng(9);
      const read = await time(async () => {
        for (let count = 0; count < N; count++) if (db.getSync(key(Math.floor(random() * N))) === undefined) throw new Error('missing');
      });
      const stats = db.stats();
      await db.close();
      execFileSync('sync');
      rows.push({
        threshold: String(threshold),
        effective: String(stats.valueLog.threshold),
        fillOpsPerSec: fill,
        overwriteOpsPerSec: overwrite,
        readOpsPerSec: read,
        writeAmplification: +((writtenBytes() - start) / user).toFixed(2),
        diskMiB: +(diskBytes(dir) / 2 ** 20).toFixed(1),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

// Part 3 (shift): the value-size mix changes between phases (each phase overwrites every key once,
// batches of 100): A 95 % 100 B + 5 % 64 KiB, B all 2 KiB, C all 16 KiB. Write amplification per
// phase and overall, per threshold.
async function shift() {
  const phases = [
    { name: 'A', size: (index) => (index % 20 === 0 ? 65536 : 100) },
    { name: 'B', size: () => 2048 },
    { name: 'C', size: () => 16384 },
  ];
  const rows = [];
  for (const threshold of [Infinity, 1024, 4096, 16384, 'auto']) {
    const dir = mkdtempSync(join(tmpdir(), 'aura-kvsep-'));
    try {
      const db = await openEngine(dir, { valueThreshold: threshold });
      const row = { threshold: String(threshold) };
      let totalUser = 0;
      const totalStart = writtenBytes();
      for (const phase of phases) {
        const start = writtenBytes();
        let user = 0;
        const began = performance.now();
        const order = permutation(N, phase.name.charCodeAt(0));
        for (let index = 0; index < N; index += 100) {
          const ops = [];
          for (let inner = index; inner < Math.min(N, index + 100); inner++) {
            const size = phase.size(order[inner]);
            user += 16 + size;
            ops.push({ type: 'put', key: key(order[inner]), value: value(size) });
          }
          await db.batch(ops);
        }
        const seconds = (performance.now() - began) / 1000;
        execFileSync('sync');
        totalUser += user;
        row[`${phase.name} ops/s`] = Math.round(N / seconds);
        row[`${phase.name} WA`] = +((writtenBytes() - start) / user).toFixed(2);
        row[`${phase.name} threshold`] = String(db.stats().valueLog.threshold);
      }
      row['overall WA'] = +((writtenBytes() - totalStart) / totalUser).toFixed(2);
      await db.close();
      rows.push(row);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (args.part === undefined || args.part === 'passes') console.log(JSON.stringify(await overwritePasses()));
if ((args.part === undefined || args.part === 'thresholds') && ENGINE === 'auradb') for (const row of await thresholds()) console.log(JSON.stringify(row));
if ((args.part === undefined || args.part === 'shift') && ENGINE === 'auradb') for (const row of await shift()) console.log(JSON.stringify(row));
