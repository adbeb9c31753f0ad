/**
 * abstract-level's shared test suite (`abstract-level/test`, the suite classic-level and
 * memory-level run) against `AuraLevel`, the root database and, as the suite does by itself, a
 * sublevel of it. The suite is written for tape, so it runs in a tape harness inside one
 * node:test test, which fails when any tape assertion fails and prints the counts.
 *
 * Tests skipped on purpose are listed in SKIPPED with the reason (and in the README's
 * "abstract-level" section): each needs something AuraDB does not do.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tape from "tape";
import { AuraLevel, type AuraLevelOptions } from "../src/level.ts";

type SuiteFactory = (options?: AuraLevelOptions<unknown, unknown>) => unknown;
type Suite = (options: { test: tape.Harness; factory: SuiteFactory }) => void;

// NB: the suite is CommonJS without typings; require() gives it a type here.
const require = createRequire(import.meta.url);
const suite = require("abstract-level/test") as Suite;

/**
 * Tests of the suite not run, by name, with why. `run`: which pass of the suite (the root
 * database, or the sublevel pass the suite adds, whose keys carry a prefix and so are never
 * empty).
 */
const EMPTY_KEY = "AuraDB refuses the empty key (LevelDB stores it); AuraLevel rejects it with LEVEL_INVALID_KEY";
const SKIPPED: readonly { name: string; run: "root" | "sublevel" | "both"; reason: string }[] = [
  { name: "put(), get(), del() with empty Buffer key", run: "root", reason: EMPTY_KEY },
  { name: "empty keys in batch with utf8 keyEncoding", run: "root", reason: EMPTY_KEY },
  { name: "empty keys in batch with buffer keyEncoding", run: "root", reason: EMPTY_KEY },
  { name: "empty keys in batch with view keyEncoding", run: "root", reason: EMPTY_KEY },
  {
    name: "iterator() sorts lexicographically",
    run: "root",
    reason: `it writes the empty key among others: ${EMPTY_KEY} (level.test.ts checks the same order without it)`,
  },
];

function skipReason(name: string, run: "root" | "sublevel"): string | undefined {
  return SKIPPED.find((skip) => skip.name === name && (skip.run === run || skip.run === "both"))?.reason;
}

interface SuiteResult {
  tests: number;
  /** Tests registered by each pass of the suite. */
  perRun: { root: number; sublevel: number };
  passed: number;
  failed: string[];
  skipped: { name: string; reason: string }[];
  assertions: number;
  tap: string;
}

/** Runs the whole suite in a fresh tape harness; every database gets its own temp directory. */
async function runSuite(): Promise<SuiteResult> {
  const root = mkdtempSync(join(tmpdir(), "auradb-level-suite-"));
  let databases = 0;
  const harness = tape.createHarness();
  const result: SuiteResult = { tests: 0, perRun: { root: 0, sublevel: 0 }, passed: 0, failed: [], skipped: [], assertions: 0, tap: "" };
  const failedTests = new Set<tape.Test>();
  let firstName: string | undefined;
  let run: "root" | "sublevel" = "root";

  // NB: the suite runs itself a second time on a sublevel; that pass starts with the same first test.
  const test = ((name: string, ...rest: unknown[]) => {
    if (firstName === undefined) firstName = name;
    else if (name === firstName) run = "sublevel";
    const label = `${run === "sublevel" ? "[sublevel] " : ""}${name}`;
    const callback = rest[rest.length - 1] as tape.TestCase;
    const reason = skipReason(name, run);
    result.tests++;
    result.perRun[run]++;
    if (reason !== undefined) {
      result.skipped.push({ name: label, reason });
      return harness(label, { skip: true }, callback);
    }
    const handle = harness(label, callback);
    handle.on("result", (assertion: unknown) => {
      if (typeof assertion === "object" && assertion !== null && (assertion as { ok?: boolean }).ok === false) failedTests.add(handle);
    });
    return handle;
  }) as unknown as tape.Harness;

  suite({
    test,
    factory: (options) => new AuraLevel(join(root, `db-${++databases}`), options),
  });

  const stream = harness.createStream();
  const chunks: string[] = [];
  stream.on("data", (chunk: unknown) => chunks.push(String(chunk)));
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on("end", () => resolve());
      stream.on("error", reject);
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  result.tap = chunks.join("");
  result.failed = [...failedTests].map((handle) => (handle as unknown as { name: string }).name);
  result.passed = result.tests - result.skipped.length - result.failed.length;
  result.assertions = Number(/^# tests (\d+)$/m.exec(result.tap)?.[1] ?? 0);
  return result;
}

/** The failed assertions of a TAP log, each under its test's name, with tape's diagnostics. */
function failureReport(tap: string): string {
  const report: string[] = [];
  let testName = "";
  let inFailure = false;
  for (const line of tap.split("\n")) {
    if (line.startsWith("# ")) {
      testName = line;
      inFailure = false;
    } else if (line.startsWith("not ok ")) {
      report.push(testName, line);
      inFailure = true;
    } else if (line.startsWith("ok ")) {
      inFailure = false;
    } else if (inFailure && !line.trimStart().startsWith("at ")) {
      report.push(line);
    }
  }
  return report.join("\n");
}

// NB: an explicit timeout, because Bun's default (5 s a test) is far below the suite's run time.
it("abstract-level's shared test suite passes against AuraLevel (root and sublevel)", { timeout: 300_000 }, async () => {
  const started = performance.now();
  const result = await runSuite();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `abstract-level suite: ${result.tests} tests (${result.perRun.root} on the database, ${result.perRun.sublevel} on a sublevel), ${result.passed} passed, ${result.failed.length} failed, ` +
      `${result.skipped.length} skipped; ${result.assertions} assertions; ${seconds} s`,
  );
  for (const skip of result.skipped) console.log(`  skipped: ${skip.name} (${skip.reason})`);
  if (result.failed.length > 0) {
    console.log(failureReport(result.tap));
  }
  assert.ok(result.tests > 0, "the suite registered no test");
  assert.deepEqual(result.failed, [], "tests of abstract-level's suite failed");
  assert.match(result.tap, /^# ok$/m, "tape did not report success");
});
