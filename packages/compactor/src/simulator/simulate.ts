/**
 * The offline simulator: a policy drives a simulated tree (tree-model.ts) through phases of
 * operations; every cost is counted in page I/Os.
 *
 * - Writes: one WAL append each (entryBytes of a page), a flush per memtable, and every
 *   compaction the policy picks after a flush, run at once (the read and written bytes).
 * - Point reads of a uniformly random key: the runs are probed newest first; each run probed
 *   without the key costs a Bloom false positive p, the run holding it one page; a key in no run
 *   costs p per run (a miss).
 * - Scans of `scanLength` entries: one page per run (the seek) plus the pages of the entries
 *   every run holds in the scanned key range.
 *
 * An adaptive policy (one with `observe`) gets a `WorkloadWindow` after each window, with the
 * window's I/O as device bytes and as latency (pageTimeMs per page, times seeded noise).
 * Deterministic under the seed.
 */
import { InvalidArgumentError } from "../errors.ts";
import { Random } from "../random.ts";
import { integerOption, numberOption } from "../shape.ts";
import type { CompactionPolicy, TreeView, WorkloadWindow } from "../types.ts";
import { TreeModel } from "./tree-model.ts";

/** A policy the simulator can drive; `observe` makes it adaptive (the agent). */
export interface SimulatedPolicy extends CompactionPolicy {
  observe?(window: WorkloadWindow, tree: TreeView): unknown;
}

/** One phase of a workload: operation weights (normalised) for `windows` windows. */
export interface Phase {
  readonly name: string;
  readonly windows: number;
  readonly write: number;
  readonly read: number;
  readonly scan: number;
}

/** Knobs of the simulated device, tree and workload; each has a default. */
export interface SimulationOptions {
  /** Seed of the measurement noise. Default 1. */
  readonly seed?: number;
  /** Distinct keys writes are drawn from. Default 1,000,000. */
  readonly keySpace?: number;
  /** Bytes per entry (key + value). Default 100. */
  readonly entryBytes?: number;
  /** Bytes per page (one device I/O). Default 4096. */
  readonly pageBytes?: number;
  /** Entries per memtable flush. Default 2,000 (200 KB). */
  readonly memtableEntries?: number;
  /** Entries per compaction output table. Default 4,000. */
  readonly tableEntries?: number;
  /** Default 10 (about 0.8% false positives). */
  readonly bloomBitsPerKey?: number;
  /** Entries per scan. Default 100. */
  readonly scanLength?: number;
  /** Operations per window. Default 20,000. */
  readonly windowOperations?: number;
  /** Uniform writes before the first phase (not counted). Default keySpace. */
  readonly preloadWrites?: number;
  /** Spread of the latency noise (the σ of a log-normal factor). Default 0.05. */
  readonly noise?: number;
  /** Device time per page, to turn I/O into the latency an adaptive policy sees. Default 0.1 ms. */
  readonly pageTimeMs?: number;
  /**
   * Share of the outstanding compaction I/O each window pays, in (0, 1]. Default 0.25: a
   * background compactor spreads a large merge over the next few windows (half of it within
   * about 2.4 windows) instead of charging it all to the window whose flush started it; 1
   * charges everything at once. The total is the same: what is still owed at the end is charged
   * to the last phase.
   */
  readonly compactionSpread?: number;
}

/** Per-phase outcome. Costs are page I/Os. */
export interface PhaseResult {
  readonly name: string;
  readonly operations: number;
  readonly pageIos: number;
  readonly costPerOperation: number;
  /** Flushes, compactions and WAL appends. */
  readonly writeIos: number;
  readonly readIos: number;
  readonly scanIos: number;
  /** Cost per operation of each window, in order. */
  readonly windowCosts: readonly number[];
  /** The policy's shape at the end of the phase. */
  readonly runsUpper: number;
  readonly runsLast: number;
  readonly l0Trigger: number;
  /** Runs in the tree at the end of the phase. */
  readonly runs: number;
}

