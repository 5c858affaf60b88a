/**
 * vxlan (flannel's pkg/backend/vxlan): device `flannel.<VNI>` (`flannel-v6.<VNI>`)
 * on the external interface, MTU 50 below it, the subnet's first address as /32
 * (/128), its MAC published in the lease as VtepMAC and reused after a restart. Per
 * remote lease: a permanent neighbour (remote subnet address -> remote VtepMAC), an FDB
 * entry (VtepMAC -> remote public IP) and an onlink route to the subnet via that
 * address, added in that order and rolled back together; with DirectRouting, a plain
 * route via the remote public IP when it is on the same L2 network. A deleted device is
 * made again, with its MAC, and every remote lease programmed again.
 */
import { NetlinkError } from "../../netlink/error.ts";
import { addrAdd, addrDel, addrList } from "../../netlink/addr.ts";
import { linkFind, linkSetUp } from "../../netlink/link.ts";
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import type { Vxlan } from "../../netlink/link-types.ts";
import { fdbDel, fdbReplace, neighDel, neighReplace } from "../../netlink/neigh.ts";
import { NTF_SELF, NUD_PERMANENT } from "../../netlink/nl/neigh-consts.ts";
import { routeDel, routeReplace } from "../../netlink/route.ts";
import { cidrOf, netContains, parseIP } from "../../spec/ip.ts";
import type { Lease, LeaseEvent } from "../lease.ts";
import { type Net, bigToIP, formatNet } from "../net-config.ts";
import type { Backend, BackendContext } from "./backend.ts";
import { errorMessage } from "../../spec/error.ts";

const ENCAP_OVERHEAD = 50;

/** flannel's VXLAN backend options (keys matched without regard to case, as Go's JSON does). */
export interface VxlanConfig {
  vni: number;
  port: number;
  mtu: number;
  gbp: boolean;
  learning: boolean;
  directRouting: boolean;
}

/** Reads Backend with flannel's defaults (VNI 1, the kernel's port, the interface's MTU). */
export function parseVxlanConfig(backend: Record<string, unknown>, ifaceMtu: number): VxlanConfig {
  const get = (k: string) => Object.entries(backend).find(([key]) => key.toLowerCase() === k)?.[1];
  const int = (k: string, d: number) => {
    const v = get(k);
    if (v === undefined) return d;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new Error(`error decoding VXLAN backend config: ${k} must be a non-negative integer`);
    return v;
  };
  const bool = (k: string) => {
    const v = get(k);
    if (v === undefined) return false;
    if (typeof v !== "boolean") throw new Error(`error decoding VXLAN backend config: ${k} must be true or false`);
    return v;
  };
  const cfg = {
    vni: int("vni", 1),
    port: int("port", 0),
    mtu: int("mtu", ifaceMtu),
    gbp: bool("gbp"),
    learning: bool("learning"),
    directRouting: bool("directrouting"),
  };
  if (cfg.vni > 0xffffff) throw new Error(`error decoding VXLAN backend config: VNI ${cfg.vni} out of range`);
  if (cfg.port > 65535) throw new Error(`error decoding VXLAN backend config: Port ${cfg.port} out of range`);
  return cfg;
}

interface Family {
  v6: boolean;
  name: string;
  local?: string;
  mac?: string;
}

