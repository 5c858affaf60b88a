import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatIP, ipOf } from "../spec/ip.ts";
import { allocateIP, RangeIter, type Store } from "./allocator.ts";
import { parseRangeIP, parseSubnet } from "./range.ts";
import { canonicalizeRangeSet, type RangeSet } from "./range-set.ts";
import { DiskStore } from "./store.ts";
import { tempDataDir } from "../../test/helpers/data-dir.ts";

let tmp = "";
let dataDir = "";
let store: DiskStore;
beforeEach(() => {
  ({ tmp, dataDir } = tempDataDir("cnits-alloc-"));
  store = DiskStore.open("net", dataDir);
  store.lock();
});
afterEach(() => {
  store.close();
  rmSync(tmp, { recursive: true, force: true });
});

function set(...ranges: [string, string?, string?, string?][]): RangeSet {
  return canonicalizeRangeSet(
    ranges.map(([subnet, start, end, gw]) => ({
      subnet: parseSubnet(subnet),
      rangeStart: start ? parseRangeIP(start) : undefined,
      rangeEnd: end ? parseRangeIP(end) : undefined,
      gateway: gw ? parseRangeIP(gw) : undefined,
    })),
  );
}

function walk(s: RangeSet, last?: string): string[] {
  const it = new RangeIter(s, last ? ipOf(last) : undefined);
  const out: string[] = [];
  for (let c = it.next(); c; c = it.next()) out.push(formatIP(c.ip));
  return out;
}

const dir = () => join(dataDir, "net");

describe("RangeIter (the reference's round-robin walk)", () => {
  test("from the start, skipping the gateway, once around", () => {
    expect(walk(set(["10.0.0.0/29"]))).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    expect(walk(set(["10.0.0.0/29", undefined, undefined, "10.0.0.4"]))).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"]);
  });

  test("after the last reserved address, wrapping across ranges, the last one tried last", () => {
    const s = set(["10.0.0.0/29"], ["10.0.1.0/30"]);
    expect(walk(s, "10.0.0.5")).toEqual(["10.0.0.6", "10.0.1.2", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]);
    // An address outside the set (config changed) restarts from the beginning.
    expect(walk(s, "10.9.0.1")).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.1.2"]);
  });

  test("a range holding only its gateway ends the walk", () => {
    expect(walk(set(["10.0.0.0/24", "10.0.0.1", "10.0.0.1"]))).toEqual([]);
  });
});

