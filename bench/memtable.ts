/**
 * Benchmark of the memtable structures of `@auradb/lsm` on the current runtime. A command, not a
 * test:
 *
 *   node_modules/.bin/node bench/memtable.ts [--count 1000000] [--reps 5] [--only btree,skiplist] [--json]
 *   node_modules/.bin/bun bench/memtable.ts
 *   node_modules/.bin/deno run -A bench/memtable.ts
 *
 * Structures (all copy keys and values into 256 KiB slabs the same way; they differ in the index):
 * - `btree`: `Memtable` of packages/lsm/src/memtable.ts (the one the engine uses): a B+tree of
 *   typed-array nodes, slotted leaves with 4-byte key hints, 16 key bytes inline per slot.
 * - `skiplist`: a skiplist whose nodes live in one Int32Array (links, 16 inline key bytes, length,
 *   sequence, arena location): the strongest skiplist we built (the comparison keeps it here).
 * - `skiplist-objects`: the textbook skiplist, one object per node with an array of links.
 *
 * Workload (`--count` N, default 1,000,000 entries; 16-byte keys, zero-padded decimals of even
 * numbers; 100-byte values; sequence numbers 1..N):
 * 1. insert sequential: N adds in key order, into a fresh memtable;
 * 2. insert random: N adds in a random (seeded) order, into a fresh memtable, which the next
 *    measurements read;
 * 3. get present / get absent: `--gets` (200,000) gets of random present keys, then of absent ones
 *    (odd numbers, between two present keys), at the newest sequence;
 * 4. iterate forward / reverse: a full scan reading a byte of `key()` and of `value()` of every
 *    entry (as a flush would; with random inserts the arena is in insertion order, so this costs
 *    a cache miss per entry in every structure);
 * 5. seek + next 10: `--seeks` (200,000) seeks to random targets (half present, half absent), each
 *    followed by 10 `next()`, reading a key and a value byte of each entry. Reported as seeks/s.
 * Each measurement is repeated `--reps` times (default 5); the median is printed. Each repetition of
 * each structure runs in a child process of the same runtime (so that neither the garbage nor the
 * JIT feedback of one structure affects the next), interleaved (a noisy neighbour hurts them all
 * alike). Per CPU-second figures are printed too, to read a run on a busy machine. Keys are
 * generated beforehand, in the order they are used, and copied into one reusable 16-byte buffer
 * per call (as the engine passes views into reused buffers); the copy is part of the timing.
 *
 * NB: at 1 M entries the structures are 120-200 MB, far beyond the CPU caches: random inserts and
 * gets are bound by memory latency (cache and TLB misses), which differ a lot between machines and
 * suffer from other processes. The load average is printed with the results.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { compareInternal } from "../packages/lsm/src/compare.ts";
import { Memtable } from "../packages/lsm/src/memtable.ts";
import { type InternalIterator, SEQUENCE_MAX, ValueKind } from "../packages/lsm/src/types.ts";

// --- options ---

interface Options {
  count: number;
  reps: number;
  gets: number;
  seeks: number;
  only: string[];
  json: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { count: 1_000_000, reps: 5, gets: 200_000, seeks: 200_000, only: [], json: false };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!;
    const next = (): string => {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      return value;
    };
    if (flag === "--count") options.count = Number(next());
    else if (flag === "--reps") options.reps = Number(next());
    else if (flag === "--gets") options.gets = Number(next());
    else if (flag === "--seeks") options.seeks = Number(next());
    else if (flag === "--only") options.only = next().split(",");
    else if (flag === "--json") options.json = true;
    else throw new Error(`unknown flag ${flag}`);
  }
  return options;
}

// --- the contenders ---

/** What the benchmark needs of a memtable. */
interface Contender {
  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void;
  get(key: Uint8Array, seq: number): { kind: ValueKind; seq: number; value: Uint8Array } | undefined;
  iterator(): InternalIterator;
  readonly approximateBytes: number;
}

