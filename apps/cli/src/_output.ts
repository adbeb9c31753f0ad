/**
 * What every command shares for talking to people: colours, the usage error, byte and duration
 * formatting, and the key/value encodings. Kept small and free of heavy imports: `auradb --help`
 * loads it.
 */
import picocolors from "picocolors";

/** Colours for one stream; picocolors honours NO_COLOR, FORCE_COLOR, --no-color and TERM=dumb. */
export type Colors = ReturnType<typeof picocolors.createColors>;

/**
 * Colours for stdout. NB: picocolors decides from stdout alone; stderr gets its own so that
 * `auradb scan … | less` keeps coloured errors on a terminal and plain text in the pipe.
 */
export const colors: Colors = picocolors;
export const errorColors: Colors = picocolors.createColors(picocolors.isColorSupported || (process.stderr.isTTY === true && colorAllowed()));

function colorAllowed(): boolean {
  const environment = process.env;
  return !("NO_COLOR" in environment) && !process.argv.includes("--no-color") && environment.TERM !== "dumb";
}

/**
 * A mistake in how the command was called (unknown flag, missing argument). The top level prints
 * it with a pointer to `--help` and exits with code 2, never with a stack trace.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * A failure the user must hear about in one line (no database there, key not found), exit code 1.
 * Anything else that reaches the top level is printed the same way, with the stack only under
 * `--debug`.
 */
export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Bytes for people: 1023 B, 4.0 KiB, 12.3 MiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A duration for people: 830 µs, 12.4 ms, 3.21 s. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1) return `${Math.round(milliseconds * 1000)} µs`;
  if (milliseconds < 1000) return `${milliseconds.toFixed(milliseconds < 10 ? 2 : 1)} ms`;
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

/** A count with thousands separators (locale-independent, so tests can read it). */
export function formatCount(count: number): string {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** How keys and values are spelled on the command line and in the output. */
export type Encoding = "utf8" | "hex" | "base64";
export const ENCODINGS: readonly Encoding[] = ["utf8", "hex", "base64"];

export function parseEncoding(name: string | undefined, flag: string, fallback: Encoding): Encoding {
  if (name === undefined) return fallback;
  const normal = name.toLowerCase() === "utf-8" ? "utf8" : name.toLowerCase();
  if (!(ENCODINGS as readonly string[]).includes(normal)) throw new UsageError(`${flag} must be one of ${ENCODINGS.join(", ")}, got "${name}"`);
  return normal as Encoding;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes from text typed by a user, per `encoding`; a malformed hex or base64 string is a UsageError. */
export function decodeText(text: string, encoding: Encoding, what: string): Uint8Array {
  if (encoding === "utf8") return encoder.encode(text);
  if (encoding === "hex") {
    const clean = text.startsWith("0x") ? text.slice(2) : text;
    if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new UsageError(`${what} is not valid hex: "${text}"`);
    const bytes = new Uint8Array(clean.length / 2);
    for (let index = 0; index < bytes.length; index++) bytes[index] = Number.parseInt(clean.slice(index * 2, index * 2 + 2), 16);
    return bytes;
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new UsageError(`${what} is not valid base64: "${text}"`);
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Text for bytes per `encoding`, or undefined when `encoding` is utf8 and the bytes are not UTF-8. */
export function encodeBytes(bytes: Uint8Array, encoding: Encoding): string | undefined {
  if (encoding === "hex") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
  if (encoding === "base64") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Bytes as one line of text for people: the encoding's text, or (utf8 that is not UTF-8) with the
 * bad bytes escaped as `\xNN`, so binary keys never garble the terminal.
 */
export function showBytes(bytes: Uint8Array, encoding: Encoding): string {
  const text = encodeBytes(bytes, encoding);
  if (text !== undefined && (encoding !== "utf8" || !/[\x00-\x1f\x7f]/.test(text))) return text;
  let out = "";
  for (const byte of bytes) out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  return out;
}

/**
 * A key or value as JSON fields: `{ [name]: text }` in the encoding, or, when the encoding is utf8
 * and the bytes are not UTF-8, `{ [name + "Base64"]: text }` so that JSON output is never lossy.
 */
export function jsonBytes(name: string, bytes: Uint8Array, encoding: Encoding): Record<string, string> {
  const text = encodeBytes(bytes, encoding);
  if (text !== undefined) return { [name]: text };
  return { [`${name}Base64`]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64") };
}

/** Writes a line to stdout. */
export function print(line = ""): void {
  process.stdout.write(line + "\n");
}

/** Writes a line to stderr. */
export function printError(line: string): void {
  process.stderr.write(line + "\n");
}
