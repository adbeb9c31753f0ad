import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { basename, dirname, joinPath } from "../src/path.ts";

/** One path segment: non-empty, no separator. */
const segment = fc.string({ minLength: 1, maxLength: 8 }).filter((value) => !value.includes("/"));
/** A relative or absolute path of 1 to 5 segments, without repeated or trailing separators. */
const path = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 }))
  .map(([absolute, segments]) => (absolute ? "/" : "") + segments.join("/"));
/** Any part, including empty strings and stray separators. */
const part = fc.string({ maxLength: 8, unit: fc.constantFrom("a", "b", "/", ".") });

describe("joinPath", () => {
  it("joins with one separator, skips empty parts, keeps a leading /", () => {
    assert.equal(joinPath("a", "b", "c"), "a/b/c");
    assert.equal(joinPath("/data", "db", "LOCK"), "/data/db/LOCK");
    assert.equal(joinPath("/data/", "/db/", "LOCK"), "/data/db/LOCK");
    assert.equal(joinPath("a", "", "b"), "a/b");
    assert.equal(joinPath("/", "a"), "/a");
    assert.equal(joinPath(), "");
  });

  it("never yields a repeated separator", () => {
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), (parts) => !joinPath(...parts).includes("//")));
  });

  it("is associative: joinPath(joinPath(a, b), c) === joinPath(a, b, c)", () => {
    fc.assert(fc.property(part, part, part, (a, b, c) => joinPath(joinPath(a, b), c) === joinPath(a, b, c)));
  });

  it("of segments is the segments joined with /", () => {
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => joinPath(...segments) === segments.join("/")));
  });
});

describe("dirname and basename", () => {
  it("examples", () => {
    assert.equal(dirname("/a/b/c"), "/a/b");
    assert.equal(dirname("/a"), "/");
    assert.equal(dirname("/"), "/");
    assert.equal(dirname("a"), ".");
    assert.equal(dirname("a/b/"), "a", "a trailing separator is ignored");
    assert.equal(basename("/a/b/c"), "c");
    assert.equal(basename("a"), "a");
    assert.equal(basename("a/b/"), "b");
  });

  it("undo joinPath: dirname(joinPath(p, s)) === p and basename(...) === s", () => {
    fc.assert(
      fc.property(path, segment, (parent, name) => {
        const joined = joinPath(parent, name);
        return dirname(joined) === parent && basename(joined) === name;
      }),
    );
  });

  it("a bare name has dirname '.' and is its own basename", () => {
    fc.assert(fc.property(segment, (name) => dirname(name) === "." && basename(name) === name));
  });

  it("joinPath(dirname(p), basename(p)) === p for paths below a directory", () => {
    fc.assert(
      fc.property(path, (value) => {
        const parent = dirname(value);
        return parent === "." || joinPath(parent, basename(value)) === value;
      }),
    );
  });
});