const SLAB_BYTES = 256 * 1024;
const SIGN = -2147483648;
const TWO_POW_32 = 4294967296;
/** Branching 4, as LevelDB and RocksDB: 4^12 = 16 M entries before the top level crowds. */
const SKIPLIST_HEIGHT_MAX = 12;

/** Key and value copied back to back into 256 KiB slabs, as `Memtable` does. */
class Arena {
  readonly slabs: Uint8Array[] = [];
  private slab: Uint8Array = new Uint8Array(0);
  private cursor = SLAB_BYTES;
  bytes = 0;
  /** Set by `copy`: where the entry went. */
  slabId = 0;

  /** Copies key then value; returns the offset (in slab `slabId`). */
  copy(key: Uint8Array, value: Uint8Array): number {
    const length = key.length + value.length;
    if (length > SLAB_BYTES / 4) {
      const own = new Uint8Array(length);
      own.set(key);
      own.set(value, key.length);
      this.slabId = this.slabs.length;
      this.slabs.push(own);
      this.bytes += length;
      return 0;
    }
    if (this.cursor + length > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabs.push(this.slab);
      this.cursor = 0;
    }
    const offset = this.cursor;
    const slab = this.slab;
    slab.set(key, offset);
    slab.set(value, offset + key.length);
    this.cursor = offset + length;
    this.slabId = this.slabs.length - 1;
    this.bytes += length;
    return offset;
  }
}

// Skiplist node layout (ints from the node's offset in the pool).
const NODE_WORDS = 0;
const NODE_LENGTH = 4;
const NODE_SEQ_HIGH = 5;
const NODE_SEQ_LOW = 6;
const NODE_SLAB = 7;
const NODE_OFFSET = 8;
const NODE_VALUE_LENGTH = 9;
const NODE_KIND = 10;
const NODE_PREV = 11;
const NODE_LINKS = 12;
const HEAD = 0;
const NIL = 0;

/**
 * A skiplist in one growing Int32Array: a node is its offset; links, 16 inline key bytes (4
 * big-endian words, sign-flipped so that int32 order is byte order), length, sequence and arena
 * location sit together, so a search step touches one node. Level-0 back links serve `prev`.
 */
class TypedSkipList implements Contender {
  private readonly arena = new Arena();
  pool = new Int32Array(1 << 16);
  private used = NODE_LINKS + SKIPLIST_HEIGHT_MAX;
  private height = 1;
  tail = NIL;
  private random = 0x2545f491;
  private readonly splice = new Int32Array(SKIPLIST_HEIGHT_MAX);
  private readonly result: { kind: ValueKind; seq: number; value: Uint8Array } = { kind: ValueKind.Put, seq: 0, value: new Uint8Array(0) };
  // The prepared target.
  private target: Uint8Array = new Uint8Array(0);
  private word0 = 0;
  private word1 = 0;
  private word2 = 0;
  private word3 = 0;
  private seqHigh = 0;
  private seqLow = 0;

  get approximateBytes(): number {
    return this.arena.bytes + this.used * 4;
  }

  private prepare(target: Uint8Array, seq: number): void {
    this.target = target;
    this.word0 = paddedWord(target, 0) ^ SIGN;
    this.word1 = paddedWord(target, 4) ^ SIGN;
    this.word2 = paddedWord(target, 8) ^ SIGN;
    this.word3 = paddedWord(target, 12) ^ SIGN;
    this.seqHigh = seq < 0 ? -1 : Math.floor(seq / TWO_POW_32);
    this.seqLow = seq < 0 ? SIGN : (seq >>> 0) ^ SIGN;
  }

