/**
 * `npm run fault-test -- [--stride 1] [--modes process,synced-only] [--kinds EIO,ENOSPC,short-write,fsync-fail]`:
 * the full fault sweep (packages/auradb/test/fault-harness.ts). For every fault kind and every
 * fault point k of the fixed workload (stride 1: all of them), the workload runs with that one
 * fault, then a crash image in each mode must open on a healthy file system with every
 * acknowledged write in a prefix of the issued ones. Prints each failure and the coverage per
 * kind (the figures of RELIABILITY.md); exit code 1 when a check failed.
 */
import { parseArgs } from "node:util";
import type { CrashMode, FaultKind } from "@auradb/fs/testing";
import { runtimeName } from "../packages/auradb/test/crash-harness.ts";
import { SWEPT_KINDS, sweep } from "../packages/auradb/test/fault-harness.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    stride: { type: "string", default: "1" },
    modes: { type: "string", default: "process,synced-only" },
    kinds: { type: "string", default: SWEPT_KINDS.map(({ kind }) => kind).join(",") },
  },
});
const stride = Number(values.stride);
if (!Number.isSafeInteger(stride) || stride < 1) {
  console.error(`fault-test: --stride must be an integer >= 1, got ${values.stride}`);
  process.exit(2);
}
const MODES: readonly CrashMode[] = ["process", "synced-only", "per-file-prefix", "global-prefix", "subset", "trash"];
const modes = values.modes.split(",") as CrashMode[];
const kinds = values.kinds.split(",") as FaultKind[];
for (const mode of modes) if (!MODES.includes(mode)) (console.error(`fault-test: unknown crash mode ${mode}`), process.exit(2));
for (const kind of kinds) if (!SWEPT_KINDS.some((swept) => swept.kind === kind)) (console.error(`fault-test: unknown fault kind ${kind}`), process.exit(2));

console.log(`fault-test: ${runtimeName()}, stride ${stride}, crash images ${modes.join(", ")}, kinds ${kinds.join(", ")}`);
const report = await sweep({ stride, modes, kinds, log: (line) => console.log(line) });
console.log(`workload: ${report.calls} file-system calls`);
for (const kind of report.kinds) {
  console.log(
    `${kind.kind}: ${kind.points} fault points, ${kind.run} runs, ${kind.injected} injected, ${kind.surfaced} surfaced, ${kind.tolerated} tolerated ` +
      `(${Object.entries(kind.toleratedAt).map(([where, count]) => `${where} ×${count}`).join(", ") || "none"}); codes ${JSON.stringify(kind.codes)}`,
  );
  if (kind.toleratedPoints.length > 0 && kind.kind !== "short-write") console.log(`  tolerated points: ${kind.toleratedPoints.join("; ")}`);
}
console.log(`${report.failures.length} failed runs, ${(report.durationMs / 1000).toFixed(1)} s`);
process.exit(report.failures.length > 0 ? 1 : 0);
