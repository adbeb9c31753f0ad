import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { filesMatching, fullSuite, keyOf, makeDatabase, runCli, tempDir, valueOf } from "./_helpers.ts";

describe("auradb shell", () => {
  const temp = tempDir();
  after(() => temp.cleanup());

  it("runs piped commands in order, with the command line's verbs and flags", async () => {
    const dir = join(temp.dir, "shell");
    const script = ['put a 1', 'put "b c" "two words"', "get a", 'get "b c" --json', "del a", "scan --json", "help", "exit", "put never run"].join("\n");
    const result = await runCli(["shell", dir], { input: script });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], "1");
    assert.deepEqual(JSON.parse(lines[1]!), { key: "b c", found: true, value: "two words" });
    assert.match(result.stdout, /\[\n {2}\{"key":"b c","value":"two words"\}\n\]/);
    assert.match(result.stdout, /Commands \(flags as on the command line/);
    assert.equal((await runCli(["get", dir, "never"])).code, 1, "a command after exit ran");
  });

  it("reports failed commands, keeps going, exits 1; --timing prints a time per command", { skip: !fullSuite }, async () => {
    const dir = join(temp.dir, "failing");
    const result = await runCli(["shell", dir, "--timing"], { input: "get missing\nbogus\nput k v\nget k\nstats\n" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: key not found: missing/);
    assert.match(result.stderr, /error: unknown command "bogus"/);
    assert.match(result.stdout, /^v$/m);
    assert.match(result.stdout, /Levels/);
    assert.match(result.stdout, /write amplification\s+│ \d+\.\d\d×/);
    assert.equal(result.stderr.match(/\(\d+(\.\d+)? (µs|ms|s)\)/g)?.length, 5);
  });
});

describe("auradb dump", { skip: !fullSuite }, () => {
  const temp = tempDir();
  const db = join(temp.dir, "db");
  before(async () => makeDatabase(db, 300));
  after(() => temp.cleanup());

  it("a table: every block, and --json entries with their keys, values and pointers", async () => {
    const table = join(db, filesMatching(db, /\.sst$/)[0]!);
    const text = await runCli(["dump", table, "--no-entries"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^sstable \d+\.sst: \d+ bytes/);
    assert.match(text.stdout, /data 0 @12\+\d+: type 0 crc ok/);
    const json = JSON.parse((await runCli(["dump", table, "--json"])).stdout) as { kind: string; entries: { key: string; value?: string; pointer?: { size: number } }[] };
    assert.equal(json.kind, "sst");
    const first = json.entries[0]!;
    assert.equal(first.key, keyOf(0));
    // A pointer's size counts the whole value-log entry: its header, the key and the value.
    assert.ok(first.pointer !== undefined && first.pointer.size > valueOf(0).length, JSON.stringify(first));
    const inline = json.entries.find((entry) => entry.key === keyOf(1));
    assert.equal(inline?.value, valueOf(1));
  });

  it("a WAL segment: chunks and decoded batches", async () => {
    const segment = join(db, "wal", filesMatching(join(db, "wal"), /\.wal$/).at(-1)!);
    const text = await runCli(["dump", segment]);
    assert.match(text.stdout, /^segment \d+ firstLsn=\d+/);
    assert.match(text.stdout, new RegExp(`put "${keyOf(301)}" = "${valueOf(301)}"`));
    const json = JSON.parse((await runCli(["dump", segment, "--json"])).stdout) as { records: { operations: { op: string; key: string }[] }[] };
    assert.equal(json.records.length, 20);
    assert.equal(json.records[0]!.operations[0]!.key, keyOf(300));
  });

  it("a value-log file, a manifest, CURRENT; an unknown name is a clear error", async () => {
    const vlog = join(db, "vlog", filesMatching(join(db, "vlog"), /\.vlog$/)[0]!);
    const entries = JSON.parse((await runCli(["dump", vlog, "--json"])).stdout) as { entries: { key: string; checksumOk: boolean }[] };
    assert.equal(entries.entries.length, 30 + 2);
    assert.ok(entries.entries.every((entry) => entry.checksumOk));
    const manifest = join(db, filesMatching(db, /^MANIFEST-/)[0]!);
    const edits = await runCli(["dump", manifest]);
    assert.match(edits.stdout, /edit \d+: logLsn=\d+ .*\+L0 #\d+ \(\d+ B, 300 entries/);
    const current = await runCli(["dump", join(db, "CURRENT")]);
    assert.match(current.stdout, /^AURADB-CURRENT 1 MANIFEST-\d+ [0-9a-f]{8}$/m);
    const unknown = await runCli(["dump", join(db, "nothing.txt")]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /cannot tell what nothing\.txt is/);
  });
});
