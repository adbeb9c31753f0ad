/**
 * A bounded ring of plain-data records: the agent's decision log. Bounded because the engine keeps
 * the agent for the life of the database (ARCHITECTURE: bounded memory); the newest records win.
 */
import { InvalidArgumentError } from "./errors.ts";

/** A ring buffer keeping the last `capacity` records. */
export class DecisionLog<Record> {
  readonly capacity: number;
  #records: Record[] = [];
  #next = 0;
  #total = 0;

  /** @throws InvalidArgumentError unless capacity is an integer in [1, 2^20]. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
      throw new InvalidArgumentError(`auradb/compactor: decision log capacity must be an integer in [1, 1048576], got ${String(capacity)}`);
    }
    this.capacity = capacity;
  }

  /** Records ever appended (including those the ring has dropped). */
  get total(): number {
    return this.#total;
  }

  append(record: Record): void {
    if (this.#records.length < this.capacity) this.#records.push(record);
    else this.#records[this.#next] = record;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total++;
  }

  /** The records kept, oldest first (a new array; the records themselves are frozen plain data). */
  toArray(): Record[] {
    if (this.#records.length < this.capacity) return this.#records.slice();
    return [...this.#records.slice(this.#next), ...this.#records.slice(0, this.#next)];
  }
}
