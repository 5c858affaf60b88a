/**
 * Multus without Kubernetes, through `cni-ts add|del` in a node namespace: `delegates`
 * only, and the file source of NADs (a directory of manifests with a Pod whose
 * annotations pick them). Bridge, macvlan and ptp delegates with host-local and static.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../../../test/helpers/dist.ts";
import { rootTest, withNetns } from "../../../test/helpers/netns.ts";
import { cniTs, cniTsAsync, dirWith, macvlanMaster, makeWork, podLinks, reservations, sub, type Work } from "../../../test/helpers/multus-kit.ts";

let work: Work;
beforeAll(() => {
  work = makeWork("cni-ts-multus-files-");
});
afterAll(() => work.cleanup());

const CID = "multus-files-ctr-1";

/**
 * A conf dir whose 00-multus.conf is the multus config "multus-net" with `fields` (a
 * fresh cniDir and our bin dir unless given), and the environment of `cni-ts` runs of it.
 */
function multusNet(fields: Record<string, unknown>) {
  const cniDir = (fields.cniDir as string | undefined) ?? sub(work, "cnidir");
  const confDir = dirWith(sub(work, "netd"), "d", {
    "00-multus.conf": { cniVersion: "1.0.0", name: "multus-net", type: "multus", cniDir, binDir: work.bin, ...fields },
  });
  const env = (containerID: string, cniArgs?: string): Record<string, string> => {
    const e: Record<string, string> = { NETCONFPATH: confDir, CNI_PATH: work.bin, CNI_CACHE_DIR: join(work.dir, "cache"), CNI_CONTAINERID: containerID };
    if (cniArgs) e.CNI_ARGS = cniArgs;
    return e;
  };
  return { cniDir, env };
}

function bridgeConf(dataDir: string) {
  return {
    cniVersion: "1.0.0",
    name: "br-net",
    type: "bridge",
    bridge: "mbr0",
    isGateway: true,
    ipam: { type: "host-local", subnet: "10.88.1.0/24", dataDir },
  };
}

rootTest("delegates only: eth0 from the master, net1 and net2 in order, the master's result; DEL removes all", () =>
  withNetns(2, (node, pod) => {
    const dataDir = sub(work, "ipam");
    macvlanMaster(node);
    const { cniDir, env } = multusNet({
      delegates: [
        bridgeConf(dataDir),
        {
          cniVersion: "1.0.0",
          name: "mv-net",
          type: "macvlan",
          master: "m0",
          mode: "bridge",
          ipam: { type: "static", addresses: [{ address: "10.88.2.5/24" }] },
        },
        { cniVersion: "1.0.0", name: "ptp-net", plugins: [{ type: "ptp", ipam: { type: "host-local", subnet: "10.88.3.0/24", dataDir } }] },
      ],
    });
    const add = cniTs(node, "add", "multus-net", pod!.path, env(CID));
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.json.ips.map((i: { address: string }) => i.address)).toEqual(["10.88.1.2/24"]);
    expect(add.json.interfaces.find((i: { sandbox?: string }) => i.sandbox).name).toBe("eth0");
    expect(podLinks(pod!)).toEqual({ eth0: ["10.88.1.2/24"], net1: ["10.88.2.5/24"], net2: ["10.88.3.2/24"] });
    // The record Multus reads on DEL, in its own shape, and the delegates' result cache in cniDir.
    const record = JSON.parse(readFileSync(join(cniDir, CID), "utf8"));
    expect(record.map((d: { Name: string }) => d.Name)).toEqual(["br-net", "mv-net", "ptp-net"]);
    expect(JSON.parse(Buffer.from(record[2].Bytes, "base64").toString()).plugins[0].type).toBe("ptp");
    expect(existsSync(join(cniDir, "results", `br-net-${CID}-eth0`))).toBe(true);

    const del = cniTs(node, "del", "multus-net", pod!.path, env(CID));
    expect(del.stderr).toBe("");
    expect(del.code).toBe(0);
    expect(podLinks(pod!)).toEqual({});
    expect(reservations(dataDir)).toEqual([]);
    expect(existsSync(join(cniDir, CID))).toBe(false);
  }),
);

