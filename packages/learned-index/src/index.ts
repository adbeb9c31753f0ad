export {
  LearnedModel,
  buildGreedyModel,
  buildOptimalModel,
  lowerBound,
  FORMAT_VERSION,
  EPSILON_MAX,
  type BuildOptions,
  type BuilderKind,
  type ModelStats,
  type Window,
} from "./model.ts";
export { type Keys, compareBytes, keyNumber, NUMBER_BYTES } from "./keys.ts";
export { crc32c } from "./crc32c.ts";
export { CorruptionError, ErrorCode, InvalidArgumentError, NotSupportedError } from "./errors.ts";
