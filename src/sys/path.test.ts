import { expect, test } from "bun:test";
import { posix } from "node:path";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "./path.ts";

const PATHS = [
  "",
  ".",
  "./",
  "..",
  "../",
  "/",
  "//",
  "///a//b/",
  "a",
  "a/",
  "a/b",
  "a/../b",
  "a/..",
  "a/../",
  "../a/../..",
  "/..",
  "/../a",
  "/a/./b/.",
  "a/b/../../..",
  "./a/",
  "/tmp/x/../y/",
  "a//b",
  ".hidden/.x",
  "..a/b..",
  "/run/cni/tuning/c_eth0.json",
];

test("normalize is node:path's posix.normalize", () => {
  for (const p of PATHS) expect([p, normalize(p)]).toEqual([p, posix.normalize(p)]);
});

test("join is node:path's posix.join", () => {
  for (const a of PATHS) for (const b of ["", "..", "x", "/y/", "c_eth0.json", "../z"]) expect([a, b, join(a, b)]).toEqual([a, b, posix.join(a, b)]);
  expect(join()).toBe(posix.join());
  expect(join("/a", "", "b", "..", "c")).toBe(posix.join("/a", "", "b", "..", "c"));
});

test("dirname, basename and isAbsolute are node:path's posix ones", () => {
  for (const p of [...PATHS, "//a", "//a/b", "a//b", "a/b//", "/a//", "///", "x"]) {
    expect([p, dirname(p)]).toEqual([p, posix.dirname(p)]);
    expect([p, basename(p)]).toEqual([p, posix.basename(p)]);
    expect([p, isAbsolute(p)]).toEqual([p, posix.isAbsolute(p)]);
  }
});

test("resolve is node:path's posix.resolve", () => {
  for (const a of PATHS) {
    expect([a, resolve(a)]).toEqual([a, posix.resolve(a)]);
    for (const b of ["", "..", "x", "/y/", "../z", "/"]) expect([a, b, resolve(a, b)]).toEqual([a, b, posix.resolve(a, b)]);
  }
  expect(resolve()).toBe(posix.resolve());
});
