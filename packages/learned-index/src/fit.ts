/**
 * Fitting piecewise-linear models with maximum error ε to a non-decreasing point set
 * (x strictly increasing integers, y non-decreasing integers): a streaming greedy builder (the
 * shrinking cone of FITing-tree, anchored at each segment's first point) and the optimal one
 * (fewest segments for ε: O'Rourke's convex-hull algorithm, as in the PGM-index). Every slope is
 * >= 0, so each segment is non-decreasing. All feasibility decisions are exact (integer cross
 * products, in BigInt when they exceed 2^53), so the optimal builder never emits more segments
 * than the greedy one.
 */

/** One segment: `y ≈ intercept + slope * (x - startX)` for `startX <= x < next startX`. */
export interface Segments {
  startX: number[];
  slope: number[];
  intercept: number[];
}

const SAFE = 2 ** 53;
const TIE = 2 ** -50;

/** Sign of `a*b - c*d`, exact for safe integers. */
function compareProducts(a: number, b: number, c: number, d: number): number {
  const left = a * b;
  const right = c * d;
  if (Math.abs(left) < SAFE && Math.abs(right) < SAFE) return left < right ? -1 : left > right ? 1 : 0;
  // Each rounded product is within a relative 2^-53 of the exact one: a difference larger than
  // both errors together decides the sign; only near-ties need exact BigInt arithmetic.
  if (Math.abs(left - right) > (Math.abs(left) + Math.abs(right)) * TIE) return left < right ? -1 : 1;
  const exact = BigInt(a) * BigInt(b) - BigInt(c) * BigInt(d);
  return exact < 0n ? -1 : exact > 0n ? 1 : 0;
}

/** A segment fitter: `add` returns false when the point does not fit (the caller then closes). */
export interface Fitter {
  add(x: number, y: number): boolean;
  /** Appends the current segment to `out` and resets to empty. */
  close(out: Segments): void;
}

/** Fits all points, one pass: each point that does not fit closes the segment and starts one. */
export function fitAll(fitter: Fitter, points: (emit: (x: number, y: number) => void) => void): Segments {
  const out: Segments = { startX: [], slope: [], intercept: [] };
  let open = false;
  points((x, y) => {
    if (!fitter.add(x, y)) {
      fitter.close(out);
      fitter.add(x, y);
    }
    open = true;
  });
  if (open) fitter.close(out);
  return out;
}

/**
 * Greedy shrinking cone: the line goes through the segment's first point; the cone of slopes
 * [lo, hi] (kept as exact fractions) shrinks with each point; a point that empties it starts a
 * new segment. O(1) per point.
 */
export class GreedyFitter implements Fitter {
  #epsilon: number;
  #count = 0;
  #x0 = 0;
  #y0 = 0;
  // lo = loN / loD, hi = hiN / hiD (denominators > 0; hiD = 0 means +∞)
  #loN = 0;
  #loD = 1;
  #hiN = 1;
  #hiD = 0;

  constructor(epsilon: number) {
    this.#epsilon = epsilon;
  }

  add(x: number, y: number): boolean {
    if (this.#count === 0) {
      this.#x0 = x;
      this.#y0 = y;
      this.#loN = 0;
      this.#loD = 1;
      this.#hiN = 1;
      this.#hiD = 0;
      this.#count = 1;
      return true;
    }
    const dx = x - this.#x0;
    const lowN = y - this.#epsilon - this.#y0; // point's lowest slope: lowN / dx
    const highN = y + this.#epsilon - this.#y0; // point's highest slope: highN / dx
    // new lo = max(lo, lowN/dx), new hi = min(hi, highN/dx)
    let loN = this.#loN;
    let loD = this.#loD;
    if (compareProducts(lowN, loD, loN, dx) > 0) {
      loN = lowN;
      loD = dx;
    }
    let hiN = this.#hiN;
    let hiD = this.#hiD;
    if (hiD === 0 || compareProducts(highN, hiD, hiN, dx) < 0) {
      hiN = highN;
      hiD = dx;
    }
    if (compareProducts(loN, hiD, hiN, loD) > 0) return false; // lo > hi: empty cone
    this.#loN = loN;
    this.#loD = loD;
    this.#hiN = hiN;
    this.#hiD = hiD;
    this.#count++;
    return true;
  }

