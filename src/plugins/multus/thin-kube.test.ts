/**
 * The thin `multus` plugin against the in-repo API server (TLS, a kubeconfig with a
 * token and the CA), run per exec by the reference libcni client in a node namespace as
 * a kubelet's runtime runs it: NADs from the API, network-status through pods/status,
 * events, rollback, namespace isolation, DEL with the API server gone, the v1 forms;
 * every request made with Multus's own ClusterRole.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeApiServer } from "../../../test/kube-apiserver/server.ts";
import { rootTest, type TestNetns, withNetns } from "../../../test/helpers/netns.ts";
import {
  dirWith,
  kubeconfigInside,
  LEGACY_NETWORK_CRD,
  libcni,
  libcniClientPath,
  macvlanMaster,
  makeWork,
  multusApiServer,
  nadObject as nad,
  podCniArgs,
  podLinks,
  recordingPlugin,
  reservations,
  sub,
  type Work,
} from "../../../test/helpers/multus-kit.ts";

let work: Work;
let api: KubeApiServer;
let client: string;
let multusKubeconfig: string;
const stops: (() => void)[] = [];
beforeAll(async () => {
  work = makeWork("cni-ts-multus-kube-");
  client = libcniClientPath();
  // Multus runs with exactly its ClusterRole (plus get on the v1 networks, which the
  // Multus v1 deployments granted): a request beyond it would be a 403.
  ({ api, kubeconfig: multusKubeconfig } = await multusApiServer([{ apiGroups: ["kubernetes.com"], resources: ["networks"], verbs: ["get"] }]));
  api.seed(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } },
    LEGACY_NETWORK_CRD,
  );
});
afterAll(async () => {
  for (const s of stops) s();
  await api?.stop();
  work?.cleanup();
});

function pod(namespace: string, name: string, annotations: Record<string, string>) {
  const [p] = api.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, annotations },
    spec: { nodeName: "node-1", containers: [{ name: "c", image: "busybox" }] },
  });
  return p;
}

type PodRef = { metadata: { namespace: string; name: string; uid: string } };

interface Setup {
  confDir: string;
  dataDir: string;
  cniDir: string;
  env(p: PodRef): Record<string, string>;
  /** libcni CMD of the multus network for pod `p` in `podNs`, as container `cid`, as a kubelet's runtime runs it. */
  run(cmd: "add" | "del" | "check", podNs: TestNetns, cid: string, p: PodRef): ReturnType<typeof libcni>;
  /** DEL, which must succeed and leave no interface in `podNs` and no reservation. */
  delClean(podNs: TestNetns, cid: string, p: PodRef): Promise<void>;
}

function setup(tag: string, node: TestNetns, extra: Record<string, unknown> = {}): Setup {
  const kc = kubeconfigInside(node, { kubeconfig: multusKubeconfig, port: api.port }, work.dir);
  stops.push(kc.stop);
  const dataDir = sub(work, "ipam");
  const cniDir = sub(work, "cnidir");
  const confDir = dirWith(work.dir, `netd-${tag}`, {
    "00-multus.conf": {
      cniVersion: "1.0.0",
      name: "multus-cni-network",
      type: "multus",
      kubeconfig: kc.path,
      cniDir,
      binDir: work.bin,
      delegates: [
        {
          cniVersion: "1.0.0",
          name: "cbr0",
          type: "bridge",
          bridge: `mb${tag}`.slice(0, 15),
          isGateway: true,
          ipam: { type: "host-local", subnet: "10.89.0.0/24", dataDir },
        },
      ],
      ...extra,
    },
  });
  const env = (p: PodRef) => ({ NETCONFPATH: confDir, CNI_PATH: work.bin, CNI_CACHE_DIR: join(work.dir, "cache"), CNI_ARGS: podCniArgs(p) });
  const run: Setup["run"] = (cmd, podNs, cid, p) => libcni(node, client, cmd, "multus-cni-network", podNs.path, cid, env(p));
  return {
    confDir,
    dataDir,
    cniDir,
    env,
    run,
    async delClean(podNs, cid, p) {
      const del = await run("del", podNs, cid, p);
      expect(del.stderr).toBe("");
      expect(del.code).toBe(0);
      expect(podLinks(podNs)).toEqual({});
      expect(reservations(dataDir)).toEqual([]);
    },
  };
}

