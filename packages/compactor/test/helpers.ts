import type { TableView, TreeView } from "../src/index.ts";

const AURA_MARKER = Symbol.for("auradb.error");

/** True for an AuraDB error with `code`. */
export function isAuraError(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    const record = error as Record<string | symbol, unknown>;
    return record[AURA_MARKER] === true && record.code === code;
  };
}

let nextId = 1000;

/** A table over keys [from, to] (single bytes), `bytes` big, with a fresh id unless given. */
export function table(from: number, to: number, bytes: number, id: number = nextId++): TableView {
  return { id, bytes, entries: Math.max(1, Math.round(bytes / 100)), smallestKey: Uint8Array.of(from), largestKey: Uint8Array.of(to) };
}

/** A run of tables splitting [0, 255] into `count` equal ranges holding `bytes` in all. */
export function run(count: number, bytes: number): { tables: TableView[] } {
  const width = Math.floor(256 / count);
  return {
    tables: Array.from({ length: count }, (_, index) => table(index * width, index === count - 1 ? 255 : index * width + width - 1, Math.round(bytes / count))),
  };
}

/** A tree from per-level lists of runs. */
export function tree(levels: { tables: TableView[] }[][], busy?: ReadonlySet<number>): TreeView {
  return { levels: levels.map((runs) => ({ runs })), ...(busy === undefined ? {} : { busy }) };
}

export const MIB = 1024 * 1024;
