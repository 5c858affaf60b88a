import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { NetConf } from "../../spec/types.ts";
import { checkAllowlist, loadNetConf, readAllowlist, sysctlName } from "./_conf.ts";
import { prev, tuningConf, withAllowlist, withPod } from "../../../test/helpers/tuning-kit.ts";

const OURS = ours("tuning");
const REF = reference("tuning");

const args = (conf: Record<string, unknown>, cniArgs = ""): CmdArgs => ({
  command: "ADD",
  containerID: "c",
  netns: "",
  ifName: "eth0.100",
  args: cniArgs,
  path: [],
  stdinData: new Uint8Array(),
  conf: { cniVersion: "1.0.0", name: "t", type: "tuning", ...conf } as NetConf,
});

describe("tuning config", () => {
  test("sysctl names: IFNAME replaced after the dots became slashes; only net, no traversal", () => {
    expect(sysctlName("net.ipv4.conf.IFNAME.arp_filter", "eth0.100")).toBe("net/ipv4/conf/eth0.100/arp_filter");
    expect(sysctlName("net.core.somaxconn", "eth0")).toBe("net/core/somaxconn");
    for (const bad of ["kernel.hostname", "net", "/net.core.somaxconn", "net..core", "net.ipv4/../../kernel/x", "net/./core"])
      expect(() => sysctlName(bad, "eth0")).toThrow();
  });

  test("the MAC: runtimeConfig over CNI_ARGS over the config, args.cni over all", () => {
    expect(loadNetConf(args({ mac: "02:00:00:00:00:01" })).mac).toBe("02:00:00:00:00:01");
    expect(loadNetConf(args({ mac: "02:00:00:00:00:01" }, "MAC=02:00:00:00:00:02")).mac).toBe("02:00:00:00:00:02");
    expect(loadNetConf(args({ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "02:00:00:00:00:0A" } }, "MAC=02:00:00:00:00:02")).mac).toBe("02:00:00:00:00:0a");
    expect(loadNetConf(args({ runtimeConfig: { mac: "02:00:00:00:00:03" }, args: { cni: { mac: "02:00:00:00:00:04" } } })).mac).toBe("02:00:00:00:00:04");
    expect(() => loadNetConf(args({ runtimeConfig: { mac: "nope" } }))).toThrow();
  });

  test("the allow-list: unanchored regexes per line, comments and blank lines skipped, the raw key matched", () => {
    const t = tempDir("cni-tuning-allow-");
    try {
      expect(readAllowlist(join(t.dir, "none"))).toBeUndefined();
      const file = join(t.dir, "allowlist.conf");
      writeFileSync(file, "# ours\n\n^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$\n  somaxconn  \n");
      const pats = readAllowlist(file)!;
      expect(pats.map((p) => p.source)).toEqual(["^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$", "somaxconn"]);
      checkAllowlist(["net.ipv4.conf.IFNAME.arp_filter", "net.core.somaxconn"], pats);
      expect(() => checkAllowlist(["net.ipv4.conf.eth0.arp_filter"], pats)).toThrow(/is not allowed/);
      checkAllowlist(["net.anything"], undefined);
      writeFileSync(file, "net.(\n");
      expect(() => readAllowlist(file)).toThrow(/Invalid regex/);
    } finally {
      t.cleanup();
    }
  });
});

describe("tuning on a pod", () => {
  rootTest("with /etc/cni/tuning/allowlist.conf present, a sysctl it does not list is refused before anything changes", () =>
    withPod((node, pod, dataDir) => {
      const allow = withAllowlist(["^net\\.ipv4\\.conf\\.IFNAME\\.arp_filter$"]);
      try {
        const base = tuningConf(dataDir, prev(pod), { mtu: 1300 });
        const run = (sysctl: Record<string, string>) =>
          runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "al", wrap: allow.wrap, conf: { ...base, sysctl } });
        const refused = run({ "net.ipv4.conf.IFNAME.arp_filter": "1", "net.ipv4.conf.all.log_martians": "1" });
        expect(refused.json).toMatchObject({ code: 7, msg: expect.stringContaining("net.ipv4.conf.all.log_martians is not allowed") });
        expect(pod.ipJson("link", "show", "dev", "eth0")[0].mtu).toBe(1500);
        expect(existsSync(join(dataDir, "al_eth0.json"))).toBe(false);
        const ok = run({ "net.ipv4.conf.IFNAME.arp_filter": "1" });
        expect([ok.code, ok.stderr]).toEqual([0, ""]);
        expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("1");
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "al", wrap: allow.wrap, conf: { ...base, sysctl: {} } }).code).toBe(0);
        expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("0");
      } finally {
        allow.cleanup();
      }
    }),
  );

  for (const [what, extra, cniArgs] of [
    ["runtimeConfig.mac", { runtimeConfig: { mac: "c2:00:00:00:00:0b" } }, undefined],
    ["CNI_ARGS MAC", {}, "IgnoreUnknown=1;MAC=c2:00:00:00:00:0b"],
  ] as const) {
    rootTest(`${what}: the same MAC and result as the reference; DEL puts the old one back`, () =>
      withPod((node, pod, dataDir) => {
        const c = tuningConf(dataDir, prev(pod), { mac: "c2:00:00:00:00:0a", ...extra });
        const mac = () => pod.ipJson("link", "show", "dev", "eth0")[0].address;
        const before = mac();
        const results: unknown[] = [];
        for (const argv of [REF, OURS]) {
          const add = runIn(node, argv, { command: "ADD", netns: pod.path, containerID: "m", args: cniArgs, conf: c });
          expect([add.code, add.stderr]).toEqual([0, ""]);
          expect(mac()).toBe("c2:00:00:00:00:0b");
          results.push(add.json);
          expect(runIn(node, argv, { command: "DEL", netns: pod.path, containerID: "m", args: cniArgs, conf: c }).code).toBe(0);
          expect(mac()).toBe(before);
        }
        expect(results[1]).toEqual(results[0]);
      }),
    );
  }
});
