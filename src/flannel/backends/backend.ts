/** The backend interface: devices and routes that carry pod traffic to other nodes. */
import type { NetlinkHandle } from "../../netlink/handle.ts";
import type { ExtIface } from "../ext-iface.ts";
import type { Lease, LeaseAttrs, LeaseEvent } from "../lease.ts";
import type { NetConfig } from "../net-config.ts";

/** What a backend gets. */
export interface BackendContext {
  h: NetlinkHandle;
  cfg: NetConfig;
  ext: ExtIface;
  /** VtepMACs published before by this node, to keep them across restarts. */
  storedMacs: { v4?: string; v6?: string };
  log: (msg: string) => void;
}

/** One backend; `setup` runs before the lease is acquired, `configure` after. */
export interface Backend {
  readonly type: string;
  /** Creates what the lease must describe (a VXLAN device and its MAC); the attributes to publish. */
  setup(): LeaseAttrs;
  /** Configures the node for its own lease (the device's /32). */
  configure(own: Lease): void;
  /** The MTU pods get (subnet.env's FLANNEL_MTU). */
  mtu(): number;
  /** Programs or removes what one remote lease needs. */
  handle(e: LeaseEvent): void;
  /** Called about every second: puts back what someone removed (routes, the device). */
  resync(own: Lease, remote: Lease[]): void;
}
