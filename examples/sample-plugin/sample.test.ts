import { describe, expect } from "bun:test";
import { runPlugin } from "cni-ts/skel";
import { ALL_VERSIONS } from "cni-ts/spec";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { funcs, info } from "./sample.ts";

const prev = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: "/x" }], ips: [{ interface: 0, address: "10.1.0.2/24", gateway: "10.1.0.1" }] };

function invoke(command: string, netns: string, conf: object) {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: "sample-1", CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" };
  return runPlugin(funcs, info, { env, stdin: new TextEncoder().encode(JSON.stringify(conf)) });
}

describe("sample plugin", () => {
  for (const v of ALL_VERSIONS.filter((v) => v >= "0.3.0")) {
    rootTest(`passes prevResult through at ${v}`, () =>
      withNetns(1, async (ns) => {
        const out = await invoke("ADD", ns.path, { cniVersion: v, name: "n", type: "sample", anotherAwesomeArg: "x", prevResult: { ...prev, cniVersion: v } });
        expect(out.exitCode).toBe(0);
        const res = JSON.parse(out.stdout);
        expect(res.cniVersion).toBe(v);
        expect(res.ips[0].address).toBe("10.1.0.2/24");
      }),
    );
  }

  rootTest("refuses to run without prevResult", () =>
    withNetns(1, async (ns) => {
      const out = await invoke("ADD", ns.path, { cniVersion: "1.0.0", name: "n", type: "sample", anotherAwesomeArg: "x" });
      expect(out.exitCode).toBe(1);
      expect(JSON.parse(out.stdout)).toMatchObject({ code: 7, msg: "must be called as chained plugin" });
    }),
  );

  rootTest("rejects a config without anotherAwesomeArg", () =>
    withNetns(1, async (ns) => {
      const out = await invoke("ADD", ns.path, { cniVersion: "1.0.0", name: "n", type: "sample", prevResult: prev });
      expect(JSON.parse(out.stdout)).toMatchObject({ code: 7, msg: "anotherAwesomeArg must be specified" });
    }),
  );

  rootTest("DEL succeeds with the namespace gone", async () => {
    const out = await invoke("DEL", "/var/run/netns/does-not-exist", { cniVersion: "1.0.0", name: "n", type: "sample", anotherAwesomeArg: "x" });
    expect(out.exitCode).toBe(0);
  });
});
