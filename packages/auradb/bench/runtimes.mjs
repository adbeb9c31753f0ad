// AuraDB alone on Node, Bun and Deno: the same workloads as the peer harness's fillrandom set
// (200,000 keys, batches of 1000, then 100,000 awaited overwrites, reopen, reads, seeks, a scan),
// in one process per runtime. The shared harness starts its workers with the runtime's own
// binary and Node flags, which Deno does not take: this script is how Deno gets measured.
//
//   npm run build
//   cd packages/auradb
//   node bench/runtimes.mjs [valueBytes]
//   ../../node_modules/.bin/bun bench/runtimes.mjs [valueBytes]
//   ../../node_modules/.bin/deno run -A bench/runtimes.mjs [valueBytes]
//
// (Run from packages/auradb: Deno resolves the engine's own imports through this package.)
import { AuraDB } from '../dist/index.js';
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
const N = 200000, M = 100000, VS = Number(globalThis.process?.argv?.[2] ?? 100);
const dir = mkdtempSync(tmpdir() + '/aura-rt-');
const key = (i) => new TextEncoder().encode(String(i).padStart(16, '0'));
const pool = new Uint8Array(64 << 20); crypto.getRandomValues(pool.subarray(0, 65536)); for (let i = 65536; i < pool.length; i += 65536) pool.copyWithin(i, 0, 65536); 
let off = 0; const val = () => { if (off + VS > pool.length) off = 0; const v = pool.subarray(off, off + VS); off += VS + 7; return v; };
let s = 1; const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const out = {};
const time = async (name, n, fn) => { const t = performance.now(); await fn(); out[name] = Math.round(n / ((performance.now() - t) / 1000)); };
let db = await AuraDB.open(dir);
const order = Array.from({ length: N }, (_, i) => i); for (let i = N - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
await time('fillrandom', N, async () => { for (let i = 0; i < N; i += 1000) await db.batch(order.slice(i, i + 1000).map((k) => ({ type: 'put', key: key(k), value: val() }))); });
await db.close(); db = await AuraDB.open(dir);
await time('overwrite', M, async () => { for (let i = 0; i < M; i++) await db.put(key(Math.floor(rnd() * N)), val()); });
await db.close(); db = await AuraDB.open(dir);
await time('readrandom', M, async () => { for (let i = 0; i < M; i++) if ((await db.get(key(Math.floor(rnd() * N)))) === undefined) throw new Error('miss'); });
await time('readrandom-sync', M, async () => { for (let i = 0; i < M; i++) if (db.getSync(key(Math.floor(rnd() * N))) === undefined) throw new Error('miss'); });
await time('seekrandom', 20000, async () => { for (let i = 0; i < 20000; i++) { let n = 0; for (const _ of db.iterator({ gte: key(Math.floor(rnd() * N)), limit: 10 })) n++; } });
await time('readseq', N, async () => { let n = 0; for (const _ of db.iterator()) n++; });
await db.close(); rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ valueBytes: VS, ...out }));