  /** Sign of (target - node). */
  private compare(node: number): number {
    const pool = this.pool;
    let a = this.word0;
    let b = pool[node]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word1;
    b = pool[node + 1]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word2;
    b = pool[node + 2]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.word3;
    b = pool[node + 3]!;
    if (a !== b) return a < b ? -1 : 1;
    a = this.target.length;
    b = pool[node + NODE_LENGTH]!;
    if (a > 16 && b > 16) {
      const slab = this.arena.slabs[pool[node + NODE_SLAB]!]!;
      const offset = pool[node + NODE_OFFSET]!;
      const common = Math.min(a, b);
      for (let index = 16; index < common; index++) {
        const difference = this.target[index]! - slab[offset + index]!;
        if (difference !== 0) return difference;
      }
    }
    if (a !== b) return a < b ? -1 : 1;
    a = this.seqHigh;
    b = pool[node + NODE_SEQ_HIGH]!;
    if (a !== b) return a > b ? -1 : 1;
    a = this.seqLow;
    b = pool[node + NODE_SEQ_LOW]!;
    if (a !== b) return a > b ? -1 : 1;
    return 0;
  }

  /** The last node < target on each level (into `splice` when `record`); returns the level-0 one. */
  private findLess(record: boolean): number {
    const pool = this.pool;
    let node = HEAD;
    let bigger = -1;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const next = pool[node + NODE_LINKS + level]!;
        // NB: a node already found >= target on the level above needs no second comparison.
        if (next === NIL || next === bigger) break;
        if (this.compare(next) <= 0) {
          bigger = next;
          break;
        }
        node = next;
      }
      if (record) this.splice[level] = node;
    }
    return node;
  }

  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    this.prepare(key, seq);
    this.findLess(true);
    let random = this.random;
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    this.random = random;
    let height = 1;
    while ((random & 3) === 0 && height < SKIPLIST_HEIGHT_MAX) {
      height++;
      random >>>= 2;
    }
    if (height > this.height) {
      for (let level = this.height; level < height; level++) this.splice[level] = HEAD;
      this.height = height;
    }
    const node = this.used;
    if (node + NODE_LINKS + height > this.pool.length) {
      const grown = new Int32Array(this.pool.length * 2);
      grown.set(this.pool);
      this.pool = grown;
    }
    this.used = node + NODE_LINKS + height;
    const offset = this.arena.copy(key, value);
    const pool = this.pool;
    pool[node] = this.word0;
    pool[node + 1] = this.word1;
    pool[node + 2] = this.word2;
    pool[node + 3] = this.word3;
    pool[node + NODE_LENGTH] = key.length;
    pool[node + NODE_SEQ_HIGH] = this.seqHigh;
    pool[node + NODE_SEQ_LOW] = this.seqLow;
    pool[node + NODE_SLAB] = this.arena.slabId;
    pool[node + NODE_OFFSET] = offset;
    pool[node + NODE_VALUE_LENGTH] = value.length;
    pool[node + NODE_KIND] = kind;
    for (let level = 0; level < height; level++) {
      const before = this.splice[level]! + NODE_LINKS + level;
      pool[node + NODE_LINKS + level] = pool[before]!;
      pool[before] = node;
    }
    pool[node + NODE_PREV] = this.splice[0]!;
    const next = pool[node + NODE_LINKS]!;
    if (next === NIL) this.tail = node;
    else pool[next + NODE_PREV] = node;
  }

  /** First node >= (target, seq), or NIL. */
  seekNode(target: Uint8Array, seq: number): number {
    this.prepare(target, seq);
    return this.pool[this.findLess(false) + NODE_LINKS]!;
  }

  /** Last node whose key <= target, or NIL (HEAD). */
  seekForPrevNode(target: Uint8Array): number {
    this.prepare(target, -1);
    return this.findLess(false);
  }

  get(key: Uint8Array, seq: number): { kind: ValueKind; seq: number; value: Uint8Array } | undefined {
    const node = this.seekNode(key, seq);
    if (node === NIL) return undefined;
    const pool = this.pool;
    if (this.word0 !== pool[node] || this.word1 !== pool[node + 1] || this.word2 !== pool[node + 2] || this.word3 !== pool[node + 3]) return undefined;
    if (pool[node + NODE_LENGTH] !== key.length) return undefined;
    if (key.length > 16) {
      const stored = this.keyAt(node);
      for (let index = 16; index < key.length; index++) if (stored[index] !== key[index]) return undefined;
    }
    const result = this.result;
    result.kind = pool[node + NODE_KIND] as ValueKind;
    result.seq = this.seqAt(node);
    result.value = this.valueAt(node);
    return result;
  }

  seqAt(node: number): number {
    return this.pool[node + NODE_SEQ_HIGH]! * TWO_POW_32 + ((this.pool[node + NODE_SEQ_LOW]! ^ SIGN) >>> 0);
  }

  keyAt(node: number): Uint8Array {
    const offset = this.pool[node + NODE_OFFSET]!;
    return this.arena.slabs[this.pool[node + NODE_SLAB]!]!.subarray(offset, offset + this.pool[node + NODE_LENGTH]!);
  }

  valueAt(node: number): Uint8Array {
    const offset = this.pool[node + NODE_OFFSET]! + this.pool[node + NODE_LENGTH]!;
    return this.arena.slabs[this.pool[node + NODE_SLAB]!]!.subarray(offset, offset + this.pool[node + NODE_VALUE_LENGTH]!);
  }

  iterator(): InternalIterator {
    return new TypedSkipListIterator(this);
  }
}

