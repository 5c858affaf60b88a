/**
 * The Kubernetes subnet manager (flannel's pkg/subnet/kube): the node's lease is its
 * `spec.podCIDR(s)`; what other nodes need is published as node annotations
 * (`<prefix>/backend-type`, `backend-data`, `backend-v6-data`, `public-ip`,
 * `public-ipv6`, `kube-subnet-manager: "true"`; `public-ip-overwrite` wins over the
 * detected address), patched through nodes/status as flannel does; the network config
 * is the `net-conf.json` file (the kube-flannel-cfg ConfigMap); other nodes come from a
 * node informer; NetworkUnavailable is set to False once routes are in.
 */
import { readFileSync } from "node:fs";
import { LightKubeClient, loadKubeConfig } from "../kube/index.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import type { Node } from "../kube/types.ts";
import type { FlanneldFlags } from "./flags.ts";
import type { Lease, LeaseAttrs } from "./lease.ts";
import { type Net, type NetConfig, netContainsBig, parseNet, parseNetConfig } from "./net-config.ts";
import type { LeaseSink, SubnetManager } from "./subnet-manager.ts";

/** flannel's annotation names under a prefix ("flannel.alpha.coreos.com" -> "flannel.alpha.coreos.com/..."). */
export function annotationNames(prefix: string) {
  const slashes = prefix.split("/").length - 1;
  if (slashes > 1) throw new Error("subnet/kube: prefix can contain at most single slash");
  let p = slashes === 0 ? `${prefix}/` : prefix;
  if (!p.endsWith("/") && !p.endsWith("-")) p += "-";
  return {
    managed: `${p}kube-subnet-manager`,
    backendData: `${p}backend-data`,
    backendV6Data: `${p}backend-v6-data`,
    backendType: `${p}backend-type`,
    publicIP: `${p}public-ip`,
    publicIPOverwrite: `${p}public-ip-overwrite`,
    publicIPv6: `${p}public-ipv6`,
    publicIPv6Overwrite: `${p}public-ipv6-overwrite`,
  };
}

function podCIDRs(n: Node): { v4?: Net; v6?: Net } {
  const list = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  if (list.length > 2) throw new Error(`node "${n.metadata.name}" pod cidrs should be IPv4/IPv6 only or dualstack`);
  return { v4: list.map((c) => parseNet(c, 4)).find((x) => x), v6: list.map((c) => parseNet(c, 6)).find((x) => x) };
}

/** The Kubernetes subnet manager. */
export class KubeSubnetManager implements SubnetManager {
  readonly name = "kube";
  private cfg?: NetConfig;
  private readonly a: ReturnType<typeof annotationNames>;

  private constructor(
    private readonly client: KubeClient,
    private readonly nodeName: string,
    private readonly f: FlanneldFlags,
    private readonly log: (m: string) => void,
  ) {
    this.a = annotationNames(f.kubeAnnotationPrefix);
  }

  /** From the flags: kubeconfig (or in-cluster), --kube-api-url, NODE_NAME (or the pod's node). */
  static async create(f: FlanneldFlags, log: (m: string) => void): Promise<KubeSubnetManager> {
    const nodeName = process.env.NODE_NAME;
    if (!nodeName) throw new Error("env variable NODE_NAME must be set with --kube-subnet-mgr (the name of this node)");
    const config = loadKubeConfig({ kubeconfig: f.kubeconfigFile || undefined });
    if (f.kubeApiUrl) config.server = f.kubeApiUrl.replace(/\/$/, "");
    const client = new LightKubeClient(config, { userAgent: "cni-ts-flanneld" });
    return new KubeSubnetManager(client, nodeName, f, log);
  }

  async getNetworkConfig(): Promise<NetConfig> {
    let text: string;
    try {
      text = readFileSync(this.f.netConfigPath, "utf8");
    } catch (e) {
      throw new Error(`failed to read net conf ${this.f.netConfigPath}: ${(e as Error).message}`);
    }
    this.cfg = parseNetConfig(text);
    return this.cfg;
  }

  async storedMacs(): Promise<{ v4?: string; v6?: string }> {
    const n = await this.client.getNode(this.nodeName);
    const mac = (s?: string) => {
      try {
        const v = s ? JSON.parse(s)?.VtepMAC : undefined;
        return typeof v === "string" ? v : undefined;
      } catch {
        return undefined;
      }
    };
    return { v4: mac(n.metadata.annotations?.[this.a.backendData]), v6: mac(n.metadata.annotations?.[this.a.backendV6Data]) };
  }

