import type { CommandContext } from "../cli.ts";

export async function run(_args: string[], _context: CommandContext): Promise<number> {
  return 0;
}
