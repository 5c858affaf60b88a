/**
 * The flannel plugin per exec, as a kubelet's runtime runs it: the compiled binary
 * under the name "flannel" in a node namespace, its bridge and host-local delegates run
 * in the same process (CNI_PATH resolves them to the same binary); and the seed's list
 * (flannel + portmap) driven by the reference libcni.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installedBinDir } from "../../../test/helpers/dist.ts";
import { seedFlannelList } from "../../../test/helpers/flannel-kit.ts";
import { libcniRuntime } from "../../../test/helpers/libcni-client.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { runIn } from "../../../test/helpers/plugin-run.ts";

let bin: { dir: string; cleanup: () => void };
let work: string;
beforeAll(() => {
  bin = installedBinDir();
  work = mkdtempSync(join(tmpdir(), "cni-ts-flannel-"));
});
afterAll(() => {
  bin?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const ENV = "FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

function dirs() {
  const d = mkdtempSync(join(work, "case-"));
  writeFileSync(join(d, "subnet.env"), ENV);
  return { subnetFile: join(d, "subnet.env"), dataDir: join(d, "flannel"), ipamDir: join(d, "ipam") };
}

function flannelConf(d: ReturnType<typeof dirs>, version = "0.3.1") {
  return {
    cniVersion: version,
    name: "cbr0",
    type: "flannel",
    subnetFile: d.subnetFile,
    dataDir: d.dataDir,
    ipam: { dataDir: d.ipamDir },
    delegate: { bridge: "cnifl0", hairpinMode: true, isDefaultGateway: true },
  };
}

const flannel = (node: TestNetns, command: "ADD" | "DEL" | "CHECK", conf: unknown, netns = "", containerID = "fl-ctr-1") =>
  runIn(node, [join(bin.dir, "flannel")], { command, conf, netns, containerID, path: bin.dir });

rootTest("flannel per exec: ADD saves the delegate and networks the pod from subnet.env; DEL from the saved file; DEL again is fine", () =>
  withNodeAndPod((node, pod) => {
    const d = dirs();
    const add = flannel(node, "ADD", flannelConf(d), pod.path);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json.ips[0]).toMatchObject({ version: "4", address: "10.77.3.2/24", gateway: "10.77.3.1" });
    const saved = JSON.parse(readFileSync(join(d.dataDir, "fl-ctr-1"), "utf8"));
    expect(saved).toEqual({
      bridge: "cnifl0",
      cniVersion: "0.3.1",
      hairpinMode: true,
      ipMasq: false,
      isDefaultGateway: true,
      isGateway: true,
      mtu: 1450,
      name: "cbr0",
      type: "bridge",
      ipam: { dataDir: d.ipamDir, ranges: [[{ subnet: "10.77.3.0/24" }]], routes: [{ dst: "10.77.0.0/16" }], type: "host-local" },
    });
    // The pod: eth0 with flannel's MTU, the default route (isDefaultGateway) and the cluster route via the bridge.
    const [eth0] = pod.ipJson("link", "show", "dev", "eth0");
    expect(eth0.mtu).toBe(1450);
    const routes = pod.ipJson("-4", "route").map((r: any) => `${r.dst} ${r.gateway ?? ""}`.trim());
    expect(routes).toContain("default 10.77.3.1");
    expect(routes).toContain("10.77.0.0/16 10.77.3.1");
    expect(node.ipJson("-4", "addr", "show", "dev", "cnifl0")[0].addr_info[0].local).toBe("10.77.3.1");
    node.exec(["ping", "-c1", "-W2", "10.77.3.2"]);
    // subnet.env changes (a new lease): DEL still removes what ADD made.
    writeFileSync(d.subnetFile, ENV.replaceAll("10.77.3.", "10.77.9."));
    const del = flannel(node, "DEL", flannelConf(d), pod.path);
    expect([del.code, del.stdout]).toEqual([0, ""]);
    expect(existsSync(join(d.dataDir, "fl-ctr-1"))).toBe(false);
    expect(pod.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
    expect(readdirSync(join(d.ipamDir, "cbr0")).filter((f) => f.startsWith("10."))).toEqual([]);
    const again = flannel(node, "DEL", flannelConf(d), pod.path);
    expect([again.code, again.stdout]).toEqual([0, ""]);
  }),
);

rootTest("flannel per exec: a missing or incomplete subnet.env is the first error users meet, and it says so", () =>
  withNodeAndPod((node, pod) => {
    const d = dirs();
    rmSync(d.subnetFile);
    const missing = flannel(node, "ADD", flannelConf(d), pod.path);
    expect(missing.code).toBe(1);
    expect(missing.json.code).toBe(999);
    expect(missing.json.msg).toBe(
      `failed to load flannel 'subnet.env' file: open ${d.subnetFile}: no such file or directory. Check the flannel pod log for this node (is flanneld running?)`,
    );
    writeFileSync(d.subnetFile, "FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.3.1/24\n");
    const partial = flannel(node, "ADD", flannelConf(d), pod.path);
    expect(partial.json.msg).toBe(
      `failed to load flannel 'subnet.env' file: ${d.subnetFile} is missing FLANNEL_MTU, FLANNEL_IPMASQ. Check the flannel pod log for this node`,
    );
    expect(existsSync(d.dataDir)).toBe(false);
    expect(pod.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
    writeFileSync(d.subnetFile, ENV);
    const bad = flannel(node, "ADD", { ...flannelConf(d), delegate: { name: "x" } }, pod.path);
    expect(bad.json.msg).toBe("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  }),
);

rootTest("libcni: the seed's list (flannel + portmap) per exec; result, host port rule, DEL leaves nothing", () =>
  withNodeAndPod((node, pod) => {
    const d = dirs();
    // kube-flannel.yml's cni-conf.json, with the node's paths made temporary.
    const run = libcniRuntime(work, seedFlannelList(d), {
      node,
      bin: bin.dir,
      netns: pod.path,
      containerID: "fl-libcni-1",
      capArgs: { portMappings: [{ HostPort: 8082, ContainerPort: 80, Protocol: "TCP" }] },
    });
    const add = run("add");
    expect(add.status, add.stderr + add.stdout).toBe(0);
    const result = JSON.parse(add.stdout);
    expect(result.cniVersion).toBe("0.3.1");
    expect(result.ips[0].address).toBe("10.77.3.2/24");
    expect(existsSync(join(d.dataDir, "fl-libcni-1"))).toBe(true);
    const nat = () =>
      node
        .exec(["iptables-save", "-t", "nat"])
        .split("\n")
        .filter((l) => l.includes("fl-libcni-1") || l.includes("CNI-DN-"));
    expect(nat().some((l) => l.includes("--to-destination 10.77.3.2:80"))).toBe(true);
    // libcni itself refuses CHECK below 0.4.0, the seed's list's version.
    expect(run("check").stderr).toContain("does not support the CHECK command");
    const del = run("del");
    expect(del.status, del.stderr).toBe(0);
    expect(nat()).toEqual([]);
    expect(existsSync(join(d.dataDir, "fl-libcni-1"))).toBe(false);
    expect(pod.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
  }),
);
