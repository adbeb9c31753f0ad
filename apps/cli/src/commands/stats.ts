/**
 * `auradb stats <dir>`: the engine's `stats()` as tables, plus the files on disk. Sections the
 * CLI does not know (the engine grows new ones) are printed generically as key/value rows, so
 * every figure shows up.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { AGENT_STATE_FILE, type AuraDB, type CompactionStats, type DbStats } from "auradb";
import { booleanFlag, expectPositionals, parseArgs } from "../_args.ts";
import { openReadOnly } from "../_db.ts";
import { colors, formatBytes, formatCount, print } from "../_output.ts";
import type { CommandContext } from "../cli.ts";

/** Files of a database directory by kind, from a directory listing (no file is opened). */
export interface DiskUsage {
  readonly kinds: Record<string, { files: number; bytes: number }>;
  readonly totalBytes: number;
}

function kindOf(name: string, subdirectory: string): string {
  if (subdirectory === "wal") return name.endsWith(".wal") ? "wal segments" : "other";
  if (subdirectory === "vlog") return name.endsWith(".vlog") ? "value-log files" : "other";
  if (name.endsWith(".sst")) return "tables";
  if (name.startsWith("MANIFEST-")) return "manifest";
  if (name === "CURRENT" || name === "LOCK") return name;
  return "other";
}

export function diskUsage(dir: string): DiskUsage {
  const kinds: Record<string, { files: number; bytes: number }> = {};
  let totalBytes = 0;
  const visit = (path: string, subdirectory: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        visit(full, subdirectory === "" ? entry.name : subdirectory);
        continue;
      }
      const bytes = statSync(full).size;
      const kind = kindOf(entry.name, subdirectory);
      const slot = (kinds[kind] ??= { files: 0, bytes: 0 });
      slot.files++;
      slot.bytes += bytes;
      totalBytes += bytes;
    }
  };
  visit(dir, "");
  return { kinds, totalBytes };
}

/** Live entries and their key + value bytes: what space amplification divides by. */
export function liveData(db: AuraDB): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const [key, value] of db.iterator()) {
    entries++;
    bytes += key.length + value.length;
  }
  return { entries, bytes };
}

