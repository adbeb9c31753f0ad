/**
 * The help texts: plain strings, so `auradb --help` and `auradb <command> --help` load nothing
 * else. Each command's text ends with examples that run as written.
 */
import type { Colors } from "./_output.ts";

/** One command of the `auradb` binary. */
export interface CommandInfo {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly details: string;
  readonly examples: readonly string[];
}

const ENCODING_OPTIONS = `  -e, --encoding <utf8|hex|base64>  how keys and values are written and shown (default utf8)
      --key-encoding <…>            the same for keys only
      --value-encoding <…>          the same for values only
      --json                        one JSON document on stdout`;

const COMMON_OPTIONS = `  -h, --help                        this help
      --debug                       print stack traces of errors
      --no-color                    no colours (also: NO_COLOR=1)`;

export const COMMANDS: readonly CommandInfo[] = [
  {
    name: "demo",
    summary: "a guided tour: load, read, scan, crash a writer, recover",
    usage: "auradb demo [--dir <dir>] [--keys <count>]",
    details: `Creates a database (in a new temporary directory unless --dir names an empty or new one),
loads <count> keys with a progress bar (every 50th value is 8 KiB and goes to the value log:
key-value separation), reads a sample back, scans a range, then starts a writer process that
makes synced puts, kills it with SIGKILL mid-stream, reopens the database and checks that every
write the writer saw acknowledged survived. Ends with the stats and where the files are.

Options:
      --dir <dir>                   where to create the database (default: a new temp directory)
      --keys <count>                keys to load (default 200000; the demo then takes ~10-30 s)
${COMMON_OPTIONS}`,
    examples: ["auradb demo", "auradb demo --keys 20000 --dir ./demo-db"],
  },
  {
    name: "get",
    summary: "print the value of a key",
    usage: "auradb get <dir> <key>",
    details: `Prints the value, or fails with exit code 1 when the key is absent. Opens the database
read-only: nothing on disk changes.

Options:
${ENCODING_OPTIONS}
${COMMON_OPTIONS}`,
    examples: ["auradb get ./my-db user:1", "auradb get ./my-db 75736572 --key-encoding hex --json"],
  },
  {
    name: "put",
    summary: "store a value under a key",
    usage: "auradb put <dir> <key> [value]",
    details: `Stores <value> (or, without it, everything read from stdin) under <key>. Creates the
database when the directory holds none.

Options:
      --sync                        wait for fdatasync (survives a power cut once it returns)
${ENCODING_OPTIONS}
${COMMON_OPTIONS}`,
    examples: ["auradb put ./my-db user:1 Ada", "echo -n 'Grace' | auradb put ./my-db user:2", "auradb put ./my-db 00ff 0102 --encoding hex --sync"],
  },
  {
    name: "del",
    summary: "delete a key",
    usage: "auradb del <dir> <key>",
    details: `Deletes <key> (deleting an absent key is not an error).

Options:
      --sync                        wait for fdatasync
${ENCODING_OPTIONS}
${COMMON_OPTIONS}`,
    examples: ["auradb del ./my-db user:1"],
  },
  {
    name: "scan",
    summary: "list keys and values in order, within bounds",
    usage: "auradb scan <dir> [--gte k] [--gt k] [--lte k] [--lt k] [--prefix p] [--limit n] [--reverse]",
    details: `Prints one "key<TAB>value" line per entry in key order (or reverse). On a terminal, long
values are cut to the screen width; in a pipe they are printed whole. Opens the database
read-only.

Options:
      --gte, --gt, --lte, --lt <key> bounds (in the key encoding)
      --prefix <key>                only keys that start with it (combines with the bounds)
      --limit <n>                   at most n entries
      --reverse                     from the last key down
      --keys-only                   print keys only
      --count                       print only the number of entries
${ENCODING_OPTIONS}
${COMMON_OPTIONS}`,
    examples: [
      "auradb scan ./my-db --prefix user: --limit 10",
      "auradb scan ./my-db --gte a --lt b --reverse --json",
      "auradb scan ./my-db --count",
    ],
  },
  {
    name: "shell",
    summary: "an interactive prompt on a database",
    usage: "auradb shell <dir>",
    details: `Opens the database for reading and writing and reads commands: get, put, del, scan
(with the scan flags), stats, help, exit. Each command prints how long it took. Line editing
and history (kept in ~/.auradb_history) on a terminal; from a pipe it reads one command per line
and exits with code 1 if any failed. Creates the database when the directory holds none.

Options:
      --timing                      print timings even when not on a terminal
      --no-history                  do not read or write the history file
${ENCODING_OPTIONS.split("\n").slice(0, 3).join("\n")}
${COMMON_OPTIONS}`,
    examples: ["auradb shell ./my-db", "printf 'put a 1\\nget a\\nscan\\n' | auradb shell ./my-db"],
  },
  {
    name: "stats",
    summary: "levels, files, bytes, cache, value log",
    usage: "auradb stats <dir>",
    details: `Opens the database read-only and prints its shape: tables per level, bytes, the value log
(bytes, garbage), compaction (the policy, the shape it enforces, runs per level against their
targets and, for 'learned', the agent), the files on disk, and every other figure the engine
reports. Counters of work done (write amplification, flushes, cache hits) count from the open, so
they are zero here: watch them move in \`auradb shell\` or \`auradb demo\`. The compaction
policy is an option of each open, not stored in the database: a database with the agent's state
file (COMPACTION-AGENT) is shown as 'learned', any other with the default.

Options:
      --deep                        also scan every entry: live keys, live bytes, space amplification
      --json                        the engine's stats() as JSON, plus the files on disk
${COMMON_OPTIONS}`,
    examples: ["auradb stats ./my-db", "auradb stats ./my-db --deep --json"],
  },
  {
    name: "verify",
    summary: "check every checksum of every file",
    usage: "auradb verify <dir>",
    details: `Reads every file of the database (CURRENT, manifests, WAL segments, value-log files, and every
block of every table) and checks its checksums, without opening the database for writing.
Prints each damaged file with the offset of the damage. Exit code 0 only when all is clean,
1 when something is damaged.

Options:
      --quiet                       print only problems and the summary
      --json                        the result as JSON
${COMMON_OPTIONS}`,
    examples: ["auradb verify ./my-db", "auradb verify ./my-db --json"],
  },
  {
    name: "dump",
    summary: "decode one file for humans: WAL, value log, table, manifest",
    usage: "auradb dump <file>",
    details: `Decodes a file of a database directory, chosen by its name: <16 digits>.wal (WAL segment),
<n>.vlog (value-log file), <n>.sst (table), MANIFEST-<n>, CURRENT. Damage is shown, not fatal.

Options:
      --as <wal|vlog|sst|manifest>  decode as this kind whatever the name
      --no-entries                  tables: one line per block instead of every entry
      --json                        the decoded records as JSON
${ENCODING_OPTIONS.split("\n").slice(0, 3).join("\n")}
${COMMON_OPTIONS}`,
    examples: ["auradb dump ./my-db/000005.sst --no-entries", "auradb dump ./my-db/wal/0000000000000001.wal", "auradb dump ./my-db/MANIFEST-000007 --json"],
  },
  {
    name: "bench",
    summary: "db_bench-style workloads, AuraDB beside the peers you have installed",
    usage: "auradb bench [--workloads w,…] [--num N] [--value-size B] [--vs engine,…] [--json] [--report out.html]",
    details: `Runs db_bench-style workloads on AuraDB and on each peer engine named by --vs that is
installed, one engine after the other, each in a fresh temporary directory, with the same
16-byte keys, random (incompressible) values and seeded orders for all. Prints a progress bar
per workload (plain lines when not on a terminal), then ops/s, MB/s, p50/p99 latency and write
amplification per workload and engine. Every answer is checked: exit code 1 if one is wrong.

Workloads: fillseq, fillrandom (N puts in key / random order, batches of 1000, fresh database),
fillbatch (the same in batches of 16), overwrite (N single puts on random existing keys),
readrandom (N gets of existing keys), readmissing (N gets of absent keys that sort among the
present ones), readseq (one full scan), seekrandom (N/10 seeks, 10 entries read after each),
deleterandom (N single deletes, every key once). A read workload with no fill before it loads
the keys first, untimed.

Latency is sampled: one op in 16 is timed alone (the fills time every batch; seekrandom a seek
and its reads). Write amplification: AuraDB's own counters over the workload (WAL + value log +
flush + compaction bytes / user bytes); the peers do not count their writes, so for them the
column shows bytes on disk after a fill / user bytes of the fill, marked "(disk)", and "-"
for the other workloads.

Peers are optional peer dependencies: install the ones you want next to the CLI, in the current
directory's project, or in a folder named by NODE_PATH (npm install classic-level lmdb
rocksdb-native better-sqlite3). One that is missing is skipped with a note.

Options:
  -w, --workloads <list>            comma-separated (default: all but fillbatch, in the order above)
  -n, --num <count>                 keys (default 50000: a few seconds for AuraDB alone)
      --value-size <bytes>          value size (default 100)
      --vs <list>                   peers: classic-level, lmdb, rocksdb-native, better-sqlite3
      --json                        the results as JSON on stdout (progress goes to stderr)
      --report <file.html>          also write a self-contained HTML report with charts
      --dir <dir>                   where the engines' temporary directories go (default: the OS temp dir)
${COMMON_OPTIONS}`,
    examples: [
      "auradb bench",
      "auradb bench --num 1000000 --vs classic-level,lmdb,rocksdb-native,better-sqlite3 --report bench.html",
      "auradb bench --workloads fillrandom,readrandom --value-size 4096 --json",
    ],
  },
  {
    name: "repair",
    summary: "salvage every readable record of a damaged database",
    usage: "auradb repair <dir>",
    details: `Rebuilds a damaged database from what can still be read, and reports what was lost. The
damaged files are never changed: the survivors are written to a new database beside <dir>,
then <dir> is renamed <dir>.broken-<timestamp> and the new database takes its place.

What is read: every table (block by block: a damaged block is skipped, the blocks after it
are read), every WAL segment (records before and after a damaged region), every value-log
value a pointer names (an unreadable value loses its key). The manifest and CURRENT are not
needed; when the manifest is readable, only the tables it lists are used (others are
leftovers of compactions). Versions are merged by sequence number: the newest wins, and a
delete hides older puts. The report lists the files read, the entries kept, and each block,
record or value lost with its file and offset.

Exit code 0 when the repair completed, even with losses; 1 when it could not (nothing was
renamed then).

Options:
      --dry-run                     read and report, write nothing
      --json                        the report as JSON
${COMMON_OPTIONS}`,
    examples: ["auradb repair ./my-db", "auradb repair ./my-db --dry-run --json"],
  },
];