rootTest("a failing delegate rolls back those before it (no reservation left); the error names the network", () =>
  withNetns(2, (node, pod) => {
    const dataDir = sub(work, "ipam");
    const { env } = multusNet({
      delegates: [
        bridgeConf(dataDir),
        { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: { type: "host-local", subnet: "10.88.3.0/24", dataDir } },
        { cniVersion: "1.0.0", name: "mv-net", type: "macvlan", master: "no-such-dev", ipam: { type: "static", addresses: [{ address: "10.88.2.5/24" }] } },
      ],
    });
    const add = cniTs(node, "add", "multus-net", pod!.path, env(CID));
    expect(add.code).toBe(1);
    expect(add.json.msg).toContain(
      `[//:mv-net]: error adding container to network "mv-net": plugin type="macvlan" name="mv-net" failed (add): failed to lookup master "no-such-dev"`,
    );
    expect(podLinks(pod!)).toEqual({});
    expect(reservations(dataDir)).toEqual([]);
    expect(node.exec(["ip", "-o", "link", "show", "type", "veth"])).toBe("");
  }),
);

rootTest(
  "file NAD source: a Pod manifest's annotations pick NADs (named interface, net<index>); DEL works with the record missing or corrupt and with nothing cached",
  () =>
    withNetns(2, (node, pod) => {
      const dataDir = sub(work, "ipam");
      macvlanMaster(node);
      const nadDir = dirWith(work.dir, `nads-${CID}`, {
        "nads.yaml": [
          nadYAML("mv-net", { cniVersion: "1.0.0", type: "macvlan", master: "m0", ipam: { type: "static" } }),
          nadYAML("ptp-net", { cniVersion: "0.4.0", plugins: [{ type: "ptp", ipam: { type: "host-local", subnet: "10.88.3.0/24", dataDir } }] }),
        ].join("---\n"),
        "pod.json": {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "web",
            namespace: "default",
            uid: "uid-1",
            annotations: {
              "k8s.v1.cni.cncf.io/networks": '[{"name":"mv-net","ips":["10.88.2.9/24"],"mac":"0a:58:0a:58:02:09"},{"name":"ptp-net","interface":"ptp0"}]',
            },
          },
        },
      });
      const net = multusNet({ nadDir, delegates: [bridgeConf(dataDir)] });
      const cniDir = net.cniDir;
      const env = net.env(CID, "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-1");
      for (const breakRecord of [undefined, "missing", "corrupt", "all"] as const) {
        const add = cniTs(node, "add", "multus-net", pod!.path, env);
        expect(add.stderr).toBe("");
        expect(add.code).toBe(0);
        const links = podLinks(pod!);
        expect(Object.keys(links).sort()).toEqual(["eth0", "net1", "ptp0"]);
        expect(links.eth0![0]).toStartWith("10.88.1.");
        expect(links.net1).toEqual(["10.88.2.9/24"]);
        expect(links.ptp0![0]).toStartWith("10.88.3.");
        expect(pod!.ipJson("link", "show", "net1")[0].address).toBe("0a:58:0a:58:02:09");
        const status = JSON.parse(readFileSync(join(nadDir, "status", "default_web.json"), "utf8"));
        expect(status.map((s: { name: string; interface: string; default?: boolean }) => [s.name, s.interface, !!s.default])).toEqual([
          ["br-net", "eth0", true],
          ["default/mv-net", "net1", false],
          ["default/ptp-net", "ptp0", false],
        ]);
        expect(status[1]).toMatchObject({ ips: ["10.88.2.9"], mac: "0a:58:0a:58:02:09", dns: {} });
        if (breakRecord === "missing") rmSync(join(cniDir, CID));
        if (breakRecord === "corrupt") writeFileSync(join(cniDir, CID), "{not json");
        // Nothing cached at all: rebuilt from the config and the pod's annotations.
        if (breakRecord === "all") rmSync(join(cniDir, CID)), rmSync(join(cniDir, "results"), { recursive: true });
        const del = cniTs(node, "del", "multus-net", pod!.path, env);
        expect(del.stdout + del.stderr).toBe("");
        expect(del.code).toBe(0);
        expect(podLinks(pod!)).toEqual({});
        expect(reservations(dataDir)).toEqual([]);
      }
    }),
);

