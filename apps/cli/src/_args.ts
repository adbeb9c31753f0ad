/**
 * Argument parsing for every command: node's `util.parseArgs` (built in, so nothing to load; the
 * same on Node, Bun and Deno) plus the flags all commands share, with its errors turned into
 * `UsageError`s that the top level prints as one line.
 */
import { parseArgs as nodeParseArgs } from "node:util";
import { type Encoding, parseEncoding, UsageError } from "./_output.ts";

/** One flag, as `util.parseArgs` takes it. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
}

/** Flags every command accepts. */
export const COMMON_FLAGS = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
  "no-color": { type: "boolean" },
  color: { type: "boolean" },
} as const satisfies Record<string, FlagSpec>;

/** The flags of commands that read or write keys and values. */
export const ENCODING_FLAGS = {
  encoding: { type: "string", short: "e" },
  "key-encoding": { type: "string" },
  "value-encoding": { type: "string" },
  json: { type: "boolean" },
} as const satisfies Record<string, FlagSpec>;

export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ParsedArgs {
  readonly values: FlagValues;
  readonly positionals: string[];
}

/**
 * Parses `args` against `flags` (plus the common ones). Unknown flags and missing values are
 * `UsageError`s. NB: parseArgs keeps values as strings ("007" stays "007"), unlike parsers that
 * coerce numbers, which matters for keys.
 */
export function parseArgs(args: readonly string[], flags: Record<string, FlagSpec>): ParsedArgs {
  try {
    const { values, positionals } = nodeParseArgs({
      args: [...args],
      options: { ...COMMON_FLAGS, ...flags },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as FlagValues, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs' messages carry advice for programmers ("To specify a positional argument …"): keep the first sentence.
    throw new UsageError(message.split(". ")[0]!.replace(/\.$/, ""));
  }
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function booleanFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

/** A flag that must be a non-negative integer (`--limit 10`). */
export function integerFlag(values: FlagValues, name: string, fallback: number, minimum = 0): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isSafeInteger(value) || value < minimum) throw new UsageError(`--${name} must be an integer of at least ${minimum}, got "${text}"`);
  return value;
}

/** The key and value encodings from `--encoding`, `--key-encoding`, `--value-encoding`. */
export function encodingsOf(values: FlagValues): { keyEncoding: Encoding; valueEncoding: Encoding } {
  const both = parseEncoding(stringFlag(values, "encoding"), "--encoding", "utf8");
  return {
    keyEncoding: parseEncoding(stringFlag(values, "key-encoding"), "--key-encoding", both),
    valueEncoding: parseEncoding(stringFlag(values, "value-encoding"), "--value-encoding", both),
  };
}

/** The positionals, checked for count: `names` are required, `optional` may follow. */
export function expectPositionals(positionals: readonly string[], names: readonly string[], optional: readonly string[] = []): string[] {
  if (positionals.length < names.length) {
    const missing = names.slice(positionals.length).map((name) => `<${name}>`).join(" ");
    throw new UsageError(`missing ${missing}`);
  }
  if (positionals.length > names.length + optional.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length + optional.length]}"`);
  }
  return [...positionals];
}