  close(out: Segments): void {
    const slope = this.#hiD === 0 ? 0 : (this.#loN / this.#loD + this.#hiN / this.#hiD) / 2;
    out.startX.push(this.#x0);
    out.slope.push(slope);
    out.intercept.push(this.#y0);
    this.#count = 0;
  }
}

interface Point {
  x: number; // relative to the segment's first x
  y: number;
}

/** Sign of slope(a) - slope(b), slopes given as (dx, dy) with dx of the same sign in both. */
function compareSlopes(adx: number, ady: number, bdx: number, bdy: number): number {
  return compareProducts(ady, bdx, bdy, adx);
}

/**
 * Optimal fitter: keeps the convex hulls of the upper (y+ε) and lower (y−ε) points and the
 * rectangle of extreme feasible lines; a point is rejected exactly when no line with error ≤ ε
 * fits all points of the segment. Amortised O(1) per point.
 */
export class OptimalFitter implements Fitter {
  #epsilon: number;
  #count = 0;
  #x0 = 0;
  #upper: Point[] = [];
  #lower: Point[] = [];
  #upperStart = 0;
  #lowerStart = 0;
  #rect: Point[] = [
    { x: 0, y: 0 },
    { x: 0, y: 0 },
    { x: 0, y: 0 },
    { x: 0, y: 0 },
  ];
  // The segment's points (x relative to its start), for the intercept at close.
  #xs = new Float64Array(1024);
  #ys = new Float64Array(1024);

  constructor(epsilon: number) {
    this.#epsilon = epsilon;
  }

  add(absoluteX: number, y: number): boolean {
    const e = this.#epsilon;
    if (this.#count === 0) this.#x0 = absoluteX;
    const x = absoluteX - this.#x0;
    const p1: Point = { x, y: y + e }; // upper
    const p2: Point = { x, y: y - e }; // lower
    const rect = this.#rect;
    if (this.#count === 0) {
      rect[0] = p1;
      rect[1] = p2;
      this.#upper = [p1];
      this.#lower = [p2];
      this.#upperStart = 0;
      this.#lowerStart = 0;
      this.#xs[0] = x;
      this.#ys[0] = y;
      this.#count = 1;
      return true;
    }
    if (this.#count === 1) {
      rect[2] = p2;
      rect[3] = p1;
      this.#upper.push(p1);
      this.#lower.push(p2);
      this.#xs[1] = x;
      this.#ys[1] = y;
      this.#count = 2;
      return true;
    }
    const r0 = rect[0]!;
    const r1 = rect[1]!;
    const r2 = rect[2]!;
    const r3 = rect[3]!;
    const s1dx = r2.x - r0.x;
    const s1dy = r2.y - r0.y; // the smallest feasible slope
    const s2dx = r3.x - r1.x;
    const s2dy = r3.y - r1.y; // the largest feasible slope
    if (compareSlopes(p1.x - r2.x, p1.y - r2.y, s1dx, s1dy) < 0) return false;
    if (compareSlopes(p2.x - r3.x, p2.y - r3.y, s2dx, s2dy) > 0) return false;

    if (compareSlopes(p1.x - r1.x, p1.y - r1.y, s2dx, s2dy) < 0) {
      // p1 lowers the largest slope: find its tangent to the lower hull
      const lower = this.#lower;
      let minI = this.#lowerStart;
      let minDx = lower[minI]!.x - p1.x;
      let minDy = lower[minI]!.y - p1.y;
      for (let i = minI + 1; i < lower.length; i++) {
        const dx = lower[i]!.x - p1.x;
        const dy = lower[i]!.y - p1.y;
        if (compareSlopes(dx, dy, minDx, minDy) > 0) break;
        minDx = dx;
        minDy = dy;
        minI = i;
      }
      rect[1] = lower[minI]!;
      rect[3] = p1;
      this.#lowerStart = minI;
      const upper = this.#upper;
      let end = upper.length;
      while (end >= this.#upperStart + 2 && cross(upper[end - 2]!, upper[end - 1]!, p1) <= 0) end--;
      while (upper.length > end) upper.pop();
      upper.push(p1);
    }

    if (compareSlopes(p2.x - r0.x, p2.y - r0.y, s1dx, s1dy) > 0) {
      // p2 raises the smallest slope: find its tangent to the upper hull
      const upper = this.#upper;
      let maxI = this.#upperStart;
      let maxDx = upper[maxI]!.x - p2.x;
      let maxDy = upper[maxI]!.y - p2.y;
      for (let i = maxI + 1; i < upper.length; i++) {
        const dx = upper[i]!.x - p2.x;
        const dy = upper[i]!.y - p2.y;
        if (compareSlopes(dx, dy, maxDx, maxDy) < 0) break;
        maxDx = dx;
        maxDy = dy;
        maxI = i;
      }
      rect[0] = upper[maxI]!;
      rect[2] = p2;
      this.#upperStart = maxI;
      const lower = this.#lower;
      let end = lower.length;
      while (end >= this.#lowerStart + 2 && cross(lower[end - 2]!, lower[end - 1]!, p2) >= 0) end--;
      while (lower.length > end) lower.pop();
      lower.push(p2);
    }
    if (this.#count === this.#xs.length) {
      const xs = new Float64Array(this.#count * 2);
      xs.set(this.#xs);
      this.#xs = xs;
      const ys = new Float64Array(this.#count * 2);
      ys.set(this.#ys);
      this.#ys = ys;
    }
    this.#xs[this.#count] = x;
    this.#ys[this.#count] = y;
    this.#count++;
    // Hull points before the tangent starts are never looked at again: drop them now and then.
    if (this.#upperStart > 4096 && this.#upperStart * 2 > this.#upper.length) {
      this.#upper.splice(0, this.#upperStart);
      this.#upperStart = 0;
    }
    if (this.#lowerStart > 4096 && this.#lowerStart * 2 > this.#lower.length) {
      this.#lower.splice(0, this.#lowerStart);
      this.#lowerStart = 0;
    }
    return true;
  }

  close(out: Segments): void {
    const rect = this.#rect;
    let slope = 0;
    if (this.#count > 1) {
      const minSlope = (rect[2]!.y - rect[0]!.y) / (rect[2]!.x - rect[0]!.x);
      const maxSlope = (rect[3]!.y - rect[1]!.y) / (rect[3]!.x - rect[1]!.x);
      slope = Math.min(Math.max((minSlope + maxSlope) / 2, minSlope, 0), maxSlope);
      if (slope < 0) slope = 0; // a non-negative feasible slope always exists (y non-decreasing)
    }
    // The intercept centred in the band every point allows for this slope.
    let lo = -Infinity;
    let hi = Infinity;
    const e = this.#epsilon;
    const xs = this.#xs;
    const ys = this.#ys;
    for (let i = 0; i < this.#count; i++) {
      const base = ys[i]! - slope * xs[i]!;
      if (base - e > lo) lo = base - e;
      if (base + e < hi) hi = base + e;
    }
    out.startX.push(this.#x0);
    out.slope.push(slope);
    out.intercept.push((lo + hi) / 2);
    this.#count = 0;
  }
}

/** Sign of the cross product (a − o) × (b − o). */
function cross(o: Point, a: Point, b: Point): number {
  return compareProducts(a.x - o.x, b.y - o.y, a.y - o.y, b.x - o.x);
}
