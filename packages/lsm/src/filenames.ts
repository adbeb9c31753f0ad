/**
 * File names of a database directory (docs/rfcs/20261124_engine.md): one kind per name pattern,
 * numbers zero-padded so that names sort.
 */

export const FileKind = { Table: "table", Manifest: "manifest", Current: "current", Lock: "lock", Temporary: "temporary" } as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

export const CURRENT_FILE = "CURRENT";
export const LOCK_FILE = "LOCK";
export const WAL_DIRECTORY = "wal";

const TABLE = /^(\d{6,16})\.sst$/;
const MANIFEST = /^MANIFEST-(\d{6,16})$/;

/** The file name of table `fileNumber` (`000012.sst`). */
export function tableFileName(fileNumber: number): string {
  return `${String(fileNumber).padStart(6, "0")}.sst`;
}

/** The file name of manifest `fileNumber` (`MANIFEST-000003`). */
export function manifestFileName(fileNumber: number): string {
  return `MANIFEST-${String(fileNumber).padStart(6, "0")}`;
}

/** What a directory entry is, or null for a name AuraDB does not own. */
export function parseFileName(name: string): { kind: FileKind; number: number } | null {
  if (name === CURRENT_FILE) return { kind: FileKind.Current, number: 0 };
  if (name === LOCK_FILE) return { kind: FileKind.Lock, number: 0 };
  if (name.endsWith(".tmp")) return { kind: FileKind.Temporary, number: 0 };
  let match = TABLE.exec(name);
  if (match !== null) return { kind: FileKind.Table, number: Number(match[1]) };
  match = MANIFEST.exec(name);
  if (match !== null) return { kind: FileKind.Manifest, number: Number(match[1]) };
  return null;
}