/** The top-level help. */
export function mainHelp(c: Colors, version: string): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = [
    `${c.bold("auradb")} ${version} — an embedded LSM key-value store for Node, Bun and Deno`,
    "",
    `${c.bold("Usage:")} auradb <command> [options]`,
    "",
    c.bold("Commands:"),
    ...COMMANDS.map((command) => `  ${c.cyan(command.name.padEnd(width))}  ${command.summary}`),
    "",
    c.bold("Options:"),
    "  -h, --help       help (auradb <command> --help for a command's options and examples)",
    "  -v, --version    the version",
    "      --debug      print stack traces of errors",
    "",
    c.bold("Start here:"),
    `  ${c.dim("$")} auradb demo`,
    `  ${c.dim("$")} auradb put ./my-db user:1 Ada && auradb get ./my-db user:1`,
    `  ${c.dim("$")} auradb shell ./my-db`,
  ];
  return lines.join("\n") + "\n";
}

/** One command's help. */
export function commandHelp(c: Colors, command: CommandInfo): string {
  const lines = [
    `${c.bold("auradb " + command.name)} — ${command.summary}`,
    "",
    `${c.bold("Usage:")} ${command.usage}`,
    "",
    command.details,
    "",
    c.bold("Examples:"),
    ...command.examples.map((example) => `  ${c.dim("$")} ${example}`),
  ];
  return lines.join("\n") + "\n";
}
