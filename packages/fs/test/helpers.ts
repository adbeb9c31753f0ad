/** Helpers shared by the fs tests (not a test file). */
import assert from "node:assert/strict";

/** Bytes as lowercase hex, for readable assertion messages. */
export const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

/** Awaits `action`, which must fail; returns the error for further checks. */
export async function failure(action: () => Promise<unknown> | unknown): Promise<Record<string, unknown>> {
  try {
    await action();
  } catch (error) {
    return error as Record<string, unknown>;
  }
  assert.fail("expected an error");
}
