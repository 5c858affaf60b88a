import { expect, test } from "bun:test";
import { rootTest, withNetns } from "../../../test/helpers/netns.ts";
import { runPlugin } from "../../skel/run.ts";
import { plugin } from "./passthru.ts";

function run(command: string, netns: string, conf: object) {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: "c1", CNI_NETNS: netns, CNI_IFNAME: "net3", CNI_PATH: "/opt/cni/bin" };
  return runPlugin(plugin.funcs, plugin.info, { env, stdin: new TextEncoder().encode(JSON.stringify(conf)) });
}

rootTest("ADD prints an empty result in the config's version (no interfaces, no IPs); DEL and CHECK succeed", () =>
  withNetns(1, async (pod) => {
    for (const v of ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
      const add = await run("ADD", pod.path, { cniVersion: v, name: "vendor-chain", type: "passthru" });
      expect(add.stdout).toContain(`"cniVersion": "${v}"`);
      expect(add.exitCode).toBe(0);
      const r = JSON.parse(add.stdout);
      expect(r.interfaces ?? []).toEqual([]);
      expect(r.ips ?? []).toEqual([]);
    }
    expect((await run("DEL", pod.path, { cniVersion: "1.0.0", name: "vendor-chain", type: "passthru" })).exitCode).toBe(0);
    const prevResult = { cniVersion: "1.0.0" };
    expect((await run("CHECK", pod.path, { cniVersion: "1.0.0", name: "vendor-chain", type: "passthru", prevResult })).exitCode).toBe(0);
  }),
);

test("configs before 0.3.0 are refused, as Multus's plugin refuses them", async () => {
  const r = await run("ADD", "/proc/self/ns/net", { cniVersion: "0.2.0", name: "vendor-chain", type: "passthru" });
  expect(r.exitCode).toBe(1);
  expect(JSON.parse(r.stdout).code).toBe(1);
});
