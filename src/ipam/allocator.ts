/**
 * The host-local allocator: one address from a range set, round-robin from the last
 * address reserved in that set, so a crash-looping container does not get the same
 * address again until the whole set has been used. Step for step the reference's
 * IPAllocator, so both hand out the same sequence from a shared directory.
 */
import { CniError, ErrorCode } from "../spec/error.ts";
import { canonicalIP, formatIP, ipEqual, nextIP, parseIP } from "../spec/ip.ts";
import type { IPConfig } from "../spec/types.ts";
import type { Range } from "./range.ts";
import { rangeFor, rangeSetContains, rangeSetToString, type RangeSet } from "./range-set.ts";

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

function ipConfig(ip: Uint8Array, r: Range): IPConfig {
  return { address: `${formatIP(ip)}/${r.subnet.prefix}`, gateway: formatIP(r.gateway) };
}

/**
 * Walks a range set from a starting point to where it began, skipping gateways
 * (the reference's RangeIter). Starts after `last` when the set holds it, else at the
 * first range's start.
 */
export class RangeIter {
  readonly #set: RangeSet;
  #idx = 0;
  #cur: Uint8Array | undefined;
  #start: Uint8Array | undefined;

  constructor(set: RangeSet, last?: Uint8Array) {
    this.#set = set;
    // The range holding the last reservation (a loop: a plugin process pays for findIndex's first use).
    let from = -1;
    if (last) for (let k = 0; k < set.length && from < 0; k++) if (rangeFor([set[k]!], last)) from = k;
    if (last && from >= 0) {
      this.#idx = from;
      this.#cur = canonicalIP(last);
    } else {
      this.#start = set[0]!.rangeStart;
    }
  }

  /** The next candidate and its range, or undefined when the set has been walked once. */
  next(): { ip: Uint8Array; range: Range } | undefined {
    for (;;) {
      let r = this.#set[this.#idx]!;
      if (this.#cur === undefined) {
        this.#cur = this.#start = r.rangeStart;
      } else {
        if (ipEqual(this.#cur, r.rangeEnd)) {
          this.#idx = (this.#idx + 1) % this.#set.length;
          r = this.#set[this.#idx]!;
          this.#cur = r.rangeStart;
        } else {
          this.#cur = nextIP(this.#cur);
        }
        if (this.#start === undefined) this.#start = this.#cur;
        else if (ipEqual(this.#cur, this.#start)) return undefined;
      }
      if (!ipEqual(this.#cur, r.gateway)) return { ip: this.#cur, range: r };
    }
  }
}

/**
 * What the allocator needs of a store (the reference's backend.Store), always called
 * with the store locked: the disk store, or a fake in tests.
 */
export interface Store {
  /** Records `ip` as (id, ifname)'s and as the last reserved of range set `rangeID`; false when it is taken. */
  reserve(id: string, ifname: string, ip: Uint8Array, rangeID: string): boolean;
  /** The address last reserved in range set `rangeID`, if any. */
  lastReservedIP(rangeID: string): Uint8Array | undefined;
  /** The addresses (text) that (id, ifname) holds. */
  getByID(id: string, ifname: string): string[];
  /** Releases every address of (id, ifname); returns them. */
  releaseByID(id: string, ifname: string): string[];
}

/** One allocation: which range set, for which attachment, and the address asked for if any. */
export interface Allocation {
  set: RangeSet;
  /** The set's number in the config (names its last_reserved_ip file). */
  rangeIndex: number;
  id: string;
  ifname: string;
  /** An address the caller asked for (CNI_ARGS IP, args.cni.ips, runtimeConfig.ips). */
  requestedIP?: Uint8Array;
}

/**
 * Reserves one address of the allocation's range set for its attachment in a locked
 * store. Refuses a second address of the same set for the same attachment, a requested
 * address that is the gateway or taken, and a full set, with the reference's texts (code 999).
 */
export function allocateIP(store: Store, a: Allocation): IPConfig {
  const { set, id, ifname } = a;
  const rangeID = String(a.rangeIndex);
  if (a.requestedIP) {
    const ip = canonicalIP(a.requestedIP);
    const r = rangeFor(set, ip) ?? fail(`${formatIP(ip)} not in range set ${rangeSetToString(set)}`);
    if (ipEqual(ip, r.gateway)) fail(`requested ip ${formatIP(ip)} is subnet's gateway`);
    if (!store.reserve(id, ifname, ip, rangeID)) {
      fail(`requested IP address ${formatIP(ip)} is not available in range set ${rangeSetToString(set)}`);
    }
    return ipConfig(ip, r);
  }
  // The spec forbids two ADDs for one attachment: the reference refuses the second.
  for (const held of store.getByID(id, ifname)) {
    const ip = parseIP(held);
    if (ip && rangeSetContains(set, ip)) fail(`${held} has been allocated to ${id}, duplicate allocation is not allowed`);
  }
  const iter = new RangeIter(set, store.lastReservedIP(rangeID));
  for (let c = iter.next(); c; c = iter.next()) {
    if (store.reserve(id, ifname, c.ip, rangeID)) return ipConfig(c.ip, c.range);
  }
  return fail(`no IP addresses available in range set: ${rangeSetToString(set)}`);
}
