/**
 * The self-contained HTML report of `auradb bench --report out.html`: inline CSS and SVG, no
 * script that runs and nothing fetched, so it opens offline and can be attached to an issue. One
 * bar chart per workload (ops/s per engine), the result table, the machine and runtime, and the
 * raw results as JSON in `<script type="application/json" id="auradb-bench-data">`, the same
 * document `--json` prints, so the charts can be checked against it.
 */
import type { BenchReport, LatencySummary, WorkloadResult } from "./commands/bench.ts";

const PALETTE = ["#6d28d9", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#64748b"];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** JSON safe inside a script element: `<` is escaped, so `</script>` in a string cannot end it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function count(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function latency(summary: LatencySummary | null, which: "p50Us" | "p99Us"): string {
  if (summary === null) return "-";
  const text = `${summary[which].toFixed(1)} µs`;
  return summary.unit === "op" ? text : `${text}/${summary.unit}`;
}

/** A horizontal bar chart of ops/s per engine; each bar carries its value in data attributes. */
function chart(workload: string, rows: readonly WorkloadResult[], colorOf: (engine: string) => string): string {
  const barHeight = 22;
  const gap = 8;
  const labelWidth = 130;
  const valueWidth = 110;
  const plotWidth = 420;
  const height = rows.length * (barHeight + gap) + gap;
  const width = labelWidth + plotWidth + valueWidth;
  const maximum = Math.max(1, ...rows.map((row) => row.opsPerSecond));
  const bars = rows.map((row, index) => {
    const y = gap + index * (barHeight + gap);
    const length = Math.max(1, (row.opsPerSecond / maximum) * plotWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + barHeight * 0.7}" text-anchor="end">${escapeHtml(row.engine)}</text>`,
      `<rect class="bar" data-engine="${escapeHtml(row.engine)}" data-ops-per-second="${row.opsPerSecond}" x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${colorOf(row.engine)}"><title>${escapeHtml(row.engine)}: ${count(row.opsPerSecond)} ops/s</title></rect>`,
      `<text x="${labelWidth + length + 6}" y="${y + barHeight * 0.7}">${count(row.opsPerSecond)}</text>`,
    ].join("");
  });
  return `<figure class="chart" data-workload="${escapeHtml(workload)}"><figcaption>${escapeHtml(workload)} <span>ops/s, longer is better</span></figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(workload)}: ops/s per engine">${bars.join("")}</svg></figure>`;
}

/** The whole report as one HTML document. */
export function renderHtmlReport(report: BenchReport): string {
  const engines = report.config.engines;
  const colorOf = (engine: string): string => PALETTE[Math.max(0, engines.indexOf(engine)) % PALETTE.length]!;
  const charts = report.config.workloads.map((workload) => chart(workload, report.results.filter((result) => result.workload === workload), colorOf));
  const rows = report.results.map((result) => {
    const cells = [
      result.workload,
      result.engine + (result.verified ? "" : " ✗"),
      count(result.opsPerSecond),
      result.mbPerSecond === null ? "-" : result.mbPerSecond.toFixed(1),
      latency(result.latency, "p50Us"),
      latency(result.latency, "p99Us"),
      result.writeAmplification === null ? "-" : `${result.writeAmplification.toFixed(2)}${result.writeAmplificationSource === "disk" ? " (disk)" : ""}`,
      result.note ?? "",
    ];
    return `<tr${result.verified ? "" : ' class="failed"'}>${cells.map((cell, index) => `<td${index >= 2 && index <= 6 ? ' class="number"' : ""}>${escapeHtml(cell)}</td>`).join("")}</tr>`;
  });
  const machine = report.machine;
  const engineList = report.engines.map((engine) => `<li><b style="color:${colorOf(engine.name)}">${escapeHtml(engine.name)}</b> ${escapeHtml(engine.version ?? "")}: ${escapeHtml(engine.notes)}</li>`);
  const skipped = report.skipped.map((entry) => `<li>${escapeHtml(entry.reason)}</li>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>auradb bench — ${escapeHtml(report.startedAt)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #1f2937; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 1rem; }
  figure.chart { margin: 0; border: 1px solid #e5e7eb; border-radius: 6px; padding: .5rem .75rem; overflow-x: auto; }
  figcaption { font-weight: 600; } figcaption span { font-weight: 400; color: #6b7280; font-size: .85em; }
  svg text { font: 12px system-ui, sans-serif; fill: #374151; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .5rem; text-align: left; }
  td.number { text-align: right; } tr.failed td { color: #b91c1c; }
  .meta { color: #4b5563; } code { background: #f3f4f6; padding: 0 .2rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>auradb bench</h1>
<p class="meta">${count(report.config.num)} keys of ${report.config.keySize} B, values of ${report.config.valueSize} B; ${escapeHtml(report.startedAt)}; @auradb/cli ${escapeHtml(report.version)}</p>
<p class="meta">${machine.cpus} × ${escapeHtml(machine.cpuModel)}, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM (${(machine.freeMemoryBytes / 2 ** 30).toFixed(1)} GiB free), ${escapeHtml(machine.os)}, ${escapeHtml(machine.runtime)}</p>
<h2>Throughput per workload</h2>
<div class="charts">
${charts.join("\n")}
</div>
<h2>Results</h2>
<table>
<thead><tr><th>workload</th><th>engine</th><th>ops/s</th><th>MB/s</th><th>p50</th><th>p99</th><th>write amp</th><th>note</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
<p class="meta">Latency: one operation in ${report.config.sampleEvery} is timed alone; the fills time every batch, seekrandom a seek and the entries read after it. Write amplification: AuraDB's own byte counters over the workload (WAL + value log + flushes + compactions, divided by user bytes); "(disk)": bytes on disk after the fill divided by the user bytes of the fill, for engines that do not count their writes.</p>
<h2>Engines</h2>
<ul>
${engineList.join("\n")}
</ul>
${skipped.length > 0 ? `<h2>Skipped</h2>\n<ul>\n${skipped.join("\n")}\n</ul>` : ""}
<script type="application/json" id="auradb-bench-data">
${scriptJson(report)}
</script>
</body>
</html>
`;
}
