/**
 * The demo's writer process (hidden command `__demo-writer <dir>`): synced puts of
 * `crash:<n>`, several in flight so that they share fdatasyncs (group commit), printing
 * `ack <n>` on stdout once each is acknowledged. The demo kills it with SIGKILL mid-stream.
 *
 * NB: a line is printed only after its put resolved, so the parent may learn of fewer
 * acknowledgements than there were (lines still in a pipe buffer die with the process), never
 * of more: every `ack` the parent reads is a promise the engine made.
 */
import { AuraDB } from "auradb";
import { expectPositionals, integerFlag, parseArgs } from "../_args.ts";
import type { CommandContext } from "../cli.ts";

/** The key of the demo's n-th crash write. */
export function crashKey(n: number): string {
  return `crash:${String(n).padStart(9, "0")}`;
}

/** The value of the demo's n-th crash write (checked after recovery). */
export function crashValue(n: number): string {
  return `synced write ${n} — acknowledged means durable`;
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs(args, { inflight: { type: "string" } });
  const [dir] = expectPositionals(positionals, ["dir"]);
  const inflight = integerFlag(values, "inflight", 8, 1);
  const db = await AuraDB.open(dir!, { createIfMissing: false });
  process.stdout.write("ready\n");
  let next = 1;
  const worker = async (): Promise<void> => {
    for (;;) {
      const n = next++;
      await db.put(crashKey(n), crashValue(n), { sync: true });
      process.stdout.write(`ack ${n}\n`);
    }
  };
  // Runs until killed.
  await Promise.all(Array.from({ length: inflight }, worker));
  return 0;
}