class TypedSkipListIterator implements InternalIterator {
  private readonly list: TypedSkipList;
  private node = NIL;

  constructor(list: TypedSkipList) {
    this.list = list;
  }
  valid(): boolean {
    return this.node !== NIL;
  }
  key(): Uint8Array {
    return this.list.keyAt(this.node);
  }
  seq(): number {
    return this.list.seqAt(this.node);
  }
  kind(): ValueKind {
    return this.list.pool[this.node + NODE_KIND] as ValueKind;
  }
  value(): Uint8Array {
    return this.list.valueAt(this.node);
  }
  seekToFirst(): void {
    this.node = this.list.pool[HEAD + NODE_LINKS]!;
  }
  seekToLast(): void {
    this.node = this.list.tail;
  }
  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.node = this.list.seekNode(target, seq);
  }
  seekForPrev(target: Uint8Array): void {
    this.node = this.list.seekForPrevNode(target);
  }
  next(): void {
    this.node = this.list.pool[this.node + NODE_LINKS]!;
  }
  prev(): void {
    this.node = this.list.pool[this.node + NODE_PREV]!;
  }
  close(): void {
    this.node = NIL;
  }
}

/** The textbook skiplist: an object per node, an array of links, keys and values as views. */
interface ObjectNode {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: ValueKind;
  readonly value: Uint8Array;
  readonly next: (ObjectNode | null)[];
  prev: ObjectNode | null;
}

class ObjectSkipList implements Contender {
  private readonly arena = new Arena();
  readonly head: ObjectNode = { key: new Uint8Array(0), seq: 0, kind: ValueKind.Put, value: new Uint8Array(0), next: new Array(SKIPLIST_HEIGHT_MAX).fill(null), prev: null };
  tail: ObjectNode | null = null;
  private height = 1;
  private random = 0x2545f491;
  private readonly splice: ObjectNode[] = new Array(SKIPLIST_HEIGHT_MAX).fill(this.head);
  private count = 0;
  private linkCount = 0;

  get approximateBytes(): number {
    // Rough V8 sizes: node object ~56 B, links array 16 B + 8 B per link, two views ~80 B each.
    return this.arena.bytes + this.count * (56 + 16 + 160) + this.linkCount * 8;
  }

