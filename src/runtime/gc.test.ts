import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FakePlugins } from "../../test/helpers/fake-plugins.ts";
import { cacheFilePath, listCacheEntries } from "./cache.ts";
import { confListFromBytes } from "./conf-dir.ts";
import { defaultExec } from "./exec.ts";
import { gcNetworkList } from "./gc.ts";
import { addNetworkList } from "./network-list.ts";
import { getStatusNetworkList } from "./status.ts";
import type { RuntimeOptions } from "./types.ts";

const fake = FakePlugins.create("old", "new", "other");
afterAll(() => fake.remove());

let opts: RuntimeOptions;
let n = 0;
beforeEach(() => {
  fake.clearCalls();
  for (const t of ["old", "new", "other"]) for (const c of ["GC", "STATUS", "DEL"]) fake.answer(t, c, {});
  opts = { path: [fake.binDir], cacheDir: join(fake.root, `cache${++n}`), exec: defaultExec({ onStderr: () => {} }), env: { PATH: process.env.PATH } };
});

const list = (o: Record<string, unknown>) => confListFromBytes(new TextEncoder().encode(JSON.stringify({ name: "net", cniVersion: "1.1.0", ...o })));
const attach = (containerID: string, ifName = "eth0", netns = `/var/run/netns/${containerID}`) => ({
  containerID,
  ifName,
  netns,
  args: [["K", containerID]] as [string, string][],
});

describe("gcNetworkList", () => {
  test("DELs stale attachments with their cached config and arguments, then GCs every plugin with the valid ones", async () => {
    const before = list({ plugins: [{ type: "old", v: 1 }] });
    await addNetworkList(before, attach("keep"), opts);
    await addNetworkList(before, attach("stale"), opts);
    await addNetworkList(list({ name: "othernet", plugins: [{ type: "other" }] }), attach("elsewhere"), opts);
    fake.clearCalls();
    // The config changed since: the stale attachment is removed with what made it.
    const now = list({ plugins: [{ type: "new" }, { type: "other" }] });
    await gcNetworkList(now, [{ containerID: "keep", ifname: "eth0" }], opts);
    const calls = fake.calls();
    expect(calls.map((c) => `${c.type}:${c.command}`)).toEqual(["old:DEL", "new:GC", "other:GC"]);
    const del = calls[0]!;
    expect([del.env.CNI_CONTAINERID, del.env.CNI_IFNAME, del.env.CNI_NETNS, del.env.CNI_ARGS, del.conf.v]).toEqual([
      "stale",
      "eth0",
      "/var/run/netns/stale",
      "K=stale",
      1,
    ]);
    expect(del.conf.prevResult.interfaces).toEqual([{ name: "old" }]);
    for (const gc of calls.slice(1)) {
      expect(gc.conf["cni.dev/valid-attachments"]).toEqual([{ containerID: "keep", ifname: "eth0" }]);
      expect(gc.conf["cni.dev/attachments"]).toEqual([{ containerID: "keep", ifname: "eth0" }]);
      expect([gc.conf.name, gc.conf.cniVersion, gc.env.CNI_CONTAINERID, gc.env.CNI_IFNAME, gc.env.CNI_PATH]).toEqual(["net", "1.1.0", "", "", fake.binDir]);
    }
    expect(listCacheEntries(opts.cacheDir!).map((e) => e.containerID)).toEqual(["keep", "elsewhere"]); // by file name: net-..., othernet-...
  });

  test("sends no GC to plugins of lists below 1.1.0, but still removes stale attachments", async () => {
    const l = list({ cniVersion: "1.0.0", plugins: [{ type: "old" }] });
    await addNetworkList(l, attach("stale"), opts);
    fake.clearCalls();
    await gcNetworkList(l, [], opts);
    expect(fake.calls().map((c) => `${c.type}:${c.command}`)).toEqual(["old:DEL"]);
    expect(existsSync(cacheFilePath(opts.cacheDir!, { network: "net", containerID: "stale", ifName: "eth0" }))).toBe(false);
  });

  test("does nothing with disableGC", async () => {
    const l = list({ disableGC: true, plugins: [{ type: "old" }] });
    await addNetworkList(l, attach("stale"), opts);
    fake.clearCalls();
    await gcNetworkList(l, [], opts);
    expect(fake.calls()).toEqual([]);
  });

  test("goes on past failures and reports them all", async () => {
    const l = list({ plugins: [{ type: "old" }, { type: "other" }] });
    await addNetworkList(l, attach("s1"), opts);
    fake.answer("old", "DEL", { stdout: '{"code":11,"msg":"del failed"}', exit: 1 });
    fake.answer("old", "GC", { stdout: '{"code":999,"msg":"gc failed"}', exit: 1 });
    fake.clearCalls();
    await expect(gcNetworkList(l, [], opts)).rejects.toMatchObject({
      message:
        'GC of network "net" failed: failed to delete stale attachment s1 eth0: plugin type="old" failed (delete): del failed; plugin type="old" failed (gc): gc failed',
    });
    expect(fake.calls().map((c) => `${c.type}:${c.command}`)).toEqual(["other:DEL", "old:DEL", "old:GC", "other:GC"]);
  });
});

describe("getStatusNetworkList", () => {
  test("asks every plugin of a 1.1.0 list, stopping at the first failure with its code", async () => {
    const l = list({ plugins: [{ type: "old" }, { type: "new" }, { type: "other" }] });
    await getStatusNetworkList(l, opts);
    expect(fake.calls().map((c) => `${c.type}:${c.command}:${c.conf.name}`)).toEqual(["old:STATUS:net", "new:STATUS:net", "other:STATUS:net"]);
    fake.answer("new", "STATUS", { stdout: '{"cniVersion":"1.1.0","code":50,"msg":"no IPs left"}', exit: 1 });
    fake.clearCalls();
    await expect(getStatusNetworkList(l, opts)).rejects.toMatchObject({ code: 50, message: "no IPs left" });
    expect(fake.calls().length).toBe(2);
  });

  test("has nothing to ask below 1.1.0", async () => {
    await getStatusNetworkList(list({ cniVersion: "1.0.0", plugins: [{ type: "old" }] }), opts);
    expect(fake.calls()).toEqual([]);
  });
});
