import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confFiles, confListFromBytes, loadConf, loadConfList, loadConfListFile } from "./conf-dir.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cnits-confdir-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const put = (name: string, body: unknown) => writeFileSync(join(dir, name), typeof body === "string" ? body : JSON.stringify(body));
const text = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

describe("confFiles", () => {
  test("lists .conf, .conflist and .json files sorted by name, skipping directories and others", () => {
    for (const n of ["20-b.conflist", "10-a.conf", "30-c.json", "notes.txt", "99.conf.bak"]) put(n, "{}");
    mkdirSync(join(dir, "15-dir.conf"));
    expect(confFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(["10-a.conf", "20-b.conflist", "30-c.json"]);
    expect(confFiles(join(dir, "missing"))).toEqual([]);
  });
});

describe("loadConfList", () => {
  test("prefers a .conflist of that name, else wraps a single config", () => {
    put("10-single.conf", { cniVersion: "0.4.0", name: "net", type: "bridge", bridge: "br0" });
    put("20-list.conflist", { cniVersion: "1.0.0", name: "net", plugins: [{ type: "ptp" }] });
    put("30-other.json", { cniVersion: "0.3.1", name: "other", type: "macvlan" });
    const list = loadConfList(dir, "net");
    expect([list.conf.cniVersion, list.conf.plugins.map((p) => p.type), list.file]).toEqual(["1.0.0", ["ptp"], join(dir, "20-list.conflist")]);
    const other = loadConfList(dir, "other");
    expect(other.conf.plugins[0]!.type).toBe("macvlan");
    // The cache records a list of one, as libcni's ConfListFromConf builds it.
    expect(text(other.bytes)).toEqual({ name: "other", cniVersion: "0.3.1", plugins: [{ cniVersion: "0.3.1", name: "other", type: "macvlan" }] });
  });

  test("keeps a list's own bytes and negotiates cniVersions", () => {
    const body = '{"cniVersion":"0.3.1","cniVersions":["0.4.0","1.0.0","9.9.9"],"name":"n","plugins":[{"type":"x"}]}';
    put("n.conflist", body);
    const list = loadConfList(dir, "n");
    expect(list.conf.cniVersion).toBe("1.0.0");
    expect(new TextDecoder().decode(list.bytes)).toBe(body);
  });

  test("errors name the network and the dir", () => {
    expect(() => loadConfList(dir, "x")).toThrow(`no net configurations found in ${dir}`);
    put("a.conflist", { name: "a", cniVersion: "1.0.0", plugins: [{ type: "x" }] });
    expect(() => loadConfList(dir, "x")).toThrow(`no net configuration with name "x" in ${dir}`);
    expect(() => loadConf(dir, "x")).toThrow(`no net configurations found in ${dir}`);
  });

  test("a broken file is an error, as in libcni", () => {
    put("00-broken.conflist", "{not json");
    put("10-good.conflist", { name: "good", cniVersion: "1.0.0", plugins: [{ type: "x" }] });
    expect(() => loadConfList(dir, "good")).toThrow(expect.objectContaining({ code: 6 }));
  });

  test("rejects lists without plugins and plugins without type", () => {
    expect(() => confListFromBytes(new TextEncoder().encode('{"name":"n","plugins":[]}'))).toThrow("no plugins in list");
    expect(() => confListFromBytes(new TextEncoder().encode('{"name":"n"}'))).toThrow("no plugin configs found");
    expect(() => confListFromBytes(new TextEncoder().encode('{"name":"n","plugins":[{"name":"x"}]}'))).toThrow('missing "type"');
  });
});

describe("plugin configs in <dir>/<network>/", () => {
  test("are appended in file order, and the cached bytes hold the merged list", () => {
    put("net.conflist", { cniVersion: "1.0.0", name: "net", plugins: [{ type: "bridge" }] });
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "20-tuning.conf"), JSON.stringify({ type: "tuning", mtu: 1400 }));
    writeFileSync(join(dir, "net", "10-portmap.conf"), JSON.stringify({ type: "portmap", capabilities: { portMappings: true } }));
    writeFileSync(join(dir, "net", "30-ignored.json"), JSON.stringify({ type: "nope" }));
    const list = loadConfList(dir, "net");
    expect(list.conf.plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "tuning"]);
    const merged = text(list.bytes);
    expect(merged.plugins.map((p: { type: string }) => p.type)).toEqual(["bridge", "portmap", "tuning"]);
    expect(merged.loadOnlyInlinedPlugins).toBe(true);
    // The merged bytes load to the same list without the directory.
    expect(confListFromBytes(list.bytes).conf.plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "tuning"]);
  });

  test("may be the only plugins of a list", () => {
    put("net.conflist", { cniVersion: "1.1.0", name: "net" });
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "a.conf"), JSON.stringify({ type: "ptp" }));
    expect(loadConfListFile(join(dir, "net.conflist")).conf.plugins.map((p) => p.type)).toEqual(["ptp"]);
  });

  test("are ignored with loadOnlyInlinedPlugins, which then needs a plugins key", () => {
    put("net.conflist", { cniVersion: "1.1.0", name: "net", loadOnlyInlinedPlugins: "true", plugins: [{ type: "bridge" }] });
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "a.conf"), JSON.stringify({ type: "ptp" }));
    const list = loadConfList(dir, "net");
    expect(list.conf.plugins.map((p) => p.type)).toEqual(["bridge"]);
    put("net.conflist", { cniVersion: "1.1.0", name: "net", loadOnlyInlinedPlugins: true });
    expect(() => loadConfList(dir, "net")).toThrow('"loadOnlyInlinedPlugins" is true and there is no "plugins" key');
  });

  test("a broken plugin file is an error", () => {
    put("net.conflist", { cniVersion: "1.0.0", name: "net", plugins: [{ type: "bridge" }] });
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "a.conf"), JSON.stringify({ mtu: 1 }));
    expect(() => loadConfList(dir, "net")).toThrow('missing "type"');
  });
});
