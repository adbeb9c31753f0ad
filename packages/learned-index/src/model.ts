import { crc32c } from "./crc32c.ts";
import { CorruptionError, InvalidArgumentError, NotSupportedError } from "./errors.ts";
import { type Fitter, GreedyFitter, OptimalFitter, type Segments, fitAll } from "./fit.ts";
import { type Keys, NUMBER_LIMIT, commonPrefixLength, compareBytes, keyNumber } from "./keys.ts";

/** The serialized format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** Largest ε accepted. */
export const EPSILON_MAX = 1 << 20;
/** Largest key count (a u32 in the format). */
export const KEY_COUNT_MAX = 0xffffffff;

const HEADER_BYTES = 1 + 1 + 4 + 4 + 4 + 4 + 8; // version, kind, n, ε, segments, prefix length, endX
const SEGMENT_BYTES = 24;
const CRC_BYTES = 4;

/** The most radix buckets a model keeps in memory (256 KiB at 4 bytes each). */
const RADIX_BUCKETS_MAX = 1 << 16;

/** Which builder made a model. */
export type BuilderKind = "greedy" | "optimal";

export interface BuildOptions {
  /** Maximum error in positions, an integer >= 1 (default 16). */
  epsilon?: number;
}

/** A window of positions `[low, high]` (0 <= low <= high <= n). */
export interface Window {
  low: number;
  high: number;
}

export interface ModelStats {
  builder: BuilderKind;
  keys: number;
  epsilon: number;
  segments: number;
  /** Size of {@link LearnedModel.serialize}'s output. */
  bytes: number;
  /** `bytes / keys` (0 for an empty model). */
  bytesPerKey: number;
}

/**
 * A piecewise-linear model of a sorted array of `n` distinct keys.
 *
 * Let `x = number(key)` (see the README) and `F(x)` be the position of the first key whose
 * number is >= x. For every integer x, `|p(x) − F(x)| <= ε` where `p` is the model's position
 * estimate ({@link estimate}); `predict` returns `[⌊p(x)⌋ − ε, ⌈p(x+1)⌉ + ε] ∩ [0, n]`, which
 * contains `[F(x), F(x+1)]` and so the lower-bound position of any key with number x.
 */
export class LearnedModel {
  readonly builder: BuilderKind;
  readonly keyCount: number;
  readonly epsilon: number;
  readonly prefix: Uint8Array;
  /** One past the last point: number(last key) + 1; every x >= endX has F(x) = n. */
  readonly endX: number;
  readonly #startX: Float64Array;
  readonly #slope: Float64Array;
  readonly #intercept: Float64Array;
  /**
   * A radix table over the segment starts (the "small model on top" of the PGM-index / RadixSpline
   * idea, not stored: built when the model is made): bucket b of the key-number range holds the
   * segments whose start falls in buckets <= b, so the segment of x is searched among
   * `#radix[b - 1] - 1 .. #radix[b] - 1`: usually one or two segments instead of log2(segments).
   */
  readonly #radix: Uint32Array;
  readonly #radixScale: number;

