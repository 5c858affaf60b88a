import { afterEach, beforeEach, expect, spyOn, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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

/** A stamp the directory does not match, of this kernel with fine timestamps: a flush writes every bucket (no probe, no wait). */
const staleStamp = () => `cni-ts host-local index 3 0 0 0 0 ${release()} fine ${"0 ".repeat(256)}end\n`;

/** Reserves 10.0.0.<n> for c<n> in net1 behind a fresh load of the index, and flushes it. */
function reserveAndFlush(n: number): void {
  const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
  writeFileSync(join(root, "net1", `10.0.0.${n}`), `c${n}\r\neth0`);
  index.set(`10.0.0.${n}`, `c${n}\r\neth0`);
  index.flush(() => {});
}

test("a flush rewrites the stamp in place, and none that would be trusted is there while a bucket is written", () => {
  const stamp = join(root, "index", "net1.stamp");
  writeFileSync(stamp, staleStamp());
  const inode = statSync(stamp).ino;
  const [writeBucket, appendBucket] = [stateFile.writeStateFile, stateFile.appendStateFile];
  const stampSeen: string[] = [];
  const spies = [
    spyOn(libc, "unlink"),
    spyOn(stateFile, "writeStateFile").mockImplementation((...a) => (stampSeen.push(readFileSync(stamp, "utf8")), writeBucket(...a))),
    spyOn(stateFile, "appendStateFile").mockImplementation((...a) => (stampSeen.push(readFileSync(stamp, "utf8")), appendBucket(...a))),
  ];
  try {
    // The first flush writes every bucket, the second appends to one.
    for (const n of [5, 6]) {
      reserveAndFlush(n);
      // Never removed and made again (an inode freed and allocated per command).
      expect(spies[0]!.mock.calls.filter(([p]) => p === stamp)).toEqual([]);
      expect(statSync(stamp).ino).toBe(inode);
      expect(readFileSync(stamp, "utf8")).toEndWith(" end\n");
    }
    expect([spies[1]!.mock.calls.length, spies[2]!.mock.calls.length]).toEqual([1, 1]);
    // Cut to its first byte while the buckets change: no "end", so not trusted by a reader after a crash.
    expect(stampSeen).toEqual(["c", "c"]);
    const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
    expect([index.addressesOf("c5\r\neth0"), index.addressesOf("c6\r\neth0")]).toEqual([["10.0.0.5"], ["10.0.0.6"]]);
  } finally {
    for (const s of spies) s.mockRestore();
  }
});

test("a stamp that cannot be written in place is replaced by name, and none is there while a bucket is written", () => {
  const stamp = join(root, "index", "net1.stamp");
  const victim = join(root, "victim");
  const plants = {
    "a planted link": () => symlinkSync(victim, stamp),
    "a file with a second name": () => {
      rmSync(victim);
      writeFileSync(stamp, staleStamp());
      linkSync(stamp, victim);
    },
  };
  for (const [what, plant] of Object.entries(plants)) {
    writeFileSync(victim, staleStamp());
    rmSync(stamp, { force: true });
    plant();
    const [writeBucket, appendBucket] = [stateFile.writeStateFile, stateFile.appendStateFile];
    const stampThere: boolean[] = [];
    const spies = [
      spyOn(stateFile, "writeStateFile").mockImplementation((...a) => (stampThere.push(existsSync(stamp)), writeBucket(...a))),
      spyOn(stateFile, "appendStateFile").mockImplementation((...a) => (stampThere.push(existsSync(stamp)), appendBucket(...a))),
    ];
    try {
      reserveAndFlush(5);
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect([what, stampThere.length > 0 && stampThere.every((there) => !there)]).toEqual([what, true]);
    expect([what, readFileSync(victim, "utf8")]).toEqual([what, staleStamp()]);
    expect(statSync(stamp).nlink).toBe(1);
    expect(readFileSync(stamp, "utf8")).toEndWith(" end\n");
    rmSync(join(root, "net1", "10.0.0.5"));
  }
});