function events(namespace: string, podName: string): { reason: string; type: string; message: string }[] {
  const all = [...(api as any).store.values()].flatMap((b: Map<string, any>) => [...b.values()]);
  return all
    .filter((o: any) => o.kind === "Event" && o.involvedObject?.name === podName && o.involvedObject?.namespace === namespace)
    .map((e: any) => ({ reason: e.reason, type: e.type, message: e.message }));
}

rootTest("libcni per exec: eth0 from the master, NADs as net1 and a named interface; network-status via pods/status; AddedInterface events; DEL", () =>
  withNetns(2, async (node, podNs) => {
    macvlanMaster(node);
    const s = setup("k1", node);
    api.seed(
      nad("team-a", "mv-net", { cniVersion: "1.0.0", type: "macvlan", master: "m0", ipam: { type: "static" } }),
      nad("team-a", "ptp-net", {
        cniVersion: "0.4.0",
        name: "ptp-net",
        plugins: [{ type: "ptp", ipam: { type: "host-local", subnet: "10.89.3.0/24", dataDir: s.dataDir } }],
      }),
    );
    const p = pod("team-a", "web", {
      "k8s.v1.cni.cncf.io/networks": '[{"name":"mv-net","ips":["10.89.2.7/24"],"mac":"0a:58:0a:59:02:07"},{"name":"ptp-net","interface":"data0"}]',
    });
    const add = await s.run("add", podNs!, "ctr-web", p);
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.json.ips[0].address).toBe("10.89.0.2/24");
    expect(podLinks(podNs!)).toEqual({ eth0: ["10.89.0.2/24"], net1: ["10.89.2.7/24"], data0: ["10.89.3.2/24"] });

    const stored = api.object("pods", "web", "team-a");
    const status = JSON.parse(stored.metadata.annotations["k8s.v1.cni.cncf.io/network-status"]);
    const mac = (ifname: string) => podNs!.ipJson("link", "show", ifname)[0].address;
    expect(status).toEqual([
      { name: "cbr0", interface: "eth0", ips: ["10.89.0.2"], mac: mac("eth0"), default: true, dns: {} },
      { name: "team-a/mv-net", interface: "net1", ips: ["10.89.2.7"], mac: "0a:58:0a:59:02:07", dns: {} },
      { name: "team-a/ptp-net", interface: "data0", ips: ["10.89.3.2"], mac: mac("data0"), dns: {} },
    ]);
    expect(events("team-a", "web").sort((a, b) => a.message.localeCompare(b.message))).toEqual([
      { reason: "AddedInterface", type: "Normal", message: "Add data0 [10.89.3.2/24] from team-a/ptp-net" },
      { reason: "AddedInterface", type: "Normal", message: "Add eth0 [10.89.0.2/24] from cbr0" },
      { reason: "AddedInterface", type: "Normal", message: "Add net1 [10.89.2.7/24] from team-a/mv-net" },
    ]);
    // The status went through the status subresource, by update (Multus's ClusterRole grants pods/status get and update, not patch).
    expect(api.requests.some((r) => r.method === "PUT" && r.path === "/api/v1/namespaces/team-a/pods/web/status")).toBe(true);

    expect(api.requests.filter((r) => r.status === 403)).toEqual([]);
    await s.delClean(podNs!, "ctr-web", p);
  }),
);

