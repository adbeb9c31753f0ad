/**
 * Value-log file names: `<fileNumber>.vlog`, the number in decimal zero-padded to at least 6
 * digits so that names sort (`000012.vlog`; `1234567.vlog` past 999999).
 */

const SUFFIX = ".vlog";
const NUMBER_DIGITS_MIN = 6;
const NAME = /^(\d{6,16})\.vlog$/;

/** The file name of value-log file `fileNumber` (a positive safe integer): `000012.vlog`. */
export function vlogFileName(fileNumber: number): string {
  if (!Number.isSafeInteger(fileNumber) || fileNumber < 1) throw new RangeError(`auradb/vlog: file number ${fileNumber} out of range`);
  return String(fileNumber).padStart(NUMBER_DIGITS_MIN, "0") + SUFFIX;
}

/**
 * The file number a name names, or undefined when it is not a value-log file's name. Only the
 * canonical spelling counts (`000012.vlog`, not `0000012.vlog`), so that a number has one name.
 */
export function parseVlogFileName(name: string): number | undefined {
  const match = NAME.exec(name);
  if (match === null) return undefined;
  const fileNumber = Number(match[1]);
  if (!Number.isSafeInteger(fileNumber) || fileNumber < 1) return undefined;
  return vlogFileName(fileNumber) === name ? fileNumber : undefined;
}
