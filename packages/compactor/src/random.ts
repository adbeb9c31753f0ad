/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean): 128 bits of
 * state, any state is valid (the counter word keeps it off short cycles), so a restored state
 * never needs checking beyond its length. The agent and the simulator draw every random number
 * from one of these, which makes them deterministic under a seed.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A generator seeded from a 32-bit integer (any number; it is truncated to 32 bits). */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    // NB: the first outputs of a fresh sfc32 are poorly mixed; 12 rounds is the author's advice.
    for (let round = 0; round < 12; round++) this.nextUint32();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer uniform in [0, bound) (REQUIRES 1 <= bound <= 2^32). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** The four state words (to serialize). */
  state(): [number, number, number, number] {
    return [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0];
  }

  /** A generator continuing from `state` (four 32-bit words, as {@link state} returned). */
  static fromState(state: readonly [number, number, number, number]): Random {
    const random = new Random(0);
    random.#a = state[0] | 0;
    random.#b = state[1] | 0;
    random.#c = state[2] | 0;
    random.#d = state[3] | 0;
    return random;
  }
}
