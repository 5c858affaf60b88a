import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLock } from "./lock.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cnits-lock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("creates the lock file and excludes a second holder until unlocked", () => {
  const path = join(dir, "lock");
  using a = FileLock.open(path);
  using b = FileLock.open(path);
  expect(existsSync(path)).toBe(true);
  a.lock();
  expect(a.locked).toBe(true);
  expect(b.tryLock()).toBe(false);
  a.unlock();
  expect(b.tryLock()).toBe(true);
  b.unlock();
});

test("close drops the lock and is idempotent; a closed lock refuses use", () => {
  const path = join(dir, "lock");
  const a = FileLock.open(path);
  a.lock();
  a.close();
  a.close();
  using b = FileLock.open(path);
  expect(b.tryLock()).toBe(true);
  expect(() => a.lock()).toThrow(/already closed/);
});

test("excludes another process holding the same file with flock(1)", () => {
  const path = join(dir, "lock");
  // flock(1) is util-linux's wrapper around flock(2): the same call go-filemutex makes.
  const child = Bun.spawn(["flock", path, "sleep", "2"]);
  try {
    using a = FileLock.open(path);
    const deadline = Date.now() + 2000;
    while (a.tryLock()) {
      a.unlock();
      if (Date.now() > deadline) throw new Error("flock(1) never took the lock");
      Bun.sleepSync(10);
    }
    expect(a.locked).toBe(false);
  } finally {
    child.kill();
  }
});

test("open fails with ErrnoError when the directory is missing", () => {
  expect(() => FileLock.open(join(dir, "nope", "lock"))).toThrow(/ENOENT/);
});