  async acquireLease(cfg: NetConfig, attrs: LeaseAttrs): Promise<Lease> {
    const n = await this.client.getNode(this.nodeName);
    const cidrs = podCIDRs(n);
    if (!cidrs.v4 && !cidrs.v6) throw new Error(`node "${this.nodeName}" pod cidr not assigned`);
    const ann = n.metadata.annotations ?? {};
    const want: Record<string, string> = { [this.a.backendType]: attrs.BackendType, [this.a.managed]: "true" };
    if (cfg.enableIPv4) {
      want[this.a.backendData] = attrs.BackendData === undefined ? "null" : JSON.stringify(attrs.BackendData);
      want[this.a.publicIP] = ann[this.a.publicIPOverwrite] || attrs.PublicIP;
    }
    if (cfg.enableIPv6) {
      want[this.a.backendV6Data] = attrs.BackendV6Data === undefined ? "null" : JSON.stringify(attrs.BackendV6Data);
      want[this.a.publicIPv6] = ann[this.a.publicIPv6Overwrite] || (attrs.PublicIPv6 ?? "");
    }
    if (Object.entries(want).some(([k, v]) => ann[k] !== v)) {
      await this.client.patchNodeStatus(this.nodeName, { metadata: { annotations: want } });
      this.log(
        `Node ${this.nodeName} annotated: ${Object.entries(want)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
      );
    }
    const lease: Lease = { attrs: { ...attrs, PublicIP: want[this.a.publicIP] ?? attrs.PublicIP }, expiration: Date.now() + 24 * 3600_000 };
    if (cfg.enableIPv4 && cidrs.v4) {
      if (!cfg.network || !netContainsBig(cfg.network, cidrs.v4.ip))
        throw new Error(`subnet specified in the flannel net config doesn't contain the PodCIDR of the "${this.nodeName}" node`);
      lease.subnet = cidrs.v4;
    }
    if (cfg.enableIPv6 && cidrs.v6) {
      if (!cfg.ipv6Network || !netContainsBig(cfg.ipv6Network, cidrs.v6.ip))
        throw new Error(`subnet specified in the flannel net config doesn't contain the IPv6 PodCIDR of the "${this.nodeName}" node`);
      lease.ipv6Subnet = cidrs.v6;
    }
    this.log(`Acquired lease from node ${this.nodeName}'s podCIDR`);
    return lease;
  }

  /** Nothing to renew: the node object is the lease. */
  async renewLease(_cfg: NetConfig, lease: Lease): Promise<void> {
    lease.expiration = Date.now() + 24 * 3600_000;
  }

  /** A node's lease from its annotations; undefined for nodes flannel does not manage. */
  private nodeToLease(n: Node): Lease | undefined {
    const ann = n.metadata.annotations ?? {};
    if (ann[this.a.managed] !== "true" || !this.cfg) return undefined;
    let cidrs: { v4?: Net; v6?: Net };
    try {
      cidrs = podCIDRs(n);
    } catch {
      return undefined;
    }
    const data = (s?: string) => {
      try {
        return s ? JSON.parse(s) : undefined;
      } catch {
        return undefined;
      }
    };
    const l: Lease = {
      attrs: { PublicIP: ann[this.a.publicIP] ?? "", PublicIPv6: ann[this.a.publicIPv6] ?? null, BackendType: ann[this.a.backendType] ?? "" },
    };
    if (this.cfg.enableIPv4) {
      if (!cidrs.v4) return undefined;
      l.subnet = cidrs.v4;
      l.attrs.BackendData = data(ann[this.a.backendData]);
    }
    if (this.cfg.enableIPv6) {
      if (!cidrs.v6) return undefined;
      l.ipv6Subnet = cidrs.v6;
      l.attrs.BackendV6Data = data(ann[this.a.backendV6Data]);
    }
    return l;
  }

  async watchLeases(sink: LeaseSink, signal: AbortSignal): Promise<void> {
    const inf = this.client.watchNodes();
    const off = inf.on((ev) => {
      const l = this.nodeToLease(ev.object);
      if (ev.type === "DELETED") {
        if (l) sink.removed(l);
      } else if (l) sink.added(l);
    });
    await inf.synced;
    sink.snapshot(
      inf
        .list()
        .map((n) => this.nodeToLease(n))
        .filter((l) => l !== undefined),
    );
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    off();
    inf.stop();
  }

  async networkReady(): Promise<void> {
    if (!this.f.setNodeNetworkUnavailable) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await this.client.setNodeConditions(this.nodeName, [
      {
        type: "NetworkUnavailable",
        status: "False",
        reason: "FlannelIsUp",
        message: "Flannel is running on this node",
        lastTransitionTime: now,
        lastHeartbeatTime: now,
      },
    ]);
    this.log(`Set NetworkUnavailable=False on node ${this.nodeName}`);
  }
}
