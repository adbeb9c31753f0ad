/**
 * The shifting workload: A write-heavy (90% puts, uniform keys), B read-heavy (90% gets),
 * C scan-heavy (90% range scans of `scanLength`), D mixed (50% puts, 50% gets), then A again, to
 * see whether what was learned in the first A is remembered. Every phase keeps 10% of the other
 * side (reads in A, writes in B and C) because no real phase is pure.
 */
import type { Phase } from "./simulate.ts";

/** The A-B-C-D-A phases, `windows` windows each. */
export function shiftingWorkload(windows: number): Phase[] {
  return [
    { name: "A write-heavy", windows, write: 0.9, read: 0.1, scan: 0 },
    { name: "B read-heavy", windows, write: 0.1, read: 0.9, scan: 0 },
    { name: "C scan-heavy", windows, write: 0.1, read: 0, scan: 0.9 },
    { name: "D mixed", windows, write: 0.5, read: 0.5, scan: 0 },
    { name: "A again", windows, write: 0.9, read: 0.1, scan: 0 },
  ];
}