  /** The last node < (target, seq) per level. */
  private findLess(target: Uint8Array, seq: number, record: boolean): ObjectNode {
    let node = this.head;
    let bigger: ObjectNode | null = null;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const next = node.next[level]!;
        if (next === null || next === bigger) break;
        if (compareInternal(target, seq, 0, next.key, next.seq, 0) <= 0) {
          bigger = next;
          break;
        }
        node = next;
      }
      if (record) this.splice[level] = node;
    }
    return node;
  }

  add(key: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    this.findLess(key, seq, true);
    let random = this.random;
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    this.random = random;
    let height = 1;
    while ((random & 3) === 0 && height < SKIPLIST_HEIGHT_MAX) {
      height++;
      random >>>= 2;
    }
    if (height > this.height) {
      for (let level = this.height; level < height; level++) this.splice[level] = this.head;
      this.height = height;
    }
    const offset = this.arena.copy(key, value);
    const slab = this.arena.slabs[this.arena.slabId]!;
    const node: ObjectNode = {
      key: slab.subarray(offset, offset + key.length),
      seq,
      kind,
      value: slab.subarray(offset + key.length, offset + key.length + value.length),
      next: new Array(height),
      prev: this.splice[0]!,
    };
    for (let level = 0; level < height; level++) {
      const before = this.splice[level]!;
      node.next[level] = before.next[level]!;
      before.next[level] = node;
    }
    const next = node.next[0]!;
    if (next === null) this.tail = node;
    else next.prev = node;
    this.count++;
    this.linkCount += height;
  }

  seekNode(target: Uint8Array, seq: number): ObjectNode | null {
    return this.findLess(target, seq, false).next[0]!;
  }

  seekForPrevNode(target: Uint8Array): ObjectNode | null {
    const node = this.findLess(target, -1, false);
    return node === this.head ? null : node;
  }

  get(key: Uint8Array, seq: number): { kind: ValueKind; seq: number; value: Uint8Array } | undefined {
    const node = this.seekNode(key, seq);
    if (node === null || compareInternal(key, 0, 0, node.key, 0, 0) !== 0) return undefined;
    return node;
  }

  iterator(): InternalIterator {
    return new ObjectSkipListIterator(this);
  }
}

class ObjectSkipListIterator implements InternalIterator {
  private readonly list: ObjectSkipList;
  private node: ObjectNode | null = null;

  constructor(list: ObjectSkipList) {
    this.list = list;
  }
  valid(): boolean {
    return this.node !== null;
  }
  key(): Uint8Array {
    return this.node!.key;
  }
  seq(): number {
    return this.node!.seq;
  }
  kind(): ValueKind {
    return this.node!.kind;
  }
  value(): Uint8Array {
    return this.node!.value;
  }
  seekToFirst(): void {
    this.node = this.list.head.next[0]!;
  }
  seekToLast(): void {
    this.node = this.list.tail;
  }
  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.node = this.list.seekNode(target, seq);
  }
  seekForPrev(target: Uint8Array): void {
    this.node = this.list.seekForPrevNode(target);
  }
  next(): void {
    this.node = this.node!.next[0]!;
  }
  prev(): void {
    const previous = this.node!.prev;
    this.node = previous === this.list.head ? null : previous;
  }
  close(): void {
    this.node = null;
  }
}

function paddedWord(bytes: Uint8Array, start: number): number {
  const length = bytes.length;
  let word = 0;
  for (let index = start; index < start + 4; index++) word = (word << 8) | (index < length ? bytes[index]! : 0);
  return word;
}

const STRUCTURES: { name: string; create: () => Contender }[] = [
  { name: "btree", create: () => new Memtable() },
  { name: "skiplist", create: () => new TypedSkipList() },
  { name: "skiplist-objects", create: () => new ObjectSkipList() },
];

// --- the workload ---

const KEY_BYTES = 16;
const VALUE_BYTES = 100;

function writeKey(target: Uint8Array, at: number, number: number): void {
  for (let index = KEY_BYTES - 1; index >= 0; index--) {
    target[at + index] = 48 + (number % 10);
    number = Math.floor(number / 10);
  }
}

