/** What flanneld needs from a subnet manager (etcd or Kubernetes). */
import type { Lease, LeaseAttrs } from "./lease.ts";
import type { NetConfig } from "./net-config.ts";

/** Where a manager reports what it sees. */
export interface LeaseSink {
  /** Every lease now (after a start or a reconnect). */
  snapshot(leases: Lease[]): void;
  /** One lease added or changed. */
  added(lease: Lease): void;
  /** One lease gone. */
  removed(lease: Lease): void;
}

/** A subnet manager: config, this node's lease, and the other nodes' leases. */
export interface SubnetManager {
  readonly name: string;
  getNetworkConfig(): Promise<NetConfig>;
  /** The VtepMACs this node published before (kept across restarts). */
  storedMacs(publicIP: string): Promise<{ v4?: string; v6?: string }>;
  acquireLease(cfg: NetConfig, attrs: LeaseAttrs): Promise<Lease>;
  /** Extends the lease; sets its new expiration. */
  renewLease(cfg: NetConfig, lease: Lease): Promise<void>;
  /** Reports leases to `sink` until `signal` aborts, reconnecting as needed. */
  watchLeases(sink: LeaseSink, signal: AbortSignal): Promise<void>;
  /** Called once routes are in place (Kubernetes: NetworkUnavailable=false). */
  networkReady?(lease: Lease): Promise<void>;
}
