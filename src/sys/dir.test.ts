import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDirNames } from "./dir.ts";

const dir = mkdtempSync(join(tmpdir(), "cnits-dir-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("readDirNames lists what readdirSync does, of any size and kind of name; undefined past a limit", () => {
  const d = join(dir, "many");
  mkdirSync(d);
  expect(readDirNames(d)).toEqual([]);
  const made = ["lock", "last_reserved_ip.0", "x\u00e9\u2028", ".hidden", "2001:db8::1"];
  for (let i = 0; i < 1200; i++) made.push(`10.${i >> 8}.${i & 255}.${i % 7}`);
  for (const n of made) writeFileSync(join(d, n), "");
  mkdirSync(join(d, "sub"));
  symlinkSync("/nowhere", join(d, "link"));
  const all = readDirNames(d)!;
  expect(all.sort()).toEqual(readdirSync(d).sort());
  expect(all.length).toBe(made.length + 2);
  expect(readDirNames(d, 10)).toBeUndefined();
  expect(readDirNames(d, all.length)?.length).toBe(all.length);
  expect(readDirNames(d, all.length - 1)).toBeUndefined();
  expect(() => readDirNames(join(d, "lock"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  expect(() => readDirNames(join(dir, "none"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
});