describe("allocateIP", () => {
  test("hands out addresses round-robin, recording the last one per range set", () => {
    const s = set(["10.0.0.0/29"]);
    const got = ["a", "b", "c"].map((id) => allocateIP(store, { set: s, rangeIndex: 0, id, ifname: "eth0" }));
    expect(got).toEqual([
      { address: "10.0.0.2/29", gateway: "10.0.0.1" },
      { address: "10.0.0.3/29", gateway: "10.0.0.1" },
      { address: "10.0.0.4/29", gateway: "10.0.0.1" },
    ]);
    expect(readFileSync(join(dir(), "last_reserved_ip.0"), "utf8")).toBe("10.0.0.4");
    // A released address is not handed out again until the set has gone round.
    store.releaseByID("a", "eth0");
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "d", ifname: "eth0" }).address).toBe("10.0.0.5/29");
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "e", ifname: "eth0" }).address).toBe("10.0.0.6/29");
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "f", ifname: "eth0" }).address).toBe("10.0.0.2/29");
  });

  test("IPv6", () => {
    const s = set(["2001:db8:1::/64"]);
    expect(allocateIP(store, { set: s, rangeIndex: 1, id: "a", ifname: "eth0" })).toEqual({ address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" });
    expect(readFileSync(join(dir(), "last_reserved_ip.1"), "utf8")).toBe("2001:db8:1::2");
  });

  test("skips addresses others hold, and says when the set is full", () => {
    const s = set(["10.0.0.0/29", "10.0.0.2", "10.0.0.4"]);
    writeFileSync(join(dir(), "10.0.0.3"), "other\r\neth0");
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" }).address).toBe("10.0.0.2/29");
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "b", ifname: "eth0" }).address).toBe("10.0.0.4/29");
    expect(() => allocateIP(store, { set: s, rangeIndex: 0, id: "c", ifname: "eth0" })).toThrow("no IP addresses available in range set: 10.0.0.2-10.0.0.4");
  });

  test("refuses a second address of one set for the same attachment", () => {
    const s = set(["10.0.0.0/29"]);
    allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" });
    expect(() => allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" })).toThrow(
      "10.0.0.2 has been allocated to a, duplicate allocation is not allowed",
    );
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth1" }).address).toBe("10.0.0.3/29");
    // Another set (another family) is fine.
    expect(allocateIP(store, { set: set(["2001:db8::/64"]), rangeIndex: 1, id: "a", ifname: "eth0" }).address).toBe("2001:db8::2/64");
  });

  test("requested addresses: taken as asked, but never the gateway nor a held one", () => {
    const s = set(["10.0.0.0/24"]);
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth0", requestedIP: ipOf("10.0.0.77") }).address).toBe("10.0.0.77/24");
    expect(readFileSync(join(dir(), "last_reserved_ip.0"), "utf8")).toBe("10.0.0.77");
    expect(() => allocateIP(store, { set: s, rangeIndex: 0, id: "b", ifname: "eth0", requestedIP: ipOf("10.0.0.1") })).toThrow(
      "requested ip 10.0.0.1 is subnet's gateway",
    );
    expect(() => allocateIP(store, { set: s, rangeIndex: 0, id: "b", ifname: "eth0", requestedIP: ipOf("10.0.0.77") })).toThrow(
      "requested IP address 10.0.0.77 is not available in range set 10.0.0.1-10.0.0.254",
    );
    expect(() => allocateIP(store, { set: s, rangeIndex: 0, id: "b", ifname: "eth0", requestedIP: ipOf("10.9.0.1") })).toThrow(
      "10.9.0.1 not in range set 10.0.0.1-10.0.0.254",
    );
  });

  test("a full /24 of others' files: the allocation walks past them", () => {
    const s = set(["10.0.0.0/24"]);
    for (let i = 2; i < 200; i++) writeFileSync(join(dir(), `10.0.0.${i}`), `x${i}\r\neth0`);
    expect(allocateIP(store, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" }).address).toBe("10.0.0.200/24");
  });
});

describe("allocateIP on another store", () => {
  /** The allocator needs only the Store interface: an in-memory one, as the reference's fake store. */
  function memoryStore(): Store & { held: Map<string, string> } {
    const held = new Map<string, string>();
    const last = new Map<string, Uint8Array>();
    return {
      held,
      reserve(id, ifname, ip, rangeID) {
        const k = formatIP(ip);
        if (held.has(k)) return false;
        held.set(k, `${id}/${ifname}`);
        last.set(rangeID, ip);
        return true;
      },
      lastReservedIP: (rangeID) => last.get(rangeID),
      getByID: (id, ifname) => [...held].filter(([, o]) => o === `${id}/${ifname}`).map(([ip]) => ip),
      releaseByID(id, ifname) {
        const mine = this.getByID(id, ifname);
        for (const ip of mine) held.delete(ip);
        return mine;
      },
    };
  }

  test("the same round-robin and refusals without a disk", () => {
    const m = memoryStore();
    const s = set(["10.0.0.0/29", "10.0.0.2", "10.0.0.3"]);
    expect(allocateIP(m, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" }).address).toBe("10.0.0.2/29");
    expect(() => allocateIP(m, { set: s, rangeIndex: 0, id: "a", ifname: "eth0" })).toThrow("duplicate allocation is not allowed");
    expect(allocateIP(m, { set: s, rangeIndex: 0, id: "b", ifname: "eth0" }).address).toBe("10.0.0.3/29");
    expect(() => allocateIP(m, { set: s, rangeIndex: 0, id: "c", ifname: "eth0" })).toThrow("no IP addresses available");
    m.releaseByID("a", "eth0");
    expect(allocateIP(m, { set: s, rangeIndex: 0, id: "c", ifname: "eth0" }).address).toBe("10.0.0.2/29");
    expect([...m.held.values()].sort()).toEqual(["b/eth0", "c/eth0"]);
  });
});
