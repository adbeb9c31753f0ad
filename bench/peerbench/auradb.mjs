// AuraDB adapter for the shared peerbench harness (../shared/peerbench, see its README.md).
// Loads the built engine by path relative to this file, so it works from a clean checkout after
// `npm install && npm run build` at the repo root (no linking into the modules folder needed).
//
// Settings: engine defaults (sync policy 'none': a write resolves once the OS has the WAL bytes,
// LevelDB's sync:false; 8 MiB memtable, 32 MiB block cache, 10 bloom bits/key, 4 KiB blocks;
// values of 4 KiB and more go to the value log at write time, background GC on).
// The durable set opens with the same default policy and passes { sync: true } per write
// (fdatasync of the WAL before the put resolves; concurrent writers share one: group commit).
// Keys and values arrive as Buffer views into larger buffers: AuraDB copies what it keeps (the
// WAL record is encoded from them and the memtable copies into its arena), so they pass through.
export const name = 'auradb';
export const packages = ['auradb'];
export const durability = 'native'; // put(k, v, { sync: true }) waits for fdatasync of the WAL
export const notes = "Engine defaults (sync 'none', 8 MiB memtable, 32 MiB cache, bloom 10 bits/key, values from 4 KiB separated into the value log, background value-log GC). sync:true = per-write { sync: true } (WAL fdatasync, group commit). Built package loaded by path (packages/auradb/dist).";

const ENTRY = new URL('../../packages/auradb/dist/index.js', import.meta.url);
const PACKAGE_JSON = new URL('../../packages/auradb/package.json', import.meta.url);

// The harness reads versions through importPeer resolution, which does not see a by-path build:
// report the checkout's package version here instead.
export const version = await (async () => {
  try {
    const fs = await import('node:fs');
    return JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')).version;
  } catch {
    return undefined;
  }
})();

const SYNC = { sync: true };

export async function open(dir) {
  const { AuraDB } = await import(ENTRY.href);
  const db = await AuraDB.open(dir); // default policy in both modes; durability comes per write
  return {
    put: (k, v, o) => (o?.sync ? db.put(k, v, SYNC) : db.put(k, v)),
    get: (k) => db.get(k),
    getSync: (k) => db.getSync(k),
    del: (k, o) => (o?.sync ? db.delete(k, SYNC) : db.delete(k)),
    batch: (ops, o) => (o?.sync ? db.batch(ops, SYNC) : db.batch(ops)),
    // NB: iterated synchronously (as lmdb's getRange is): the DbIterator is also async-iterable,
    // which the harness would otherwise prefer, at the cost of a Promise per entry.
    iterate: ({ gte, lt, limit } = {}) => {
      const iterator = db.iterator({ gte, lt, limit });
      return { [Symbol.iterator]: () => iterator[Symbol.iterator]() };
    },
    close: () => db.close(),
  };
}
