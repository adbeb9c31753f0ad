/**
 * `LevelIterator`: one cursor over a whole level L1+ (sorted, disjoint tables), opening one table
 * at a time. LevelDB's "concatenating iterator" (`TwoLevelIterator` over `LevelFileNumIterator`,
 * `db/version_set.cc`): the level index is the `TableMeta` array itself, searched by binary
 * search, so a seek opens exactly one table.
 */
import { compareBytes } from "../compare.ts";
import { type InternalIterator, SEQUENCE_MAX, type TableMeta, type ValueKind } from "../types.ts";

/** Opens a cursor over one table; the level iterator owns (and closes) what it returns. */
export type OpenTable = (meta: TableMeta) => InternalIterator;

/**
 * An `InternalIterator` over the tables of one level, in internal order.
 *
 * REQUIRES: `tables` sorted by key and disjoint in internal order (each table's largest entry
 * before the next table's smallest), as the version set keeps levels L1+. A user key's versions
 * may straddle two adjacent tables.
 *
 * Contract (on top of `InternalIterator`'s):
 * - Lazy: the constructor opens nothing; a positioning call opens the one table it needs; moving
 *   past a table's end closes it and opens the neighbour. At most one table is open at a time.
 * - `close()` closes the open table, if any. A second `close()` throws a TypeError.
 * - `key()`/`value()` are the table iterator's arrays: valid until this iterator moves.
 * - Errors from `openTable` or from a table are rethrown; the iterator is then invalid until the
 *   next successful positioning call.
 */
export class LevelIterator implements InternalIterator {
  private readonly tables: readonly TableMeta[];
  private readonly openTable: OpenTable;
  /** Index in `tables` of the open table; -1 when none is open. */
  private tableIndex = -1;
  private table: InternalIterator | null = null;
  private closed = false;

  /**
   * @param tables the level's tables (borrowed: must not change while the iterator lives).
   * @param openTable called at most once per table visit; the cursor it returns is owned here.
   */
  constructor(tables: readonly TableMeta[], openTable: OpenTable) {
    for (let index = 1; index < tables.length; index++) {
      const previous = tables[index - 1]!;
      const table = tables[index]!;
      // Invariant: disjoint and sorted (a shared boundary key must be ordered by sequence).
      const byKey = compareBytes(previous.largestKey, table.smallestKey);
      if (byKey > 0 || (byKey === 0 && previous.largestSeq <= table.smallestSeq)) {
        throw new RangeError(`auradb/lsm: level tables must be sorted and disjoint (table ${table.fileNumber} overlaps ${previous.fileNumber})`);
      }
    }
    this.tables = tables;
    this.openTable = openTable;
  }

  valid(): boolean {
    return this.table !== null && this.table.valid();
  }

  // NB: the accessors check only that a table is open (cheap); the table checks its own
  // position, as the contract makes calling them on an invalid cursor a programmer error.
  key(): Uint8Array {
    return this.openedTable().key();
  }

  seq(): number {
    return this.openedTable().seq();
  }

  kind(): ValueKind {
    return this.openedTable().kind();
  }

  value(): Uint8Array {
    return this.openedTable().value();
  }

  seekToFirst(): void {
    this.checkOpen();
    if (this.tables.length === 0) return this.release();
    this.open(0).seekToFirst();
    this.skipEmptyForward();
  }

  seekToLast(): void {
    this.checkOpen();
    if (this.tables.length === 0) return this.release();
    this.open(this.tables.length - 1).seekToLast();
    this.skipEmptyBackward();
  }

  seek(target: Uint8Array, seq: number = SEQUENCE_MAX): void {
    this.checkOpen();
    // The first table whose largest entry is >= (target, seq): the target is in it or, when it
    // falls in the gap before it, its first entry is the answer.
    let low = 0;
    let high = this.tables.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const table = this.tables[middle]!;
      const byKey = compareBytes(table.largestKey, target);
      if (byKey < 0 || (byKey === 0 && table.largestSeq > seq)) low = middle + 1;
      else high = middle;
    }
    if (low === this.tables.length) return this.release();
    this.open(low).seek(target, seq);
    this.skipEmptyForward();
  }

  seekForPrev(target: Uint8Array): void {
    this.checkOpen();
    // The last table whose smallest key is <= target: the last entry with key <= target is in it
    // (a key straddling two tables has its oldest version in the later one).
    let low = 0;
    let high = this.tables.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareBytes(this.tables[middle]!.smallestKey, target) <= 0) low = middle + 1;
      else high = middle;
    }
    if (low === 0) return this.release();
    this.open(low - 1).seekForPrev(target);
    this.skipEmptyBackward();
  }

  next(): void {
    this.requireTable().next();
    this.skipEmptyForward();
  }

  prev(): void {
    this.requireTable().prev();
    this.skipEmptyBackward();
  }

  close(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator closed twice");
    this.closed = true;
    this.release();
  }

  /** Opens table `index` (closing the one open before, unless it is the same). */
  private open(index: number): InternalIterator {
    if (this.table !== null && this.tableIndex === index) return this.table;
    this.release();
    // NB: set after openTable returns, so that a throwing openTable leaves no table open.
    const table = this.openTable(this.tables[index]!);
    this.table = table;
    this.tableIndex = index;
    return table;
  }

  private release(): void {
    const table = this.table;
    if (table === null) return;
    this.table = null;
    this.tableIndex = -1;
    table.close();
  }

  /** While the open table is exhausted, moves to the next table's first entry. */
  private skipEmptyForward(): void {
    // NB: a loop, not one step: the metadata may be loose (a table whose entries all fall
    // outside the searched range), and an empty table must not end the level.
    while (this.table !== null && !this.table.valid()) {
      const nextIndex = this.tableIndex + 1;
      if (nextIndex >= this.tables.length) return this.release();
      this.open(nextIndex).seekToFirst();
    }
  }

  /** While the open table is exhausted, moves to the previous table's last entry. */
  private skipEmptyBackward(): void {
    while (this.table !== null && !this.table.valid()) {
      const previousIndex = this.tableIndex - 1;
      if (previousIndex < 0) return this.release();
      this.open(previousIndex).seekToLast();
    }
  }

  private openedTable(): InternalIterator {
    const table = this.table;
    if (table === null) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
    return table;
  }

  private requireTable(): InternalIterator {
    const table = this.table;
    if (table === null || !table.valid()) throw new TypeError("auradb/lsm: iterator is not on an entry (REQUIRES valid())");
    return table;
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError("auradb/lsm: iterator used after close");
  }
}
