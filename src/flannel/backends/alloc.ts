/** alloc: leases only, no data path (flannel's pkg/backend/alloc). */
import type { Backend, BackendContext } from "./backend.ts";

/** The alloc backend. */
export function allocBackend(ctx: BackendContext): Backend {
  return {
    type: "alloc",
    setup: () => ({ PublicIP: ctx.ext.publicIP ?? "", PublicIPv6: ctx.cfg.enableIPv6 ? (ctx.ext.publicIPv6 ?? null) : null, BackendType: "alloc" }),
    configure() {},
    mtu: () => ctx.ext.mtu,
    handle() {},
    resync() {},
  };
}
