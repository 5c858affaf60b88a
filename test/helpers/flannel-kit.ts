/**
 * Test kit for flanneld on the lab (test/helpers/lab.ts): one `cni-ts flanneld` per
 * node against the lab's etcd, and pods added through `cni-ts add` with the seed's list
 * (flannel + portmap), everything under the lab's temp dir.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt, installedBinDir } from "./dist.ts";
import { type Lab, type LabNode, type LabProcess, waitFor, withLab } from "./lab.ts";
import type { TestNetns } from "./netns.ts";

export const PREFIX = "/coreos.com/network";

/** A tuple of `N` lab nodes. */
type Nodes<N extends number, A extends LabNode[] = []> = A["length"] extends N ? A : Nodes<N, [...A, LabNode]>;

/** A lab of `nodes` nodes and etcd, flannel's network config `network` in etcd before `fn` runs with the lab and its nodes. */
export function withFlannelLab<N extends 1 | 2 | 3, T>(
  opts: { nodes: N; network: Record<string, unknown> },
  fn: (lab: Lab, nodes: Nodes<N>) => Promise<T>,
): Promise<T> {
  return withLab({ nodes: opts.nodes, etcd: true }, (lab) => {
    lab.etcd!.put(`${PREFIX}/config`, JSON.stringify(opts.network));
    return fn(lab, lab.nodes as unknown as Nodes<N>);
  });
}

/** Per-node paths. */
export function nodeDir(lab: Lab, node: LabNode): string {
  const d = join(lab.dir, node.name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Starts flanneld in `node`; resolves once subnet.env is written. */
let starts = 0;
/** The VM (test/vm) runs about 20 times slower than the host. */
const SLOW = process.env.CNI_TS_IN_VM === "1" ? 10 : 1;
export async function startFlanneld(lab: Lab, node: LabNode, extra: string[] = [], waitReady = true, env?: Record<string, string>): Promise<LabProcess> {
  const d = nodeDir(lab, node);
  const p = lab.spawn(
    node,
    [ensureBuilt(), "flanneld", `--etcd-endpoints=${lab.etcd!.endpoint}`, "--iface=eth0", `--subnet-file=${join(d, "subnet.env")}`, "--ip-masq", ...extra],
    { logName: `flanneld-${node.name}-${++starts}`, env },
  );
  let gone = false;
  void p.exited.then(() => (gone = true));
  if (waitReady) {
    const ready = () => p.log().includes("flannel is ready");
    await waitFor(`flanneld on ${node.name} to be ready`, () => gone || ready(), 15_000 * SLOW).catch((e) => {
      throw new Error(`${e.message}\n${p.log()}`);
    });
    if (!ready()) throw new Error(`flanneld on ${node.name} exited before it was ready:\n${p.log()}`);
  }
  return p;
}

/** The node's subnet.env as an object, or undefined. */
export function subnetEnv(lab: Lab, node: LabNode): Record<string, string> | undefined {
  try {
    const text = readFileSync(join(lab.dir, node.name, "subnet.env"), "utf8");
    return Object.fromEntries(
      text
        .trim()
        .split("\n")
        .map((l) => l.split("=", 2) as [string, string]),
    );
  } catch {
    return undefined;
  }
}

let bin: { dir: string; cleanup: () => void } | undefined;
/** The CNI_PATH of links to dist/cni-ts (made once per test file; call cleanupBin in afterAll). */
export function binDir(): string {
  bin ??= installedBinDir();
  return bin.dir;
}
export function cleanupBin(): void {
  bin?.cleanup();
  bin = undefined;
}

/** kube-flannel.yml's cni-conf.json (flannel + portmap, network cbr0) with a node's paths put in. */
export function seedFlannelList(paths: { subnetFile: string; dataDir: string; ipamDir: string }) {
  return {
    name: "cbr0",
    cniVersion: "0.3.1",
    plugins: [
      {
        type: "flannel",
        subnetFile: paths.subnetFile,
        dataDir: paths.dataDir,
        ipam: { dataDir: paths.ipamDir },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** The node's lease from its subnet.env: "10.61.3.0/24", or with `sep` "-" the etcd key's form "10.61.3.0-24". */
export function nodeSubnet(lab: Lab, node: LabNode, sep = "/"): string {
  return subnetEnv(lab, node)!.FLANNEL_SUBNET!.replace(".1/24", `.0${sep}24`);
}

/** Adds a pod in `node` through `cni-ts add` with the seed's list; returns the pod and its address. */
export function addPod(lab: Lab, node: LabNode, id: string): { pod: TestNetns; ip: string } {
  const d = nodeDir(lab, node);
  const confDir = join(d, "net.d");
  mkdirSync(confDir, { recursive: true });
  writeFileSync(
    join(confDir, "10-flannel.conflist"),
    JSON.stringify(seedFlannelList({ subnetFile: join(d, "subnet.env"), dataDir: join(d, "flannel"), ipamDir: join(d, "ipam") })),
  );
  const pod = lab.pod(node);
  const out = node.ns.exec([ensureBuilt(), "add", "cbr0", pod.path], {
    env: { PATH: process.env.PATH!, NETCONFPATH: confDir, CNI_PATH: binDir(), CNI_CACHE_DIR: join(d, "cache"), CNI_CONTAINERID: id },
  });
  const r = JSON.parse(out);
  return { pod, ip: String(r.ips[0].address).split("/")[0]! };
}

/** The leases in the lab's etcd: subnet key -> attrs. */
export function leases(lab: Lab): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(lab.etcd!.get(`${PREFIX}/subnets/`))) out[k.slice(`${PREFIX}/subnets/`.length)] = JSON.parse(v);
  return out;
}

/** IPv4 routes of a node as "dst via gw dev X [onlink]". */
export function routes(node: LabNode): string[] {
  return node.ns
    .ipJson("-4", "route")
    .map((r: any) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}${(r.flags ?? []).includes("onlink") ? " onlink" : ""}`);
}
