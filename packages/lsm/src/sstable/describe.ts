/**
 * A human-readable dump of a table's bytes: header, footer, metaindex, properties, filter, index,
 * then every data block and (optionally) its entries. Used by tests as golden output (a format
 * change reads as a text diff) and by `auradb dump`.
 */
import { AuraError } from "@auradb/fs";
import { Block, BlockIterator } from "./block.ts";
import { BloomFilter } from "./bloom.ts";
import { snappyUncompress } from "./compression.ts";
import {
  BLOCK_BYTES_MAX,
  blockChecksum,
  checkBlockHandle,
  decodeFooter,
  decodeHeader,
  fileCrcSeed,
  CompressionType,
  FOOTER_BYTES,
  HEADER_BYTES,
  MetaBlockName,
} from "./format.ts";
import type { BlockHandle, Footer } from "./format.ts";
import { LearnedIndex } from "./learned.ts";
import { decodeProperties } from "./properties.ts";
import type { TableProperties } from "./properties.ts";
import { decodeHandleValue } from "./reader.ts";

/** Options of {@link describeTable}. */
export interface DescribeTableOptions {
  /** The name printed in messages (default "table"). */
  readonly path?: string;
  /** Print every entry of every data block (default true); false prints one line per block. */
  readonly entries?: boolean;
  /** Value bytes printed per entry before eliding (default 16). */
  readonly valueBytesMax?: number;
}

const KIND_NAMES = ["Delete", "Put", "PutPointer"];
const decoder = new TextDecoder();

