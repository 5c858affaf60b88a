/**
 * Routes another attachment of the pod already has: a container on two networks (podman's
 * `--network a,b`, `podman network connect`) gets a default route from each. The
 * reference's ipam.ConfigureIface adds the second beside the first (RouteAddEcmp); each
 * case runs the same attachments through our plugins and the Go plugins in two node
 * namespaces and compares outcomes and the pod's routes.
 */
import { describe, expect } from "bun:test";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { GO_PLUGINS, ours, reference, routeState, runIn } from "../../../test/helpers/plugin-run.ts";
import { useBinDir, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;

interface Net {
  ifName: string;
  conf: (dataDir: string) => Record<string, unknown>;
  /** sbr chained after the plugin: source-based routing tables for this interface. */
  sbr?: boolean;
}

/** host-local with one range per subnet and the given routes. */
function ipam(dataDir: string, subnets: string[], routes: string[]) {
  return { type: "host-local", dataDir, ranges: subnets.map((subnet) => [{ subnet }]), routes: routes.map((dst) => ({ dst })) };
}

/** podman 4.3's bridge network: gateway on the bridge, masquerade, hairpin, the default routes from IPAM. */
function podmanBridge(n: number, opts: { v6?: boolean; routes?: string[]; isDefaultGateway?: boolean } = {}): Net["conf"] {
  const subnets = [`10.9${n}.0.0/24`, ...(opts.v6 ? [`fd9${n}::/64`] : [])];
  const routes = opts.routes ?? (opts.isDefaultGateway ? [] : ["0.0.0.0/0", ...(opts.v6 ? ["::/0"] : [])]);
  return (dataDir) => ({
    cniVersion: "1.0.0",
    name: `net${n}`,
    type: "bridge",
    bridge: `cni-br${n}`,
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ...(opts.isDefaultGateway ? { isDefaultGateway: true } : {}),
    ipam: ipam(dataDir, subnets, routes),
  });
}

function ptp(n: number, v6 = false): Net["conf"] {
  const subnets = [`10.9${n}.0.0/24`, ...(v6 ? [`fd9${n}::/64`] : [])];
  return (dataDir) => ({ cniVersion: "1.0.0", name: `net${n}`, type: "ptp", ipam: ipam(dataDir, subnets, ["0.0.0.0/0", ...(v6 ? ["::/0"] : [])]) });
}

/** What a run of ADDs, CHECKs and DELs produced: exit codes and error messages, the pod's routes and rules after each stage. */
interface Trace {
  adds: Array<[number, string?]>;
  checks: number[];
  afterAdd: unknown;
  afterFirstDel: unknown;
  afterAllDel: unknown;
}

/** Routes of every table and the source rules. */
function podState(pod: TestNetns) {
  const rules = [...pod.ipJson("-4", "rule", "show"), ...pod.ipJson("-6", "rule", "show")].filter((r: any) => r.src && r.src !== "all");
  return { routes: routeState(pod), rules };
}

/**
 * ADDs each network in turn on a new interface of one pod (with sbr after it when the
 * network asks), CHECKs each plugin without sbr, DELs the last one, then the rest;
 * `impl` picks the plugin binaries and the CNI_PATH (theirs or ours).
 */
function attachDetach(node: TestNetns, pod: TestNetns, dataDir: string, nets: Net[], impl: "go" | "ours"): Trace {
  const path = impl === "go" ? GO : bin.dir;
  const argv = (type: string) => (impl === "go" ? reference(type) : ours(type));
  const run = (command: "ADD" | "CHECK" | "DEL", net: Net, prevResult?: unknown, conf = net.conf(dataDir)) =>
    runIn(node, argv(conf.type as string), {
      command,
      netns: pod.path,
      ifName: net.ifName,
      containerID: "podctr1",
      path,
      conf: prevResult ? { ...conf, prevResult } : conf,
    });
  const sbrConf = (n: Net) => ({ cniVersion: "1.0.0", name: n.conf(dataDir).name, type: "sbr" });
  const del = (n: Net, result: unknown) => {
    if (n.sbr) expect(run("DEL", n, result, sbrConf(n)).code).toBe(0);
    expect(run("DEL", n, result).code).toBe(0);
  };
  const results: unknown[] = [];
  const adds: Trace["adds"] = [];
  for (const n of nets) {
    let r = run("ADD", n);
    if (r.code === 0 && n.sbr) r = run("ADD", n, r.json, sbrConf(n));
    adds.push(r.code === 0 ? [0] : [r.code, r.json?.msg ?? r.stderr]);
    results.push(r.json);
  }
  const afterAdd = podState(pod);
  // sbr moves the interface's routes out of main, where the plugin's CHECK looks.
  const checks = nets.map((n, i) => (n.sbr ? -1 : run("CHECK", n, results[i]).code));
  const last = nets.length - 1;
  del(nets[last]!, results[last]);
  const afterFirstDel = podState(pod);
  for (let i = last - 1; i >= 0; i--) del(nets[i]!, results[i]);
  return { adds, checks, afterAdd, afterFirstDel, afterAllDel: podState(pod) };
}

/** The same attachments through the Go plugins and ours, each in a node of its own. */
async function compare(nets: Net[]): Promise<{ go: Trace; mine: Trace }> {
  let go: Trace | undefined;
  let mine: Trace | undefined;
  await withNode(1, (node, [pod], dataDir) => {
    go = attachDetach(node, pod!, dataDir, nets, "go");
  });
  await withNode(1, (node, [pod], dataDir) => {
    mine = attachDetach(node, pod!, dataDir, nets, "ours");
  });
  return { go: go!, mine: mine! };
}

/** compare, where every ADD of the Go plugins succeeds and ours leave the same trace; the Go plugins' trace for more checks. */
async function sameAsGo(nets: Net[]): Promise<Trace> {
  const { go, mine } = await compare(nets);
  expect(go.adds).toEqual(nets.map(() => [0]));
  expect(mine).toEqual(go);
  return go;
}

const defaults = (routes: any[]) => routes.filter((r) => r.dst === "default").map((r) => r.dev ?? r.nexthops?.map((h: any) => h.dev));

describe("routes another attachment already has: as the Go plugins", () => {
  rootTest("two podman bridge networks on one container, IPv4: a default route via each, the first stays when the second goes", async () => {
    const go = await sameAsGo([
      { ifName: "eth0", conf: podmanBridge(1) },
      { ifName: "eth1", conf: podmanBridge(2) },
    ]);
    expect(defaults((go.afterAdd as any).routes).sort()).toEqual(["eth0", "eth1"]);
  });

  rootTest("two podman bridge networks, dual stack: IPv4 two default routes, IPv6 one with a next hop per network", async () => {
    const go = await sameAsGo([
      { ifName: "eth0", conf: podmanBridge(1, { v6: true }) },
      { ifName: "eth1", conf: podmanBridge(2, { v6: true }) },
    ]);
    expect(go.checks).toEqual([0, 0]);
  });

  rootTest("the bridge's own default routes (isDefaultGateway) on two networks, dual stack", async () => {
    const nets = [
      { ifName: "eth0", conf: podmanBridge(1, { v6: true, isDefaultGateway: true }) },
      { ifName: "eth1", conf: podmanBridge(2, { v6: true, isDefaultGateway: true }) },
    ];
    await sameAsGo(nets);
  });

  rootTest("two ptp networks with default routes", async () => {
    await sameAsGo([
      { ifName: "eth0", conf: ptp(1) },
      { ifName: "eth1", conf: ptp(2) },
    ]);
  });

  rootTest("a bridge network and a ptp network on one container", async () => {
    await sameAsGo([
      { ifName: "eth0", conf: podmanBridge(1) },
      { ifName: "eth1", conf: ptp(2) },
    ]);
  });

  rootTest("sbr on the second network: its default route and subnet move to a table of their own, the first network's stay in main", async () => {
    const go = await sameAsGo([
      { ifName: "eth0", conf: podmanBridge(1) },
      { ifName: "eth1", conf: podmanBridge(2), sbr: true },
    ]);
    expect((go.afterAdd as any).rules.map((r: any) => [r.src, r.table])).toEqual([["10.92.0.2", "100"]]);
  });

  rootTest("sbr on both networks: a table each", async () => {
    const go = await sameAsGo([
      { ifName: "eth0", conf: podmanBridge(1), sbr: true },
      { ifName: "eth1", conf: podmanBridge(2), sbr: true },
    ]);
    expect((go.afterAdd as any).rules.map((r: any) => [r.src, r.table])).toEqual([
      ["10.92.0.2", "101"],
      ["10.91.0.2", "100"],
    ]);
  });

  rootTest("an IPAM route to the interface's own subnet (the kernel's connected route is there already)", async () => {
    const go = await sameAsGo([{ ifName: "eth0", conf: podmanBridge(1, { routes: ["10.91.0.0/24", "0.0.0.0/0"] }) }]);
    expect((go.afterAdd as any).routes.filter((r: any) => r.dst === "10.91.0.0/24").length).toBe(2);
  });
});