export interface SimulationResult {
  readonly policy: string;
  readonly preloadIos: number;
  readonly phases: readonly PhaseResult[];
  readonly operations: number;
  readonly pageIos: number;
  readonly costPerOperation: number;
}

interface ResolvedOptions {
  readonly seed: number;
  readonly keySpace: number;
  readonly entryBytes: number;
  readonly pageBytes: number;
  readonly memtableEntries: number;
  readonly tableEntries: number;
  readonly bloomBitsPerKey: number;
  readonly scanLength: number;
  readonly windowOperations: number;
  readonly preloadWrites: number;
  readonly noise: number;
  readonly pageTimeMs: number;
  readonly compactionSpread: number;
}

/** A compaction loop that never ends is a policy bug; this many compactions after one flush is one. */
const COMPACTIONS_PER_FLUSH_MAX = 10_000;

/** @throws InvalidArgumentError for an option out of range. */
export function resolveSimulationOptions(options: SimulationOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("simulator: options must be an object");
  const keySpace = integerOption("keySpace", options.keySpace, 1_000_000, 1, 2 ** 32);
  return {
    seed: integerOption("seed", options.seed, 1, 0, 0xffffffff),
    keySpace,
    entryBytes: integerOption("entryBytes", options.entryBytes, 100, 1, 2 ** 30),
    pageBytes: integerOption("pageBytes", options.pageBytes, 4096, 1, 2 ** 30),
    memtableEntries: integerOption("memtableEntries", options.memtableEntries, 2_000, 1, 2 ** 30),
    tableEntries: integerOption("tableEntries", options.tableEntries, 4_000, 1, 2 ** 30),
    bloomBitsPerKey: numberOption("bloomBitsPerKey", options.bloomBitsPerKey, 10, 0, 64),
    scanLength: integerOption("scanLength", options.scanLength, 100, 0, 2 ** 30),
    windowOperations: integerOption("windowOperations", options.windowOperations, 20_000, 1, 2 ** 30),
    preloadWrites: integerOption("preloadWrites", options.preloadWrites, keySpace, 0, 2 ** 40),
    noise: numberOption("noise", options.noise, 0.05, 0, 2),
    pageTimeMs: numberOption("pageTimeMs", options.pageTimeMs, 0.1, 1e-9, 1e6),
    compactionSpread: numberOption("compactionSpread", options.compactionSpread, 0.25, 1e-3, 1),
  };
}

/** A policy driving a simulated tree, window by window (module comment). */
export class Simulator {
  readonly options: ResolvedOptions;
  readonly policy: SimulatedPolicy;
  readonly tree: TreeModel;
  readonly #random: Random;
  readonly #falsePositive: number;
  /** Writes in the memtable not yet flushed. */
  #memtable = 0;
  /** Compaction page I/Os done but not yet charged (see `compactionSpread`). */
  #debt = 0;
  #cachedVersion = -1;
  #cached = { read: 0, miss: 0, scan: 0, runs: 0 };

  /** @throws InvalidArgumentError for a bad option. */
  constructor(policy: SimulatedPolicy, options: SimulationOptions = {}) {
    this.options = resolveSimulationOptions(options);
    this.policy = policy;
    this.tree = new TreeModel(policy.shape().levelCount, this.options);
    this.#random = new Random(this.options.seed);
    this.#falsePositive = Math.exp(-this.options.bloomBitsPerKey * Math.LN2 * Math.LN2);
  }

  /** Compaction I/O done but not yet charged to a window (charged by {@link settle}). */
  get debt(): number {
    return this.#debt;
  }

  /** Charges all outstanding compaction I/O now (at the end of a run, so totals are complete). */
  settle(): number {
    const debt = this.#debt;
    this.#debt = 0;
    return debt;
  }

