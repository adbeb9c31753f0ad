#!/usr/bin/env node
/**
 * @module
 * The `auradb` command. This entry parses only the command name and the global flags, then
 * imports the one command module it needs: `auradb --help` loads no engine code (see the
 * README for the measured start-up time).
 *
 * Exit codes: 0 success, 1 failure (an error, a key not found, damage found by verify),
 * 2 a usage mistake.
 */
import { fileURLToPath } from "node:url";
import { CommandError, colors, errorColors, printError, UsageError } from "./_output.ts";
import { COMMANDS, commandHelp, mainHelp } from "./help.ts";

/** What a command module gets besides its arguments. */
export interface CommandContext {
  /** The path of this entry file: the demo re-runs it as its writer process. */
  readonly entryPath: string;
  readonly debug: boolean;
}

/** A command module's contract: run with the arguments after the command name; the exit code. */
export type CommandRunner = (args: string[], context: CommandContext) => Promise<number>;

const loaders: Record<string, () => Promise<{ run: CommandRunner }>> = {
  demo: () => import("./commands/demo.ts"),
  get: () => import("./commands/kv.ts").then((module) => ({ run: module.runGet })),
  put: () => import("./commands/kv.ts").then((module) => ({ run: module.runPut })),
  del: () => import("./commands/kv.ts").then((module) => ({ run: module.runDel })),
  scan: () => import("./commands/kv.ts").then((module) => ({ run: module.runScan })),
  shell: () => import("./commands/shell.ts"),
  stats: () => import("./commands/stats.ts"),
  verify: () => import("./commands/verify.ts"),
  dump: () => import("./commands/dump.ts"),
  bench: () => import("./commands/bench.ts"),
  repair: () => import("./commands/repair.ts"),
  // Hidden: the demo's writer process.
  "__demo-writer": () => import("./commands/demo-writer.ts"),
};

/** The package's version, read from package.json (one small read, only for --version and --help). */
async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  try {
    const text = await readFile(new URL("../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function entryPath(): string {
  return fileURLToPath(import.meta.url);
}

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = COMMANDS.find((candidate) => candidate.name === topic);
    process.stdout.write(command !== undefined ? commandHelp(colors, command) : mainHelp(colors, await version()));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${await version()}\n`);
    return 0;
  }
  const info = COMMANDS.find((candidate) => candidate.name === name);
  const loader = loaders[name];
  if (loader === undefined || (info === undefined && !name.startsWith("__"))) {
    const near = COMMANDS.find((candidate) => candidate.name.startsWith(name.slice(0, 2)));
    throw new UsageError(`unknown command "${name}"${near !== undefined ? ` (did you mean "${near.name}"?)` : ""}`);
  }
  if (info !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(commandHelp(colors, info));
    return 0;
  }
  const module = await loader();
  return module.run(rest, { entryPath: entryPath(), debug });
}

function report(error: unknown, argv: string[]): number {
  const debug = argv.includes("--debug");
  const command = COMMANDS.find((candidate) => candidate.name === argv[0]);
  const prefix = errorColors.red(`auradb${command !== undefined ? ` ${command.name}` : ""}: `);
  if (error instanceof UsageError) {
    printError(`${prefix}${error.message}`);
    printError(errorColors.dim(`run "auradb ${command?.name ?? ""}${command !== undefined ? " " : ""}--help" for usage`));
    if (debug) printError(String(error.stack));
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : null;
  printError(`${prefix}${message}${code !== null && code.startsWith("AURADB_") ? errorColors.dim(` (${code})`) : ""}`);
  if (debug && error instanceof Error) printError(String(error.stack));
  return error instanceof CommandError ? error.exitCode : 1;
}

// `auradb scan … | head` closes the pipe early: that ends the output, it is no error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
try {
  process.exitCode = await main(argv);
} catch (error) {
  process.exitCode = report(error, argv);
}