/** A seeded xorshift32 in [0, 1). */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / TWO_POW_32;
  };
}

interface Workload {
  sequentialKeys: Uint8Array;
  randomKeys: Uint8Array;
  presentKeys: Uint8Array;
  absentKeys: Uint8Array;
  seekKeys: Uint8Array;
}

/** All keys, each list in the order it is used, so that the harness reads memory sequentially. */
function makeWorkload(options: Options): Workload {
  const random = generator(0x9e3779b9);
  const count = options.count;
  const permutation = new Int32Array(count);
  for (let index = 0; index < count; index++) permutation[index] = index;
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const swap = permutation[index]!;
    permutation[index] = permutation[other]!;
    permutation[other] = swap;
  }
  const workload: Workload = {
    sequentialKeys: new Uint8Array(count * KEY_BYTES),
    randomKeys: new Uint8Array(count * KEY_BYTES),
    presentKeys: new Uint8Array(options.gets * KEY_BYTES),
    absentKeys: new Uint8Array(options.gets * KEY_BYTES),
    seekKeys: new Uint8Array(options.seeks * KEY_BYTES),
  };
  for (let index = 0; index < count; index++) {
    writeKey(workload.sequentialKeys, index * KEY_BYTES, 2 * index);
    writeKey(workload.randomKeys, index * KEY_BYTES, 2 * permutation[index]!);
  }
  for (let index = 0; index < options.gets; index++) {
    const number = Math.floor(random() * count);
    writeKey(workload.presentKeys, index * KEY_BYTES, 2 * number);
    writeKey(workload.absentKeys, index * KEY_BYTES, 2 * number + 1);
  }
  for (let index = 0; index < options.seeks; index++) writeKey(workload.seekKeys, index * KEY_BYTES, Math.floor(random() * 2 * count));
  return workload;
}

/**
 * Timing of the last measured loop: wall-clock and process CPU milliseconds. CPU time (all threads
 * of the process, so GC and JIT threads count too) discounts the time the OS gave to other
 * processes: it helps reading a run on a busy machine. Wall-clock is the headline.
 */
let wallStart = 0;
let cpuStart = 0;
let lastCpuMs = 0;

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function startClock(): void {
  cpuStart = cpuNow();
  wallStart = performance.now();
}

/** Stops the clock: returns wall-clock ms, leaves CPU ms in `lastCpuMs`. */
function stopClock(): number {
  const wallMs = performance.now() - wallStart;
  lastCpuMs = cpuNow() - cpuStart;
  return wallMs;
}

/** The reusable buffers the engine would pass views of. */
const key = new Uint8Array(KEY_BYTES);
const value = new Uint8Array(VALUE_BYTES).map((_, index) => index);

function load(keys: Uint8Array, index: number): void {
  const base = index * KEY_BYTES;
  for (let byte = 0; byte < KEY_BYTES; byte++) key[byte] = keys[base + byte]!;
}

function fill(memtable: Contender, keys: Uint8Array, count: number): number {
  startClock();
  for (let index = 0; index < count; index++) {
    load(keys, index);
    value[0] = index & 0xff;
    memtable.add(key, index + 1, ValueKind.Put, value);
  }
  return stopClock();
}

function gets(memtable: Contender, keys: Uint8Array, count: number, present: boolean): number {
  let found = 0;
  startClock();
  for (let index = 0; index < count; index++) {
    load(keys, index);
    if (memtable.get(key, SEQUENCE_MAX) !== undefined) found++;
  }
  const elapsed = stopClock();
  if (found !== (present ? count : 0)) throw new Error(`get: found ${found} of ${count} (present: ${present})`);
  return elapsed;
}

/**
 * Sum of a key byte and a value byte of every entry visited by the last `iterate` or `seeks`
 * call: the same for every structure (checked), and it makes the loops read the entries' bytes, as
 * a flush or a user scan would (a view alone does not touch them).
 */
