// The simulated file systems pass the same conformance suite as the real adapters, so the
// crash and fault tests built on them cannot drift from real behaviour.
import { fsConformance } from "../src/conformance.ts";
import { FaultFs } from "../src/faultfs.ts";
import { MemFs } from "../src/memfs.ts";

fsConformance({
  name: "MemFs",
  factory: async () => {
    const fs = new MemFs();
    await fs.mkdir("/work");
    return { fs, root: "/work" };
  },
});

fsConformance({
  name: "FaultFs(MemFs) with no rules",
  factory: async () => {
    const memory = new MemFs();
    await memory.mkdir("/work");
    return { fs: new FaultFs(memory), root: "/work" };
  },
});
