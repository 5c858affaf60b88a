/**
 * The `k8s.v1.cni.cncf.io/network-status` annotation in the shape the
 * NetworkAttachmentDefinition client writes (CreateNetworkStatuses, SetNetworkStatus):
 * one entry per pod interface of a delegate's result, each entry printed with four-space
 * indentation and joined into a JSON list.
 */
import { marshalIndent } from "../../spec/json.ts";
import type { Result } from "../../spec/types.ts";
import type { NetworkStatus, StatusDNS } from "./types.ts";

function isDefaultRoute(dst: string): boolean {
  return dst === "0.0.0.0/0" || dst === "::/0" || dst.startsWith("0.0.0.0/") || dst.startsWith("::/");
}

function addrOf(cidr: string): string {
  return cidr.split("/")[0]!;
}

/** The client converts DNS field by field, so every list is present (empty, hence left out). */
function dnsOf(r: Result): StatusDNS {
  const d: StatusDNS = {};
  const dns = r.dns ?? {};
  if (dns.nameservers?.length) d.nameservers = [...dns.nameservers];
  if (dns.domain) d.domain = dns.domain;
  if (dns.search?.length) d.search = [...dns.search];
  if (dns.options?.length) d.options = [...dns.options];
  return d;
}

/** Builds an entry with the NAD client's field order and omitempty rules. */
function entry(e: {
  name: string;
  iface?: string;
  ips: string[];
  mac?: string;
  mtu?: number;
  isDefault: boolean;
  dns: StatusDNS;
  dev?: Record<string, unknown>;
  gateway?: string[];
}): NetworkStatus {
  const s = { name: e.name } as NetworkStatus;
  if (e.iface) s.interface = e.iface;
  if (e.ips.length) s.ips = e.ips;
  if (e.mac) s.mac = e.mac;
  if (e.mtu) s.mtu = e.mtu;
  if (e.isDefault) s.default = true;
  s.dns = e.dns;
  if (e.dev) s["device-info"] = e.dev;
  if (e.gateway?.length) s.gateway = e.gateway;
  return s;
}

/** The statuses of one delegate's result (CreateNetworkStatuses). */
export function createNetworkStatuses(r: Result, networkName: string, defaultNetwork: boolean, dev?: Record<string, unknown>): NetworkStatus[] {
  const ifaces = r.interfaces ?? [];
  const gateways = (r.routes ?? []).filter((rt) => isDefaultRoute(rt.dst)).map((rt) => rt.gw ?? "<nil>");
  if (ifaces.length === 1) {
    // CreateNetworkStatus: the sandbox interface (the last one with a sandbox), every IP.
    let iface: (typeof ifaces)[number] | undefined;
    for (const i of ifaces) if (i.sandbox) iface = i;
    return [
      entry({
        name: networkName,
        iface: iface?.name,
        ips: (r.ips ?? []).map((ip) => addrOf(ip.address)),
        mac: iface?.mac,
        mtu: iface?.mtu,
        isDefault: defaultNetwork,
        dns: dnsOf(r),
        dev,
        gateway: gateways,
      }),
    ];
  }
  const gwIfaceIdx = defaultNetwork ? ((r.ips ?? []).find((ip) => ip.gateway && ip.interface !== undefined)?.interface ?? -1) : -1;
  const statuses: { s: Parameters<typeof entry>[0] }[] = [];
  const indexMap = new Map<number, number>();
  let didSetDefault = false;
  let foundFirstSandbox = false;
  ifaces.forEach((iface, i) => {
    if (!iface.sandbox) return;
    let isDefault = false;
    if (defaultNetwork && i === gwIfaceIdx && !didSetDefault) isDefault = didSetDefault = true;
    if (defaultNetwork && gwIfaceIdx === -1 && !foundFirstSandbox) isDefault = foundFirstSandbox = true;
    indexMap.set(i, statuses.length);
    statuses.push({ s: { name: networkName, iface: iface.name, ips: [], mac: iface.mac, mtu: iface.mtu, isDefault, dns: dnsOf(r), dev, gateway: gateways } });
  });
  const last = statuses[statuses.length - 1];
  for (const ip of r.ips ?? []) {
    if (ip.interface !== undefined) {
      const at = indexMap.get(ip.interface);
      if (at !== undefined) statuses[at]!.s.ips.push(addrOf(ip.address));
    } else last?.s.ips.push(addrOf(ip.address));
  }
  return statuses.map(({ s }) => entry(s));
}

/** The annotation's value: each status indented by four spaces, joined into a list (SetNetworkStatus). */
export function formatNetworkStatus(statuses: NetworkStatus[]): string {
  return `[${statuses.map((s) => marshalIndent(s)).join(",")}]`;
}
