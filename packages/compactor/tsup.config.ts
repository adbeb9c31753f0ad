import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

/** Two entries: the decisions (what the engine imports) and the offline simulator. */
export default defineConfig(packageConfig({ index: "src/index.ts", simulator: "src/simulator/index.ts" }));