let checksum = 0;

function iterate(memtable: Contender, count: number, reverse: boolean): number {
  const iterator = memtable.iterator();
  let entries = 0;
  let bytes = 0;
  let sum = 0;
  startClock();
  if (reverse) {
    for (iterator.seekToLast(); iterator.valid(); iterator.prev()) {
      const entryKey = iterator.key();
      const entryValue = iterator.value();
      sum += entryKey[KEY_BYTES - 1]! + entryValue[1]!;
      bytes += entryKey.length + entryValue.length;
      entries++;
    }
  } else {
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      const entryKey = iterator.key();
      const entryValue = iterator.value();
      sum += entryKey[KEY_BYTES - 1]! + entryValue[1]!;
      bytes += entryKey.length + entryValue.length;
      entries++;
    }
  }
  const elapsed = stopClock();
  iterator.close();
  if (entries !== count || bytes !== count * (KEY_BYTES + VALUE_BYTES)) throw new Error(`iterate: ${entries} entries, ${bytes} bytes`);
  checksum = sum;
  return elapsed;
}

function seeks(memtable: Contender, keys: Uint8Array, count: number): number {
  const iterator = memtable.iterator();
  let sum = 0;
  startClock();
  for (let index = 0; index < count; index++) {
    load(keys, index);
    iterator.seek(key);
    for (let step = 0; step < 10 && iterator.valid(); step++) {
      sum += iterator.key()[KEY_BYTES - 1]! + iterator.value()[1]!;
      iterator.next();
    }
  }
  const elapsed = stopClock();
  iterator.close();
  if (sum === 0) throw new Error("seek: nothing read");
  checksum = sum;
  return elapsed;
}

// --- main ---

function median(values: readonly number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return `Bun ${versions.bun}`;
  if (versions.deno !== undefined) return `Deno ${versions.deno}`;
  return `Node ${process.version}`;
}

const MEASUREMENTS = ["insert sequential", "insert random", "get present", "get absent", "iterate forward", "iterate reverse", "seek + next 10"] as const;

/** What one child process reports: one repetition of one structure. */
interface RepetitionResult {
  /** Operations per second, wall-clock and per CPU-second, by measurement. */
  perSecond: Record<string, number>;
  perCpuSecond: Record<string, number>;
  bytesPerEntry: number;
  /** The scan and seek checksums: equal for every structure. */
  checksums: string;
}

/** Runs every measurement once for one structure, in this process. */
function runRepetition(structure: { name: string; create: () => Contender }, options: Options): RepetitionResult {
  const workload = makeWorkload(options);
  const result: RepetitionResult = { perSecond: {}, perCpuSecond: {}, bytesPerEntry: 0, checksums: "" };
  const record = (measurement: string, operations: number, elapsedMs: number): void => {
    result.perSecond[measurement] = operations / (elapsedMs / 1000);
    result.perCpuSecond[measurement] = operations / (lastCpuMs / 1000);
  };
  record("insert sequential", options.count, fill(structure.create(), workload.sequentialKeys, options.count));
  const memtable = structure.create();
  record("insert random", options.count, fill(memtable, workload.randomKeys, options.count));
  result.bytesPerEntry = memtable.approximateBytes / options.count;
  record("get present", options.gets, gets(memtable, workload.presentKeys, options.gets, true));
  record("get absent", options.gets, gets(memtable, workload.absentKeys, options.gets, false));
  record("iterate forward", options.count, iterate(memtable, options.count, false));
  const scanChecksum = checksum;
  record("iterate reverse", options.count, iterate(memtable, options.count, true));
  if (checksum !== scanChecksum) throw new Error(`${structure.name}: the reverse scan differs from the forward scan`);
  record("seek + next 10", options.seeks, seeks(memtable, workload.seekKeys, options.seeks));
  result.checksums = `${scanChecksum}/${checksum}`;
  return result;
}

