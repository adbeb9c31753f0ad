/**
 * The codecs of docs/format/vlog.md: the worked example byte for byte (read from the doc itself),
 * round trips of the entry, header, pointer and file-name codecs, and their refusals.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { crc32c, ErrorCode, isCorruption, maskCrc, writeAll } from "@auradb/fs";
import { MemFs } from "@auradb/fs/testing";
import { decodePointer, describeVlogFile, encodePointer, parseVlogFileName, POINTER_BYTES_MAX, vlogFileName } from "../src/index.ts";
import type { ValuePointer } from "../src/index.ts";
import {
  checkFileHeader,
  decodeFileHeader,
  encodeEntryInto,
  encodeFileHeader,
  ENTRY_BYTES_LIMIT,
  ENTRY_HEADER_BYTES,
  fileCrcSeed,
  FORMAT_VERSION,
  HEADER_BYTES,
  HEADER_CRC_OFFSET,
  readEntryHeader,
  readU64,
  writeU32,
  writeU64,
} from "../src/format.ts";
import { EntryScanner, verifyEntry } from "../src/reader.ts";
import { DIR, fileContent, hasCode, openLog } from "./helpers.ts";

const text = (value: string) => new TextEncoder().encode(value);
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
const DOC = new URL("../../../docs/format/vlog.md", import.meta.url);

/** The ```text blocks of the worked example section of the spec. */
function workedExampleBlocks(): string[] {
  const doc = readFileSync(DOC, "utf8");
  const section = doc.slice(doc.indexOf("## Worked example"));
  return [...section.matchAll(/```text\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const entryArbitrary = fc.record({
  key: fc.uint8Array({ maxLength: 40 }),
  value: fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 3000, max: 9000 }).map((size) => new Uint8Array(size).fill(size & 0xff))),
  seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 2 ** 32 - 2, max: 2 ** 33 })),
});

describe("the worked example of docs/format/vlog.md", () => {
  it("is what the log writes, byte for byte, and the pointer and dump too", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { newFileNumber: () => 12 });
    const pointers = await vlog.append([
      { key: text("k1"), value: text("hello"), seq: 7 },
      { key: text("key2"), value: new Uint8Array(0), seq: 8 },
    ]);
    await vlog.close();
    const bytes = await fileContent(fs, "000012.vlog");

    const [listing, pointerLine, dump] = workedExampleBlocks();
    assert.ok(listing !== undefined && pointerLine !== undefined && dump !== undefined, "the section has three text blocks");
    const documented: number[] = [];
    for (const line of listing.split("\n").filter((candidate) => candidate.length > 0)) {
      const [offset, byteText] = line.split(/\s{2,}/);
      assert.equal(Number.parseInt(offset!, 16), documented.length, `listing offsets are contiguous at ${offset}`);
      for (const token of byteText!.split(" ")) documented.push(Number.parseInt(token, 16));
    }
    assert.equal(hex(bytes), hex(Uint8Array.from(documented)));
    assert.deepEqual(pointers[0], { fileNumber: 12, offset: 32, size: 28, crc: 0x1bc5b3d2 });
    assert.equal(`pointer A: ${hex(encodePointer(pointers[0]!))}\n`, pointerLine);
    assert.equal(describeVlogFile(bytes, "000012.vlog"), dump);
  });

  it("checksums are seeded with the file number (crc32c over number ++ entry bytes 4..)", () => {
    const target = new Uint8Array(64);
    const crc = encodeEntryInto(target, 0, text("k"), text("v"), 3, fileCrcSeed(9));
    const size = ENTRY_HEADER_BYTES + 2;
    const numberBytes = new Uint8Array(8);
    numberBytes[0] = 9;
    assert.equal(crc, maskCrc(crc32c(Uint8Array.from([...numberBytes, ...target.subarray(4, size)]))));
    assert.notEqual(fileCrcSeed(9), fileCrcSeed(10));
  });
});

describe("entry codec", () => {
  it("round-trips any key, value and sequence number (verifyEntry and the scanner)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArbitrary, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 21, max: 5000 }), async (entries, fileNumber, windowBytes) => {
        const seed = fileCrcSeed(fileNumber);
        let total = HEADER_BYTES;
        for (const entry of entries) total += ENTRY_HEADER_BYTES + entry.key.length + entry.value.length;
        const bytes = new Uint8Array(total);
        bytes.set(encodeFileHeader({ fileNumber, partition: "gc" }));
        const pointers: ValuePointer[] = [];
        let offset = HEADER_BYTES;
        for (const entry of entries) {
          const size = ENTRY_HEADER_BYTES + entry.key.length + entry.value.length;
          const crc = encodeEntryInto(bytes, offset, entry.key, entry.value, entry.seq, seed);
          pointers.push({ fileNumber, offset, size, crc });
          const header = readEntryHeader(bytes, offset);
          assert.deepEqual([header.keyLength, header.valueLength, header.seq, header.type], [entry.key.length, entry.value.length, entry.seq, 1]);
          assert.deepEqual(verifyEntry(bytes, offset, pointers[pointers.length - 1]!, entry.key, seed, "/x"), entry.value);
          offset += size;
        }
        // The scanner, in windows of any size, finds the same entries.
        const fs = new MemFs();
        const file = await fs.open("/f", { create: true });
        await writeAll(file, bytes, 0);
        const scanner = new EntryScanner({ file, fileNumber, crcSeed: seed, windowBytes });
        const found = [];
        for (;;) {
          const window = await scanner.next(total, true);
          assert.equal(window.invalid, null);
          found.push(...window.entries);
          if (window.done) break;
        }
        assert.equal(found.length, entries.length);
        found.forEach((entry, index) => {
          assert.deepEqual(entry.pointer, pointers[index]);
          assert.deepEqual(entry.key, entries[index]!.key);
          assert.deepEqual(entry.value, entries[index]!.value);
          assert.equal(entry.seq, entries[index]!.seq);
        });
      }),
      { numRuns: 100 },
    );
  });

  it("a flipped bit anywhere in an entry fails verification (never another value)", () => {
    fc.assert(
      fc.property(entryArbitrary, fc.nat(), (entry, bitChoice) => {
        const size = ENTRY_HEADER_BYTES + entry.key.length + entry.value.length;
        const bytes = new Uint8Array(size);
        const seed = fileCrcSeed(5);
        const crc = encodeEntryInto(bytes, 0, entry.key, entry.value, entry.seq, seed);
        const bit = bitChoice % (size * 8);
        bytes[bit >>> 3]! ^= 1 << (bit & 7);
        assert.throws(() => verifyEntry(bytes, 0, { fileNumber: 5, offset: HEADER_BYTES, size, crc }, undefined, seed, "/x"), isCorruption);
      }),
      { numRuns: 300 },
    );
  });

  it("u64 fields hold safe integers; larger ones read as -1", () => {
    const bytes = new Uint8Array(8);
    for (const value of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER]) {
      writeU64(bytes, 0, value);
      assert.equal(readU64(bytes, 0), value);
    }
    writeU32(bytes, 4, 0x0020_0000);
    assert.equal(readU64(bytes, 0), -1);
  });
});

describe("file header", () => {
  it("round-trips; any flipped bit is a torn header; 0/newer versions and reserved bytes are refused", () => {
    for (const partition of ["fresh", "gc"] as const) {
      for (const fileNumber of [1, 12, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
        const bytes = encodeFileHeader({ fileNumber, partition });
        assert.deepEqual(decodeFileHeader(bytes, "/x"), { fileNumber, partition });
        for (let bit = 0; bit < HEADER_BYTES * 8; bit++) {
          const flipped = bytes.slice();
          flipped[bit >>> 3]! ^= 1 << (bit & 7);
          const result = checkFileHeader(flipped, "/x");
          assert.ok("problem" in result && result.problem === "torn", `bit ${bit}`);
        }
      }
    }
    const resealed = (mutate: (bytes: Uint8Array) => void) => {
      const bytes = encodeFileHeader({ fileNumber: 3, partition: "fresh" });
      mutate(bytes);
      writeU32(bytes, HEADER_CRC_OFFSET, maskCrc(crc32c(bytes.subarray(0, HEADER_CRC_OFFSET))));
      return checkFileHeader(bytes, "/x/000003.vlog");
    };
    const newer = resealed((bytes) => (bytes[8] = FORMAT_VERSION + 1));
    assert.ok("problem" in newer && newer.problem === "newer");
    assert.ok(hasCode(ErrorCode.NotSupported, /newer format/)(newer.error));
    assert.equal(newer.error.path, "/x/000003.vlog");
    for (const [name, mutate] of [
      ["version 0", (bytes: Uint8Array) => (bytes[8] = 0)],
      ["reserved 11", (bytes: Uint8Array) => (bytes[11] = 1)],
      ["reserved 25", (bytes: Uint8Array) => (bytes[25] = 1)],
      ["partition 2", (bytes: Uint8Array) => (bytes[10] = 2)],
      ["file number 0", (bytes: Uint8Array) => writeU64(bytes, 16, 0)],
      ["file number 2^53", (bytes: Uint8Array) => writeU32(bytes, 20, 0x0020_0000)],
    ] as const) {
      const result = resealed(mutate);
      assert.ok("problem" in result && result.problem === "invalid" && isCorruption(result.error), name);
    }
    assert.ok("problem" in checkFileHeader(new Uint8Array(31), "/x"));
  });
});

describe("value pointer codec", () => {
  const pointerArbitrary = fc.record({
    fileNumber: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    offset: fc.oneof(fc.integer({ min: HEADER_BYTES, max: 1 << 20 }), fc.integer({ min: HEADER_BYTES, max: Number.MAX_SAFE_INTEGER })),
    size: fc.integer({ min: ENTRY_HEADER_BYTES, max: ENTRY_BYTES_LIMIT }),
    crc: fc.integer({ min: 0, max: 0xffff_ffff }),
  });

  it("round-trips every pointer, in at most POINTER_BYTES_MAX bytes", () => {
    fc.assert(
      fc.property(pointerArbitrary, (pointer) => {
        const bytes = encodePointer(pointer);
        assert.ok(bytes.length <= POINTER_BYTES_MAX);
        assert.deepEqual(decodePointer(bytes), { ...pointer });
      }),
      { numRuns: 1000 },
    );
    assert.equal(POINTER_BYTES_MAX, 25);
    assert.equal(encodePointer({ fileNumber: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER, size: ENTRY_BYTES_LIMIT, crc: 0xffff_ffff }).length, POINTER_BYTES_MAX);
  });

  it("refuses truncated, trailing and out-of-range bytes with a CorruptionError naming the path", () => {
    fc.assert(
      fc.property(pointerArbitrary, fc.uint8Array({ minLength: 1, maxLength: 4 }), (pointer, extra) => {
        const bytes = encodePointer(pointer);
        for (let length = 0; length < bytes.length; length++) {
          assert.throws(() => decodePointer(bytes.subarray(0, length), "/wal/x"), (error: unknown) => isCorruption(error) && error.path === "/wal/x");
        }
        assert.throws(() => decodePointer(Uint8Array.from([...bytes, ...extra])), isCorruption);
      }),
      { numRuns: 200 },
    );
    // Out of range: offset inside the header, size below an entry header, file number 0.
    for (const raw of [[0x01, 0x10, 0x1c, 0, 0, 0, 0], [0x01, 0x20, 0x10, 0, 0, 0, 0], [0x00, 0x20, 0x1c, 0, 0, 0, 0]]) {
      assert.throws(() => decodePointer(Uint8Array.from(raw)), isCorruption);
    }
    // A non-canonical varint (12 as 0x8c 0x00) is refused.
    assert.throws(() => decodePointer(Uint8Array.from([0x8c, 0x00, 0x20, 0x1c, 0, 0, 0, 0])), isCorruption);
    assert.throws(() => encodePointer({ fileNumber: 1, offset: 5, size: 30, crc: 0 }), RangeError);
  });

  it("decodes any bytes to a pointer or a CorruptionError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          const pointer = decodePointer(bytes);
          assert.deepEqual(encodePointer(pointer), bytes);
        } catch (error) {
          assert.ok(isCorruption(error), String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("file names", () => {
  it("round-trip, sort, and only the canonical spelling parses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (fileNumber) => {
        assert.equal(parseVlogFileName(vlogFileName(fileNumber)), fileNumber);
      }),
    );
    assert.equal(vlogFileName(12), "000012.vlog");
    assert.equal(vlogFileName(1_234_567), "1234567.vlog");
    for (const name of ["000000.vlog", "12.vlog", "0000012.vlog", "000012.vlog.tmp", "000012.sst", "00001a.vlog", "LOCK"]) {
      assert.equal(parseVlogFileName(name), undefined, name);
    }
    assert.throws(() => vlogFileName(0), RangeError);
  });
});

describe("describeVlogFile", () => {
  it("never throws on damaged input and says where the damage is", async () => {
    const fs = new MemFs();
    const vlog = await openLog(fs, { newFileNumber: () => 3 });
    await vlog.append(Array.from({ length: 5 }, (_, index) => ({ key: text(`k${index}`), value: new Uint8Array(index * 10), seq: index })));
    await vlog.close();
    const bytes = await fileContent(fs, "000003.vlog");
    const damaged = bytes.slice();
    damaged[HEADER_BYTES + ENTRY_HEADER_BYTES]! ^= 0x01; // the first key's first byte
    assert.match(describeVlogFile(damaged), /32: VALUE .* CHECKSUM MISMATCH\n55: not read/);
    assert.match(describeVlogFile(bytes.subarray(0, bytes.length - 3)), /truncated entry header|invalid entry \(entry runs past/);
    assert.match(describeVlogFile(new Uint8Array(10)), /truncated/);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: bytes.length }), (at, byte, cut) => {
        const mutated = bytes.slice(0, Math.max(cut, at + 1));
        mutated[at] = byte;
        assert.equal(typeof describeVlogFile(mutated), "string");
      }),
      { numRuns: 300 },
    );
    void DIR;
  });
});