rootTest("a failing second NAD rolls the first back (no reservation left); a missing NAD and a malformed annotation are refused with NoNetworkFound", () =>
  withNetns(2, async (node, podNs) => {
    const s = setup("k2", node);
    api.seed(
      nad("team-a", "ptp-ok", { cniVersion: "1.0.0", name: "ptp-ok", type: "ptp", ipam: { type: "host-local", subnet: "10.89.4.0/24", dataDir: s.dataDir } }),
      nad("team-a", "mv-broken", {
        cniVersion: "1.0.0",
        type: "macvlan",
        master: "no-such-dev",
        ipam: { type: "static", addresses: [{ address: "10.89.5.5/24" }] },
      }),
    );
    const p = pod("team-a", "db", { "k8s.v1.cni.cncf.io/networks": "ptp-ok,mv-broken" });
    const add = await s.run("add", podNs!, "ctr-db", p);
    expect(add.code).not.toBe(0);
    expect(add.stderr).toContain(`[team-a/db/${p.metadata.uid}:mv-broken]: error adding container to network "mv-broken": `);
    expect(podLinks(podNs!)).toEqual({});
    expect(reservations(s.dataDir)).toEqual([]);

    const missing = pod("team-a", "lost", { "k8s.v1.cni.cncf.io/networks": "nope" });
    const r1 = await s.run("add", podNs!, "ctr-lost", missing);
    expect(r1.stderr).toContain("cannot find a network-attachment-definition (nope) in namespace (team-a)");
    expect(events("team-a", "lost").map((e) => [e.type, e.reason])).toEqual([["Warning", "NoNetworkFound"]]);

    const bad = pod("team-a", "bad", { "k8s.v1.cni.cncf.io/networks": "Not/A/Name" });
    const r2 = await s.run("add", podNs!, "ctr-bad", bad);
    expect(r2.stderr).toContain("parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '/')");
    expect(events("team-a", "bad")[0]).toMatchObject({ type: "Warning", reason: "NoNetworkFound" });
    expect(podLinks(podNs!)).toEqual({});
    expect(reservations(s.dataDir)).toEqual([]);
  }),
);

rootTest("namespaceIsolation: a reference to another namespace is refused, globalNamespaces allowed", () =>
  withNetns(2, async (node, podNs) => {
    const s = setup("k3", node, { namespaceIsolation: true, globalNamespaces: "default,shared" });
    api.seed(
      nad("team-b", "ptp-b", { cniVersion: "1.0.0", name: "ptp-b", type: "ptp", ipam: { type: "host-local", subnet: "10.89.6.0/24", dataDir: s.dataDir } }),
    );
    api.seed(
      nad("default", "ptp-d", { cniVersion: "1.0.0", name: "ptp-d", type: "ptp", ipam: { type: "host-local", subnet: "10.89.7.0/24", dataDir: s.dataDir } }),
    );
    const p = pod("team-a", "iso", { "k8s.v1.cni.cncf.io/networks": "team-b/ptp-b" });
    const r = await s.run("add", podNs!, "ctr-iso", p);
    expect(r.stderr).toContain("namespace isolation enabled, annotation violates permission, pod is in namespace team-a but refers to target namespace team-b");
    expect(podLinks(podNs!)).toEqual({});
    const ok = pod("team-a", "iso2", { "k8s.v1.cni.cncf.io/networks": "default/ptp-d@ext0" });
    const r2 = await s.run("add", podNs!, "ctr-iso2", ok);
    expect(r2.code).toBe(0);
    expect(Object.keys(podLinks(podNs!)).sort()).toEqual(["eth0", "ext0"]);
    expect((await s.run("del", podNs!, "ctr-iso2", ok)).code).toBe(0);
  }),
);

rootTest("the v1 forms: a `networks` annotation of `Network` objects (plugin + args, if0name); the first is the master; NADs of the same name also work", () =>
  withNetns(2, async (node, podNs) => {
    macvlanMaster(node);
    const s = setup("k4", node);
    api.seed(
      {
        apiVersion: "kubernetes.com/v1",
        kind: "Network",
        metadata: { name: "bridge-network", namespace: "default" },
        plugin: "bridge",
        args: JSON.stringify([{ name: "oldbr", bridge: "oldbr0", isGateway: true, ipam: { type: "host-local", subnet: "10.89.8.0/24", dataDir: s.dataDir } }]),
      },
      {
        apiVersion: "kubernetes.com/v1",
        kind: "Network",
        metadata: { name: "mv-network", namespace: "default" },
        plugin: "macvlan",
        args: `[ { "master": "m0", "if0name": "net0-m0", "ipam": { "type": "static", "addresses": [ { "address": "10.89.9.5/24" } ] } }, { "master": "m0", "ipam": { "type": "static", "addresses": [ { "address": "10.89.9.6/24" } ] } } ]`,
      },
      nad("default", "ptp-network", {
        cniVersion: "0.3.1",
        name: "ptp-network",
        type: "ptp",
        ipam: { type: "host-local", subnet: "10.89.10.0/24", dataDir: s.dataDir },
      }),
    );
    const p = pod("default", "xftony-test", { networks: '[ { "name": "bridge-network"}, { "name": "mv-network"}, { "name": "ptp-network" } ]' });
    const add = await s.run("add", podNs!, "ctr-v1", p);
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(podLinks(podNs!)).toEqual({ eth0: ["10.89.8.2/24"], "net0-m0": ["10.89.9.5/24"], net1: ["10.89.9.6/24"], net2: ["10.89.10.2/24"] });
    expect(add.json.ips[0].address).toBe("10.89.8.2/24");
    await s.delClean(podNs!, "ctr-v1", p);
  }),
);

