import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakePlugins } from "../../test/helpers/fake-plugins.ts";
import { cacheFilePath } from "./cache.ts";
import { confFromBytes, confListFromBytes } from "./conf-dir.ts";
import { defaultExec } from "./exec.ts";
import { addNetwork, addNetworkList, checkNetworkList, delNetwork, delNetworkList, getCachedConfig, getCachedResult } from "./network-list.ts";
import type { RuntimeConf, RuntimeOptions } from "./types.ts";

const fake = FakePlugins.create("first", "second", "third");
afterAll(() => fake.remove());

let cacheDir: string;
let opts: RuntimeOptions;
let n = 0;
beforeEach(() => {
  fake.clearCalls();
  for (const t of ["first", "second", "third"]) for (const c of ["ADD", "CHECK", "DEL"]) fake.answer(t, c, {});
  cacheDir = join(fake.root, `cache${++n}`);
  opts = { path: [fake.binDir], cacheDir, exec: defaultExec({ onStderr: () => {} }), env: { PATH: process.env.PATH } };
});

const list = (o: Record<string, unknown>) => confListFromBytes(new TextEncoder().encode(JSON.stringify({ name: "net", cniVersion: "1.0.0", ...o })));
const threePlugins = (v = "1.0.0", extra: Record<string, unknown> = {}) =>
  list({
    cniVersion: v,
    plugins: [{ type: "first", name: "p1" }, { type: "second", capabilities: { portMappings: true, bandwidth: false } }, { type: "third" }],
    ...extra,
  });
const rt: RuntimeConf = { containerID: "ctr1", netns: "/var/run/netns/pod", ifName: "eth0", args: [["K8S_POD_NAME", "web"]] };
const key = { network: "net", containerID: "ctr1", ifName: "eth0" };
const readCache = () => JSON.parse(readFileSync(cacheFilePath(cacheDir, key), "utf8"));

