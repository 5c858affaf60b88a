import { afterEach, beforeEach, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../sys/libc.ts";
import * as stateFile from "../sys/state-file.ts";
import { OwnerIndex } from "./_owner-index.ts";

let root = "";
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "cnits-index-"));
  mkdirSync(join(root, "net1"));
  mkdirSync(join(root, "index"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test("a flush unlinks the old stamp once, and no stamp is there while a bucket is written", () => {
  const dir = join(root, "net1");
  const stamp = join(root, "index", "net1.stamp");
  // A stamp the directory does not match, of this kernel with fine timestamps: the first
  // flush writes every bucket (no probe, no wait), the second appends to one.
  writeFileSync(stamp, `cni-ts host-local index 3 0 0 0 0 ${release()} fine ${"0 ".repeat(256)}end\n`);
  const [writeBucket, appendBucket] = [stateFile.writeStateFile, stateFile.appendStateFile];
  const stampThere: boolean[] = [];
  const spies = [
    spyOn(libc, "unlink"),
    spyOn(stateFile, "writeStateFile").mockImplementation((...a) => (stampThere.push(existsSync(stamp)), writeBucket(...a))),
    spyOn(stateFile, "appendStateFile").mockImplementation((...a) => (stampThere.push(existsSync(stamp)), appendBucket(...a))),
  ];
  try {
    for (const n of [5, 6]) {
      const index = OwnerIndex.load(dir, join(root, "index", "net1"));
      writeFileSync(join(dir, `10.0.0.${n}`), `c${n}\r\neth0`);
      index.set(`10.0.0.${n}`, `c${n}\r\neth0`);
      index.flush(() => {});
      expect(spies[0]!.mock.calls.filter(([p]) => p === stamp).length).toBe(n - 4);
      expect(existsSync(stamp)).toBe(true);
    }
    expect([spies[1]!.mock.calls.length, spies[2]!.mock.calls.length]).toEqual([1, 1]);
    expect(stampThere.every((there) => !there)).toBe(true);
    const index = OwnerIndex.load(dir, join(root, "index", "net1"));
    expect([index.addressesOf("c5\r\neth0"), index.addressesOf("c6\r\neth0")]).toEqual([["10.0.0.5"], ["10.0.0.6"]]);
  } finally {
    for (const s of spies) s.mockRestore();
  }
});
