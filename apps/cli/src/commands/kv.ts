/**
 * get, put, del and scan: as commands (`auradb get <dir> <key>`) and as the verbs of the shell,
 * which share the flags and the output.
 */
import type { AuraDB, RangeOptions } from "auradb";
import {
  booleanFlag,
  ENCODING_FLAGS,
  encodingsOf,
  expectPositionals,
  type FlagSpec,
  type FlagValues,
  integerFlag,
  parseArgs,
  stringFlag,
} from "../_args.ts";
import { openReadOnly, openWritable } from "../_db.ts";
import { colors, CommandError, decodeText, type Encoding, formatBytes, jsonBytes, print, showBytes, UsageError } from "../_output.ts";
import type { CommandContext } from "../cli.ts";

/** A verb shared by the command line and the shell. */
export interface Verb {
  readonly flags: Record<string, FlagSpec>;
  /** Positionals after the database directory. */
  readonly required: readonly string[];
  readonly optional: readonly string[];
  /** Needs a database open for writing. */
  readonly writes: boolean;
  /** Runs on an open database; returns the exit code. */
  run(db: AuraDB, positionals: string[], values: FlagValues): Promise<number>;
}

const SCAN_FLAGS = {
  ...ENCODING_FLAGS,
  gte: { type: "string" },
  gt: { type: "string" },
  lte: { type: "string" },
  lt: { type: "string" },
  prefix: { type: "string" },
  limit: { type: "string", short: "n" },
  reverse: { type: "boolean", short: "r" },
  "keys-only": { type: "boolean" },
  count: { type: "boolean" },
} as const satisfies Record<string, FlagSpec>;

const WRITE_FLAGS = { ...ENCODING_FLAGS, sync: { type: "boolean" } } as const satisfies Record<string, FlagSpec>;

/** Reads all of stdin (put without a value). */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The smallest key greater than every key starting with `prefix`, or null (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return null;
  const next = prefix.slice(0, end);
  next[end - 1]!++;
  return next;
}

function compare(left: Uint8Array, right: Uint8Array): number {
  return Buffer.compare(left, right);
}

/** The engine's range from the scan flags; `--prefix` narrows whatever bounds are given. */
export function rangeOf(values: FlagValues, keyEncoding: Encoding): RangeOptions {
  const bound = (name: string): Uint8Array | undefined => {
    const text = stringFlag(values, name);
    return text === undefined ? undefined : decodeText(text, keyEncoding, `--${name}`);
  };
  let gte = bound("gte");
  let gt = bound("gt");
  let lte = bound("lte");
  let lt = bound("lt");
  if (gte !== undefined && gt !== undefined) throw new UsageError("give --gte or --gt, not both");
  if (lte !== undefined && lt !== undefined) throw new UsageError("give --lte or --lt, not both");
  const prefix = bound("prefix");
  if (prefix !== undefined) {
    const lower = gte ?? gt;
    if (lower === undefined || compare(prefix, lower) > 0) {
      gte = prefix;
      gt = undefined;
    }
    const end = prefixEnd(prefix);
    const upper = lte ?? lt;
    if (end !== null && (upper === undefined || compare(end, upper) <= 0)) {
      lt = end;
      lte = undefined;
    }
  }
  const limit = integerFlag(values, "limit", -1, 0);
  const range: { -readonly [K in keyof RangeOptions]: RangeOptions[K] } = { reverse: booleanFlag(values, "reverse"), limit };
  if (gte !== undefined) range.gte = gte;
  if (gt !== undefined) range.gt = gt;
  if (lte !== undefined) range.lte = lte;
  if (lt !== undefined) range.lt = lt;
  return range;
}

/** Cuts `text` to `width` columns for a terminal, saying how long the whole was. */
function fit(text: string, width: number, bytes: number): string {
  if (text.length <= width) return text;
  return `${text.slice(0, Math.max(8, width - 14))}${colors.dim(`… (${formatBytes(bytes)})`)}`;
}

/** Writes output in large pieces: one write per line costs more than the scan itself. */
class LineBuffer {
  private text = "";
  add(line: string): void {
    this.text += line + "\n";
    if (this.text.length >= 1 << 16) this.flush();
  }
  flush(): void {
    if (this.text.length > 0) process.stdout.write(this.text);
    this.text = "";
  }
}

