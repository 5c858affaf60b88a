/**
 * When a lease must be renewed, rebound and given up (RFC 2131 4.4.5): T1 and T2 from
 * options 58 and 59, by default half and 85% of the lease time (option 51, one hour
 * when absent, as the reference assumes). Pure; times are milliseconds since the epoch.
 */
import { getOption, type DhcpMessage } from "./message.ts";
import { OPT_LEASE_TIME, OPT_REBINDING_TIME, OPT_RENEWAL_TIME, optionUint32 } from "./options.ts";

/** The reference's lease time when the ACK carries none. */
const DEFAULT_LEASE_SECONDS = 3600;

/** The deadlines of a lease. */
export interface LeaseTimes {
  renewAt: number;
  rebindAt: number;
  expireAt: number;
}

/** Deadlines of the lease that `ack` granted at `now`. */
export function leaseTimes(ack: DhcpMessage, now: number): LeaseTimes {
  const lease = optionUint32(getOption(ack, OPT_LEASE_TIME)) ?? DEFAULT_LEASE_SECONDS;
  const t2 = optionUint32(getOption(ack, OPT_REBINDING_TIME)) ?? Math.floor((lease * 85) / 100);
  const t1 = optionUint32(getOption(ack, OPT_RENEWAL_TIME)) ?? Math.floor(lease / 2);
  return { renewAt: now + t1 * 1000, rebindAt: now + t2 * 1000, expireAt: now + lease * 1000 };
}

/** Where a lease stands: waiting for T1, renewing with its server, rebinding with any server, or gone. */
export type LeasePhase = "bound" | "renewing" | "rebinding" | "expired";

/** The phase of a lease with deadlines `t` at `now`. */
export function leasePhase(t: LeaseTimes, now: number): LeasePhase {
  if (now >= t.expireAt) return "expired";
  if (now >= t.rebindAt) return "rebinding";
  if (now >= t.renewAt) return "renewing";
  return "bound";
}
