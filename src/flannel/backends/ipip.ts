/**
 * ipip (flannel's pkg/backend/ipip): device `flannel.ipip` (an ipip tunnel with the
 * external interface's address as local and any remote), the subnet's first address as
 * /32 on it, MTU as the kernel sets it (20 below the underlay); per remote lease an
 * onlink route to its subnet via its public IP over the tunnel, or with DirectRouting a
 * plain route over the external interface when the remote is on the same L2 network.
 * IPv4 only, as flannel's. Needs the kernel's ipip module (this project's test host has
 * none: tested in the VM, flanneld-tunnels.vm.test.ts).
 */
import { NetlinkError } from "../../netlink/error.ts";
import { addrAdd, addrDel, addrList } from "../../netlink/addr.ts";
import { linkFind, linkSetUp } from "../../netlink/link.ts";
import { linkAdd } from "../../netlink/link-add.ts";
import { routeDel, routeList, routeReplace } from "../../netlink/route.ts";
import { netContains, parseCIDR, parseIP } from "../../spec/ip.ts";
import type { Lease, LeaseEvent } from "../lease.ts";
import { bigToIP, formatNet } from "../net-config.ts";
import type { Backend, BackendContext } from "./backend.ts";

const TUNNEL = "flannel.ipip";
const CHECK_EVERY_MS = 10_000;

/** The ipip backend. */
export function ipipBackend(ctx: BackendContext): Backend {
  if (ctx.cfg.enableIPv6 || !ctx.cfg.enableIPv4) throw new Error("the ipip backend is IPv4 only (EnableIPv6 is set or EnableIPv4 is not)");
  const directRouting = Object.entries(ctx.cfg.backend).some(([k, v]) => k.toLowerCase() === "directrouting" && v === true);
  let lastCheck = Date.now();
  let own: Lease | undefined;

  function ensureDevice(): void {
    const existing = linkFind(ctx.h, TUNNEL);
    if (existing) {
      if (existing.kind === "generic" && existing.infoKind === "ipip") return linkSetUp(ctx.h, TUNNEL);
      throw new Error(`${TUNNEL} isn't an ipip mode device, please remove device and try again`);
    }
    linkAdd(ctx.h, { kind: "ipip", name: TUNNEL, local: ctx.ext.ifaceAddr });
    linkSetUp(ctx.h, TUNNEL);
  }

  function configureDevice(lease: Lease): void {
    const want = `${bigToIP(lease.subnet!.ip, 4)}/32`;
    const addrs = addrList(ctx.h, { link: TUNNEL, family: 4 });
    for (const a of addrs) if (a.cidr !== want) addrDel(ctx.h, TUNNEL, a.cidr);
    if (!addrs.some((a) => a.cidr === want)) addrAdd(ctx.h, TUNNEL, want);
    linkSetUp(ctx.h, TUNNEL);
  }

  const direct = (ip: string) => {
    const b = parseIP(ip);
    return !!b && ctx.ext.prefixes.some((p) => netContains(parseCIDR(p)!, b));
  };

  function add(l: Lease): void {
    if (!l.subnet || !l.attrs.PublicIP) return;
    const dst = formatNet(l.subnet);
    try {
      if (directRouting && direct(l.attrs.PublicIP)) routeReplace(ctx.h, { dst, gw: l.attrs.PublicIP, link: ctx.ext.index });
      else routeReplace(ctx.h, { dst, gw: l.attrs.PublicIP, link: TUNNEL, onlink: true });
    } catch (e) {
      ctx.log(`Error adding route to ${dst} via ${l.attrs.PublicIP}: ${(e as Error).message}`);
    }
  }

  return {
    type: "ipip",
    setup() {
      ensureDevice();
      return { PublicIP: ctx.ext.publicIP ?? "", PublicIPv6: null, BackendType: "ipip" };
    },
    configure(lease) {
      own = lease;
      ensureDevice();
      configureDevice(lease);
    },
    mtu: () => linkFind(ctx.h, TUNNEL)?.mtu ?? ctx.ext.mtu - 20,
    handle(e: LeaseEvent) {
      if (e.type === "added" && e.lease.attrs.BackendType !== "ipip") {
        ctx.log(`Ignoring non-ipip subnet ${e.lease.subnet ? formatNet(e.lease.subnet) : ""}: type=${e.lease.attrs.BackendType}`);
        return;
      }
      if (e.type === "added") return add(e.lease);
      if (!e.lease.subnet) return;
      try {
        routeDel(ctx.h, { dst: formatNet(e.lease.subnet) });
      } catch (err) {
        if (!(err instanceof NetlinkError)) throw err;
      }
    },
    resync(lease, remote) {
      if (!linkFind(ctx.h, TUNNEL)) {
        ctx.log(`${TUNNEL} missing, recreating it`);
        ensureDevice();
        configureDevice(own ?? lease);
        for (const l of remote) if (l.attrs.BackendType === "ipip") add(l);
        return;
      }
      if (Date.now() - lastCheck < CHECK_EVERY_MS) return;
      lastCheck = Date.now();
      const have = new Set(routeList(ctx.h, { family: 4 }).map((r) => r.dst));
      for (const l of remote) if (l.attrs.BackendType === "ipip" && l.subnet && !have.has(formatNet(l.subnet))) add(l);
    },
  };
}
