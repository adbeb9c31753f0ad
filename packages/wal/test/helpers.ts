/** Shared helpers of the WAL tests (not a test file). */
import type { FileSystem } from "@auradb/fs";
import { Wal, type WalOptions, type WalRecord } from "../src/index.ts";

export const DIR = "/db/wal";

/** A deterministic record body: `size` bytes derived from `seed`. */
export function recordBytes(seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

export async function collect(records: AsyncIterable<WalRecord>): Promise<WalRecord[]> {
  const out: WalRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

export function openWal(fs: FileSystem, options: Partial<WalOptions> = {}): Promise<Wal> {
  return Wal.open({ dir: DIR, fs, ...options });
}

/** Opens, replays everything, closes. */
export async function replayAll(fs: FileSystem, options: Partial<WalOptions> = {}): Promise<{ records: WalRecord[]; wal: Wal }> {
  const wal = await openWal(fs, options);
  try {
    return { records: await collect(wal.replay()), wal };
  } finally {
    await wal.close();
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
