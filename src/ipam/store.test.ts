import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { basename, join } from "node:path";
import { ipOf } from "../spec/ip.ts";
import * as stateFile from "../sys/state-file.ts";
import { DiskStore, indexDirOf } from "./store.ts";
import { tempDataDir } from "../../test/helpers/data-dir.ts";

let tmp = "";
let dataDir = "";
beforeEach(() => {
  ({ tmp, dataDir } = tempDataDir("cnits-store-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const ip = (s: string) => ipOf(s);

/** Reservations of others in net1, enough for the network to keep its owner index (a small one keeps none). */
function others(n = 70): void {
  mkdirSync(join(dataDir, "net1"), { recursive: true });
  for (let i = 1; i <= n; i++) writeFileSync(join(dataDir, "net1", `10.9.0.${i}`), `other${i}\r\neth0`);
}

describe("DiskStore: the reference's files", () => {
  test("a reservation is <dataDir>/<net>/<ip> holding id CRLF ifname, plus last_reserved_ip.<n> and lock", () => {
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => {
      expect(store.reserve("  ctr-1 ", "eth0", ip("10.0.0.5"), "0")).toBe(true);
      expect(store.reserve("ctr-2", "eth0", ip("2001:db8::5"), "1")).toBe(true);
    });
    const dir = join(dataDir, "net1");
    expect(readdirSync(dir).sort()).toEqual(["10.0.0.5", "2001:db8::5", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
    expect(readFileSync(join(dir, "10.0.0.5"), "utf8")).toBe("ctr-1\r\neth0");
    expect(statSync(join(dir, "10.0.0.5")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "last_reserved_ip.0"), "utf8")).toBe("10.0.0.5");
    expect(readFileSync(join(dir, "last_reserved_ip.1"), "utf8")).toBe("2001:db8::5");
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe("");
  });

  test("the data dir holds only the reference's layout: the owner index lives beside it; an old one inside is removed", () => {
    // Where versions before kept it, with a file of another network that is not ours to remove.
    mkdirSync(join(dataDir, ".cni-ts-index"));
    for (const f of ["net1", "net1.stamp", "net1.tmp"]) writeFileSync(join(dataDir, ".cni-ts-index", f), "old");
    using store = DiskStore.open("net1", dataDir);
    for (let i = 1; i <= 3; i++) store.withLock(() => store.reserve(`c${i}`, "eth0", ip(`10.0.0.${i}`), "0"));
    store.withLock(() => expect(store.getByID("c2", "eth0")).toEqual(["10.0.0.2"]));
    expect(readdirSync(dataDir)).toEqual(["net1"]);
    expect(readdirSync(join(dataDir, "net1")).sort()).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3", "last_reserved_ip.0", "lock"]);
    // A network this small keeps no index at all; from 32 reservations on it does.
    expect(existsSync(indexDirOf(dataDir))).toBe(false);
    for (let i = 4; i <= 32; i++) store.withLock(() => store.reserve(`c${i}`, "eth0", ip(`10.0.0.${i}`), "0"));
    expect(indexDirOf(dataDir).startsWith(join(dataDir, "..", "cni-ts", "host-local") + "/")).toBe(true);
    // The index itself is written only where timestamps are fine-grained; the stamp always.
    expect(
      readdirSync(indexDirOf(dataDir))
        .filter((n) => n !== "net1.d")
        .sort(),
    ).toEqual(["net1.stamp"]);
    expect(statSync(indexDirOf(dataDir)).mode & 0o777).toBe(0o700);
  });

  test("a taken address is refused; last_reserved_ip is read back", () => {
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => {
      expect(store.lastReservedIP("0")).toBeUndefined();
      expect(store.reserve("a", "eth0", ip("10.0.0.5"), "0")).toBe(true);
      expect(store.reserve("b", "eth0", ip("10.0.0.5"), "0")).toBe(false);
      expect(Array.from(store.lastReservedIP("0")!)).toEqual([10, 0, 0, 5]);
    });
    expect(readFileSync(join(dataDir, "net1", "10.0.0.5"), "utf8")).toBe("a\r\neth0");
  });

  test("release by (id, ifname); files of old versions naming only the id go when nothing else matches", () => {
    using store = DiskStore.open("net1", dataDir);
    const dir = join(dataDir, "net1");
    writeFileSync(join(dir, "10.0.0.9"), "old-ctr\n");
    store.withLock(() => {
      store.reserve("a", "eth0", ip("10.0.0.5"), "0");
      store.reserve("a", "eth1", ip("10.0.0.6"), "0");
      expect(store.getByID("a", "eth0")).toEqual(["10.0.0.5"]);
      expect(store.findByID("old-ctr", "eth0")).toBe(true);
      expect(store.releaseByID("a", "eth0")).toEqual(["10.0.0.5"]);
      expect(store.releaseByID("a", "eth0")).toEqual([]);
      expect(store.releaseByID("old-ctr", "eth0")).toEqual(["10.0.0.9"]);
    });
    expect(readdirSync(dir).sort()).toEqual(["10.0.0.6", "last_reserved_ip.0", "lock"]);
  });

  test("reservations() lists every file with its attachment", () => {
    using store = DiskStore.open("net1", dataDir);
    writeFileSync(join(dataDir, "net1", "10.0.0.9"), "old-ctr");
    const all = store.withLock(() => {
      store.reserve("a", "eth0", ip("10.0.0.5"), "0");
      return store.reservations();
    });
    expect(all).toEqual([
      { ip: "10.0.0.5", containerID: "a", ifname: "eth0" },
      { ip: "10.0.0.9", containerID: "old-ctr", ifname: "" },
    ]);
  });

  test("refuses work without the lock and network names that are paths", () => {
    using store = DiskStore.open("net1", dataDir);
    expect(() => store.reserve("a", "eth0", ip("10.0.0.5"), "0")).toThrow(/lock not held/);
    expect(() => DiskStore.open("../etc", dataDir)).toThrow(/invalid characters/);
    expect(existsSync(join(dataDir, "..", "etc", "lock"))).toBe(false);
  });
});

describe("DiskStore: the owner index sees changes made by others", () => {
  for (const clock of ["fine", "coarse"]) {
    test(`files created and removed behind its back between two locks (${clock} timestamps)`, () => {
      const dir = join(dataDir, "net1");
      // The probe's answer as the stamp keeps it: "coarse" takes the wait-one-tick path.
      mkdirSync(indexDirOf(dataDir), { recursive: true });
      writeFileSync(join(indexDirOf(dataDir), "net1.stamp"), `cni-ts host-local index 3 0 0 0 0 ${release()} ${clock} ${"0 ".repeat(256)}end\n`);
      using store = DiskStore.open("net1", dataDir);
      store.withLock(() => {
        for (let i = 1; i <= 600; i++) store.reserve(`c${i}`, "eth0", ip(`10.0.${i >> 8}.${i & 255}`), "0");
      });
      // Another host-local (the Go one) reserves and releases without knowing of the index.
      writeFileSync(join(dir, "10.0.9.9"), "go-ctr\r\neth0");
      unlinkSync(join(dir, "10.0.0.7"));
      store.withLock(() => {
        expect(store.getByID("go-ctr", "eth0")).toEqual(["10.0.9.9"]);
        expect(store.getByID("c7", "eth0")).toEqual([]);
        expect(store.getByID("c8", "eth0")).toEqual(["10.0.0.8"]);
      });
      // And right after our own change, with no pause between.
      store.withLock(() => store.reserve("ours", "eth0", ip("10.0.9.10"), "0"));
      writeFileSync(join(dir, "10.0.9.11"), "go-ctr2\r\neth0");
      store.withLock(() => expect(store.getByID("go-ctr2", "eth0")).toEqual(["10.0.9.11"]));
      // Split by owner: an ADD or DEL reads one bucket of about 1/256 of the entries.
      const buckets = readdirSync(join(indexDirOf(dataDir), "net1.d"));
      expect(buckets.length).toBeGreaterThan(200);
      const sizes = buckets.map((b) => statSync(join(indexDirOf(dataDir), "net1.d", b)).size);
      expect(Math.max(...sizes)).toBeLessThan(sizes.reduce((a, b) => a + b, 0) / 20);
    });
  }

  test("a bucket that is not what the stamp says is not trusted: every file is read again", () => {
    const dir = join(dataDir, "net1");
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => {
      for (let i = 1; i <= 50; i++) store.reserve(`c${i}`, "eth0", ip(`10.0.0.${i}`), "0");
    });
    const buckets = join(indexDirOf(dataDir), "net1.d");
    if (!existsSync(buckets)) return; // coarse timestamps: a small index is not kept
    // Every bucket emptied behind its back (sizes no longer match the stamp).
    for (const b of readdirSync(buckets)) writeFileSync(join(buckets, b), "");
    store.withLock(() => {
      expect(store.getByID("c7", "eth0")).toEqual(["10.0.0.7"]);
      expect(store.releaseByID("c8", "eth0")).toEqual(["10.0.0.8"]);
    });
    expect(existsSync(join(dir, "10.0.0.8"))).toBe(false);
    store.withLock(() => expect(store.reservations().length).toBe(49));
  });

  test("churn does not grow a bucket: releases are compacted away", () => {
    others();
    using store = DiskStore.open("net1", dataDir);
    for (let i = 1; i <= 100; i++) {
      store.withLock(() => store.reserve("churn", "eth0", ip(`10.0.1.${i}`), "0"));
      store.withLock(() => expect(store.releaseByID("churn", "eth0")).toEqual([`10.0.1.${i}`]));
    }
    const buckets = join(indexDirOf(dataDir), "net1.d");
    if (!existsSync(buckets)) return; // coarse timestamps: a small index is not kept
    const lines = readdirSync(buckets).map((b) => readFileSync(join(buckets, b), "latin1").split("\n").length - 1);
    expect(Math.max(...lines)).toBeLessThan(40);
  });

  test("a stale entry never releases someone else's address", () => {
    const dir = join(dataDir, "net1");
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => store.reserve("a", "eth0", ip("10.0.0.5"), "0"));
    // Same name, new owner: the directory changes, so the index is rebuilt or verified.
    unlinkSync(join(dir, "10.0.0.5"));
    writeFileSync(join(dir, "10.0.0.5"), "b\r\neth0");
    store.withLock(() => {
      expect(store.releaseByID("a", "eth0")).toEqual([]);
      expect(store.getByID("b", "eth0")).toEqual(["10.0.0.5"]);
    });
    expect(readFileSync(join(dir, "10.0.0.5"), "utf8")).toBe("b\r\neth0");
  });
});

describe("DiskStore: a reservation file is read only when the index cannot tell its owner", () => {
  /** Reads of the network's reservation files (names that are addresses) while `fn` runs. */
  function fileReads(fn: () => void): string[] {
    const spy = spyOn(stateFile, "readStateFile");
    try {
      fn();
      return spy.mock.calls.map(([p]) => basename(p)).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
    } finally {
      spy.mockRestore();
    }
  }

  test("an ADD's rollback and a GC release without reading again what they made or scanned", () => {
    using store = DiskStore.open("net1", dataDir);
    // The rollback of an ADD: the address it just reserved.
    store.withLock(() => {
      store.reserve("a", "eth0", ip("10.0.0.5"), "0");
      expect(fileReads(() => expect(store.release("10.0.0.5")).toBe(true))).toEqual([]);
    });
    writeFileSync(join(dataDir, "net1", "10.0.0.6"), "gone\r\neth0");
    writeFileSync(join(dataDir, "net1", "10.0.0.7"), "kept\r\neth0");
    // GC: every file read once by its scan, none again by the release.
    const reads = fileReads(() =>
      store.withLock(() => expect(store.reservations().filter((r) => r.containerID === "gone" && store.release(r.ip)).length).toBe(1)),
    );
    expect(reads.sort()).toEqual(["10.0.0.6", "10.0.0.7"]);
    store.withLock(() => expect(store.reservations().map((r) => r.ip)).toEqual(["10.0.0.7"]));
  });

  test("a DEL reads the files its index names, once, and none after a scan of the directory", () => {
    others();
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => {
      store.reserve("a", "eth0", ip("10.0.0.5"), "0");
      store.reserve("a", "eth1", ip("10.0.0.6"), "0");
    });
    // The index is trusted only while the directory is as it left it: its hits are read to be sure.
    const trusted = existsSync(join(indexDirOf(dataDir), "net1.d"));
    const reads = fileReads(() => store.withLock(() => expect(store.releaseByID("a", "eth0")).toEqual(["10.0.0.5"])));
    expect(reads.sort()).toEqual(trusted ? ["10.0.0.5"] : ["10.0.0.5", "10.0.0.6"]);
    // Changed behind its back (the Go plugin, say): the directory is scanned, every file read once.
    writeFileSync(join(dataDir, "net1", "10.0.0.9"), "old-ctr\n");
    const others70 = Array.from({ length: 70 }, (_, i) => `10.9.0.${i + 1}`);
    expect(fileReads(() => store.withLock(() => expect(store.releaseByID("old-ctr", "eth1")).toEqual(["10.0.0.9"]))).sort()).toEqual(
      ["10.0.0.6", "10.0.0.9", ...others70].sort(),
    );
    expect(readdirSync(join(dataDir, "net1")).sort()).toEqual(["10.0.0.6", ...others70, "last_reserved_ip.0", "lock"].sort());
  });

  test("a network of fewer than 16 reservations keeps no index: each command reads its files, as the reference", () => {
    others(5);
    using store = DiskStore.open("net1", dataDir);
    store.withLock(() => store.reserve("a", "eth0", ip("10.0.0.5"), "0"));
    const reads = fileReads(() => store.withLock(() => expect(store.releaseByID("a", "eth0")).toEqual(["10.0.0.5"])));
    expect(reads.sort()).toEqual(["10.0.0.5", "10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5"]);
    expect(existsSync(indexDirOf(dataDir))).toBe(false);
  });
});
