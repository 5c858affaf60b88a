import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakePlugins } from "../../test/helpers/fake-plugins.ts";
import { confListFromBytes } from "./conf-dir.ts";
import { defaultNetwork } from "./default-network.ts";
import { defaultExec } from "./exec.ts";
import type { RuntimeOptions } from "./types.ts";
import { pluginVersionInfo, validateNetworkList } from "./validate.ts";

const fake = FakePlugins.create("bridge", "portmap", "legacy", "ancient");
afterAll(() => fake.remove());
fake.answer("legacy", "VERSION", { stdout: '{"cniVersion":"0.3.1","supportedVersions":["0.3.0","0.3.1"]}' });
fake.answer("ancient", "VERSION", { stdout: '{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}', exit: 1 });

let opts: RuntimeOptions;
beforeEach(() => {
  fake.clearCalls();
  opts = { path: [fake.binDir], exec: defaultExec({ onStderr: () => {} }), env: { PATH: process.env.PATH } };
});

const list = (o: Record<string, unknown>) => confListFromBytes(new TextEncoder().encode(JSON.stringify({ name: "net", cniVersion: "1.0.0", ...o })));

describe("validateNetworkList", () => {
  test("resolves to the enabled capabilities when every plugin is there and speaks the version", async () => {
    const caps = await validateNetworkList(
      list({
        plugins: [
          { type: "bridge", capabilities: { ips: true, mac: false } },
          { type: "portmap", capabilities: { portMappings: true } },
        ],
      }),
      opts,
    );
    expect(caps).toEqual(["ips", "portMappings"]);
    expect(
      fake
        .calls()
        .map((c) => `${c.type}:${c.command}`)
        .sort(),
    ).toEqual(["bridge:VERSION", "portmap:VERSION"]);
  });

  test("reports every problem at once", async () => {
    // Built by hand: the parser already refuses non-boolean capabilities.
    const l = list({ plugins: [{ type: "missing" }, { type: "legacy" }, { type: "bridge" }] });
    l.conf.plugins[2]!.capabilities = { ips: "yes" } as unknown as Record<string, boolean>;
    await expect(validateNetworkList(l, opts)).rejects.toMatchObject({
      code: 7,
      message: `failed to find plugin "missing" in path [${fake.binDir}]; plugin legacy does not support config version "1.0.0"; plugin bridge: capability "ips" must be true or false, not "yes"`,
    });
  });

  test("takes a plugin without VERSION for a 0.1.0 plugin", async () => {
    expect(await pluginVersionInfo("ancient", opts)).toEqual({ cniVersion: "0.1.0", supportedVersions: ["0.1.0"] });
    await validateNetworkList(list({ cniVersion: "0.1.0", plugins: [{ type: "ancient" }] }), opts);
  });
});

describe("defaultNetwork", () => {
  test("picks the first usable file and says why every other file is not it", async () => {
    const dir = join(fake.root, "net.d");
    mkdirSync(dir);
    const put = (name: string, body: unknown) => writeFileSync(join(dir, name), typeof body === "string" ? body : JSON.stringify(body));
    put("00-broken.conflist", "{nope");
    put("05-notype.json", { cniVersion: "1.0.0", name: "notype" });
    put("10-missing.conflist", { cniVersion: "1.0.0", name: "missing", plugins: [{ type: "bridge" }, { type: "flannel" }] });
    put("20-oldplugin.conflist", { cniVersion: "1.0.0", name: "oldplugin", plugins: [{ type: "legacy" }] });
    put("30-good.conflist", { cniVersion: "1.0.0", name: "good", plugins: [{ type: "bridge" }, { type: "portmap" }] });
    put("40-also.conf", { cniVersion: "0.3.1", name: "also", type: "legacy" });
    put("README.md", "not a config");
    const { network, files } = await defaultNetwork(dir, [fake.binDir], opts);
    expect(network!.conf.name).toBe("good");
    const rows = files.map((f) => [f.file.slice(dir.length + 1), f.name, f.valid, f.default]);
    expect(rows).toEqual([
      ["00-broken.conflist", undefined, false, false],
      ["05-notype.json", undefined, false, false],
      ["10-missing.conflist", "missing", false, false],
      ["20-oldplugin.conflist", "oldplugin", false, false],
      ["30-good.conflist", "good", true, true],
      ["40-also.conf", "also", true, false],
    ]);
    expect(files[0]!.reason).toMatch(/Cannot decode/);
    expect(files[1]!.reason).toMatch(/missing "type"/);
    expect(files[2]!.reason).toBe(`failed to find plugin "flannel" in path [${fake.binDir}]`);
    expect(files[3]!.reason).toBe('plugin legacy does not support config version "1.0.0"');
    expect(files[4]!.reason).toBe("");
    expect(files[5]!.reason).toBe('not the default: "30-good.conflist" comes first');
    // Each plugin is asked VERSION once however many files name it.
    expect(
      fake
        .calls()
        .map((c) => c.type)
        .sort(),
    ).toEqual(["bridge", "legacy", "portmap"]);
  });

  test("finds nothing in an empty or missing dir", async () => {
    expect(await defaultNetwork(join(fake.root, "nowhere"), [fake.binDir], opts)).toEqual({ files: [] });
  });
});