rootTest("a pod the API server does not know gets Multus's empty result; a call without pod keys still runs the delegates", () =>
  withNetns(2, async (node, podNs) => {
    const s = setup("k6", node);
    const ghost = await libcni(
      node,
      client,
      "add",
      "multus-cni-network",
      podNs!.path,
      "ctr-ghost",
      s.env({ metadata: { namespace: "team-a", name: "ghost", uid: "" } }),
    );
    expect(ghost.code).toBe(0);
    expect(ghost.json.ips).toEqual([{ address: "0.0.0.0/0", gateway: "0.0.0.0" }]);
    expect(podLinks(podNs!)).toEqual({});
    const env = { ...s.env({ metadata: { namespace: "", name: "", uid: "" } }), CNI_ARGS: "" };
    const plain = await libcni(node, client, "add", "multus-cni-network", podNs!.path, "ctr-plain", env);
    expect(plain.stderr).toBe("");
    expect(Object.keys(podLinks(podNs!))).toEqual(["eth0"]);
    expect((await libcni(node, client, "del", "multus-cni-network", podNs!.path, "ctr-plain", env)).code).toBe(0);
    expect(reservations(s.dataDir)).toEqual([]);
  }),
);

rootTest(
  "auxiliaryCNIChainName: the configs of <clusterNetwork's dir>/<chain>/ run last as one chain after passthru, on net<N>; recorded, undone on failure, not CHECKed; DEL puts the sysctls back",
  () =>
    withNetns(3, async (node, podNs, podBad) => {
      const tuningDir = sub(work, "tuning");
      const masterData = sub(work, "ipam-k7");
      const masterDir = dirWith(work.dir, "netd-k7-master", {
        "10-cbr0.conflist": {
          cniVersion: "1.0.0",
          name: "cbr0",
          plugins: [{ type: "bridge", bridge: "mbk7", isGateway: true, ipam: { type: "host-local", subnet: "10.89.12.0/24", dataDir: masterData } }],
        },
      });
      const chain = dirWith(masterDir, "vendor-chain", {
        "10-arp.conf": { cniVersion: "1.0.0", name: "arp", type: "tuning", dataDir: tuningDir, sysctl: { "net.ipv4.conf.eth0.arp_filter": "1" } },
        "20-martians.conf": {
          cniVersion: "1.0.0",
          name: "martians",
          type: "tuning",
          dataDir: join(tuningDir, "2"),
          sysctl: { "net.ipv4.conf.all.log_martians": "1" },
        },
      });
      const s = setup("k7", node, { delegates: undefined, clusterNetwork: join(masterDir, "10-cbr0.conflist"), auxiliaryCNIChainName: "vendor-chain" });
      api.seed(
        nad("team-a", "ptp-aux", {
          cniVersion: "1.0.0",
          name: "ptp-aux",
          type: "ptp",
          ipam: { type: "host-local", subnet: "10.89.13.0/24", dataDir: s.dataDir },
        }),
      );
      const p = pod("team-a", "aux", { "k8s.v1.cni.cncf.io/networks": "ptp-aux" });
      const sysctl = (ns: TestNetns, k: string) => ns.exec(["sysctl", "-n", k]).trim();
      const add = await s.run("add", podNs!, "ctr-aux", p);
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      expect(add.json.ips[0].address).toBe("10.89.12.2/24");
      expect(podLinks(podNs!)).toEqual({ eth0: ["10.89.12.2/24"], net1: ["10.89.13.2/24"] });
      expect([sysctl(podNs!, "net.ipv4.conf.eth0.arp_filter"), sysctl(podNs!, "net.ipv4.conf.all.log_martians")]).toEqual(["1", "1"]);
      // Recorded as Multus records it: the chain is the last delegate, on net2.
      const record = JSON.parse(readFileSync(join(s.cniDir, "ctr-aux"), "utf8"));
      expect(record.map((d: any) => [d.Name, d.ifnameRequest])).toEqual([
        ["cbr0", undefined],
        ["team-a/ptp-aux", "net1"],
        ["vendor-chain", "net2"],
      ]);
      expect(JSON.parse(Buffer.from(record[2].Bytes, "base64").toString()).plugins.map((pl: any) => pl.name)).toEqual(["passthru-cni", "arp", "martians"]);
      // No interface, so no network-status entry and no event of its own.
      const status = JSON.parse(api.object("pods", "aux", "team-a").metadata.annotations["k8s.v1.cni.cncf.io/network-status"]);
      expect(status.map((st: any) => st.interface)).toEqual(["eth0", "net1"]);
      expect(events("team-a", "aux").length).toBe(2);
      const check = await s.run("check", podNs!, "ctr-aux", p);
      expect(check.stderr).toBe("");
      expect(check.code).toBe(0);
      const del = await s.run("del", podNs!, "ctr-aux", p);
      expect(del.stderr).toBe("");
      expect(del.code).toBe(0);
      expect(podLinks(podNs!)).toEqual({});
      expect(sysctl(podNs!, "net.ipv4.conf.all.log_martians")).toBe("0");
      expect(existsSync(join(s.cniDir, "ctr-aux"))).toBe(false);

      // Without the record and the result cache, DEL rebuilds the list from the config and the pod, the chain included.
      expect((await s.run("add", podNs!, "ctr-aux-2", p)).code).toBe(0);
      expect(sysctl(podNs!, "net.ipv4.conf.all.log_martians")).toBe("1");
      rmSync(join(s.cniDir, "ctr-aux-2"));
      for (const f of readdirSync(join(s.cniDir, "results"))) if (f.includes("ctr-aux-2")) rmSync(join(s.cniDir, "results", f));
      const rebuilt = await s.run("del", podNs!, "ctr-aux-2", p);
      expect(rebuilt.stderr).toBe("");
      expect(rebuilt.code).toBe(0);
      expect(podLinks(podNs!)).toEqual({});
      expect(sysctl(podNs!, "net.ipv4.conf.all.log_martians")).toBe("0");

      // A plugin of the chain fails: the ADD fails naming the chain, and everything is undone.
      const broken = {
        cniVersion: "1.0.0",
        name: "broken",
        type: "tuning",
        dataDir: join(tuningDir, "3"),
        sysctl: { "net.ipv4.conf.nosuch0.arp_filter": "1" },
      };
      writeFileSync(join(chain, "30-broken.conf"), JSON.stringify(broken));
      const bad = await s.run("add", podBad!, "ctr-aux-bad", p);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain(`[team-a/aux/${p.metadata.uid}:vendor-chain]: error adding container to network "vendor-chain": `);
      expect(podLinks(podBad!)).toEqual({});
      expect(sysctl(podBad!, "net.ipv4.conf.all.log_martians")).toBe("0");
      expect(reservations(s.dataDir)).toEqual([]);
      expect(reservations(masterData)).toEqual([]);
    }),
);