  /** Writes `writes` uniform keys (flushing and compacting as needed); returns the WAL page I/Os (compactions go to the debt). */
  preload(writes: number): number {
    let pages = 0;
    let remaining = writes;
    while (remaining > 0) {
      const batch = Math.min(remaining, this.options.memtableEntries - this.#memtable);
      this.#memtable += batch;
      remaining -= batch;
      pages += (batch * this.options.entryBytes) / this.options.pageBytes;
      if (this.#memtable >= this.options.memtableEntries) this.#debt += this.#flush();
    }
    return pages;
  }

  /**
   * One window of `windowOperations` operations of the given weights. Returns the measured window
   * (as the engine would report it) and its I/O split by kind.
   */
  runWindow(phase: Pick<Phase, "write" | "read" | "scan">): { window: WorkloadWindow; writeIos: number; readIos: number; scanIos: number } {
    const options = this.options;
    const total = phase.write + phase.read + phase.scan;
    if (!(total > 0) || phase.write < 0 || phase.read < 0 || phase.scan < 0) throw new InvalidArgumentError("simulator: phase weights must be >= 0 with a positive sum");
    const writeShare = phase.write / total;
    const readShare = phase.read / total;
    const scanShare = phase.scan / total;
    let writeIos = 0;
    let readIos = 0;
    let scanIos = 0;
    let misses = 0;
    let worstRead = 0;
    let worstScan = 0;
    let remaining = options.windowOperations;
    while (remaining > 0) {
      // Operations until the memtable fills (all of the window when there are no writes).
      const untilFlush = writeShare > 0 ? Math.ceil((options.memtableEntries - this.#memtable) / writeShare) : remaining;
      const chunk = Math.max(1, Math.min(remaining, untilFlush));
      const costs = this.#costs();
      readIos += chunk * readShare * costs.read;
      misses += chunk * readShare * costs.miss;
      scanIos += chunk * scanShare * costs.scan;
      worstRead = Math.max(worstRead, 1 + this.#falsePositive * costs.runs);
      worstScan = Math.max(worstScan, costs.scan);
      const writes = chunk * writeShare;
      writeIos += (writes * options.entryBytes) / options.pageBytes;
      this.#memtable += writes;
      remaining -= chunk;
      if (this.#memtable >= options.memtableEntries - 1e-9) this.#debt += this.#flush();
    }
    // Background compaction: the window pays its share of the I/O done (module comment).
    const charged = this.#debt * options.compactionSpread;
    this.#debt -= charged;
    writeIos += charged;
    const operations = options.windowOperations;
    const reads = Math.round(operations * readShare);
    const scans = Math.round(operations * scanShare);
    const writes = operations - reads - scans;
    const pages = writeIos + readIos + scanIos;
    const noise = () => Math.exp(options.noise * gaussian(this.#random));
    // p99 stand-in: the mean cost of the costliest kind of operation making up >= 1% of the window.
    const writeEach = writes > 0 ? writeIos / writes : 0;
    const kinds = [
      writeShare >= 0.01 ? writeEach : 0,
      readShare >= 0.01 ? worstRead : 0,
      scanShare >= 0.01 ? worstScan : 0,
    ];
    const window: WorkloadWindow = {
      // NB: every time the agent may learn from carries the noise (the default reward is the window's time).
      durationMs: pages * options.pageTimeMs * noise(),
      reads,
      readMisses: Math.min(reads, Math.round(misses)),
      writes,
      scans,
      scannedEntries: scans * options.scanLength,
      bytesWritten: writes * options.entryBytes,
      bytesRead: (reads - Math.min(reads, Math.round(misses)) + scans * options.scanLength) * options.entryBytes,
      ioBytes: pages * options.pageBytes,
      latencyMeanMs: (pages / operations) * options.pageTimeMs * noise(),
      latencyP99Ms: Math.max(...kinds) * options.pageTimeMs * noise(),
    };
    return { window, writeIos, readIos, scanIos };
  }

  /** Flushes the memtable and runs compactions until the policy has none; returns the page I/Os. */
  #flush(): number {
    const options = this.options;
    let bytes = this.tree.flush(Math.round(this.#memtable));
    this.#memtable = 0;
    for (let count = 0; ; count++) {
      const decision = this.policy.pick(this.tree);
      if (decision === null) break;
      if (count >= COMPACTIONS_PER_FLUSH_MAX) throw new InvalidArgumentError(`simulator: policy ${this.policy.name} asked for more than ${COMPACTIONS_PER_FLUSH_MAX} compactions after one flush`);
      const { readBytes, writtenBytes } = this.tree.execute(decision);
      bytes += readBytes + writtenBytes;
    }
    return bytes / options.pageBytes;
  }

  /** Per-operation costs of the tree as it is now (cached per tree version). */
  #costs(): { read: number; miss: number; scan: number; runs: number } {
    if (this.#cachedVersion === this.tree.version) return this.#cached;
    const { keySpace, entryBytes, pageBytes, scanLength } = this.options;
    const p = this.#falsePositive;
    const runs = this.tree.runs();
    let notYet = 1; // probability that no run probed so far holds the key
    let read = 0;
    let densitySum = 0;
    runs.forEach((run, index) => {
      let entries = 0;
      for (const table of run.tables) entries += table.entries;
      const density = Math.min(1, entries / keySpace);
      densitySum += density;
      read += notYet * density * (1 + p * index);
      notYet *= 1 - density;
    });
    read += notYet * p * runs.length;
    const present = 1 - notYet;
    const perPage = pageBytes / entryBytes;
    // A scan covers scanLength present keys: scanLength / present key numbers, each run
    // contributing its density of them.
    const scan = runs.length + (present > 0 ? (scanLength * densitySum) / present / perPage : 0);
    this.#cached = { read, miss: notYet, scan, runs: runs.length };
    this.#cachedVersion = this.tree.version;
    return this.#cached;
  }
}

/**
 * Runs `policy` through `phases` after the preload; an adaptive policy observes every window.
 * @throws InvalidArgumentError for bad options or phases.
 */
export function simulate(policy: SimulatedPolicy, phases: readonly Phase[], options: SimulationOptions = {}): SimulationResult {
  if (!Array.isArray(phases) || phases.length === 0) throw new InvalidArgumentError("simulator: phases must be a non-empty array");
  const simulator = new Simulator(policy, options);
  const preloadIos = simulator.preload(simulator.options.preloadWrites) + simulator.settle();
  const results: PhaseResult[] = [];
  for (const [phaseIndex, phase] of phases.entries()) {
    if (!Number.isSafeInteger(phase.windows) || phase.windows < 1) throw new InvalidArgumentError(`simulator: phase ${phase.name} needs an integer windows >= 1`);
    let writeIos = 0;
    let readIos = 0;
    let scanIos = 0;
    const windowCosts: number[] = [];
    for (let index = 0; index < phase.windows; index++) {
      const outcome = simulator.runWindow(phase);
      writeIos += outcome.writeIos;
      readIos += outcome.readIos;
      scanIos += outcome.scanIos;
      windowCosts.push((outcome.writeIos + outcome.readIos + outcome.scanIos) / simulator.options.windowOperations);
      policy.observe?.(outcome.window, simulator.tree);
    }
    if (phaseIndex === phases.length - 1) writeIos += simulator.settle();
    const operations = phase.windows * simulator.options.windowOperations;
    const pageIos = writeIos + readIos + scanIos;
    const shape = policy.shape();
    results.push({
      name: phase.name,
      operations,
      pageIos,
      costPerOperation: pageIos / operations,
      writeIos,
      readIos,
      scanIos,
      windowCosts,
      runsUpper: shape.runsUpper,
      runsLast: shape.runsLast,
      l0Trigger: shape.l0Trigger,
      runs: simulator.tree.runs().length,
    });
  }
  let operations = 0;
  let pageIos = 0;
  for (const result of results) {
    operations += result.operations;
    pageIos += result.pageIos;
  }
  return { policy: policy.name, preloadIos, phases: results, operations, pageIos, costPerOperation: pageIos / operations };
}

/** A standard normal draw (Box–Muller). */
function gaussian(random: Random): number {
  const u = 1 - random.next(); // (0, 1]: log(0) is not a number
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