/** A left-aligned table with a header row (cli-table3, loaded only when a table is printed). */
export async function renderTable(head: string[], rows: (string | number)[][], alignRight: readonly boolean[] = []): Promise<string> {
  const { default: Table } = await import("cli-table3");
  const table = new Table({
    head: head.map((cell) => colors.bold(cell)),
    style: { head: [], border: [], compact: true, "padding-left": 1, "padding-right": 1 },
    colAligns: head.map((_, index) => (alignRight[index] === true ? "right" : "left")),
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

/** Scalars of a nested object as `a.b.c = value` rows (for sections the CLI does not know). */
function flatten(value: unknown, prefix: string, rows: [string, string][]): void {
  if (value === null || typeof value !== "object") {
    rows.push([prefix, typeof value === "number" && !Number.isInteger(value) ? value.toFixed(3) : String(value)]);
    return;
  }
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  if (entries.length === 0) rows.push([prefix, Array.isArray(value) ? "[]" : "{}"]);
  for (const [key, item] of entries) flatten(item, prefix === "" ? key : `${prefix}.${key}`, rows);
}

/** Rows shown of a section the CLI does not know (per-table sections grow with the database). */
const SECTION_ROWS_MAX = 40;

const KNOWN = new Set(["levels", "cache", "bloom", "valueLog", "compaction"]);

/** Rows of the agent's decision log shown (the newest; `--json` has every one `stats()` keeps). */
const DECISIONS_SHOWN = 16;

/** What each compaction policy does, in a few words. */
const POLICY_SUMMARY: Record<string, string> = {
  leveled: "one sorted run per level",
  tiered: "several runs per level, the least rewriting",
  "lazy-leveling": "tiered above the last level, one run at it",
  fluid: "the K and Z set by the options",
  learned: "an agent re-shapes the tree for the measured workload",
};

function plural(count: number, one: string, many: string): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/** `digits` significant digits, without exponent notation for large numbers: 0.00709, 0.0480, 12.3, 1,230. */
function significant(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Number(value.toPrecision(digits));
  return Math.abs(rounded) >= 1000 ? formatCount(rounded) : value.toPrecision(digits);
}

/** The part of the shape the agent moves, as K/Z/t. */
function shapeCode(config: { runsUpper: number; runsLast: number; l0Trigger: number }): string {
  return `${config.runsUpper}/${config.runsLast}/${config.l0Trigger}`;
}

/** A workload bucket name ("w70-100% s<5%") with what it means, when it has that form. */
function bucketText(name: string): string {
  const match = /^w(\S+)% s(\S+)%$/.exec(name);
  return match === null ? name : `${name} (writes ${match[1]}% of operations, scans ${match[2]}% of reads)`;
}

function kindText(kind: string): string {
  if (kind === "explore") return colors.yellow(kind);
  if (kind === "rollback" || kind === "safety") return colors.magenta(kind);
  if (kind === "recall") return colors.cyan(kind);
  if (kind === "dwell") return colors.dim(kind);
  return kind;
}

/** The Compaction section: policy and shape, runs per level against their targets, and the agent's work. */
async function formatCompaction(compaction: CompactionStats, section: (title: string) => void, out: string[]): Promise<void> {
  const shape = compaction.shape;
  section("Compaction");
  const summary = POLICY_SUMMARY[compaction.policy];
  out.push(
    await renderTable(
      ["figure", "value"],
      [
        ["policy", summary === undefined ? compaction.policy : `${compaction.policy} (${summary})`],
        [
          "shape",
          `${plural(shape.runsUpper, "run", "runs")} per level above the last, ${formatCount(shape.runsLast)} at the last, ` +
            `L0 trigger ${formatCount(shape.l0Trigger)} (slowdown ${formatCount(shape.l0SlowdownTrigger)}, stop ${formatCount(shape.l0StopTrigger)}), size ratio ${formatCount(shape.sizeRatio)}`,
        ],
        ["runs a read may probe", formatCount(compaction.runsPerRead)],
        ["last compaction", compaction.lastReason ?? colors.dim("- (none since open)")],
      ],
    ),
  );
  // Levels down to the deepest one holding tables (at least L1, whose target is the shape's base).
  const deepest = compaction.levels.reduce((last, level) => (level.tables > 0 ? Math.max(last, level.level) : last), 1);
  out.push(
    await renderTable(
      ["level", "runs", "tables", "bytes", "target bytes"],
      compaction.levels
        .filter((level) => level.level <= deepest)
        .map((level) => [`L${level.level}`, formatCount(level.runs), formatCount(level.tables), formatBytes(level.bytes), level.level === 0 ? "-" : formatBytes(level.targetBytes)]),
      [false, true, true, true, true],
    ),
  );

  const agent = compaction.agent;
  if (agent === null) return;
  section("Compaction agent");
  const config = agent.config;
  const stateFile = agent.stateFile;
  const rows: [string, string][] = [
    ["workload (the agent's state)", agent.state === null ? colors.dim("- (no window since open)") : bucketText(agent.state)],
    [
      "shape in force (K/Z/t)",
      `${shapeCode(config)}: ${plural(config.runsUpper, "run", "runs")} per level above the last, ${formatCount(config.runsLast)} at the last, L0 trigger ${formatCount(config.l0Trigger)}`,
    ],
    ["last action", agent.lastAction === null ? colors.dim("- (none since open)") : `${agent.lastAction} (${kindText(agent.lastKind ?? "?")})`],
    ["windows", formatCount(agent.windows)],
    ["explorations", formatCount(agent.explorations)],
    ["rollbacks", formatCount(agent.rollbacks)],
    ["recalls", formatCount(agent.recalls)],
    ["exploration rate", `${(agent.explorationRate * 100).toFixed(1)} % (the chance the next window explores)`],
    ["state file", `${stateFile.status}, ${plural(stateFile.saves, "save", "saves")} since open${stateFile.error === null ? "" : `: ${colors.red(stateFile.error)}`}`],
  ];
  if (stateFile.saveError !== null) rows.push(["state file save error", colors.red(stateFile.saveError)]);
  if (agent.lastError !== null) rows.push(["last error", colors.red(agent.lastError)]);
  out.push(await renderTable(["figure", "value"], rows));

  const decisions = agent.decisions;
  if (decisions.length === 0) {
    out.push("", colors.bold("Decision log"), colors.dim("No decision since open: the log is kept in memory, not in the state file."));
    return;
  }
  const earlier = decisions.length - DECISIONS_SHOWN;
  out.push("", colors.bold(`Decision log (newest last${earlier > 0 ? `; ${formatCount(earlier)} earlier in --json` : ""})`));
  const shown = decisions.slice(-DECISIONS_SHOWN);
  out.push(
    await renderTable(
      ["step", "workload", "cost/op", "reward", "shape K/Z/t", "action", "kind"],
      shown.map((record) => [
        formatCount(record.step),
        record.bucketName,
        significant(record.costPerOperation, 3),
        record.reward.toFixed(3),
        `${shapeCode(record.before)} → ${shapeCode(record.after)}`,
        record.action,
        kindText(record.kind),
      ]),
      [true, false, true, true, false, false, false],
    ),
  );
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "-" : `${((part / whole) * 100).toFixed(1)} %`;
}

/** The stats as text: what `auradb stats` and the shell's `stats` print. */
export async function formatStats(stats: DbStats, options: { disk?: DiskUsage; live?: { entries: number; bytes: number }; perProcessNote?: boolean } = {}): Promise<string> {
  const out: string[] = [];
  const section = (title: string): void => {
    out.push("", colors.bold(colors.cyan(title)));
  };
  const levels = stats.levels.filter((level) => level.files > 0 || level.level === 0);
  section("Levels");
  out.push(
    await renderTable(
      ["level", "tables", "bytes"],
      levels.map((level) => [`L${level.level}`, formatCount(level.files), formatBytes(level.bytes)]),
      [false, true, true],
    ),
  );
  const tableBytes = stats.levels.reduce((sum, level) => sum + level.bytes, 0);
  const tableCount = stats.levels.reduce((sum, level) => sum + level.files, 0);

  const record = stats as unknown as Record<string, unknown>;
  const scalars: [string, string][] = [];
  for (const [key, value] of Object.entries(record)) {
    if (KNOWN.has(key) || (value !== null && typeof value === "object")) continue;
    flatten(value, key, scalars);
  }
  section("Engine");
  const summary: [string, string][] = [
    ["tables", `${formatCount(tableCount)} (${formatBytes(tableBytes)})`],
    ["write amplification", stats.userBytesWritten === 0 ? "- (no writes since open)" : `${stats.writeAmplification.toFixed(2)}×`],
  ];
  if (options.live !== undefined) {
    const onDisk = options.disk?.totalBytes ?? tableBytes + stats.valueLog.bytes;
    summary.push(["live entries", formatCount(options.live.entries)], ["live key+value bytes", formatBytes(options.live.bytes)]);
    summary.push(["space amplification", options.live.bytes === 0 ? "-" : `${(onDisk / options.live.bytes).toFixed(2)}× (bytes on disk / live bytes)`]);
  }
  out.push(await renderTable(["figure", "value"], [...summary, ...scalars.map(([key, value]) => [key, /Bytes/.test(key) ? `${value} (${formatBytes(Number(value))})` : value])]));

  const vlog = stats.valueLog;
  section("Value log (key-value separation)");
  const vlogRows: [string, string][] = [
    ["files", formatCount(vlog.files)],
    ["bytes", formatBytes(vlog.bytes)],
    ["garbage", `${formatBytes(vlog.garbageBytes)} (${percent(vlog.garbageBytes, vlog.bytes)})`],
    ["separation threshold", `values of ${formatBytes(vlog.threshold)} and more`],
  ];
  const vlogRest: [string, string][] = [];
  for (const [key, value] of Object.entries(vlog)) if (!["files", "bytes", "garbageBytes", "threshold"].includes(key)) flatten(value, key, vlogRest);
  out.push(await renderTable(["figure", "value"], [...vlogRows, ...vlogRest]));

  section("Block cache and Bloom filters");
  const cache = stats.cache;
  out.push(
    await renderTable(
      ["figure", "value"],
      [
        ["cache", `${formatBytes(cache.bytes)} of ${formatBytes(cache.capacityBytes)}`],
        ["cache hits / misses", `${formatCount(cache.hits)} / ${formatCount(cache.misses)} (hit rate ${percent(cache.hits, cache.hits + cache.misses)})`],
        ["bloom checks / useful / false positives", `${formatCount(stats.bloom.checks)} / ${formatCount(stats.bloom.useful)} / ${formatCount(stats.bloom.falsePositives)}`],
      ],
    ),
  );

  await formatCompaction(stats.compaction, section, out);

  // Sections added to stats() after this CLI was written: shown as they are.
  for (const [key, value] of Object.entries(record)) {
    if (KNOWN.has(key) || value === null || typeof value !== "object") continue;
    section(key);
    if (Array.isArray(value) && value.length > 0 && value.every((item) => item !== null && typeof item === "object" && !Array.isArray(item))) {
      // A list of records (one per table, per level): one row each, one column per field.
      const records = value.map((item) => {
        const cells: [string, string][] = [];
        flatten(item, "", cells);
        return new Map(cells);
      });
      const columns = [...new Set(records.flatMap((cells) => [...cells.keys()]))];
      const body = records.slice(0, SECTION_ROWS_MAX).map((cells) => columns.map((column) => cells.get(column) ?? ""));
      if (records.length > SECTION_ROWS_MAX) body.push([colors.dim(`… ${records.length - SECTION_ROWS_MAX} more (see --json)`), ...columns.slice(1).map(() => "")]);
      out.push(await renderTable(columns, body));
      continue;
    }
    const rows: [string, string][] = [];
    flatten(value, "", rows);
    const shown = rows.slice(0, SECTION_ROWS_MAX).map(([name, text]): [string, string] => [name === "" ? "(none)" : name, text]);
    if (rows.length > SECTION_ROWS_MAX) shown.push([colors.dim(`… ${rows.length - SECTION_ROWS_MAX} more`), colors.dim("see --json")]);
    out.push(await renderTable(["figure", "value"], shown));
  }

  if (options.disk !== undefined) {
    section("Files on disk");
    const rows = Object.entries(options.disk.kinds)
      .sort(([, left], [, right]) => right.bytes - left.bytes)
      .map(([kind, usage]) => [kind, formatCount(usage.files), formatBytes(usage.bytes)]);
    rows.push([colors.bold("total"), "", colors.bold(formatBytes(options.disk.totalBytes))]);
    out.push(await renderTable(["kind", "files", "bytes"], rows, [false, true, true]));
  }
  if (options.perProcessNote === true) {
    out.push("", colors.dim("Counters of work (writes, flushes, compactions, cache hits) count from the open, and this command"));
    out.push(colors.dim("only opened the database: see them move in `auradb shell` (stats after some puts) or `auradb demo`."));
  }
  return out.join("\n").replace(/^\n/, "");
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { json: { type: "boolean" }, deep: { type: "boolean" } });
  const [dir] = expectPositionals(positionals, ["dir"]);
  // The compaction policy is an option of each open, not stored in the database; the agent's state
  // file says the database runs under 'learned' (restored read-only: the overlay keeps any save).
  const learned = existsSync(join(dir!, AGENT_STATE_FILE));
  const db = await openReadOnly(dir!, learned ? { compaction: "learned" } : {});
  try {
    const stats = db.stats();
    const disk = diskUsage(dir!);
    const live = booleanFlag(values, "deep") ? liveData(db) : undefined;
    if (booleanFlag(values, "json")) {
      print(JSON.stringify({ path: dir, ...stats, disk, ...(live !== undefined ? { live } : {}) }, null, 2));
    } else {
      print(`${colors.bold("Database")} ${dir}`);
      print(await formatStats(stats, { disk, ...(live !== undefined ? { live } : {}), perProcessNote: true }));
      print(
        colors.dim(
          learned
            ? `The compaction policy is an option of each open: shown as 'learned' because ${AGENT_STATE_FILE} (the agent's state) is here.`
            : "The compaction policy is an option of each open, not stored in the database: shown is the default.",
        ),
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}
