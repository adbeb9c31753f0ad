import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fingerprint, fullSuite, keyOf, makeDatabase, runCli, tempDir, valueOf } from "./_helpers.ts";

const COMMAND_NAMES = ["demo", "get", "put", "del", "scan", "shell", "stats", "verify", "dump", "bench", "repair"];

describe("auradb (smoke, every runtime)", () => {
  const temp = tempDir();
  after(() => temp.cleanup());

  it("--help lists every command and exits 0", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0, result.stderr);
    for (const name of COMMAND_NAMES) assert.match(result.stdout, new RegExp(`^  ${name} `, "m"));
  });

  it("put then get round-trips a value, scan lists it", async () => {
    const dir = join(temp.dir, "smoke");
    assert.equal((await runCli(["put", dir, "user:1", "Ada"])).code, 0);
    const got = await runCli(["get", dir, "user:1"]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, "Ada\n");
    const scanned = await runCli(["scan", dir, "--json"]);
    assert.deepEqual(JSON.parse(scanned.stdout), [{ key: "user:1", value: "Ada" }]);
  });
});

describe("auradb commands", { skip: !fullSuite }, () => {
  const temp = tempDir();
  const db = join(temp.dir, "db");
  before(async () => makeDatabase(db, 500));
  after(() => temp.cleanup());

  it("every command has --help with examples", async () => {
    for (const name of COMMAND_NAMES) {
      const result = await runCli([name, "--help"]);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`Usage: auradb ${name}`));
      assert.match(result.stdout, /Examples:\n {2}\$ auradb /);
    }
  });

  it("mistakes are one line on stderr with exit code 2, stack only with --debug", async () => {
    const unknown = await runCli(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^auradb: unknown command "frobnicate"/);
    const flag = await runCli(["get", db, "k", "--bogus"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--bogus'/);
    assert.doesNotMatch(flag.stderr, /\n\s+at /);
    const missing = await runCli(["get"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing <dir> <key>/);
    const noDb = await runCli(["get", join(temp.dir, "nothing-here"), "k"]);
    assert.equal(noDb.code, 1);
    assert.equal(noDb.stderr.trim().split("\n").length, 1);
    assert.match(noDb.stderr, /no database at/);
    const debug = await runCli(["get", join(temp.dir, "nothing-here"), "k", "--debug"]);
    assert.match(debug.stderr, /\n\s+at /);
  });

  it("get prints values; a missing key is exit code 1; --json and encodings", async () => {
    const small = await runCli(["get", db, keyOf(7)]);
    assert.equal(small.stdout, `${valueOf(7)}\n`);
    const large = await runCli(["get", db, keyOf(20)]);
    assert.equal(large.stdout, `${valueOf(20)}\n`);
    const missing = await runCli(["get", db, "absent"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /key not found: absent/);
    const hexKey = Buffer.from(keyOf(3)).toString("hex");
    const json = await runCli(["get", db, hexKey, "--key-encoding", "hex", "--json"]);
    assert.deepEqual(JSON.parse(json.stdout), { key: hexKey, found: true, value: valueOf(3) });
    const base64 = await runCli(["get", db, keyOf(3), "--value-encoding", "base64"]);
    assert.equal(Buffer.from(base64.stdout.trim(), "base64").toString(), valueOf(3));
    const badHex = await runCli(["get", db, "xyz", "--encoding", "hex"]);
    assert.equal(badHex.code, 2);
    assert.match(badHex.stderr, /not valid hex/);
  });

  it("put, del and binary keys in hex", async () => {
    const dir = join(temp.dir, "writes");
    assert.equal((await runCli(["put", dir, "00ff10", "cafe", "--encoding", "hex"])).code, 0);
    assert.equal((await runCli(["put", dir, "text", "from stdin"], { input: "piped value" })).code, 0);
    const piped = await runCli(["get", dir, "text"]);
    assert.equal(piped.stdout, "from stdin\n");
    assert.equal((await runCli(["put", dir, "stdin-key"], { input: "piped value" })).code, 0);
    assert.equal((await runCli(["get", dir, "stdin-key"])).stdout, "piped value\n");
    const binary = await runCli(["scan", dir, "--encoding", "hex", "--json"]);
    assert.deepEqual(JSON.parse(binary.stdout)[0], { key: "00ff10", value: "cafe" });
    const utf8 = await runCli(["scan", dir, "--json", "--limit", "1"]);
    assert.deepEqual(JSON.parse(utf8.stdout), [{ keyBase64: Buffer.from([0, 0xff, 0x10]).toString("base64"), valueBase64: Buffer.from([0xca, 0xfe]).toString("base64") }]);
    assert.equal((await runCli(["del", dir, "stdin-key", "--sync"])).code, 0);
    assert.equal((await runCli(["get", dir, "stdin-key"])).code, 1);
    const noCreate = await runCli(["del", join(temp.dir, "no-db"), "k"]);
    assert.equal(noCreate.code, 1);
  });

  it("scan honours bounds, prefix, limit, reverse, count", async () => {
    const lines = async (...args: string[]): Promise<string[]> => {
      const result = await runCli(["scan", db, "--keys-only", ...args]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim().split("\n").filter((line) => line.length > 0);
    };
    assert.deepEqual(await lines("--gte", keyOf(10), "--lt", keyOf(13)), [keyOf(10), keyOf(11), keyOf(12)]);
    assert.deepEqual(await lines("--gt", keyOf(10), "--lte", keyOf(12)), [keyOf(11), keyOf(12)]);
    assert.deepEqual(await lines("--prefix", "key:00004", "--limit", "3", "--reverse"), [keyOf(49), keyOf(48), keyOf(47)]);
    assert.deepEqual(await lines("--prefix", "key:00004", "--gte", keyOf(45), "--limit", "2"), [keyOf(45), keyOf(46)]);
    const count = await runCli(["scan", db, "--count"]);
    assert.equal(count.stdout, "520\n");
    const values = await runCli(["scan", db, "--gte", keyOf(20), "--limit", "2"]);
    assert.equal(values.stdout, `${keyOf(20)}\t${valueOf(20)}\n${keyOf(21)}\t${valueOf(21)}\n`);
  });

  it("stats prints levels, value log and files; --json carries the engine's stats", async () => {
    const text = await runCli(["stats", db, "--deep"]);
    assert.equal(text.code, 0, text.stderr);
    for (const title of ["Levels", "Value log", "Files on disk", "space amplification", "write amplification"]) assert.ok(text.stdout.includes(title), title);
    assert.match(text.stdout, /live entries\s+│ 520/);
    const json = JSON.parse((await runCli(["stats", db, "--json", "--deep"])).stdout) as {
      levels: { files: number }[];
      valueLog: { files: number; bytes: number };
      live: { entries: number };
      disk: { kinds: Record<string, { files: number }> };
    };
    assert.ok(json.levels.reduce((sum, level) => sum + level.files, 0) >= 1);
    assert.equal(json.valueLog.files, 1);
    assert.ok(json.valueLog.bytes > 50 * 6000);
    assert.equal(json.live.entries, 520);
    assert.equal(json.disk.kinds["value-log files"]?.files, 1);
  });

  it("read commands leave every byte, name and mtime of the database as it was", async () => {
    const before = fingerprint(db);
    for (const args of [
      ["get", db, keyOf(1)],
      ["get", db, "absent"],
      ["scan", db, "--limit", "5"],
      ["stats", db, "--deep"],
      ["verify", db],
      ["dump", join(db, "CURRENT")],
    ]) {
      await runCli(args);
      assert.equal(fingerprint(db), before, `${args[0]} changed the database`);
    }
  });

  it("scan prints every entry, one line each, nothing on stderr", async () => {
    const result = await runCli(["scan", db]);
    assert.equal(result.stdout.trim().split("\n").length, 520);
    assert.equal(result.stderr, "");
  });
});
