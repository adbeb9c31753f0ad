/**
 * Path helpers for `/`-separated paths. No runtime imports: usable in any environment.
 */

/** Joins path parts with `/`, collapsing repeated separators (a leading `/` is kept). */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((part) => part.length > 0).join("/");
  return joined.replace(/\/{2,}/g, "/");
}

/** The directory part of `path` (`"."` for a bare name, `"/"` for a root entry). */
export function dirname(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const index = trimmed.lastIndexOf("/");
  if (index < 0) return ".";
  if (index === 0) return "/";
  return trimmed.slice(0, index);
}

/** The last part of `path`. */
export function basename(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
