/**
 * flannel's `subnet.env` (pkg/subnet WriteSubnetFile; the cni-plugin's
 * loadFlannelSubnetEnv): the file flanneld writes and the `flannel` plugin reads.
 * Lines are KEY=VALUE; networks may be comma-separated lists; subnets carry the
 * node's first address ("10.244.1.1/24") and are read as their network.
 */
import { cidrOf, formatCIDR, networkOf, parseCIDR } from "../../spec/ip.ts";

/** What subnet.env says; a family is absent when flanneld does not serve it. */
export interface SubnetEnv {
  networks: string[];
  subnet?: string;
  ipv6Networks: string[];
  ipv6Subnet?: string;
  mtu?: number;
  ipMasq?: boolean;
}

/** A subnet.env that cannot be used, with the reason. */
export class SubnetEnvError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "SubnetEnvError";
  }
}

function network(text: string, key: string, path: string): string {
  const n = parseCIDR(text.trim());
  if (!n) throw new SubnetEnvError(`${path}: ${key} has invalid CIDR ${JSON.stringify(text)}`);
  return formatCIDR(networkOf(n));
}

function networks(text: string, key: string, path: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const n = network(part, key, path);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Parses subnet.env text; `path` names the file in messages. Unknown keys are ignored, as flannel does. */
export function parseSubnetEnv(text: string, path: string): SubnetEnv {
  const env: SubnetEnv = { networks: [], ipv6Networks: [] };
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    const key = eq < 0 ? line.trim() : line.slice(0, eq);
    const value = eq < 0 ? undefined : line.slice(eq + 1).trim();
    if (!["FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_IPV6_NETWORK", "FLANNEL_IPV6_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ"].includes(key)) continue;
    if (value === undefined) throw new SubnetEnvError(`${path}: ${key} has no value`);
    switch (key) {
      case "FLANNEL_NETWORK":
        env.networks = networks(value, key, path);
        break;
      case "FLANNEL_SUBNET":
        env.subnet = network(value, key, path);
        break;
      case "FLANNEL_IPV6_NETWORK":
        env.ipv6Networks = networks(value, key, path);
        break;
      case "FLANNEL_IPV6_SUBNET":
        env.ipv6Subnet = network(value, key, path);
        break;
      case "FLANNEL_MTU":
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new SubnetEnvError(`${path}: FLANNEL_MTU is not a number: ${JSON.stringify(value)}`);
        env.mtu = Number(value);
        break;
      case "FLANNEL_IPMASQ":
        env.ipMasq = value === "true";
        break;
    }
  }
  const missing = missingKeys(env);
  if (missing.length) throw new SubnetEnvError(`${path} is missing ${missing.join(", ")}`);
  return env;
}

/** The keys a usable file lacks, named as flannel's plugin names them. */
function missingKeys(env: SubnetEnv): string[] {
  const m: string[] = [];
  if (env.networks.length === 0 && env.ipv6Networks.length === 0) m.push("FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK");
  if (env.subnet === undefined && env.ipv6Subnet === undefined) m.push("FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET");
  if (env.mtu === undefined) m.push("FLANNEL_MTU");
  if (env.ipMasq === undefined) m.push("FLANNEL_IPMASQ");
  return m;
}

/** What flanneld writes: the networks, the node's subnets as their first address, MTU and whether flanneld masquerades. */
export interface SubnetEnvContent {
  network?: string;
  /** The leased subnet ("10.244.1.0/24"); written as its first address. */
  subnet?: string;
  ipv6Network?: string;
  ipv6Subnet?: string;
  mtu: number;
  ipMasq: boolean;
}

function firstAddress(cidr: string): string {
  const n = networkOf(cidrOf(cidr));
  const ip = n.ip.slice();
  for (let i = ip.length - 1; i >= 0; i--) {
    ip[i] = (ip[i]! + 1) & 0xff;
    if (ip[i] !== 0) break;
  }
  return formatCIDR({ ip, prefix: n.prefix });
}

/** The file text in flannel's order (IPv4 lines, IPv6 lines, MTU, IPMASQ). */
export function formatSubnetEnv(c: SubnetEnvContent): string {
  let s = "";
  if (c.network && c.subnet) s += `FLANNEL_NETWORK=${c.network}\nFLANNEL_SUBNET=${firstAddress(c.subnet)}\n`;
  if (c.ipv6Network && c.ipv6Subnet) s += `FLANNEL_IPV6_NETWORK=${c.ipv6Network}\nFLANNEL_IPV6_SUBNET=${firstAddress(c.ipv6Subnet)}\n`;
  return s + `FLANNEL_MTU=${c.mtu}\nFLANNEL_IPMASQ=${c.ipMasq}\n`;
}
