/**
 * A range set: ranges of one family that together make one address of a result
 * (host-local's `ranges` is a list of range sets, one address from each).
 */
import { CniError, ErrorCode } from "../spec/error.ts";
import { canonicalIP, ipToBigInt } from "../spec/ip.ts";
import { firstOverlappingRanges } from "./_overlap.ts";
import { canonicalizeRange, rangeContains, rangesOverlap, rangeToString, type Range, type RangeInput } from "./range.ts";

export type RangeSet = Range[];

function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** Canonicalizes every range and checks the set: not empty, one family, no overlap (the reference's texts, code 7). */
export function canonicalizeRangeSet(inputs: RangeInput[]): RangeSet {
  if (inputs.length === 0) invalid("empty range set");
  const set: Range[] = [];
  for (const r of inputs) set.push(canonicalizeRange(r));
  for (const r of set) if (r.rangeStart.length !== set[0]!.rangeStart.length) invalid("mixed address families");
  const pair = firstOverlappingRanges(set);
  if (pair) invalid(`subnets ${rangeToString(set[pair[0]]!)} and ${rangeToString(set[pair[1]]!)} overlap`);
  return set;
}

/** The range of the set holding `ip`, or undefined. */
export function rangeFor(set: RangeSet, ip: Uint8Array): Range | undefined {
  const addr = canonicalIP(ip);
  for (const r of set) if (rangeContains(r, addr)) return r;
  return undefined;
}

/** True when some range of the set holds `ip`. */
export function rangeSetContains(set: RangeSet, ip: Uint8Array): boolean {
  return rangeFor(set, ip) !== undefined;
}

/** True when any range of one set overlaps any of the other. */
export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

/** "start-end,start-end", as the reference prints a set in its messages. */
export function rangeSetToString(set: RangeSet): string {
  return set.map(rangeToString).join(",");
}

/** The family of a canonical set: 4 or 6. */
export function rangeSetFamily(set: RangeSet): 4 | 6 {
  return set[0]!.rangeStart.length === 4 ? 4 : 6;
}

/** Number of addresses the set can hand out (gateways inside a range excluded). */
export function rangeSetSize(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += ipToBigInt(r.rangeEnd) - ipToBigInt(r.rangeStart) + 1n;
    if (rangeContains(r, r.gateway)) n--;
  }
  return n;
}