rootTest(
  "DRA: a NAD naming a resource gets the device the pod's ResourceClaim was allocated, its ID from the node's ResourceSlice; read with Multus's ClusterRole",
  () =>
    withNetns(2, async (node, podNs) => {
      const none = join(work.dir, "no-such-file");
      const s = setup("k8", node, { podResourcesSocket: none, deviceCheckpointFile: none });
      const devcheck = recordingPlugin(work, "devcheck");
      const device = (name: string, id: string) => ({
        name,
        attributes: { "k8s.cni.cncf.io/deviceID": { string: id }, "k8s.cni.cncf.io/resourceName": { string: "example.com/sriov" } },
      });
      // The driver's slice on each node: a device of the same name on node-2 must not be taken.
      const slice = (nodeName: string, devices: object[]) => ({
        apiVersion: "resource.k8s.io/v1",
        kind: "ResourceSlice",
        metadata: { name: `${nodeName}-sriov` },
        spec: { driver: "sriov.example.com", nodeName, pool: { name: nodeName, generation: 1, resourceSliceCount: 1 }, devices },
      });
      api.seed(
        slice("node-1", [device("vf-0", "0000:03:00.1"), device("vf-1", "0000:03:00.2")]),
        slice("node-2", [device("vf-1", "0000:04:00.2")]),
        {
          apiVersion: "resource.k8s.io/v1",
          kind: "ResourceClaim",
          metadata: { name: "dra-net-claim", namespace: "team-a" },
          spec: { devices: { requests: [{ name: "vf", exactly: { deviceClassName: "sriov" } }] } },
          status: { allocation: { devices: { results: [{ request: "vf", driver: "sriov.example.com", pool: "node-1", device: "vf-1" }] } } },
        },
        nad(
          "team-a",
          "vf-net",
          { cniVersion: "1.0.0", name: "vf-net", type: "devcheck", capabilities: { deviceID: true } },
          { "k8s.v1.cni.cncf.io/resourceName": "example.com/sriov" },
        ),
      );
      const [p] = api.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "dra", namespace: "team-a", annotations: { "k8s.v1.cni.cncf.io/networks": "vf-net" } },
        spec: { nodeName: "node-1", containers: [{ name: "c", image: "busybox" }], resourceClaims: [{ name: "net", resourceClaimTemplateName: "sriov-vf" }] },
        status: { resourceClaimStatuses: [{ name: "net", resourceClaimName: "dra-net-claim" }] },
      });
      devcheck.reset();
      const add = await s.run("add", podNs!, "ctr-dra", p);
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      expect(devcheck.configs()[0]).toMatchObject({ deviceID: "0000:03:00.2", pciBusID: "0000:03:00.2", runtimeConfig: { deviceID: "0000:03:00.2" } });
      const reads = api.requests.filter((r) => r.path.startsWith("/apis/resource.k8s.io/"));
      expect(reads.map((r) => [r.method, r.path, decodeURIComponent(r.query)])).toEqual([
        ["GET", "/apis/resource.k8s.io/v1/namespaces/team-a/resourceclaims/dra-net-claim", ""],
        ["GET", "/apis/resource.k8s.io/v1/resourceslices", "?fieldSelector=spec.nodeName=node-1,spec.driver=sriov.example.com"],
      ]);
      expect(api.requests.filter((r) => r.status === 403)).toEqual([]);
      expect((await s.run("del", podNs!, "ctr-dra", p)).code).toBe(0);
      expect(reservations(s.dataDir)).toEqual([]);
    }),
);

