import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { AuraDB, type DbStats } from "auradb";
import { formatStats } from "../src/commands/stats.ts";
import { fingerprint, fullSuite, keyOf, makeDatabase, runCli, tempDir } from "./_helpers.ts";

/** A decision-log row: step, bucket, cost/op, reward, K/Z/t → K/Z/t, action, kind. */
const DECISION_ROW = /^│ +\d[\d,]* │ w\S+% s\S+% +│ +[\d.,e+-]+ │ +-?\d+\.\d{3} │ \d+\/\d+\/\d+ → \d+\/\d+\/\d+ +│ [a-z0-9-]+ +│ (greedy|explore|rollback|safety|recall|dwell) +│$/gm;

/** The lines of `text` from the line `title` up to the next section (a line that is not a table row). */
function sectionOf(text: string, title: string): string {
  const lines = text.split("\n");
  const start = lines.indexOf(title);
  assert.notEqual(start, -1, `no section "${title}" in:\n${text}`);
  let end = start + 1;
  while (end < lines.length && /^[┌│└]/.test(lines[end]!)) end++;
  return lines.slice(start, end).join("\n");
}

describe("auradb stats: the Compaction section", { skip: !fullSuite }, () => {
  const temp = tempDir();
  const learnedDir = join(temp.dir, "learned");
  const leveledDir = join(temp.dir, "leveled");
  /** stats() of the learned database just before it closed: the decision log lives in memory only. */
  let liveStats: DbStats;

  before(async () => {
    const db = await AuraDB.open(learnedDir, { compaction: "learned", compactionAgent: { windowOperations: 50 }, memtableBytes: 64 * 1024 });
    for (let index = 0; index < 3000; index++) await db.put(keyOf((index * 7919) % 3000), `value-${index}-`.repeat(4));
    for (let index = 0; index < 500; index++) await db.get(keyOf(index * 5));
    liveStats = db.stats();
    await db.close();
    await makeDatabase(leveledDir, 500);
  });
  after(() => temp.cleanup());

  it("formats the agent's decision log, newest last, at most 16 rows", async () => {
    const agent = liveStats.compaction.agent;
    assert.ok(agent !== null && agent.decisions.length > 0, "the agent decided nothing");
    const text = stripVTControlCharacters(await formatStats(liveStats));
    assert.match(sectionOf(text, "Compaction"), /│ policy +│ learned \(/);
    const agentRows = sectionOf(text, "Compaction agent");
    assert.match(agentRows, new RegExp(`│ workload \\(the agent's state\\) +│ ${agent.state!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(writes `));
    const { runsUpper, runsLast, l0Trigger } = agent.config;
    assert.match(agentRows, new RegExp(`│ shape in force \\(K/Z/t\\) +│ ${runsUpper}/${runsLast}/${l0Trigger}: `));
    assert.match(agentRows, new RegExp(`│ last action +│ ${agent.lastAction} \\(${agent.lastKind}\\)`));
    assert.match(agentRows, new RegExp(`│ windows +│ ${agent.windows} `));
    assert.match(agentRows, /│ exploration rate +│ \d+\.\d % /);
    assert.match(agentRows, /│ state file +│ fresh, \d+ saves? since open/);
    const log = sectionOf(text, agent.decisions.length > 16 ? `Decision log (newest last; ${agent.decisions.length - 16} earlier in --json)` : "Decision log (newest last)");
    const rows = log.match(DECISION_ROW) ?? [];
    const shown = agent.decisions.slice(-16);
    assert.equal(rows.length, shown.length, log);
    const newest = shown[shown.length - 1]!;
    const lastRow = rows[rows.length - 1]!;
    assert.match(lastRow, new RegExp(`^│ +${newest.step} │`));
    assert.ok(lastRow.includes(` ${newest.reward.toFixed(3)} │`), lastRow);
    assert.ok(lastRow.includes(` ${newest.before.runsUpper}/${newest.before.runsLast}/${newest.before.l0Trigger} → ${newest.after.runsUpper}/${newest.after.runsLast}/${newest.after.l0Trigger} `), lastRow);
    assert.ok(lastRow.includes(`│ ${newest.action} `) && lastRow.includes(`│ ${newest.kind} `), lastRow);
    // The generic dump of unknown sections no longer shows it.
    assert.doesNotMatch(text, /^compaction$/m);
    assert.doesNotMatch(text, /agent\.decisions/);
  });

  it("a learned database: policy, shape, runs per level and the agent, without changing the database", async () => {
    const untouched = fingerprint(learnedDir);
    const result = await runCli(["stats", learnedDir]);
    assert.equal(result.code, 0, result.stderr);
    const text = result.stdout;
    const json = JSON.parse((await runCli(["stats", learnedDir, "--json"])).stdout) as DbStats;
    const { compaction } = json;
    assert.equal(compaction.policy, "learned");
    assert.ok(compaction.agent !== null);
    const shape = compaction.shape;
    const head = sectionOf(text, "Compaction");
    assert.match(head, /│ policy +│ learned \(an agent re-shapes the tree for the measured workload\)/);
    assert.ok(
      head.includes(
        `${shape.runsUpper} run${shape.runsUpper === 1 ? "" : "s"} per level above the last, ${shape.runsLast} at the last, L0 trigger ${shape.l0Trigger} (slowdown ${shape.l0SlowdownTrigger}, stop ${shape.l0StopTrigger}), size ratio ${shape.sizeRatio}`,
      ),
      head,
    );
    assert.match(head, new RegExp(`│ runs a read may probe +│ ${compaction.runsPerRead} `));
    assert.match(head, /│ level │ runs │ tables │ +bytes │ target bytes │/);
    assert.match(head, /│ L0 +│ +\d+ │ +\d+ │ +[\d.]+ (B|KiB|MiB) │ +- │/);
    assert.match(head, /│ L1 +│ +\d+ │ +\d+ │ +[\d.]+ (B|KiB|MiB) │ +10\.0 MiB │/);
    // Restored from the state file: the windows it learned from, the shape it chose; the log is per open.
    const agentRows = sectionOf(text, "Compaction agent");
    assert.match(agentRows, /│ state file +│ restored, 0 saves since open/);
    assert.match(agentRows, new RegExp(`│ windows +│ ${compaction.agent.windows} `));
    assert.ok(compaction.agent.windows >= 50, `windows ${compaction.agent.windows}`);
    const { runsUpper, runsLast, l0Trigger } = compaction.agent.config;
    assert.match(agentRows, new RegExp(`│ shape in force \\(K/Z/t\\) +│ ${runsUpper}/${runsLast}/${l0Trigger}: `));
    assert.match(text, /Decision log\nNo decision since open/);
    assert.match(text, /shown as 'learned' because COMPACTION-AGENT/);
    assert.equal(fingerprint(learnedDir), untouched, "stats changed the database");
  });

  it("the default policy: 'leveled', no agent", async () => {
    const untouched = fingerprint(leveledDir);
    const result = await runCli(["stats", leveledDir, "--deep"]);
    assert.equal(result.code, 0, result.stderr);
    const head = sectionOf(result.stdout, "Compaction");
    assert.match(head, /│ policy +│ leveled \(one sorted run per level\)/);
    assert.match(head, /│ shape +│ 1 run per level above the last, 1 at the last, L0 trigger 4 \(slowdown 8, stop 12\), size ratio 10 /);
    assert.match(head, /│ last compaction +│ - \(none since open\)/);
    assert.match(head, /│ L0 +│ +\d+ │ +\d+ │ .* │ +- │/);
    assert.doesNotMatch(result.stdout, /Compaction agent|Decision log|workload \(the agent's state\)/);
    assert.match(result.stdout, /shown is the default/);
    const json = JSON.parse((await runCli(["stats", leveledDir, "--json"])).stdout) as DbStats;
    assert.equal(json.compaction.policy, "leveled");
    assert.equal(json.compaction.agent, null);
    assert.equal(fingerprint(leveledDir), untouched, "stats changed the database");
  });
});