  /** @internal use {@link buildGreedyModel}, {@link buildOptimalModel} or {@link LearnedModel.deserialize}. */
  constructor(
    builder: BuilderKind,
    keyCount: number,
    epsilon: number,
    prefix: Uint8Array,
    endX: number,
    startX: Float64Array,
    slope: Float64Array,
    intercept: Float64Array,
  ) {
    this.builder = builder;
    this.keyCount = keyCount;
    this.epsilon = epsilon;
    this.prefix = prefix;
    this.endX = endX;
    this.#startX = startX;
    this.#slope = slope;
    this.#intercept = intercept;
    // About one bucket per segment (a power of two up to 2^16): O(1) expected segments per bucket.
    const segments = startX.length;
    let buckets = 1;
    while (buckets < segments && buckets < RADIX_BUCKETS_MAX) buckets *= 2;
    const radix = new Uint32Array(buckets);
    const scale = segments === 0 ? 0 : buckets / (endX - startX[0]! + 1);
    this.#radixScale = scale;
    for (let index = 0; index < segments; index++) radix[this.#bucketOf(startX[index]!, buckets, scale)]!++;
    for (let bucket = 1; bucket < buckets; bucket++) radix[bucket]! += radix[bucket - 1]!;
    this.#radix = radix;
  }

  /** The radix bucket of number x (monotone in x; REQUIRES startX[0] <= x < endX). */
  #bucketOf(x: number, buckets: number, scale: number): number {
    const bucket = Math.floor((x - this.#startX[0]!) * scale);
    return bucket < buckets ? bucket : buckets - 1;
  }

  /** The last segment whose start is <= x (REQUIRES startX[0] <= x < endX). */
  #segmentOf(x: number): number {
    const starts = this.#startX;
    const radix = this.#radix;
    const bucket = this.#bucketOf(x, radix.length, this.#radixScale);
    // Segments starting in earlier buckets start below x; those starting in this bucket or
    // earlier include the answer.
    let lo = bucket === 0 ? 0 : radix[bucket - 1]! - 1;
    if (lo < 0) lo = 0;
    let hi = radix[bucket]! - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** p(x) on segment `segment` (clamped as `estimateNumber` does). */
  #estimateOn(segment: number, x: number): number {
    const starts = this.#startX;
    let p = this.#intercept[segment]! + this.#slope[segment]! * (x - starts[segment]!);
    if (segment + 1 < starts.length && p > this.#intercept[segment + 1]!) p = this.#intercept[segment + 1]!;
    const n = this.keyCount;
    return p < 0 ? 0 : p > n ? n : p;
  }

  get segmentCount(): number {
    return this.#startX.length;
  }

  /** The key's number: its 6 bytes after the common prefix; ±Infinity outside the prefix. */
  numberOf(key: Uint8Array): number {
    return keyNumber(key, this.prefix);
  }

  /** The estimate p(x) of F(x), the position of the first key whose number is >= x. */
  estimateNumber(x: number): number {
    const n = this.keyCount;
    const starts = this.#startX;
    if (n === 0 || x < starts[0]!) return 0;
    if (x >= this.endX) return n;
    return this.#estimateOn(this.#segmentOf(x), x);
  }

  /** The estimate p(number(key)). */
  estimate(key: Uint8Array): number {
    return this.estimateNumber(this.numberOf(key));
  }

  /** A window of positions guaranteed to contain `key`'s lower-bound position. */
  predict(key: Uint8Array): Window {
    return this.predictInto(key, { low: 0, high: 0 });
  }

  /**
   * {@link predict} without allocating: fills and returns `out` (for hot paths that reuse one
   * window object per reader).
   */
  predictInto(key: Uint8Array, out: Window): Window {
    const x = this.numberOf(key);
    const n = this.keyCount;
    if (n === 0 || x < this.#startX[0]!) {
      out.low = 0;
      out.high = 0;
      return out;
    }
    if (x >= this.endX) {
      out.low = n;
      out.high = n;
      return out;
    }
    const e = this.epsilon;
    // p(x) and p(x + 1) share a segment unless x + 1 starts the next one (starts are integers).
    const segment = this.#segmentOf(x);
    const low = Math.floor(this.#estimateOn(segment, x)) - e;
    const next = x + 1;
    const high =
      Math.ceil(
        next >= this.endX
          ? n
          : segment + 1 < this.#startX.length && this.#startX[segment + 1]! <= next
            ? this.#estimateOn(segment + 1, next)
            : this.#estimateOn(segment, next),
      ) + e;
    out.low = low < 0 ? 0 : low;
    out.high = high > n ? n : high;
    return out;
  }

  stats(): ModelStats {
    const bytes = this.serializedBytes();
    return {
      builder: this.builder,
      keys: this.keyCount,
      epsilon: this.epsilon,
      segments: this.segmentCount,
      bytes,
      bytesPerKey: this.keyCount === 0 ? 0 : bytes / this.keyCount,
    };
  }

  serializedBytes(): number {
    return HEADER_BYTES + this.prefix.length + SEGMENT_BYTES * this.segmentCount + CRC_BYTES;
  }

  /** The model as bytes (layout: docs/format/learned-model.md). */
  serialize(): Uint8Array {
    const out = new Uint8Array(this.serializedBytes());
    const view = new DataView(out.buffer);
    let at = 0;
    out[at++] = FORMAT_VERSION;
    out[at++] = this.builder === "greedy" ? 0 : 1;
    view.setUint32(at, this.keyCount, true);
    at += 4;
    view.setUint32(at, this.epsilon, true);
    at += 4;
    view.setUint32(at, this.segmentCount, true);
    at += 4;
    view.setUint32(at, this.prefix.length, true);
    at += 4;
    view.setFloat64(at, this.endX, true);
    at += 8;
    out.set(this.prefix, at);
    at += this.prefix.length;
    for (let i = 0; i < this.segmentCount; i++) {
      view.setFloat64(at, this.#startX[i]!, true);
      view.setFloat64(at + 8, this.#slope[i]!, true);
      view.setFloat64(at + 16, this.#intercept[i]!, true);
      at += SEGMENT_BYTES;
    }
    view.setUint32(at, crc32c(out.subarray(0, at)), true);
    return out;
  }

  /**
   * Reads {@link serialize}'s bytes back. Damaged bytes → `CorruptionError`; intact bytes of a
   * newer format version → `NotSupportedError`. Lengths are checked against the input before
   * anything is allocated.
   */
  static deserialize(bytes: Uint8Array): LearnedModel {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("the model bytes must be a Uint8Array");
    if (bytes.length < HEADER_BYTES + CRC_BYTES) {
      throw new CorruptionError(`learned model truncated: ${bytes.length} bytes`, { offset: bytes.length });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const body = bytes.length - CRC_BYTES;
    if (view.getUint32(body, true) !== crc32c(bytes.subarray(0, body))) {
      throw new CorruptionError("learned model checksum mismatch", { offset: body });
    }
    const version = bytes[0]!;
    if (version > FORMAT_VERSION) {
      throw new NotSupportedError(`learned model format version ${version} is newer than ${FORMAT_VERSION}`, { offset: 0 });
    }
    if (version !== FORMAT_VERSION) throw new CorruptionError(`bad learned model format version ${version}`, { offset: 0 });
    const kind = bytes[1]!;
    if (kind > 1) throw new CorruptionError(`bad learned model builder kind ${kind}`, { offset: 1 });
    const keyCount = view.getUint32(2, true);
    const epsilon = view.getUint32(6, true);
    const segments = view.getUint32(10, true);
    const prefixLength = view.getUint32(14, true);
    const endX = view.getFloat64(18, true);
    if (epsilon < 1 || epsilon > EPSILON_MAX) throw new CorruptionError(`bad ε ${epsilon}`, { offset: 6 });
    const expected = HEADER_BYTES + prefixLength + SEGMENT_BYTES * segments + CRC_BYTES;
    if (expected !== bytes.length) {
      throw new CorruptionError(`learned model length ${bytes.length}, its header says ${expected}`, { offset: 10 });
    }
    if ((keyCount === 0) !== (segments === 0) || segments > keyCount * 2 + 1) {
      throw new CorruptionError(`${segments} segments for ${keyCount} keys`, { offset: 10 });
    }
    let at = HEADER_BYTES;
    const prefix = bytes.slice(at, at + prefixLength);
    at += prefixLength;
    const startX = new Float64Array(segments);
    const slope = new Float64Array(segments);
    const intercept = new Float64Array(segments);
    for (let i = 0; i < segments; i++) {
      const x = view.getFloat64(at, true);
      const s = view.getFloat64(at + 8, true);
      const b = view.getFloat64(at + 16, true);
      if (!Number.isSafeInteger(x) || x < 0 || x > NUMBER_LIMIT || (i > 0 && x <= startX[i - 1]!)) {
        throw new CorruptionError(`bad segment start ${x}`, { offset: at });
      }
      if (!Number.isFinite(s) || s < 0 || !Number.isFinite(b)) {
        throw new CorruptionError(`bad segment line (${s}, ${b})`, { offset: at + 8 });
      }
      startX[i] = x;
      slope[i] = s;
      intercept[i] = b;
      at += SEGMENT_BYTES;
    }
    if (segments > 0 && (!Number.isSafeInteger(endX) || endX < startX[segments - 1]! || endX > NUMBER_LIMIT)) {
      throw new CorruptionError(`bad end ${endX}`, { offset: 18 });
    }
    return new LearnedModel(kind === 0 ? "greedy" : "optimal", keyCount, epsilon, prefix, endX, startX, slope, intercept);
  }
}

function keyAt(keys: Keys, index: number): Uint8Array {
  return typeof keys === "function" ? keys(index) : keys[index]!;
}

function build(kind: BuilderKind, keys: ArrayLike<Uint8Array>, options: BuildOptions): LearnedModel {
  const epsilon = options.epsilon ?? 16;
  if (!Number.isInteger(epsilon) || epsilon < 1 || epsilon > EPSILON_MAX) {
    throw new InvalidArgumentError(`epsilon must be an integer in 1..${EPSILON_MAX}, got ${epsilon}`);
  }
  const n = keys.length;
  if (!Number.isInteger(n) || n < 0 || n > KEY_COUNT_MAX) throw new InvalidArgumentError(`bad key count ${n}`);
  if (n === 0) {
    return new LearnedModel(kind, 0, epsilon, new Uint8Array(0), 0, new Float64Array(0), new Float64Array(0), new Float64Array(0));
  }
  const first = keys[0]!;
  const last = keys[n - 1]!;
  if (!(first instanceof Uint8Array) || !(last instanceof Uint8Array)) throw new InvalidArgumentError("keys must be Uint8Arrays");
  const prefix = first.slice(0, commonPrefixLength(first, last));
  let lastX = 0;
  // The points (x, F(x)) that pin F down at every integer: for each distinct number x_j with first
  // position f_j, (x_j, f_j); then (x_j + 1, f_{j+1}) when no key has number x_j + 1; and finally
  // (x_last + 1, n). Between two consecutive points, F is constant.
  const points = (emit: (x: number, y: number) => void): void => {
    let previousKey: Uint8Array | undefined;
    let previousX = -1;
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      if (!(key instanceof Uint8Array)) throw new InvalidArgumentError(`key ${i} is not a Uint8Array`);
      if (previousKey !== undefined && compareBytes(previousKey, key) >= 0) {
        throw new InvalidArgumentError(`keys must be sorted and distinct (key ${i})`);
      }
      previousKey = key;
      const x = keyNumber(key, prefix);
      if (x !== previousX) {
        if (previousX >= 0 && previousX + 1 < x) emit(previousX + 1, i);
        emit(x, i);
        previousX = x;
      }
    }
    emit(previousX + 1, n);
    lastX = previousX + 1;
  };
  const fitter: Fitter = kind === "greedy" ? new GreedyFitter(epsilon) : new OptimalFitter(epsilon);
  const segments: Segments = fitAll(fitter, points);
  return new LearnedModel(
    kind,
    n,
    epsilon,
    prefix,
    lastX,
    Float64Array.from(segments.startX),
    Float64Array.from(segments.slope),
    Float64Array.from(segments.intercept),
  );
}

/**
 * Builds a model in one pass with the greedy shrinking cone (FITing-tree): O(1) per key.
 * `keys` must be sorted (bytewise) and distinct.
 */
export function buildGreedyModel(keys: ArrayLike<Uint8Array>, options: BuildOptions = {}): LearnedModel {
  return build("greedy", keys, options);
}

/**
 * Builds the model with the fewest segments for ε (convex hull, as in the PGM-index): amortised
 * O(1) per key. `keys` must be sorted (bytewise) and distinct.
 */
export function buildOptimalModel(keys: ArrayLike<Uint8Array>, options: BuildOptions = {}): LearnedModel {
  return build("optimal", keys, options);
}

/**
 * The lower-bound position of `key` in `keys` (the first index whose key is >= `key`; `n` when
 * none): a binary search over the model's window only. `keys` must be the keys the model was
 * built from (an array or an accessor `(index) => key`).
 */
export function lowerBound(model: LearnedModel, keys: Keys, key: Uint8Array): number {
  const { low, high } = model.predict(key);
  let lo = low;
  let hi = high;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keyAt(keys, mid), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
