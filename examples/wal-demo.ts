/**
 * The Quick start's main job, until the engine lands: a write-ahead log that is killed mid-stream
 * and recovers every acknowledged write.
 *
 *   1. a child process appends durable records (sync: 'always', 16 concurrent writers) to a log
 *      on disk and reports each acknowledged LSN;
 *   2. the parent kills it with SIGKILL at a random moment;
 *   3. the parent reopens the log, replays it, and checks that every acknowledged record is
 *      there, byte for byte, with nothing after a gap;
 *   4. then the same on the simulated disk with a power cut that drops unsynced bytes.
 *
 * Run: `npm run demo` (or `node examples/wal-demo.ts [--dir D] [--records N]`).
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wal } from "@auradb/wal";
import { MemFs } from "@auradb/fs/testing";

const WRITERS = 16;

/** The record with LSN `lsn`: its own bytes, so the check needs nothing from the child. */
function recordFor(lsn: number): Uint8Array {
  const text = `record ${lsn} `.padEnd(40 + (lsn % 200), String.fromCharCode(97 + (lsn % 26)));
  return new TextEncoder().encode(text);
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function child(dir: string, records: number): Promise<void> {
  const wal = await Wal.open({ dir, sync: "always" });
  let next = wal.nextLsn;
  const writer = async () => {
    while (next <= records) {
      const expected = next++;
      const lsn = await wal.append(recordFor(expected));
      if (lsn !== expected) throw new Error(`LSN ${lsn}, expected ${expected}`);
      process.stdout.write(`A ${lsn}\n`);
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  await wal.close();
  process.stdout.write("DONE\n");
}

async function parent(): Promise<void> {
  const dir = argument("--dir") ?? join(await mkdtemp(join(tmpdir(), "auradb-demo-")), "wal");
  const records = Number(argument("--records") ?? 200_000);
  const killAfterMs = 300 + Math.floor(Math.random() * 700);
  console.log(`AuraDB WAL demo\n  log directory: ${dir}`);
  console.log(`1. a child process appends up to ${records} durable records with ${WRITERS} concurrent writers`);

  const script = fileURLToPath(import.meta.url);
  const started = performance.now();
  const writer = spawn(process.execPath, [script, "--child", dir, String(records)], { stdio: ["ignore", "pipe", "inherit"] });
  let acknowledged = 0;
  let buffered = "";
  writer.stdout.setEncoding("utf8");
  writer.stdout.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith("A ")) acknowledged = Math.max(acknowledged, Number(line.slice(2)));
  });
  const timer = setTimeout(() => writer.kill("SIGKILL"), killAfterMs);
  const signal = await new Promise<string | null>((resolve) => writer.on("close", (_code, killed) => resolve(killed)));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  console.log(`2. killed with ${signal ?? "no signal (it finished)"} after ${seconds.toFixed(2)} s; it had acknowledged ${acknowledged} records`);

  const openedAt = performance.now();
  const wal = await Wal.open({ dir });
  const openMs = performance.now() - openedAt;
  let survived = 0;
  for await (const { lsn, data } of wal.replay()) {
    const expected = recordFor(lsn);
    if (lsn !== survived + 1 || data.length !== expected.length || data.some((byte, index) => byte !== expected[index])) {
      throw new Error(`record ${lsn} is not what was written`);
    }
    survived = lsn;
  }
  for (const event of wal.recovery.events) {
    console.log(`   recovery: ${event.kind} in ${event.path.split("/").pop()} at offset ${event.offset}, ${event.bytesDropped} bytes cut (${event.reason})`);
  }
  console.log(`3. reopened in ${openMs.toFixed(1)} ms: ${survived} records survived, in order, byte for byte`);
  if (survived < acknowledged) throw new Error(`LOST ${acknowledged - survived} acknowledged records`);
  console.log(`   every acknowledged record is there (${survived - acknowledged} more were written but not yet acknowledged)`);
  await wal.close();

  console.log("4. a power cut on the simulated disk: unsynced bytes are lost or torn, synced ones stay");
  const disk = new MemFs();
  const simulated = await Wal.open({ dir: "/demo/wal", fs: disk, sync: "none" });
  for (let lsn = 1; lsn <= 1000; lsn++) await simulated.append(recordFor(lsn));
  await simulated.sync(); // records 1..1000 are durable now
  for (let lsn = 1001; lsn <= 1500; lsn++) await simulated.append(recordFor(lsn)); // written, not synced
  const image = disk.crash({ mode: "per-file-prefix", seed: Date.now() % 1000 });
  const recovered = await Wal.open({ dir: "/demo/wal", fs: image });
  let count = 0;
  for await (const { lsn } of recovered.replay()) count = lsn;
  console.log(`   1000 synced + 500 unsynced records before the cut; ${count} after it (a prefix: ${count >= 1000 ? "every synced record kept" : "SYNCED DATA LOST"})`);
  await recovered.close();
  console.log(`\nThe log files are in ${dir}`);
}

if (process.argv[2] === "--child") {
  await child(process.argv[3]!, Number(process.argv[4]));
} else {
  await parent();
}