function nadYAML(name: string, config: object): string {
  return `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: ${name}\nspec:\n  config: '${JSON.stringify(config)}'\n`;
}

rootTest(
  "per-attachment requests: default-route moves the pod's default route, portMappings reach the NAD's portmap, cni-args land in args.cni; CHECK; a clashing interface name is refused before anything runs",
  () =>
    withNetns(2, (node, pod) => {
      const dataDir = sub(work, "ipam");
      const nadDir = dirWith(work.dir, `nads-${CID}-rt`, {
        "nads.yaml": [
          nadYAML("ptp-net", {
            cniVersion: "1.0.0",
            plugins: [
              { type: "ptp", ipam: { type: "host-local", subnet: "10.88.3.0/24", dataDir } },
              { type: "portmap", capabilities: { portMappings: true } },
            ],
          }),
        ].join("---\n"),
        "pods.yaml": [
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: gw\n  namespace: default\n  annotations:\n    k8s.v1.cni.cncf.io/networks: '[{"name":"ptp-net","default-route":["10.88.3.1"],"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}],"cni-args":{"team":"blue"}}]'\n`,
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: clash\n  namespace: default\n  annotations:\n    k8s.v1.cni.cncf.io/networks: ptp-net@eth0\n`,
        ].join("---\n"),
      });
      const net = multusNet({ nadDir, delegates: [{ ...bridgeConf(dataDir), isDefaultGateway: true }] });
      const cniDir = net.cniDir;
      const env = (name: string) => net.env(`${CID}-${name}`, `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`);
      const clash = cniTs(node, "add", "multus-net", pod!.path, env("clash"));
      expect(clash.code).toBe(1);
      expect(clash.json.msg).toContain('two networks ask for interface "eth0"');
      expect(podLinks(pod!)).toEqual({});
      expect(reservations(dataDir)).toEqual([]);

      const add = cniTs(node, "add", "multus-net", pod!.path, env("gw"));
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      const defaults = pod!.ipJson("-4", "route", "show", "default");
      expect(defaults.map((r: { gateway: string; dev: string }) => `${r.gateway} ${r.dev}`)).toEqual(["10.88.3.1 net1"]);
      // The cached results say the same, so CHECK agrees with the kernel.
      const cached = JSON.parse(readFileSync(join(cniDir, "results", `br-net-${CID}-gw-eth0`), "utf8"));
      expect((cached.result.routes ?? []).some((r: { dst: string }) => r.dst === "0.0.0.0/0")).toBe(false);
      expect(node.exec(["iptables-save", "-t", "nat"])).toContain("--dport 18080");
      const record = JSON.parse(readFileSync(join(cniDir, `${CID}-gw`), "utf8"));
      expect(JSON.parse(Buffer.from(record[1].Bytes, "base64").toString()).plugins[0].args).toEqual({ cni: { team: "blue" } });
      expect(record[1]["default-route"]).toEqual(["10.88.3.1"]);
      const check = cniTs(node, "check", "multus-net", pod!.path, env("gw"));
      expect(check.stderr).toBe("");
      expect(check.code).toBe(0);
      expect(cniTs(node, "del", "multus-net", pod!.path, env("gw")).code).toBe(0);
      expect(node.exec(["iptables-save", "-t", "nat"])).not.toContain("--dport 18080");
      expect(reservations(dataDir)).toEqual([]);
    }),
);

