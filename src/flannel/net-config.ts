/**
 * flannel's network config (`net-conf.json`, or `<prefix>/config` in etcd) with
 * flannel's defaults and checks (pkg/subnet/config.go): subnets of /24 (IPv4) and /64
 * (IPv6) when the network is big enough, the first subnet skipped, SubnetMin/Max on a
 * SubnetLen boundary.
 */
import { formatIP, parseCIDR, parseIP } from "../spec/ip.ts";

/** A prefix as a bigint address and a length, for either family. */
export interface Net {
  ip: bigint;
  prefix: number;
  family: 4 | 6;
}

/** The checked config. */
export interface NetConfig {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableNFTables: boolean;
  network?: Net;
  ipv6Network?: Net;
  subnetLen: number;
  subnetMin: bigint;
  subnetMax: bigint;
  ipv6SubnetLen: number;
  ipv6SubnetMin: bigint;
  ipv6SubnetMax: bigint;
  backendType: string;
  /** The Backend object as given ({} when absent). */
  backend: Record<string, unknown>;
}

/** A config flannel would refuse, with flannel's message. */
export class NetConfigError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "NetConfigError";
  }
}

const bits = (f: 4 | 6) => (f === 4 ? 32 : 128);

/** Address bytes as a bigint. */
export function ipToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** A bigint address as text. */
export function bigToIP(n: bigint, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const b = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return formatIP(b);
}

/** "10.1.0.0/16" as a Net (host bits cleared); undefined when it is not a CIDR of the family. */
export function parseNet(s: string, family?: 4 | 6): Net | undefined {
  const n = parseCIDR(s);
  if (!n) return undefined;
  const f = n.ip.length === 4 ? 4 : 6;
  if (family && f !== family) return undefined;
  const host = bits(f) - n.prefix;
  const ip = (ipToBig(n.ip) >> BigInt(host)) << BigInt(host);
  return { ip, prefix: n.prefix, family: f };
}

/** "10.1.0.0/16". */
export function formatNet(n: Net): string {
  return `${bigToIP(n.ip, n.family)}/${n.prefix}`;
}

/** True when `ip` is inside `n`. */
export function netContainsBig(n: Net, ip: bigint): boolean {
  const host = BigInt(bits(n.family) - n.prefix);
  return ip >> host === n.ip >> host;
}

function parseAddrField(raw: Record<string, unknown>, key: string, family: 4 | 6): bigint | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === "") return undefined;
  const b = typeof v === "string" ? parseIP(v) : null;
  if (!b || (b.length === 4) !== (family === 4)) throw new NetConfigError(`${key} is not an IPv${family} address: ${JSON.stringify(v)}`);
  return ipToBig(b);
}

function parseBool(raw: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") throw new NetConfigError(`${key} must be true or false`);
  return v;
}

function parseLen(raw: Record<string, unknown>, key: string): number {
  const v = raw[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new NetConfigError(`${key} must be a non-negative integer`);
  return v;
}

/** Parses and checks a config as flanneld does at start; `Backend` absent means vxlan. */
export function parseNetConfig(text: string): NetConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NetConfigError(`invalid network config JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new NetConfigError("network config must be a JSON object");
  const backend = raw.Backend === undefined || raw.Backend === null ? {} : raw.Backend;
  if (typeof backend !== "object" || Array.isArray(backend)) throw new NetConfigError("error decoding Backend property of config: not an object");
  const bt = (backend as Record<string, unknown>).Type;
  if (bt !== undefined && typeof bt !== "string") throw new NetConfigError("error decoding Backend property of config: Type must be a string");
  const cfg: NetConfig = {
    enableIPv4: parseBool(raw, "EnableIPv4", true),
    enableIPv6: parseBool(raw, "EnableIPv6", false),
    enableNFTables: parseBool(raw, "EnableNFTables", false),
    network: typeof raw.Network === "string" ? parseNet(raw.Network, 4) : undefined,
    ipv6Network: typeof raw.IPv6Network === "string" ? parseNet(raw.IPv6Network, 6) : undefined,
    subnetLen: parseLen(raw, "SubnetLen"),
    subnetMin: parseAddrField(raw, "SubnetMin", 4) ?? 0n,
    subnetMax: parseAddrField(raw, "SubnetMax", 4) ?? 0n,
    ipv6SubnetLen: parseLen(raw, "IPv6SubnetLen"),
    ipv6SubnetMin: parseAddrField(raw, "IPv6SubnetMin", 6) ?? 0n,
    ipv6SubnetMax: parseAddrField(raw, "IPv6SubnetMax", 6) ?? 0n,
    backendType: (bt as string | undefined) ?? "vxlan",
    backend: backend as Record<string, unknown>,
  };
  if (cfg.enableIPv4) checkFamily(cfg, 4);
  if (cfg.enableIPv6) checkFamily(cfg, 6);
  if (!cfg.enableIPv4 && !cfg.enableIPv6) throw new NetConfigError("neither EnableIPv4 nor EnableIPv6 is set");
  return cfg;
}

function checkFamily(cfg: NetConfig, f: 4 | 6): void {
  const v6 = f === 6;
  const net = v6 ? cfg.ipv6Network : cfg.network;
  if (!net)
    throw new NetConfigError(
      v6 ? "please define a correct IPv6Network parameter in the flannel config" : "please define a correct Network parameter in the flannel config",
    );
  const total = bits(f);
  let len = v6 ? cfg.ipv6SubnetLen : cfg.subnetLen;
  if (len > 0) {
    if (len > total - 2) throw new NetConfigError(v6 ? "SubnetLen must be less than /127" : "SubnetLen must be less than /31");
    if (len < net.prefix + 2) throw new NetConfigError("network must be able to accommodate at least four subnets");
  } else if (net.prefix > total - 4) {
    throw new NetConfigError(
      v6 ? "IPv6Network is too small. Minimum useful network prefix is /124" : "network is too small. Minimum useful network prefix is /28",
    );
  } else {
    // A /24 (/64) each when the network holds enough of them, else a quarter of it.
    len = net.prefix <= (v6 ? 62 : 22) ? (v6 ? 64 : 24) : net.prefix + 2;
  }
  const size = 1n << BigInt(total - len);
  const name = v6 ? "IPv6Subnet" : "Subnet";
  const netName = v6 ? "IPv6Network" : "Network";
  let min = v6 ? cfg.ipv6SubnetMin : cfg.subnetMin;
  let max = v6 ? cfg.ipv6SubnetMax : cfg.subnetMax;
  const next = net.ip + (1n << BigInt(total - net.prefix));
  // The first subnet is skipped: its first address would be the network's own.
  if (min === 0n) min = net.ip + size;
  else if (!netContainsBig(net, min)) throw new NetConfigError(`${name}Min is not in the range of the ${netName}`);
  if (max === 0n) max = next - size;
  else if (!netContainsBig(net, max)) throw new NetConfigError(`${name}Max is not in the range of the ${netName}`);
  if (min % size !== 0n) throw new NetConfigError(`${name}Min is not on a SubnetLen boundary: ${bigToIP(min, f)}`);
  if (max % size !== 0n) throw new NetConfigError(`${name}Max is not on a SubnetLen boundary: ${bigToIP(max, f)}`);
  if (v6) Object.assign(cfg, { ipv6SubnetLen: len, ipv6SubnetMin: min, ipv6SubnetMax: max });
  else Object.assign(cfg, { subnetLen: len, subnetMin: min, subnetMax: max });
}
