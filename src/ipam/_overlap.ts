/**
 * Overlap checks over many ranges in O(n log n): the reference compares every pair,
 * which takes minutes for 100,000 ranges. The answers (which pair is reported) are the
 * reference's: the first i, in config order, that overlaps some later j, and the first
 * such j.
 */
import { ipToBigInt } from "../spec/ip.ts";
import type { Range } from "./range.ts";

/** A range as numbers; v6 is lifted above every v4 address so that the two never meet. */
interface Span {
  start: bigint;
  end: bigint;
  /** Position in the caller's list. */
  at: number;
}

const V6_OFFSET = 1n << 129n;

function key(ip: Uint8Array): bigint {
  if (ip.length === 4) return BigInt(((ip[0]! << 24) >>> 0) + (ip[1]! << 16) + (ip[2]! << 8) + ip[3]!);
  return ipToBigInt(ip) + V6_OFFSET;
}

function span(r: Range, at: number): Span {
  return { start: key(r.rangeStart), end: key(r.rangeEnd), at };
}

/**
 * The smallest position whose span overlaps any other span, or -1. A span overlaps an
 * earlier one (by start) when it starts before the largest end so far, and a later one
 * when the next start is within it.
 */
function firstOverlapping(spans: Span[]): number {
  // One range (most configs) overlaps nothing: no copy, no sort.
  if (spans.length < 2) return -1;
  const sorted = [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let first = -1;
  let maxEnd = -1n;
  for (let k = 0; k < sorted.length; k++) {
    const s = sorted[k]!;
    const next = sorted[k + 1];
    if (s.start <= maxEnd || (next !== undefined && next.start <= s.end)) {
      if (first < 0 || s.at < first) first = s.at;
    }
    if (s.end > maxEnd) maxEnd = s.end;
  }
  return first;
}

/** The first pair [i, j] (i < j) of ranges that overlap, in the reference's loop order; undefined when none. */
export function firstOverlappingRanges(ranges: Range[]): [number, number] | undefined {
  const spans: Span[] = [];
  for (let k = 0; k < ranges.length; k++) spans.push(span(ranges[k]!, k));
  const i = firstOverlapping(spans);
  if (i < 0) return undefined;
  const a = spans[i]!;
  for (let j = i + 1; j < spans.length; j++) {
    const b = spans[j]!;
    if (a.start <= b.end && b.start <= a.end) return [i, j];
  }
  return undefined;
}

/**
 * The first pair [i, j] (i < j) of range sets with overlapping ranges, in the
 * reference's loop order; undefined when none. Ranges within one set must not overlap
 * (canonicalizeRangeSet checks that first).
 */
export function firstOverlappingSets(sets: Range[][]): [number, number] | undefined {
  const spans: Span[] = [];
  const setOf: number[] = [];
  for (let s = 0; s < sets.length; s++) {
    for (const r of sets[s]!) {
      spans.push(span(r, spans.length));
      setOf.push(s);
    }
  }
  const first = firstOverlapping(spans);
  if (first < 0) return undefined;
  // The smallest set with an overlap overlaps a later one (its partner's set is larger).
  const i = setOf[first]!;
  const mine = spans.filter((s) => setOf[s.at] === i).sort((a, b) => (a.start < b.start ? -1 : 1));
  let j = -1;
  for (const b of spans) {
    const s = setOf[b.at]!;
    if (s <= i || (j >= 0 && s >= j)) continue;
    // The last of set i's ranges starting at or before b's end; they do not overlap
    // each other, so it is the only candidate.
    let lo = 0;
    let hi = mine.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (mine[mid]!.start <= b.end) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && mine[found]!.end >= b.start) j = s;
  }
  return j >= 0 ? [i, j] : undefined;
}