rootTest("DEL works with the API server gone, with the delegate record and without it (last test: it stops the server)", () =>
  withNetns(3, async (node, podNs, podNoRecord) => {
    const s = setup("k5", node);
    api.seed(
      nad("team-a", "ptp-z", { cniVersion: "1.0.0", name: "ptp-z", type: "ptp", ipam: { type: "host-local", subnet: "10.89.11.0/24", dataDir: s.dataDir } }),
    );
    const p = pod("team-a", "gone", { "k8s.v1.cni.cncf.io/networks": "ptp-z" });
    expect((await s.run("add", podNs!, "ctr-gone", p)).code).toBe(0);
    expect((await s.run("add", podNoRecord!, "ctr-gone-2", p)).code).toBe(0);
    expect(Object.keys(podLinks(podNs!)).sort()).toEqual(["eth0", "net1"]);
    await api.stop();
    // With the record DEL asks the API server nothing; without it the pod cannot be read
    // and the delegates' result cache says what to delete.
    rmSync(join(s.cniDir, "ctr-gone-2"));
    for (const [ns, cid] of [
      [podNs!, "ctr-gone"],
      [podNoRecord!, "ctr-gone-2"],
    ] as const) {
      const del = await s.run("del", ns, cid, p);
      expect(del.code).toBe(0);
      expect(podLinks(ns)).toEqual({});
    }
    expect(reservations(s.dataDir)).toEqual([]);
    writeFileSync(join(work.dir, "done"), "");
  }),
);