rootTest(
  "clusterNetwork as a NAD name (in multusNamespace), a config name in confDir, a directory and a file; defaultNetworks; none of those for pods in systemNamespaces",
  () =>
    withNetns(2, (node, pod) => {
      const dataDir = sub(work, "ipam");
      const cniDir = sub(work, "cnidir");
      const bridge = (name: string) => ({
        cniVersion: "1.0.0",
        name,
        type: "bridge",
        bridge: "cbr9",
        isGateway: true,
        ipam: { type: "host-local", subnet: "10.88.9.0/24", dataDir },
      });
      const confDir = dirWith(work.dir, `multus-confdir-${CID}`, {
        "10-cbr0.conf": bridge("cbr0"),
        "20-ptp.conf": { cniVersion: "1.0.0", name: "ptp-default", type: "ptp", ipam: { type: "host-local", subnet: "10.88.8.0/24", dataDir } },
      });
      const listDir = dirWith(work.dir, `cluster-dir-${CID}`, { "10-cbr0.conflist": { cniVersion: "1.0.0", name: "cbr0", plugins: [bridge("cbr0")] } });
      const nadDir = dirWith(work.dir, `nads-${CID}-cluster`, {
        "nads.yaml": `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: cluster-net\n  namespace: kube-system\nspec:\n  config: '${JSON.stringify({ ...bridge("cbr0"), name: undefined })}'\n`,
        "pods.yaml":
          "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: sys\n  namespace: kube-system\n",
      });
      for (const clusterNetwork of ["cluster-net", "cbr0", listDir, join(listDir, "10-cbr0.conflist")]) {
        const net = multusNet({ cniDir, confDir, nadDir, clusterNetwork, defaultNetworks: ["ptp-default"] });
        for (const [ns, name, want] of [
          ["default", "app", ["eth0", "net1"]],
          ["kube-system", "sys", ["eth0"]],
        ] as const) {
          const env = net.env(`${CID}-${name}`, `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${name}`);
          const add = cniTs(node, "add", "multus-net", pod!.path, env);
          expect(`${clusterNetwork}: ${add.stderr}`).toBe(`${clusterNetwork}: `);
          expect(Object.keys(podLinks(pod!)).sort()).toEqual([...want]);
          expect(podLinks(pod!).eth0![0]).toStartWith("10.88.9.");
          expect(cniTs(node, "del", "multus-net", pod!.path, env).code).toBe(0);
          expect(podLinks(pod!)).toEqual({});
        }
        // network-status was written for the pod outside the system namespaces only.
        expect(existsSync(join(nadDir, "status", "default_app.json"))).toBe(true);
        expect(existsSync(join(nadDir, "status", "kube-system_sys.json"))).toBe(false);
        expect(JSON.parse(readFileSync(join(nadDir, "status", "default_app.json"), "utf8"))[0].name).toBe(
          clusterNetwork === "cluster-net" ? "kube-system/cluster-net" : "cbr0",
        );
      }
      expect(reservations(dataDir)).toEqual([]);
    }),
);