/** A key or value as text: printable ASCII in quotes, other bytes as \xNN; long ones elided. */
export function formatBytes(bytes: Uint8Array, bytesMax = Number.POSITIVE_INFINITY): string {
  let text = '"';
  const shown = Math.min(bytes.length, bytesMax);
  for (let index = 0; index < shown; index++) {
    const byte = bytes[index]!;
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  text += '"';
  return shown < bytes.length ? `${text}…(${bytes.length} B)` : text;
}

function errorText(error: unknown): string {
  return AuraError.isInstance(error) ? error.message : `unexpected ${String(error)}`;
}

/**
 * Describes a table file's bytes. Never throws on damaged input: each part it cannot decode is
 * printed as an `error:` line, and it goes on with what it can still find.
 */
export function describeTable(bytes: Uint8Array, options: DescribeTableOptions = {}): string {
  const path = options.path ?? "table";
  const showEntries = options.entries ?? true;
  const valueBytesMax = options.valueBytesMax ?? 16;
  const lines: string[] = [];
  const fileBytes = bytes.length;
  lines.push(`sstable ${path}: ${fileBytes} bytes`);
  try {
    const version = decodeHeader(bytes.subarray(0, HEADER_BYTES), path);
    lines.push(`header @0+${HEADER_BYTES}: magic ASST version ${version} flags 0 crc ok`);
  } catch (error) {
    lines.push(`header @0: error: ${errorText(error)}`);
  }
  if (fileBytes < HEADER_BYTES + FOOTER_BYTES) {
    lines.push("error: too short to hold a footer");
    return lines.join("\n") + "\n";
  }
  const footerOffset = fileBytes - FOOTER_BYTES;
  let footer: Footer;
  try {
    footer = decodeFooter(bytes.subarray(footerOffset), path, footerOffset);
  } catch (error) {
    lines.push(`footer @${footerOffset}: error: ${errorText(error)}`);
    return lines.join("\n") + "\n";
  }
  lines.push(
    `footer @${footerOffset}+${FOOTER_BYTES}: metaindex ${handleText(footer.metaindex)} index ${handleText(footer.index)} ` +
      `file ${footer.fileNumber} version ${footer.formatVersion} crc ok`,
  );
  const seed = fileCrcSeed(footer.fileNumber);

  /**
   * The block at `handle`: one line (`title`, handle, trailer check, `summary`), then `lines`
   * indented. An error while decoding becomes an `error:` line.
   */
  const describeBlock = (
    title: string,
    handle: BlockHandle,
    body: (contents: Uint8Array) => { summary?: string; lines: string[] },
  ): void => {
    let header = `${title} ${handleText(handle)}`;
    try {
      checkBlockHandle(handle, fileBytes, path, handle.offset);
    } catch (error) {
      lines.push(`${header}: error: ${errorText(error)}`);
      return;
    }
    const end = handle.offset + handle.size;
    const type = bytes[end]!;
    const stored = (bytes[end + 1]! | (bytes[end + 2]! << 8) | (bytes[end + 3]! << 16) | (bytes[end + 4]! << 24)) >>> 0;
    const checksumOk = stored === blockChecksum(bytes.subarray(handle.offset, end + 1), seed);
    header += `: type ${type}`;
    // Type 1: the stored contents are a Snappy block of the block.
    const storedContents = bytes.subarray(handle.offset, end);
    let contents: Uint8Array | undefined;
    let typeError: string | undefined;
    if (type === CompressionType.None) {
      contents = storedContents;
    } else if (type === CompressionType.Snappy) {
      try {
        contents = snappyUncompress(storedContents, BLOCK_BYTES_MAX, path, handle.offset);
        header += ` (snappy, ${contents.length} bytes)`;
      } catch (error) {
        typeError = errorText(error);
      }
    } else {
      typeError = `auradb/lsm: unknown compression type ${type}`;
    }
    header += ` crc ${checksumOk ? "ok" : "MISMATCH"}`;
    let result: { summary?: string; lines: string[] };
    if (contents === undefined) {
      result = { lines: [`error: ${typeError}`] };
    } else {
      try {
        result = body(contents);
      } catch (error) {
        result = { lines: [`error: ${errorText(error)}`] };
      }
    }
    lines.push(result.summary === undefined ? header : `${header} ${result.summary}`);
    for (const line of result.lines) lines.push(`  ${line}`);
  };

  const metaHandles = new Map<string, BlockHandle>();
  describeBlock("metaindex", footer.metaindex, (contents) => {
    const out: string[] = [];
    const iterator = new BlockIterator(Block.decode(contents, path, footer.metaindex.offset));
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      const name = decoder.decode(iterator.key());
      const handle = decodeHandleValue(iterator.value());
      if (handle === undefined) {
        out.push(`${name} -> error: malformed handle`);
        continue;
      }
      metaHandles.set(name, handle);
      out.push(`${name} -> ${handleText(handle)}`);
    }
    return { lines: out };
  });

  const propertiesHandle = metaHandles.get(MetaBlockName.Properties);
  let properties: TableProperties | undefined;
  if (propertiesHandle !== undefined) {
    describeBlock("properties", propertiesHandle, (contents) => {
      const block = Block.decode(contents, path, propertiesHandle.offset);
      const out: string[] = [];
      // Raw entries first (every name, known or not), then the decoded checks.
      const iterator = new BlockIterator(block);
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
        const name = decoder.decode(iterator.key());
        out.push(`${name} = ${propertyValueText(name, iterator.value())}`);
      }
      try {
        properties = decodeProperties(block);
      } catch (error) {
        out.push(`error: ${errorText(error)}`);
      }
      return { lines: out };
    });
  }

  const filterHandle = metaHandles.get(MetaBlockName.Filter);
  if (filterHandle !== undefined) {
    describeBlock("filter", filterHandle, (contents) => {
      const filter = BloomFilter.decode(contents, path, filterHandle.offset);
      let set = 0;
      for (const byte of filter.bits) for (let bit = byte; bit !== 0; bit &= bit - 1) set++;
      return { summary: `bloom lines ${filter.lineCount} (${filter.bitCount} bits) probes ${filter.probeCount} set ${set}`, lines: [] };
    });
  }

  const learnedHandle = metaHandles.get(MetaBlockName.Learned);
  if (learnedHandle !== undefined) {
    describeBlock("learned index", learnedHandle, (contents) => {
      if (properties === undefined) return { summary: "not checked: the properties are unreadable", lines: [] };
      const learned = LearnedIndex.decode(contents, properties.dataBlockCount, properties.entryCount, path, learnedHandle.offset);
      const model = learned.model;
      const starts = Array.from(learned.blockStart.subarray(0, Math.min(learned.blockStart.length, 17))).join(" ");
      return {
        summary: `${model.builder} model of ${model.keyCount} keys, ε ${model.epsilon}, ${model.segmentCount} segments${
          learned.oneEntryPerKey ? ", one entry per key" : ""
        }`,
        lines: [`block starts: ${starts}${learned.blockStart.length > 17 ? " ..." : ""}`],
      };
    });
  }

  const dataHandles: BlockHandle[] = [];
  describeBlock("index", footer.index, (contents) => {
    const out: string[] = [];
    const iterator = new BlockIterator(Block.decode(contents, path, footer.index.offset));
    let blockNumber = 0;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      const handle = decodeHandleValue(iterator.value());
      const target = handle === undefined ? "error: malformed handle" : handleText(handle);
      if (handle !== undefined) dataHandles.push(handle);
      out.push(`${blockNumber++}: ${entryKeyText(iterator)} -> ${target}`);
    }
    return { lines: out };
  });

  for (const [blockNumber, handle] of dataHandles.entries()) {
    describeBlock(`data ${blockNumber}`, handle, (contents) => {
      const block = Block.decode(contents, path, handle.offset);
      const out: string[] = [];
      const iterator = new BlockIterator(block);
      let entryCount = 0;
      try {
        for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
          entryCount++;
          if (showEntries) out.push(`${entryKeyText(iterator)} value ${formatBytes(iterator.value(), valueBytesMax)}`);
        }
      } catch (error) {
        out.push(`error: ${errorText(error)}`);
      }
      return { summary: `restarts ${block.restartCount} entries ${entryCount}`, lines: out };
    });
  }
  return lines.join("\n") + "\n";
}

function handleText(handle: BlockHandle): string {
  return `@${handle.offset}+${handle.size}`;
}

function entryKeyText(iterator: BlockIterator): string {
  return `${formatBytes(iterator.key())} seq ${iterator.seq()} ${KIND_NAMES[iterator.kind()] ?? iterator.kind()}`;
}

function propertyValueText(name: string, value: Uint8Array): string {
  if (name === "auradb.smallest" || name === "auradb.largest") {
    let seq = 0;
    let scale = 1;
    let position = 0;
    while (position < value.length && position < 8) {
      const byte = value[position++]!;
      seq += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
    }
    const kind = value[position];
    return `${formatBytes(value.subarray(position + 1))} seq ${seq} ${kind === undefined ? "?" : (KIND_NAMES[kind] ?? kind)}`;
  }
  let number = 0;
  let scale = 1;
  for (let index = 0; index < value.length && index < 8; index++) {
    const byte = value[index]!;
    number += (byte & 0x7f) * scale;
    if (byte < 0x80) return index + 1 === value.length ? String(number) : formatBytes(value);
    scale *= 128;
  }
  return formatBytes(value);
}