/** The VXLAN backend. */
export function vxlanBackend(ctx: BackendContext): Backend {
  const vc = parseVxlanConfig(ctx.cfg.backend, ctx.ext.mtu);
  const fams: Family[] = [];
  if (ctx.cfg.enableIPv4) fams.push({ v6: false, name: `flannel.${vc.vni}`, local: ctx.ext.ifaceAddr, mac: ctx.storedMacs.v4 });
  if (ctx.cfg.enableIPv6) fams.push({ v6: true, name: `flannel-v6.${vc.vni}`, local: ctx.ext.ifaceAddr6, mac: ctx.storedMacs.v6 });
  let own: Lease | undefined;

  /** Creates the device or reuses a compatible one; returns its MAC. */
  function ensureDevice(f: Family): string {
    const existing = linkFind(ctx.h, f.name);
    if (existing) {
      const x = existing as Vxlan;
      const compatible =
        x.kind === "vxlan" &&
        x.vni === vc.vni &&
        x.vtepIndex === ctx.ext.index &&
        (x.local ?? "") === (f.local ?? "") &&
        (vc.port === 0 || x.port === vc.port) &&
        x.learning === vc.learning &&
        x.gbp === vc.gbp;
      if (compatible) {
        linkSetUp(ctx.h, f.name);
        f.mac = x.mac;
        return x.mac;
      }
      ctx.log(`${f.name} is not compatible with the config (VNI ${vc.vni}, port ${vc.port}, on ${ctx.ext.name}), recreating it`);
      linkDel(ctx.h, f.name);
    }
    linkAdd(ctx.h, {
      kind: "vxlan",
      name: f.name,
      vni: vc.vni,
      vtepDev: ctx.ext.index,
      local: f.local,
      learning: vc.learning,
      gbp: vc.gbp,
      mtu: vc.mtu - ENCAP_OVERHEAD,
      ...(vc.port ? { port: vc.port } : {}),
      ...(f.mac ? { mac: f.mac } : {}),
    });
    linkSetUp(ctx.h, f.name);
    const made = linkFind(ctx.h, f.name)!;
    f.mac = made.mac;
    return made.mac;
  }

  /** Only the lease's first address on the device (flannel's EnsureV4AddressOnLink). */
  function configureDevice(f: Family, sn: Net): void {
    const want = `${bigToIP(sn.ip, sn.family)}/${f.v6 ? 128 : 32}`;
    const addrs = addrList(ctx.h, { link: f.name, family: f.v6 ? 6 : 4 }).filter((a) => !(f.v6 && a.scope !== 0));
    for (const a of addrs) if (a.cidr !== want) addrDel(ctx.h, f.name, a.cidr);
    if (!addrs.some((a) => a.cidr === want)) addrAdd(ctx.h, f.name, want);
    linkSetUp(ctx.h, f.name);
  }

  /** True when `ip` is on one of the external interface's networks (no router in between). */
  function direct(ip: string): boolean {
    const b = parseIP(ip);
    return !!b && ctx.ext.prefixes.some((p) => netContains(cidrOf(p), b));
  }

  function add(l: Lease, f: Family): void {
    const sn = f.v6 ? l.ipv6Subnet : l.subnet;
    const data = (f.v6 ? l.attrs.BackendV6Data : l.attrs.BackendData) as { VtepMAC?: string } | undefined;
    const pub = f.v6 ? l.attrs.PublicIPv6 : l.attrs.PublicIP;
    if (!sn || !pub || typeof data?.VtepMAC !== "string") return;
    const dst = formatNet(sn);
    const gw = bigToIP(sn.ip, sn.family);
    if (vc.directRouting && !f.v6 && direct(pub)) {
      routeReplace(ctx.h, { dst, gw: pub });
      return;
    }
    neighReplace(ctx.h, { link: f.name, ip: gw, mac: data.VtepMAC, state: NUD_PERMANENT });
    try {
      fdbReplace(ctx.h, { link: f.name, mac: data.VtepMAC, dst: pub, flags: NTF_SELF, state: NUD_PERMANENT });
    } catch (e) {
      quietly(() => neighDel(ctx.h, { link: f.name, ip: gw }));
      throw e;
    }
    try {
      // Last: the kernel would ARP for the gateway were the neighbour not there yet.
      routeReplace(ctx.h, { dst, gw, link: f.name, onlink: true });
    } catch (e) {
      quietly(() => neighDel(ctx.h, { link: f.name, ip: gw }));
      quietly(() => fdbDel(ctx.h, { link: f.name, mac: data.VtepMAC!, dst: pub, flags: NTF_SELF }));
      throw e;
    }
  }

  function remove(l: Lease, f: Family, old?: Lease): void {
    const sn = f.v6 ? l.ipv6Subnet : l.subnet;
    if (!sn) return;
    const gw = bigToIP(sn.ip, sn.family);
    quietly(() => routeDel(ctx.h, { dst: formatNet(sn) }));
    quietly(() => neighDel(ctx.h, { link: f.name, ip: gw }));
    const data = old && ((f.v6 ? old.attrs.BackendV6Data : old.attrs.BackendData) as { VtepMAC?: string } | undefined);
    const pub = old && (f.v6 ? old.attrs.PublicIPv6 : old.attrs.PublicIP);
    if (data?.VtepMAC && pub) quietly(() => fdbDel(ctx.h, { link: f.name, mac: data.VtepMAC!, dst: pub, flags: NTF_SELF }));
  }

  return {
    type: "vxlan",
    setup() {
      const attrs = { PublicIP: ctx.ext.publicIP ?? "", PublicIPv6: null as string | null, BackendType: "vxlan" } as ReturnType<Backend["setup"]>;
      for (const f of fams) {
        const mac = ensureDevice(f);
        if (f.v6) {
          attrs.PublicIPv6 = ctx.ext.publicIPv6 ?? null;
          attrs.BackendV6Data = { VNI: vc.vni, VtepMAC: mac };
        } else attrs.BackendData = { VNI: vc.vni, VtepMAC: mac };
      }
      if (!ctx.cfg.enableIPv4) attrs.PublicIP = ctx.ext.publicIP ?? "0.0.0.0";
      return attrs;
    },
    configure(lease) {
      own = lease;
      for (const f of fams) {
        const sn = f.v6 ? lease.ipv6Subnet : lease.subnet;
        if (!sn) throw new Error(`failed to configure interface ${f.name}: IPv${f.v6 ? 6 : 4} is enabled but the lease has no IPv${f.v6 ? 6 : 4}`);
        // The device may have gone while the lease was acquired.
        ensureDevice(f);
        configureDevice(f, sn);
      }
    },
    mtu: () => vc.mtu - ENCAP_OVERHEAD,
    handle(e: LeaseEvent & { old?: Lease }) {
      if (e.type === "added" && e.lease.attrs.BackendType !== "vxlan") {
        ctx.log(`ignoring non-vxlan subnet ${e.lease.subnet ? formatNet(e.lease.subnet) : ""}: type=${e.lease.attrs.BackendType}`);
        return;
      }
      for (const f of fams) {
        try {
          if (e.type === "added") add(e.lease, f);
          else remove(e.lease, f, e.old ?? e.lease);
        } catch (err) {
          ctx.log(
            `${e.type === "added" ? "adding" : "removing"} subnet ${e.lease.subnet ? formatNet(e.lease.subnet) : ""} on ${f.name} failed: ${errorMessage(err)}`,
          );
        }
      }
    },
    resync(lease, remote) {
      for (const f of fams) {
        if (linkFind(ctx.h, f.name)) continue;
        ctx.log(`vxlan device ${f.name} missing, recreating it`);
        try {
          ensureDevice(f);
          configureDevice(f, (f.v6 ? lease.ipv6Subnet : lease.subnet)!);
          for (const l of remote) if (l.attrs.BackendType === "vxlan") add(l, f);
          ctx.log(`VXLAN device ${f.name} recreated successfully`);
        } catch (e) {
          ctx.log(`failed to recreate vxlan device ${f.name}: ${errorMessage(e)}`);
        }
      }
      void own;
    },
  };
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof NetlinkError)) throw e;
  }
}
