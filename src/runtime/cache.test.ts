import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheFilePath, deleteCacheEntry, listCacheEntries, readCacheEntry, readCachedResult, writeCacheEntry } from "./cache.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cnits-cache-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = new TextEncoder().encode('{"cniVersion":"1.0.0","name":"net","plugins":[{"type":"bridge"}]}');
const result = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }],
  ips: [{ interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  dns: {},
};
const key = { network: "net", containerID: "ctr1", ifName: "eth0" };

describe("cache entries", () => {
  test("are written in libcni's layout and format", () => {
    writeCacheEntry(dir, { ...key, config, netns: "/var/run/netns/x", cniArgs: [["K8S_POD_NAME", "p"]], capabilityArgs: { portMappings: [] }, result });
    const file = join(dir, "results", "net-ctr1-eth0");
    expect(cacheFilePath(dir, key)).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "results")).mode & 0o777).toBe(0o700);
    const raw = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(raw)).toEqual(["kind", "containerId", "config", "ifName", "networkName", "netns", "cniArgs", "capabilityArgs", "result"]);
    expect(raw.kind).toBe("cniCacheV1");
    expect(Buffer.from(raw.config, "base64").toString()).toBe(new TextDecoder().decode(config));
    expect(raw.cniArgs).toEqual([["K8S_POD_NAME", "p"]]);
    expect(raw.result).toEqual(result);
  });

  test("leave out empty optional fields, as Go's omitempty does", () => {
    writeCacheEntry(dir, { ...key, config, cniArgs: [], capabilityArgs: {}, result });
    expect(Object.keys(JSON.parse(readFileSync(cacheFilePath(dir, key), "utf8")))).toEqual([
      "kind",
      "containerId",
      "config",
      "ifName",
      "networkName",
      "result",
    ]);
  });

  test("round-trip, and the result converts to the reader's version", () => {
    writeCacheEntry(dir, { ...key, config, netns: "/n", cniArgs: [["A", "1"]], result });
    const e = readCacheEntry(dir, key)!;
    expect([new TextDecoder().decode(e.config), e.netns, e.cniArgs]).toEqual([new TextDecoder().decode(config), "/n", [["A", "1"]]]);
    expect(readCachedResult(dir, { ...key, toVersion: "1.0.0" })).toEqual(result);
    const old = readCachedResult(dir, { ...key, toVersion: "0.4.0" })!;
    expect(old.cniVersion).toBe("0.4.0");
    expect(old.ips![0]!.address).toBe("10.1.0.5/24");
    deleteCacheEntry(dir, key);
    expect(readCachedResult(dir, { ...key, toVersion: "1.0.0" })).toBeUndefined();
    deleteCacheEntry(dir, key); // nothing to delete is fine
  });

  test("read a bare result file (libcni's legacy format)", () => {
    mkdirSync(join(dir, "results"));
    writeFileSync(cacheFilePath(dir, key), JSON.stringify({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.2.0.2/16" }], dns: {} }));
    expect(readCachedResult(dir, { ...key, toVersion: "0.3.1" })!.ips).toEqual([{ address: "10.2.0.2/16" }]);
    expect(() => readCacheEntry(dir, key)).toThrow("not a cniCacheV1 entry");
  });

  test("a corrupt file is an error to the reader", () => {
    mkdirSync(join(dir, "results"));
    writeFileSync(cacheFilePath(dir, key), "{garbage");
    expect(() => readCachedResult(dir, { ...key, toVersion: "1.0.0" })).toThrow(expect.objectContaining({ code: 6 }));
  });

  test("names are validated before they become a path", () => {
    expect(() => cacheFilePath(dir, { ...key, containerID: "../../etc" })).toThrow(expect.objectContaining({ code: 4 }));
    expect(() => cacheFilePath(dir, { ...key, ifName: "a/b" })).toThrow(expect.objectContaining({ code: 4 }));
    expect(() => cacheFilePath(dir, { ...key, network: "x/y" })).toThrow(expect.objectContaining({ code: 7 }));
  });

  test("are listed, optionally for one container, skipping foreign files", () => {
    writeCacheEntry(dir, { ...key, config, result });
    writeCacheEntry(dir, { ...key, ifName: "net1", config, result });
    writeCacheEntry(dir, { ...key, network: "other", containerID: "ctr2", config, result });
    writeFileSync(join(dir, "results", "junk-ctr1-x"), "not json");
    expect(listCacheEntries(dir).map((e) => `${e.network}/${e.containerID}/${e.ifName}`)).toEqual(["net/ctr1/eth0", "net/ctr1/net1", "other/ctr2/eth0"]);
    expect(listCacheEntries(dir, "ctr2").map((e) => e.network)).toEqual(["other"]);
    expect(listCacheEntries(join(dir, "missing"))).toEqual([]);
  });
});
