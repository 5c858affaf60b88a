import { afterAll, expect, test } from "bun:test";
import { closeSync, linkSync, lstatSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrnoError } from "./libc.ts";
import { pathExists, statFd, statPath, statTimes, typeAt } from "./stat.ts";

const dir = mkdtempSync(join(tmpdir(), "cnits-stat-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("statPath gives node:fs's inode and mode, and one dev for one file system", () => {
  const a = join(dir, "a");
  const b = join(dir, "b");
  writeFileSync(a, "x", { mode: 0o640 });
  writeFileSync(b, "y");
  const st = statPath(a);
  expect(st.ino).toBe(statSync(a).ino);
  expect(st.mode).toBe(statSync(a).mode);
  expect(statPath(b).dev).toBe(st.dev);
  expect(statPath("/proc/self/ns/net").dev).not.toBe(st.dev);
});

test("statPath follows a symlink unless follow: false", () => {
  const target = join(dir, "t");
  const link = join(dir, "l");
  writeFileSync(target, "");
  symlinkSync(target, link);
  expect(statPath(link).ino).toBe(statSync(target).ino);
  expect(statPath(link, { follow: false }).ino).toBe(lstatSync(link).ino);
});

test("statPath throws ErrnoError with the code; pathExists says yes or no", () => {
  expect(() => statPath(join(dir, "none"))).toThrow(ErrnoError);
  try {
    statPath(join(dir, "none"));
  } catch (e) {
    expect((e as ErrnoError).code).toBe("ENOENT");
  }
  expect(pathExists(dir)).toBe(true);
  expect(pathExists(join(dir, "none"))).toBe(false);
  symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
  expect(pathExists(join(dir, "dangling"))).toBe(false);
});

test("statTimes gives node:fs's bigint inode, mtimeNs and ctimeNs", () => {
  const st = statSync(dir, { bigint: true });
  expect(statTimes(dir)).toEqual({ ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs });
  expect(() => statTimes(join(dir, "missing"))).toThrow(ErrnoError);
});

test("statPath and statFd count a file's names; typeAt gives what is there, a symlink as itself, undefined for nothing", () => {
  const f = join(dir, "n");
  writeFileSync(f, "x");
  expect(statPath(f).nlink).toBe(1);
  linkSync(f, join(dir, "n2"));
  expect(statPath(f).nlink).toBe(2);
  const fd = openSync(f, "r");
  try {
    expect(statFd(fd).nlink).toBe(2);
  } finally {
    closeSync(fd);
  }
  symlinkSync(dir, join(dir, "dl"));
  expect([typeAt(f), typeAt(dir), typeAt(join(dir, "dl")), typeAt(join(dir, "none"))]).toEqual([0o100000, 0o040000, 0o120000, undefined]);
});
