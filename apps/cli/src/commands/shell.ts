/**
 * `auradb shell <dir>`: a prompt on an open database. The verbs are those of the command line
 * (same flags, same output) without the directory; each prints how long it took. On a terminal:
 * line editing and a history kept across sessions; from a pipe: one command per line, no prompt,
 * exit code 1 if any command failed (so scripts notice).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AuraDB } from "auradb";
import { booleanFlag, ENCODING_FLAGS, expectPositionals, type FlagValues, parseArgs } from "../_args.ts";
import { openWritable } from "../_db.ts";
import { colors, errorColors, formatDuration, print, printError, UsageError } from "../_output.ts";
import type { CommandContext } from "../cli.ts";
import { verbs } from "./kv.ts";
import { formatStats } from "./stats.ts";

const HISTORY_FILE = ".auradb_history";
const HISTORY_LINES_MAX = 1000;

const SHELL_HELP = `Commands (flags as on the command line; quote keys with spaces: put "my key" 'a value'):
  get <key>                   print a value
  put <key> <value> [--sync]  store a value
  del <key> [--sync]          delete a key
  scan [--prefix p] [--gte k] [--gt k] [--lte k] [--lt k] [--limit n] [--reverse] [--keys-only] [--count]
  stats                       the engine's figures (they count from this shell's open)
  flush                       write the memtable to a table
  compact                     compact the whole key range
  help                        this help
  exit                        leave (also: quit, Ctrl-D)
Each verb takes --encoding utf8|hex|base64 and --json.`;

/**
 * Splits a command line into words: whitespace separates, "double" and 'single' quotes group,
 * a backslash escapes the next character (outside single quotes).
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote !== null) {
      if (char === quote) quote = null;
      else if (char === "\\" && quote === '"' && index + 1 < line.length) word += line[++index];
      else word += char;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === "\\" && index + 1 < line.length) {
      word += line[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** Runs one line; returns false on exit. Errors are printed and remembered, never thrown. */
async function execute(db: AuraDB, line: string, state: { failed: boolean; timing: boolean; defaults: FlagValues }): Promise<boolean> {
  let words: string[];
  try {
    words = splitWords(line);
  } catch (error) {
    printError(errorColors.red(`error: ${(error as Error).message}`));
    state.failed = true;
    return true;
  }
  const [name, ...args] = words;
  if (name === undefined || name.startsWith("#")) return true;
  const started = performance.now();
  try {
    switch (name) {
      case "exit":
      case "quit":
      case ".exit":
        return false;
      case "help":
      case "?":
        print(SHELL_HELP);
        return true;
      case "stats": {
        const { values } = parseArgs(args, { json: { type: "boolean" } });
        if (booleanFlag(values, "json")) print(JSON.stringify(db.stats(), null, 2));
        else print(await formatStats(db.stats()));
        break;
      }
      case "flush":
        parseArgs(args, {});
        await db.flush();
        break;
      case "compact":
        parseArgs(args, {});
        await db.compactRange();
        break;
      case "get":
      case "put":
      case "del":
      case "scan": {
        const verb = verbs[name];
        const { values, positionals } = parseArgs(args, verb.flags);
        // NB: in the shell a put needs its value: stdin is the command stream.
        const required = name === "put" ? ["key", "value"] : verb.required;
        const code = await verb.run(db, expectPositionals(positionals, required, name === "put" ? [] : verb.optional), { ...state.defaults, ...values });
        if (code !== 0) state.failed = true;
        break;
      }
      default:
        throw new UsageError(`unknown command "${name}" (type help)`);
    }
  } catch (error) {
    state.failed = true;
    printError(errorColors.red(`error: ${error instanceof Error ? error.message : String(error)}`));
  }
  if (state.timing) printError(colors.dim(`(${formatDuration(performance.now() - started)})`));
  return true;
}

function loadHistory(path: string): string[] {
  try {
    // NB: readline wants the newest entry first.
    return readFileSync(path, "utf8").split("\n").filter((line) => line.length > 0).reverse().slice(0, HISTORY_LINES_MAX);
  } catch {
    return [];
  }
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    ...ENCODING_FLAGS,
    timing: { type: "boolean" },
    "no-history": { type: "boolean" },
  });
  const [dir] = expectPositionals(positionals, ["dir"]);
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const db = await openWritable(dir!, true);
  const defaults: FlagValues = {};
  for (const name of ["encoding", "key-encoding", "value-encoding", "json"]) if (values[name] !== undefined) defaults[name] = values[name];
  const state = { failed: false, timing: interactive || booleanFlag(values, "timing"), defaults };
  const historyPath = join(homedir(), HISTORY_FILE);
  const keepHistory = interactive && !booleanFlag(values, "no-history");
  const history = keepHistory ? loadHistory(historyPath) : [];
  const readline = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    history,
    historySize: HISTORY_LINES_MAX,
    removeHistoryDuplicates: true,
  });
  if (interactive) {
    print(`${colors.bold("auradb shell")} on ${dir} — type ${colors.cyan("help")} for the commands, ${colors.cyan("exit")} to leave`);
    readline.setPrompt(colors.cyan("auradb> "));
    readline.prompt();
  }
  try {
    // NB: lines are handled one at a time, in order, even when a pipe delivers many at once.
    for await (const line of readline) {
      if (!(await execute(db, line, state))) break;
      if (interactive) readline.prompt();
    }
  } finally {
    readline.close();
    if (keepHistory) {
      try {
        const lines = (readline as unknown as { history: string[] }).history.slice().reverse();
        writeFileSync(historyPath, lines.join("\n") + "\n");
      } catch {
        // NB: a history that cannot be saved is no reason to fail the session.
      }
    }
    await db.close();
  }
  return !interactive && state.failed ? 1 : 0;
}