describe("addNetworkList", () => {
  test("runs the plugins in order with the list's name and version, the previous result, and their capabilities", async () => {
    const capabilityArgs = { PortMappings: [{ HostPort: 8080, containerPort: 80, protocol: "tcp" }], bandwidth: { ingressRate: 1 }, mac: "x" };
    const res = await addNetworkList(threePlugins(), { ...rt, capabilityArgs }, opts);
    const calls = fake.calls();
    expect(calls.map((c) => `${c.type}:${c.command}`)).toEqual(["first:ADD", "second:ADD", "third:ADD"]);
    for (const c of calls)
      expect([c.conf.name, c.conf.cniVersion, c.env.CNI_CONTAINERID, c.env.CNI_ARGS]).toEqual(["net", "1.0.0", "ctr1", "K8S_POD_NAME=web"]);
    expect(calls[0]!.conf.prevResult).toBeUndefined();
    expect(calls[1]!.conf.prevResult.interfaces).toEqual([{ name: "first" }]);
    expect(calls[2]!.conf.prevResult.interfaces).toEqual([{ name: "second" }]);
    // Only the declared, enabled capability, with canonical field names.
    expect(calls[1]!.conf.runtimeConfig).toEqual({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] });
    expect("runtimeConfig" in calls[0]!.conf).toBe(false);
    expect(res.cniVersion).toBe("1.0.0");
    expect(res.interfaces).toEqual([{ name: "third" }]);
    const cached = readCache();
    expect([cached.kind, cached.containerId, cached.ifName, cached.networkName, cached.netns]).toEqual([
      "cniCacheV1",
      "ctr1",
      "eth0",
      "net",
      "/var/run/netns/pod",
    ]);
    expect(cached.cniArgs).toEqual([["K8S_POD_NAME", "web"]]);
    expect(cached.capabilityArgs).toEqual(capabilityArgs);
    expect(cached.result.interfaces).toEqual([{ name: "third" }]);
    expect(Buffer.from(cached.config, "base64").toString()).toBe(new TextDecoder().decode(threePlugins().bytes));
  });

  test("converts each prevResult to the list's version", async () => {
    fake.answer("first", "ADD", { stdout: JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1" }] }) });
    const res = await addNetworkList(threePlugins("0.4.0"), rt, opts);
    const prev = fake.calls()[1]!.conf.prevResult;
    expect(prev.cniVersion).toBe("0.4.0");
    expect(prev.ips).toEqual([{ version: "4", address: "10.9.0.2/24", gateway: "10.9.0.1" }]);
    expect(res.cniVersion).toBe("0.4.0");
    expect(readCache().result.cniVersion).toBe("0.4.0");
  });

  test("a failing plugin stops the chain; its code comes through and nothing is cached", async () => {
    fake.answer("second", "ADD", { stdout: '{"cniVersion":"1.0.0","code":11,"msg":"busy"}', exit: 1 });
    await expect(addNetworkList(threePlugins(), rt, opts)).rejects.toMatchObject({ code: 11, message: 'plugin type="second" failed (add): busy' });
    expect(fake.calls().map((c) => `${c.type}:${c.command}`)).toEqual(["first:ADD", "second:ADD"]);
    expect(existsSync(cacheFilePath(cacheDir, key))).toBe(false);
  });

  test("with delOnFailure, a failed ADD is undone by a DEL of the whole list", async () => {
    fake.answer("second", "ADD", { stdout: '{"code":7,"msg":"bad"}', exit: 1 });
    await expect(addNetworkList(threePlugins(), rt, { ...opts, delOnFailure: true })).rejects.toMatchObject({ code: 7 });
    expect(fake.calls().map((c) => `${c.type}:${c.command}`)).toEqual(["first:ADD", "second:ADD", "third:DEL", "second:DEL", "first:DEL"]);
  });

  test("rejects bad names before running anything", async () => {
    await expect(addNetworkList(threePlugins(), { ...rt, containerID: "../x" }, opts)).rejects.toMatchObject({ code: 4 });
    await expect(addNetworkList(threePlugins(), { ...rt, ifName: "a-name-that-is-too-long" }, opts)).rejects.toMatchObject({ code: 4 });
    await expect(addNetworkList(list({ name: "bad/name", plugins: [{ type: "first" }] }), rt, opts)).rejects.toMatchObject({ code: 7 });
    expect(fake.calls()).toEqual([]);
  });

  test("rejects a plugin type that is a path (code 7)", async () => {
    await expect(addNetworkList(list({ plugins: [{ type: "../bin/first" }] }), rt, opts)).rejects.toMatchObject({ code: 7 });
    expect(fake.calls()).toEqual([]);
  });
});

describe("delNetworkList", () => {
  test("runs the plugins in reverse order with the cached result, then drops the cache entry", async () => {
    await addNetworkList(threePlugins(), rt, opts);
    fake.clearCalls();
    await delNetworkList(threePlugins(), rt, opts);
    const calls = fake.calls();
    expect(calls.map((c) => `${c.type}:${c.command}`)).toEqual(["third:DEL", "second:DEL", "first:DEL"]);
    for (const c of calls) expect(c.conf.prevResult.interfaces).toEqual([{ name: "third" }]);
    expect(existsSync(cacheFilePath(cacheDir, key))).toBe(false);
    await delNetworkList(threePlugins(), rt, opts); // again: nothing cached, still fine
    expect(
      fake
        .calls()
        .slice(3)
        .every((c) => c.conf.prevResult === undefined),
    ).toBe(true);
  });

  test("survives a corrupt cache entry: DELs without prevResult and removes it", async () => {
    mkdirSync(join(cacheDir, "results"), { recursive: true });
    writeFileSync(cacheFilePath(cacheDir, key), "{corrupt");
    await delNetworkList(threePlugins(), rt, opts);
    expect(fake.calls().map((c) => [c.command, c.conf.prevResult])).toEqual([
      ["DEL", undefined],
      ["DEL", undefined],
      ["DEL", undefined],
    ]);
    expect(existsSync(cacheFilePath(cacheDir, key))).toBe(false);
  });

  test("passes no prevResult below 0.4.0", async () => {
    await addNetworkList(threePlugins("0.3.1"), rt, opts);
    fake.clearCalls();
    await delNetworkList(threePlugins("0.3.1"), rt, opts);
    expect(fake.calls().map((c) => c.conf.prevResult)).toEqual([undefined, undefined, undefined]);
  });

  test("a failing plugin keeps the cache entry for the next try", async () => {
    await addNetworkList(threePlugins(), rt, opts);
    fake.answer("second", "DEL", { stdout: '{"code":11,"msg":"later"}', exit: 1 });
    await expect(delNetworkList(threePlugins(), rt, opts)).rejects.toMatchObject({ message: 'plugin type="second" failed (delete): later' });
    expect(existsSync(cacheFilePath(cacheDir, key))).toBe(true);
  });
});

describe("checkNetworkList", () => {
  test("runs the plugins in order with the cached result", async () => {
    await addNetworkList(threePlugins(), rt, opts);
    fake.clearCalls();
    await checkNetworkList(threePlugins(), rt, opts);
    expect(fake.calls().map((c) => `${c.type}:${c.command}:${c.conf.prevResult.interfaces[0].name}`)).toEqual([
      "first:CHECK:third",
      "second:CHECK:third",
      "third:CHECK:third",
    ]);
  });

  test("reports a plugin's failure", async () => {
    await addNetworkList(threePlugins(), rt, opts);
    fake.answer("third", "CHECK", { stdout: '{"code":999,"msg":"link gone"}', exit: 1 });
    await expect(checkNetworkList(threePlugins(), rt, opts)).rejects.toMatchObject({ message: 'plugin type="third" failed (check): link gone' });
  });

  test("is not available below 0.4.0, does nothing with disableCheck, and needs a cached result", async () => {
    await expect(checkNetworkList(threePlugins("0.3.1"), rt, opts)).rejects.toMatchObject({ code: 1 });
    await checkNetworkList(threePlugins("1.0.0", { disableCheck: true }), rt, opts);
    expect(fake.calls()).toEqual([]);
    await expect(checkNetworkList(threePlugins(), rt, opts)).rejects.toMatchObject({
      code: 3,
      message: 'Cannot CHECK network "net": no cached result for container "ctr1" interface "eth0"',
    });
  });
});

describe("cached result and config", () => {
  test("come back converted to the asking list's version, with the cached arguments", async () => {
    fake.answer("third", "ADD", { stdout: JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "10.9.0.2/24" }] }) });
    await addNetworkList(threePlugins(), { ...rt, capabilityArgs: { portMappings: [] } }, opts);
    expect(getCachedResult(threePlugins("0.3.1"), rt, opts)!.cniVersion).toBe("0.3.1");
    const cfg = getCachedConfig(threePlugins(), { ...rt, args: [] }, opts)!;
    expect(new TextDecoder().decode(cfg.config)).toBe(new TextDecoder().decode(threePlugins().bytes));
    expect([cfg.rt.args, cfg.rt.capabilityArgs]).toEqual([[["K8S_POD_NAME", "web"]], { portMappings: [] }]);
    expect(getCachedResult(threePlugins(), { ...rt, ifName: "eth1" }, opts)).toBeUndefined();
  });
});

describe("single network", () => {
  test("ADD caches the config's own bytes; DEL uses the cached result", async () => {
    const net = confFromBytes(new TextEncoder().encode('{"cniVersion":"0.4.0","name":"net","type":"first"}'));
    await addNetwork(net, rt, opts);
    expect(Buffer.from(readCache().config, "base64").toString()).toBe('{"cniVersion":"0.4.0","name":"net","type":"first"}');
    await delNetwork(net, rt, opts);
    expect(fake.calls().map((c) => [c.command, c.conf.prevResult?.cniVersion])).toEqual([
      ["ADD", undefined],
      ["DEL", "0.4.0"],
    ]);
  });
});
