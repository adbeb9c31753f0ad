/**
 * The three fixed policies, as settings of {@link ShapedPolicy}:
 *
 * | policy        | K (L1 .. last−1) | Z (last level) | favours |
 * |---------------|------------------|----------------|---------|
 * | leveled       | 1                | 1              | reads and scans: one run per level |
 * | tiered        | T − 1            | T − 1          | writes: an entry is rewritten about once per level |
 * | lazy leveling | T − 1            | 1              | both: writes tiered above, reads find most data in one run (Dostoevsky) |
 *
 * T − 1 runs is where tiering saturates: at T runs a level would hold as much as its target and be
 * pushed down anyway (Dostoevsky bounds K and Z by T − 1 for the same reason).
 */
import { InvalidArgumentError } from "./errors.ts";
import { ShapedPolicy } from "./shaped-policy.ts";
import { type ShapeOptions, resolveShape } from "./shape.ts";

/** Knobs of the fixed policies: the shape options other than the runs, which each policy sets. */
export type FixedPolicyOptions = Omit<ShapeOptions, "runsUpper" | "runsLast">;

/** LevelDB-like leveling: one run per level. @throws InvalidArgumentError */
export function leveledPolicy(options: FixedPolicyOptions = {}): ShapedPolicy {
  return new ShapedPolicy("leveled", { ...checked(options), runsUpper: 1, runsLast: 1 });
}

/** Size-tiered: up to T − 1 runs per level, the last included. @throws InvalidArgumentError */
export function tieredPolicy(options: FixedPolicyOptions = {}): ShapedPolicy {
  const runs = Math.max(1, resolveShape(checked(options)).sizeRatio - 1);
  return new ShapedPolicy("tiered", { ...options, runsUpper: runs, runsLast: runs });
}

/** Lazy leveling (Dostoevsky): T − 1 runs per level above the last, one run at the last. @throws InvalidArgumentError */
export function lazyLevelingPolicy(options: FixedPolicyOptions = {}): ShapedPolicy {
  const runs = Math.max(1, resolveShape(checked(options)).sizeRatio - 1);
  return new ShapedPolicy("lazy-leveling", { ...options, runsUpper: runs, runsLast: 1 });
}

function checked(options: FixedPolicyOptions): FixedPolicyOptions {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("auradb/compactor: policy options must be an object");
  const extra = options as { runsUpper?: unknown; runsLast?: unknown };
  if (extra.runsUpper !== undefined || extra.runsLast !== undefined) {
    throw new InvalidArgumentError("auradb/compactor: a fixed policy sets its own runs; use new ShapedPolicy(name, options) for other shapes");
  }
  return options;
}