/** The command that runs this file again under the current runtime. */
function childCommand(): { command: string; prefix: string[] } {
  const script = fileURLToPath(import.meta.url);
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno !== undefined) return { command: process.execPath, prefix: ["run", "-A", script] };
  return { command: process.execPath, prefix: [script] };
}

function main(): void {
  const argv = process.argv.slice(2);
  const childIndex = argv.indexOf("--child");
  if (childIndex >= 0) {
    // A child: one repetition of one structure, its result as one JSON line on stdout.
    const name = argv[childIndex + 1];
    const structure = STRUCTURES.find((candidate) => candidate.name === name);
    if (structure === undefined) throw new Error(`--child: unknown structure ${name}`);
    const options = parseOptions(argv.filter((_, index) => index !== childIndex && index !== childIndex + 1));
    console.log(JSON.stringify(runRepetition(structure, options)));
    return;
  }
  const options = parseOptions(argv);
  const structures = options.only.length === 0 ? STRUCTURES : STRUCTURES.filter((structure) => options.only.includes(structure.name));
  if (structures.length === 0) throw new Error(`--only: no structure among ${STRUCTURES.map((structure) => structure.name).join(", ")}`);
  const loadBefore = loadavg()[0]!;
  const results = new Map<string, RepetitionResult[]>(structures.map((structure) => [structure.name, []]));
  const { command, prefix } = childCommand();
  const forwarded = ["--count", String(options.count), "--gets", String(options.gets), "--seeks", String(options.seeks)];
  let expectedChecksums: string | undefined;
  for (let rep = 0; rep < options.reps; rep++) {
    for (const structure of structures) {
      // NB: a process per structure and repetition: the garbage of one structure (a million objects
      // for skiplist-objects) must not be collected during the timing of the next, and JIT
      // feedback must not mix. Interleaving them spreads a noisy neighbour over all of them.
      process.stderr.write(`rep ${rep + 1}/${options.reps}: ${structure.name}\n`);
      const child = spawnSync(command, [...prefix, "--child", structure.name, ...forwarded], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`${structure.name}: the child process failed (${child.status ?? child.signal})`);
      const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as RepetitionResult;
      // Every structure must have seen the same entries.
      expectedChecksums ??= result.checksums;
      if (result.checksums !== expectedChecksums) throw new Error(`${structure.name}: checksums ${result.checksums}, the first structure had ${expectedChecksums}`);
      results.get(structure.name)!.push(result);
    }
  }
  const loadAfter = loadavg()[0]!;
  const names = structures.map((structure) => structure.name);
  console.log(`\n### memtable: ${runtimeName()}, ${options.count} entries (16 B keys, 100 B values), median of ${options.reps}`);
  console.log(`\n${cpus().length} CPUs, load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after. Operations per second (M = 10^6).\n`);
  const table = (title: string, pick: (result: RepetitionResult) => Record<string, number>): void => {
    console.log(`| ${title} | ${names.join(" | ")} |`);
    console.log(`|---|${names.map(() => "---:").join("|")}|`);
    for (const measurement of MEASUREMENTS) {
      const cells = names.map((name) => `${(median(results.get(name)!.map((result) => pick(result)[measurement]!)) / 1e6).toFixed(2)} M`);
      console.log(`| ${measurement} | ${cells.join(" | ")} |`);
    }
  };
  table("per second (wall-clock)", (result) => result.perSecond);
  console.log(`| bytes per entry (approximateBytes / N) | ${names.map((name) => median(results.get(name)!.map((result) => result.bytesPerEntry)).toFixed(0)).join(" | ")} |`);
  console.log("");
  table("per CPU-second (process CPU time)", (result) => result.perCpuSecond);
  if (options.json) console.log(JSON.stringify({ runtime: runtimeName(), options, loadBefore, loadAfter, results: Object.fromEntries(results) }));
}

main();
