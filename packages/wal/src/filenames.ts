/**
 * Segment file names: `<segmentId>.wal`, the id in decimal zero-padded to 16 digits so names sort.
 */

const SEGMENT_SUFFIX = ".wal";
const SEGMENT_ID_DIGITS = 16;
const SEGMENT_NAME = /^(\d{16})\.wal$/;

/** The file name of segment `segmentId`. */
export function segmentFileName(segmentId: number): string {
  return String(segmentId).padStart(SEGMENT_ID_DIGITS, "0") + SEGMENT_SUFFIX;
}

/** The segment id a file name names, or null when it is not a segment's name. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const id = Number(match[1]);
  return id >= 1 && Number.isSafeInteger(id) ? id : null;
}
