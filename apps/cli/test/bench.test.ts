import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fullSuite, runCli, tempDir } from "./_helpers.ts";

interface BenchResult {
  engine: string;
  workload: string;
  operations: number;
  opsPerSecond: number;
  mbPerSecond: number | null;
  latency: { unit: string; samples: number; p50Us: number; p99Us: number } | null;
  writeAmplification: number | null;
  writeAmplificationSource: string | null;
  verified: boolean;
}

interface BenchJson {
  config: { num: number; workloads: string[]; engines: string[] };
  machine: { cpus: number; runtime: string };
  skipped: { engine: string; reason: string }[];
  results: BenchResult[];
}

describe("auradb bench", () => {
  const temp = tempDir();
  after(() => temp.cleanup());

  it("--json: the named workloads on AuraDB, each with ops/s, checked answers, and a matching HTML report", async () => {
    const report = join(temp.dir, "bench.html");
    const workloads = fullSuite ? "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,deleterandom" : "fillrandom,readrandom";
    const run = await runCli(["bench", "--num", "2000", "--workloads", workloads, "--json", "--report", report, "--dir", temp.dir], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout) as BenchJson;
    assert.deepEqual(result.config.workloads, workloads.split(","));
    assert.deepEqual(result.config.engines, ["auradb"]);
    assert.deepEqual(result.results.map((entry) => entry.workload), workloads.split(","));
    for (const entry of result.results) {
      assert.equal(entry.engine, "auradb");
      assert.ok(entry.opsPerSecond > 0, `${entry.workload}: ${entry.opsPerSecond} ops/s`);
      assert.equal(entry.verified, true, entry.workload);
    }
    const readrandom = result.results.find((entry) => entry.workload === "readrandom")!;
    assert.equal(readrandom.operations, 2000);
    assert.ok(readrandom.latency !== null && readrandom.latency.samples === 2000 / 16 && readrandom.latency.p99Us >= readrandom.latency.p50Us);
    const fill = result.results.find((entry) => entry.workload === "fillrandom")!;
    assert.equal(fill.writeAmplificationSource, "engine");
    assert.ok(fill.writeAmplification !== null && fill.writeAmplification >= 1, String(fill.writeAmplification));
    assert.equal(fill.latency?.unit, "batch");

    // The HTML report embeds the same document, and each chart's bars carry its numbers.
    const html = readFileSync(report, "utf8");
    const embedded = /<script type="application\/json" id="auradb-bench-data">\n([\s\S]*?)\n<\/script>/.exec(html);
    assert.ok(embedded !== null, "no embedded data");
    assert.deepEqual(JSON.parse(embedded[1]!), result);
    for (const entry of result.results) {
      const chart = new RegExp(`<figure class="chart" data-workload="${entry.workload}">[\\s\\S]*?data-engine="auradb" data-ops-per-second="(\\d+)"`).exec(html);
      assert.ok(chart !== null, `no chart for ${entry.workload}`);
      assert.equal(Number(chart[1]), entry.opsPerSecond);
    }
    assert.doesNotMatch(html, /<script src=|<link |https?:\/\/(?!www\.w3\.org\/2000\/svg)/, "the report must not load anything");
    // Every engine's temporary directory is removed.
    assert.deepEqual(readdirSync(temp.dir).filter((name) => name.startsWith("auradb-bench-")), []);
  });

  it("a peer that is not installed is skipped with a one-line note; the run still succeeds", { skip: !fullSuite }, async () => {
    const run = await runCli(["bench", "--num", "500", "--workloads", "fillseq,readrandom", "--vs", "classic-level", "--dir", temp.dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^classic-level not installed: npm install classic-level$/m);
    assert.match(run.stdout, /│ readrandom +│ auradb +│ +[\d,]+ │/);
    // Not a terminal: the progress bars are plain lines.
    assert.match(run.stdout, /auradb fillseq +.* 100% \| 500\/500/);
    assert.doesNotMatch(run.stdout, /\r|\x1b\[/);
  });

  it("usage mistakes: an unknown workload or engine is exit code 2", { skip: !fullSuite }, async () => {
    const workload = await runCli(["bench", "--workloads", "fillseq,frobnicate"]);
    assert.equal(workload.code, 2);
    assert.match(workload.stderr, /--workloads: unknown "frobnicate"/);
    const engine = await runCli(["bench", "--vs", "mysql"]);
    assert.equal(engine.code, 2);
    assert.match(engine.stderr, /--vs: unknown "mysql"/);
  });
});
