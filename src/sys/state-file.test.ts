import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "./libc.ts";
import {
  appendStateFile,
  createStateFile,
  ensureStateDir,
  readStateFile,
  removeStateFile,
  rewriteStateFile,
  writeStateFile,
  writeTempFile,
} from "./state-file.ts";

let dir: string;
let victim: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cni-state-"));
  victim = join(dir, "victim");
  writeFileSync(victim, "precious\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const untouched = () => expect(readFileSync(victim, "utf8")).toBe("precious\n");

describe("state files never follow a planted symlink", () => {
  test("writeStateFile replaces a link at its name, 0600, and leaves no temp file", () => {
    const path = join(dir, "state");
    symlinkSync(victim, path);
    writeStateFile(path, "new");
    untouched();
    expect(lstatSync(path).isFile()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(readdirSync(dir).sort()).toEqual(["state", "victim"]);
  });

  test("a dangling link is not created through either", () => {
    const path = join(dir, "state");
    symlinkSync(join(dir, "made-by-link"), path);
    writeStateFile(path, "x");
    expect(existsSync(join(dir, "made-by-link"))).toBe(false);
  });

  test("createStateFile fails with EEXIST on a link, a file or a FIFO, and writes nothing", () => {
    symlinkSync(victim, join(dir, "l"));
    spawnSync("mkfifo", [join(dir, "fifo")]);
    for (const name of ["l", "victim", "fifo"]) expect(() => createStateFile(join(dir, name), "x")).toThrow(/EEXIST/);
    untouched();
  });

  test("appendStateFile refuses a link and a FIFO without blocking", () => {
    symlinkSync(victim, join(dir, "l"));
    spawnSync("mkfifo", [join(dir, "fifo")]);
    expect(() => appendStateFile(join(dir, "l"), "x")).toThrow();
    expect(() => appendStateFile(join(dir, "fifo"), "x")).toThrow();
    mkdirSync(join(dir, "d"));
    expect(() => appendStateFile(join(dir, "d"), "x")).toThrow();
    expect(() => appendStateFile(join(dir, "no-such-dir", "f"), "x")).toThrow(/^ENOENT: no such file or directory, open /);
    untouched();
    appendStateFile(join(dir, "log"), "a");
    appendStateFile(join(dir, "log"), "b");
    expect(readFileSync(join(dir, "log"), "utf8")).toBe("ab");
  });

  test("readStateFile reads a link, a FIFO and a directory as absent (no blocking), a file as its text", () => {
    symlinkSync(victim, join(dir, "l"));
    spawnSync("mkfifo", [join(dir, "fifo")]);
    mkdirSync(join(dir, "d"));
    for (const name of ["l", "fifo", "d", "missing"]) expect(readStateFile(join(dir, name))).toBeUndefined();
    expect(readStateFile(victim)).toBe("precious\n");
  });

  test("readStateFile decodes as node:fs did: UTF-8 with a byte order mark kept, latin1 on request, any size", () => {
    const f = join(dir, "bom");
    writeFileSync(f, Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0xe9]));
    expect(readStateFile(f)).toBe(readFileSync(f, "utf8"));
    expect(readStateFile(f, "latin1")).toBe(readFileSync(f, "latin1"));
    const big = "x".repeat(200_000);
    writeFileSync(f, big);
    expect(readStateFile(f)).toBe(big);
    // Every byte value, 0x80-0x9f too (where windows-1252 differs from latin1).
    writeFileSync(f, Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    expect(readStateFile(f, "latin1")).toBe(readFileSync(f, "latin1"));
    writeFileSync(f, "ascii only\t\n");
    expect(readStateFile(f, "latin1")).toBe("ascii only\t\n");
  });

  test("rewriteStateFile replaces a file or a planted link at its name, never writing through the link", () => {
    const path = join(dir, "hint");
    rewriteStateFile(path, "10.1.2.3");
    expect(readFileSync(path, "utf8")).toBe("10.1.2.3");
    rewriteStateFile(path, "10.1.2.40");
    rewriteStateFile(path, "10.1.2.5");
    expect(readFileSync(path, "utf8")).toBe("10.1.2.5");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    rmSync(path);
    symlinkSync(victim, path);
    rewriteStateFile(path, "x");
    untouched();
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(path, "utf8")).toBe("x");
    expect(readdirSync(dir).sort()).toEqual(["hint", "victim"]);
  });

  test("rewriteStateFile writes a plain file in place (never removed, old tail cut), never a file with another name or a FIFO", () => {
    const path = join(dir, "hint");
    rewriteStateFile(path, "10.1.2.40");
    const unlink = spyOn(libc, "unlink");
    try {
      rewriteStateFile(path, "10.1.2.5");
      expect(readFileSync(path, "utf8")).toBe("10.1.2.5");
      rewriteStateFile(path, "10.1.2.100");
      expect(readFileSync(path, "utf8")).toBe("10.1.2.100");
      expect(unlink).not.toHaveBeenCalled();
    } finally {
      unlink.mockRestore();
    }
    // A second name (a hard link planted to a file elsewhere): the name is replaced, the file untouched.
    rmSync(path);
    linkSync(victim, path);
    rewriteStateFile(path, "x");
    untouched();
    expect([statSync(path).nlink, readFileSync(path, "utf8")]).toEqual([1, "x"]);
    // A FIFO neither blocks the write nor is written.
    rmSync(path);
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    rewriteStateFile(path, "y");
    expect([lstatSync(path).isFile(), readFileSync(path, "utf8")]).toEqual([true, "y"]);
  });

  test("writes go through libc, failures still read as node:fs words them", () => {
    const missing = join(dir, "no-such-dir", "f");
    expect(() => createStateFile(missing, "x")).toThrow(`ENOENT: no such file or directory, open '${missing}'`);
    expect(() => ensureStateDir(join(victim, "sub"))).toThrow(/^ENOTDIR: not a directory, mkdir /);
    const deep = join(dir, "a", "b", "c");
    expect(ensureStateDir(deep, "d")).toBe(join(deep, "d"));
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o700);
    writeStateFile(join(deep, "d", "s"), "state");
    expect(readStateFile(join(deep, "d", "s"))).toBe("state");
  });

  test("writeTempFile skips a name that is taken", () => {
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) names.add(writeTempFile(dir, "t"));
    expect(names.size).toBe(20);
    for (const n of names) expect(lstatSync(n).isFile()).toBe(true);
  });

  test("ensureStateDir makes 0700 subdirs and refuses a symlinked or non-directory one", () => {
    const made = ensureStateDir(join(dir, "root"), "a", "b");
    expect(statSync(made).mode & 0o777).toBe(0o700);
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "root", "link"));
    expect(() => ensureStateDir(join(dir, "root"), "link")).toThrow(/a symlink where a directory should be/);
    writeFileSync(join(dir, "root", "file"), "");
    expect(() => ensureStateDir(join(dir, "root"), "file")).toThrow(/not a directory/);
    // The configured root itself may be a link an administrator made.
    symlinkSync(join(dir, "elsewhere"), join(dir, "admin-link"));
    expect(ensureStateDir(join(dir, "admin-link"), "x")).toBe(join(dir, "admin-link", "x"));
    // A link or a file below a subdir that is there is refused too, and one missing is made below those that are.
    symlinkSync(join(dir, "elsewhere"), join(made, "link"));
    expect(() => ensureStateDir(join(dir, "root"), "a", "b", "link")).toThrow(/a symlink where a directory should be/);
    expect(() => ensureStateDir(join(dir, "root"), "file", "c")).toThrow(/not a directory/);
    expect(ensureStateDir(join(dir, "root"), "a", "b", "c")).toBe(join(made, "c"));
    expect(statSync(join(made, "c")).mode & 0o777).toBe(0o700);
  });

  test("ensureStateDir finds a tree that is there with no mkdir (each one's EEXIST costs an error object)", () => {
    ensureStateDir(join(dir, "root"), "a", "b");
    const mkdir = spyOn(libc, "mkdir");
    try {
      expect(ensureStateDir(join(dir, "root"), "a", "b")).toBe(join(dir, "root", "a", "b"));
      expect(mkdir).not.toHaveBeenCalled();
    } finally {
      mkdir.mockRestore();
    }
  });

  test("removeStateFile removes a link, never its target", () => {
    symlinkSync(victim, join(dir, "l"));
    removeStateFile(join(dir, "l"));
    removeStateFile(join(dir, "l"));
    untouched();
    expect(existsSync(join(dir, "l"))).toBe(false);
  });
});