export const verbs: Record<"get" | "put" | "del" | "scan", Verb> = {
  get: {
    flags: ENCODING_FLAGS,
    required: ["key"],
    optional: [],
    writes: false,
    async run(db, [keyText], values) {
      const { keyEncoding, valueEncoding } = encodingsOf(values);
      const key = decodeText(keyText!, keyEncoding, "the key");
      const value = await db.get(key);
      if (booleanFlag(values, "json")) {
        const found = value === undefined ? { found: false } : { found: true, ...jsonBytes("value", value, valueEncoding) };
        print(JSON.stringify({ ...jsonBytes("key", key, keyEncoding), ...found }));
        return value === undefined ? 1 : 0;
      }
      if (value === undefined) throw new CommandError(`key not found: ${showBytes(key, keyEncoding)}`);
      print(showBytes(value, valueEncoding));
      return 0;
    },
  },
  put: {
    flags: WRITE_FLAGS,
    required: ["key"],
    optional: ["value"],
    writes: true,
    async run(db, [keyText, valueText], values) {
      const { keyEncoding, valueEncoding } = encodingsOf(values);
      const key = decodeText(keyText!, keyEncoding, "the key");
      const value = valueText === undefined ? await readStdin() : decodeText(valueText, valueEncoding, "the value");
      await db.put(key, value, { sync: booleanFlag(values, "sync") });
      if (booleanFlag(values, "json")) print(JSON.stringify({ ...jsonBytes("key", key, keyEncoding), valueBytes: value.length, ok: true }));
      return 0;
    },
  },
  del: {
    flags: WRITE_FLAGS,
    required: ["key"],
    optional: [],
    writes: true,
    async run(db, [keyText], values) {
      const { keyEncoding } = encodingsOf(values);
      const key = decodeText(keyText!, keyEncoding, "the key");
      await db.delete(key, { sync: booleanFlag(values, "sync") });
      if (booleanFlag(values, "json")) print(JSON.stringify({ ...jsonBytes("key", key, keyEncoding), deleted: true }));
      return 0;
    },
  },
  scan: {
    flags: SCAN_FLAGS,
    required: [],
    optional: [],
    writes: false,
    async run(db, _positionals, values) {
      const { keyEncoding, valueEncoding } = encodingsOf(values);
      const range = rangeOf(values, keyEncoding);
      const json = booleanFlag(values, "json");
      const keysOnly = booleanFlag(values, "keys-only");
      if (booleanFlag(values, "count")) {
        let count = 0;
        // NB: the engine has no keys-only iterator yet, so separated values are read too.
        for (const _entry of db.iterator(range)) count++;
        print(json ? JSON.stringify({ count }) : String(count));
        return 0;
      }
      const out = new LineBuffer();
      const width = process.stdout.isTTY === true ? (process.stdout.columns ?? 100) : Number.POSITIVE_INFINITY;
      // NB: JSON items are held back one step so the last one gets no comma.
      let pending: string | null = null;
      if (json) out.add("[");
      for (const [key, value] of db.iterator(range)) {
        if (json) {
          const item = keysOnly ? jsonBytes("key", key, keyEncoding) : { ...jsonBytes("key", key, keyEncoding), ...jsonBytes("value", value, valueEncoding) };
          if (pending !== null) out.add(`  ${pending},`);
          pending = JSON.stringify(item);
        } else {
          const keyText = showBytes(key, keyEncoding);
          if (keysOnly) out.add(fit(keyText, width, key.length));
          else out.add(fit(`${colors.cyan(keyText)}\t${showBytes(value, valueEncoding)}`, width + colors.cyan("").length, value.length));
        }
      }
      if (pending !== null) out.add(`  ${pending}`);
      if (json) out.add("]");
      out.flush();
      return 0;
    },
  },
};

/** Runs a verb as a command: `auradb <verb> <dir> …`. */
async function runVerb(name: keyof typeof verbs, args: string[], _context: CommandContext): Promise<number> {
  const verb = verbs[name];
  const { values, positionals } = parseArgs(args, verb.flags);
  const [dir, ...rest] = expectPositionals(positionals, ["dir", ...verb.required], verb.optional);
  const db = verb.writes ? await openWritable(dir!, name === "put") : await openReadOnly(dir!);
  try {
    return await verb.run(db, rest, values);
  } finally {
    await db.close();
  }
}

export const runGet = (args: string[], context: CommandContext): Promise<number> => runVerb("get", args, context);
export const runPut = (args: string[], context: CommandContext): Promise<number> => runVerb("put", args, context);
export const runDel = (args: string[], context: CommandContext): Promise<number> => runVerb("del", args, context);
export const runScan = (args: string[], context: CommandContext): Promise<number> => runVerb("scan", args, context);
