/**
 * Leases as flannel stores them: the key `<prefix>/subnets/10.5.1.0-24` (dual stack
 * `10.5.1.0-24&fc00:0:0:1::-64`) holding LeaseAttrs JSON in Go's field order.
 */
import { type Net, formatNet, parseNet } from "./net-config.ts";

/** flannel's LeaseAttrs. */
export interface LeaseAttrs {
  PublicIP: string;
  PublicIPv6?: string | null;
  BackendType: string;
  BackendData?: unknown;
  BackendV6Data?: unknown;
}

/** One node's lease. */
export interface Lease {
  subnet?: Net;
  ipv6Subnet?: Net;
  attrs: LeaseAttrs;
  /** ms since the epoch; undefined for a reservation (no TTL). */
  expiration?: number;
}

/** A change seen by the watch. */
export interface LeaseEvent {
  type: "added" | "removed";
  lease: Lease;
}

/** `10.5.1.0-24` or `10.5.1.0-24&fc00:0:0:1::-64`. */
export function subnetKey(sn?: Net, sn6?: Net): string {
  const v4 = sn ? formatNet(sn).replace("/", "-") : "";
  return sn6 ? `${v4}&${formatNet(sn6).replace("/", "-")}` : v4;
}

const KEY = /(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/** The subnets a key names; undefined when it names none. */
export function parseSubnetKey(key: string): { subnet: Net; ipv6Subnet?: Net } | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const subnet = parseNet(`${m[1]}/${m[2]}`, 4);
  if (!subnet) return undefined;
  if (!m[3]) return { subnet };
  const ipv6Subnet = parseNet(`${m[3]}/${m[4]}`, 6);
  return ipv6Subnet ? { subnet, ipv6Subnet } : undefined;
}

/** The JSON flannel writes: PublicIP, PublicIPv6 (null when none), BackendType, then the backend data when present. */
export function encodeAttrs(a: LeaseAttrs): string {
  const o: Record<string, unknown> = { PublicIP: a.PublicIP, PublicIPv6: a.PublicIPv6 ?? null, BackendType: a.BackendType };
  if (a.BackendData !== undefined) o.BackendData = a.BackendData;
  if (a.BackendV6Data !== undefined) o.BackendV6Data = a.BackendV6Data;
  return JSON.stringify(o);
}

/** Reads LeaseAttrs JSON; throws on anything without a PublicIP string. */
export function decodeAttrs(text: string): LeaseAttrs {
  const o = JSON.parse(text);
  if (typeof o !== "object" || o === null || typeof o.PublicIP !== "string") throw new Error("lease attributes without PublicIP");
  return {
    PublicIP: o.PublicIP,
    PublicIPv6: o.PublicIPv6 ?? null,
    BackendType: String(o.BackendType ?? ""),
    BackendData: o.BackendData,
    BackendV6Data: o.BackendV6Data,
  };
}

/** True when both leases name the same subnets. */
export function sameSubnet(a: Lease, b: Lease): boolean {
  const eq = (x?: Net, y?: Net) => (!x && !y) || (!!x && !!y && x.ip === y.ip && x.prefix === y.prefix);
  return eq(a.subnet, b.subnet) && eq(a.ipv6Subnet, b.ipv6Subnet);
}

/**
 * Keeps the other nodes' leases and turns snapshots and single changes into added /
 * removed events, as flannel's LeaseWatcher does; the node's own lease is left out.
 */
export class LeaseWatcher {
  leases: Lease[] = [];
  constructor(private readonly own: () => Lease) {}

  /** A full snapshot: events for what appeared, changed or disappeared since the last. */
  reset(snapshot: Lease[]): LeaseEvent[] {
    const events: LeaseEvent[] = [];
    const others = snapshot.filter((l) => !sameSubnet(l, this.own()));
    for (const l of others) {
      const old = this.leases.find((o) => sameSubnet(o, l));
      if (!old || encodeAttrs(old.attrs) !== encodeAttrs(l.attrs)) events.push({ type: "added", lease: l });
    }
    for (const o of this.leases) if (!others.some((l) => sameSubnet(o, l))) events.push({ type: "removed", lease: o });
    this.leases = others;
    return events;
  }

  /** One change. */
  update(e: LeaseEvent): LeaseEvent | undefined {
    if (sameSubnet(e.lease, this.own())) return undefined;
    const i = this.leases.findIndex((o) => sameSubnet(o, e.lease));
    if (e.type === "added") {
      if (i >= 0) this.leases[i] = e.lease;
      else this.leases.push(e.lease);
      return e;
    }
    if (i < 0) return undefined;
    const [old] = this.leases.splice(i, 1);
    return { type: "removed", lease: old! };
  }
}
