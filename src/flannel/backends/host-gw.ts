/**
 * host-gw (flannel's pkg/backend/hostgw + route_network.go): a route to each remote
 * subnet via the remote node's public IP on the external interface; replaced when the
 * remote IP changes, removed with the lease, and put back by the periodic check
 * (flannel checks every 10 s).
 */
import { NetlinkError } from "../../netlink/error.ts";
import { routeDel, routeList, routeReplace } from "../../netlink/route.ts";
import type { Lease, LeaseEvent } from "../lease.ts";
import { formatNet } from "../net-config.ts";
import type { Backend, BackendContext } from "./backend.ts";

const CHECK_EVERY_MS = 10_000;

/** The routes a remote lease needs: [dst, gw] per enabled family. */
function routesOf(ctx: BackendContext, l: Lease): { dst: string; gw: string }[] {
  const out: { dst: string; gw: string }[] = [];
  if (ctx.cfg.enableIPv4 && l.subnet && l.attrs.PublicIP) out.push({ dst: formatNet(l.subnet), gw: l.attrs.PublicIP });
  if (ctx.cfg.enableIPv6 && l.ipv6Subnet && l.attrs.PublicIPv6) out.push({ dst: formatNet(l.ipv6Subnet), gw: l.attrs.PublicIPv6 });
  return out;
}

/** The host-gw backend. */
export function hostGwBackend(ctx: BackendContext): Backend {
  let lastCheck = Date.now();
  const add = (l: Lease) => {
    for (const r of routesOf(ctx, l)) {
      try {
        routeReplace(ctx.h, { dst: r.dst, gw: r.gw, link: ctx.ext.index });
      } catch (e) {
        ctx.log(`Error adding route to ${r.dst} via ${r.gw}: ${(e as Error).message}`);
      }
    }
  };
  return {
    type: "host-gw",
    setup: () => ({
      PublicIP: ctx.cfg.enableIPv4 ? (ctx.ext.publicIP ?? "") : "0.0.0.0",
      PublicIPv6: ctx.cfg.enableIPv6 ? (ctx.ext.publicIPv6 ?? null) : null,
      BackendType: "host-gw",
    }),
    configure() {},
    mtu: () => ctx.ext.mtu,
    handle(e: LeaseEvent) {
      if (e.type === "added" && e.lease.attrs.BackendType !== "host-gw") {
        ctx.log(`Ignoring non-host-gw subnet ${e.lease.subnet ? formatNet(e.lease.subnet) : ""}: type=${e.lease.attrs.BackendType}`);
        return;
      }
      if (e.type === "added") return add(e.lease);
      for (const fam of [4, 6] as const) {
        const sn = fam === 4 ? e.lease.subnet : e.lease.ipv6Subnet;
        if (!sn) continue;
        try {
          routeDel(ctx.h, { dst: formatNet(sn), link: ctx.ext.index });
        } catch (err) {
          if (!(err instanceof NetlinkError && err.code === "ESRCH")) ctx.log(`Error deleting route to ${formatNet(sn)}: ${(err as Error).message}`);
        }
      }
    },
    resync(_own, remote) {
      if (Date.now() - lastCheck < CHECK_EVERY_MS) return;
      lastCheck = Date.now();
      const have = new Set(routeList(ctx.h, { link: ctx.ext.index }).map((r) => `${r.dst} ${r.gw}`));
      for (const l of remote) {
        if (l.attrs.BackendType !== "host-gw") continue;
        if (routesOf(ctx, l).some((r) => !have.has(`${r.dst} ${r.gw}`))) {
          ctx.log(`Route to ${l.subnet ? formatNet(l.subnet) : ""} via ${l.attrs.PublicIP} is missing, adding it back`);
          add(l);
        }
      }
    },
  };
}