rootTest("DEL collects every delegate's error; retryDeleteOnError keeps the record for the retry, which then finishes", () =>
  withNetns(2, (node, pod) => {
    const dataDir = sub(work, "ipam");
    const cniDir = sub(work, "cnidir");
    const flag = join(work.dir, "failer-ok");
    // A delegate whose DEL fails until the flag file exists.
    writeFileSync(
      join(work.bin, "failer"),
      `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = DEL ] && [ ! -e ${flag} ]; then echo '{"cniVersion":"1.0.0","code":11,"msg":"busy, try again"}'; exit 1; fi\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'\nexit 0\n`,
    );
    chmodSync(join(work.bin, "failer"), 0o755);
    for (const retry of [true, false]) {
      rmSync(flag, { force: true });
      const env = multusNet({
        cniDir,
        retryDeleteOnError: retry,
        delegates: [bridgeConf(dataDir), { cniVersion: "1.0.0", name: "fail-net", type: "failer" }],
      }).env(`${CID}-retry`);
      expect(cniTs(node, "add", "multus-net", pod!.path, env).code).toBe(0);
      const del = cniTs(node, "del", "multus-net", pod!.path, env);
      expect(del.code).toBe(1);
      expect(del.json.msg).toContain('errors: DelegateDel: error invoking DelegateDel - "failer": ');
      expect(del.json.msg).toContain("busy, try again");
      // The bridge was deleted all the same.
      expect(podLinks(pod!)).toEqual({});
      expect(existsSync(join(cniDir, `${CID}-retry`))).toBe(retry);
      writeFileSync(flag, "");
      expect(cniTs(node, "del", "multus-net", pod!.path, env).code).toBe(0);
      expect(existsSync(join(cniDir, `${CID}-retry`))).toBe(false);
    }
    expect(reservations(dataDir)).toEqual([]);
  }),
);

rootTest("readinessindicatorfile: ADD waits for the default network's file; DEL goes on without it", () =>
  withNetns(2, async (node, pod) => {
    const dataDir = sub(work, "ipam");
    const ready = join(work.dir, `ready-${process.pid}`);
    rmSync(ready, { force: true });
    const env = multusNet({ readinessindicatorfile: ready, delegates: [bridgeConf(dataDir)] }).env(`${CID}-ready`);
    const adding = cniTsAsync(node, "add", "multus-net", pod!.path, env);
    await Bun.sleep(1200);
    expect(podLinks(pod!)).toEqual({});
    writeFileSync(ready, "");
    const add = await adding;
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    rmSync(ready);
    const del = await cniTsAsync(node, "del", "multus-net", pod!.path, env);
    expect(del.code).toBe(0);
    expect(podLinks(pod!)).toEqual({});
  }),
);

rootTest("GC (1.1.0): the cluster network's IPAM keeps what Multus's delegates hold and frees the rest", () =>
  withNetns(3, (node, pod, other) => {
    const dataDir = sub(work, "ipam");
    const cniDir = sub(work, "cnidir");
    const master = { ...bridgeConf(dataDir), cniVersion: "1.1.0" };
    const confDir = dirWith(sub(work, "netd"), "d", {
      "00-multus.conflist": { cniVersion: "1.1.0", name: "multus-net", plugins: [{ type: "multus", cniDir, binDir: work.bin, delegates: [master] }] },
      "10-br.conflist": { cniVersion: "1.1.0", name: "br-net", plugins: [master] },
    });
    const env = (cid: string) => ({ NETCONFPATH: confDir, CNI_PATH: work.bin, CNI_CACHE_DIR: join(work.dir, "cache"), CNI_CONTAINERID: cid });
    expect(cniTs(node, "add", "multus-net", pod!.path, env(`${CID}-gc-1`)).code).toBe(0);
    // An address of the same range taken outside Multus: not one of its delegates' attachments.
    expect(cniTs(node, "add", "br-net", other!.path, env(`${CID}-gc-2`)).code).toBe(0);
    expect(reservations(dataDir).length).toBe(2);
    const p = Bun.spawnSync(["ip", "netns", "exec", node.name, ensureBuilt(), "gc", "multus-net", "--valid", `${CID}-gc-1/eth0`], {
      env: { PATH: process.env.PATH!, ...env("x") },
    });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    expect(reservations(dataDir)).toEqual([`br-net/${podLinks(pod!).eth0![0]!.split("/")[0]}`]);
    expect(cniTs(node, "del", "multus-net", pod!.path, env(`${CID}-gc-1`)).code).toBe(0);
  }),
);
