import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// One bin entry; each command is its own chunk, imported only when that command runs (fast --help).
// No .d.ts: the package exports no API, only the `auradb` command.
export default defineConfig({ ...packageConfig({ cli: "src/cli.ts" }), dts: false });
