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
  // Enough reservations of others for the network to keep its cache (a small one keeps none).
  for (let i = 1; i <= 70; i++) writeFileSync(join(root, "net1", `10.1.0.${i}`), `o${i}\r\neth0`);
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
    // Every bucket written at the first flush, one appended to at the second.
    expect(spies[1]!.mock.calls.length).toBeGreaterThan(20);
    expect(spies[2]!.mock.calls.length).toBe(1);
    // Cut to its first byte while the buckets change: no "end", so not trusted by a reader after a crash.
    expect(new Set(stampSeen)).toEqual(new Set(["c"]));
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

test("a network of fewer than 16 reservations is read whole and keeps no cache; one read whole writes it from 32 on, then uses it", () => {
  for (let i = 1; i <= 70; i++) rmSync(join(root, "net1", `10.1.0.${i}`));
  for (let i = 1; i <= 14; i++) writeFileSync(join(root, "net1", `10.1.0.${i}`), `o${i}\r\neth0`);
  writeFileSync(join(root, "net1", "last_reserved_ip.0"), "10.1.0.14");
  writeFileSync(join(root, "net1", "lock"), "");
  const reads = spyOn(stateFile, "readStateFile");
  try {
    reserveAndFlush(1);
    // Its files (after looking for a stamp, which is not there), no bucket; and nothing written for the cache.
    expect(reads.mock.calls.map(([p]) => p).filter((p) => !p.startsWith(join(root, "net1")))).toEqual([join(root, "index", "net1.stamp")]);
    expect(reads.mock.calls.length).toBe(15);
    expect(existsSync(join(root, "index", "net1.stamp"))).toBe(false);
    const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
    expect([index.addressesOf("c1\r\neth0"), index.addressesOf("o7\r\neth0")]).toEqual([["10.0.0.1"], ["10.1.0.7"]]);
  } finally {
    reads.mockRestore();
  }
  // Read whole up to 31 reservations, the cache not written; at 32 it is.
  for (let n = 2; n <= 18; n++) {
    reserveAndFlush(n);
    expect([n, existsSync(join(root, "index", "net1.stamp"))]).toEqual([n, n === 18]);
  }
  const later = spyOn(stateFile, "readStateFile");
  try {
    const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
    expect(index.addressesOf("c2\r\neth0")).toEqual(["10.0.0.2"]);
    expect(later.mock.calls.map(([p]) => p).filter((p) => p.startsWith(join(root, "net1")))).toEqual([]);
  } finally {
    later.mockRestore();
  }
  // Kept in use while releases bring the network down to 16: each appends to it.
  for (let n = 18; n >= 3; n--) {
    const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
    rmSync(join(root, "net1", `10.0.0.${n}`));
    index.delete(`10.0.0.${n}`, `c${n}\r\neth0`);
    index.flush(() => {});
  }
  const down = spyOn(stateFile, "readStateFile");
  try {
    const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
    expect([index.addressesOf("c2\r\neth0"), index.addressesOf("c20\r\neth0")]).toEqual([["10.0.0.2"], []]);
    expect(down.mock.calls.map(([p]) => p).filter((p) => p.startsWith(join(root, "net1")))).toEqual([]);
  } finally {
    down.mockRestore();
  }
  // Below 16 the stamp goes: the next command reads the files again.
  const index = OwnerIndex.load(join(root, "net1"), join(root, "index", "net1"));
  rmSync(join(root, "net1", "10.0.0.2"));
  index.delete("10.0.0.2", "c2\r\neth0");
  index.flush(() => {});
  expect(existsSync(join(root, "index", "net1.stamp"))).toBe(false);
});
