/**
 * tun/tap devices, made as iproute2's `ip tuntap add` makes them: open /dev/net/tun,
 * TUNSETIFF, owner and group, TUNSETPERSIST so the device outlives the file, close.
 * A tap device belongs to the network namespace of the thread that opens the file, so
 * the open happens inside `ns` when one is given.
 */
import { close, ioctl, ioctlBuf, open, O_CLOEXEC, O_RDWR } from "./libc.ts";
import type { NetNS } from "./netns.ts";

const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const TUNSETOWNER = 0x400454cc;
const TUNSETGROUP = 0x400454ce;
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFF_MULTI_QUEUE = 0x0100;
const IFNAMSIZ = 16;
const SIZEOF_IFREQ = 40;

/** What a new persistent tun/tap device gets. */
export interface TuntapOptions {
  mode: "tun" | "tap";
  /** IFF_MULTI_QUEUE. */
  multiQueue?: boolean;
  /** IFF_VNET_HDR: frames carry a virtio-net header (for a VMM's vhost). */
  vnetHdr?: boolean;
  /** Only this uid (and `group`) may attach; any by default. */
  owner?: number;
  group?: number;
  /** Made in this namespace instead of the caller's. */
  ns?: NetNS;
}

/** struct ifreq with ifr_name and ifr_flags, as TUNSETIFF takes it. */
export function tunIfreq(name: string, flags: number): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0 || bytes.length >= IFNAMSIZ) throw new RangeError(`Invalid interface name ${JSON.stringify(name)}: needs 1-15 bytes`);
  const req = new Uint8Array(SIZEOF_IFREQ);
  req.set(bytes, 0);
  new DataView(req.buffer).setUint16(IFNAMSIZ, flags, true);
  return req;
}

/** TUNSETIFF flags for the options; packet information is always off, as with iproute2. */
export function tunFlags(o: TuntapOptions): number {
  return (o.mode === "tap" ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (o.multiQueue ? IFF_MULTI_QUEUE : 0) | (o.vnetHdr ? IFF_VNET_HDR : 0);
}

/** Creates a persistent tun/tap device named `name`; ErrnoError (EBUSY when the name is taken by another kind). Equivalent to: `ip tuntap add mode tap name NAME [multi_queue] [user U] [group G]`. */
export function tuntapAdd(name: string, o: TuntapOptions): void {
  const req = tunIfreq(name, tunFlags(o));
  const make = () => {
    const fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC, 0);
    try {
      ioctlBuf(fd, TUNSETIFF, req);
      if (o.owner !== undefined) ioctl(fd, TUNSETOWNER, o.owner);
      if (o.group !== undefined) ioctl(fd, TUNSETGROUP, o.group);
      ioctl(fd, TUNSETPERSIST, 1);
    } finally {
      close(fd);
    }
  };
  if (o.ns) o.ns.runIn(make);
  else make();
}
