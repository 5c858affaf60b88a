import { describe, expect, test } from "bun:test";
import { loadHostLocalConfig } from "./host-local-config.ts";
import { firstOverlappingRanges, firstOverlappingSets } from "./_overlap.ts";
import { canonicalizeRange, rangesOverlap, type Range } from "./range.ts";
import { cidrOf, ipOf } from "../spec/ip.ts";
import type { NetConf } from "../spec/types.ts";

/** The reference's loops, as the oracle for small inputs. */
function pairwise(n: number, overlaps: (i: number, j: number) => boolean): [number, number] | undefined {
  for (let i = 0; i < n - 1; i++) for (let j = i + 1; j < n; j++) if (overlaps(i, j)) return [i, j];
  return undefined;
}

function v4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** A range of 10.0.0.0/8 from offset `a` to `b`, or of fd00::/64 when `six`. */
function range(a: number, b: number, six = false): Range {
  const [subnet, start, end] = six
    ? ["fd00::/64", `fd00::${(a + 1).toString(16)}`, `fd00::${(b + 1).toString(16)}`]
    : ["10.0.0.0/8", v4(0x0a000001 + a), v4(0x0a000001 + b)];
  return canonicalizeRange({ subnet: cidrOf(subnet), rangeStart: ipOf(start), rangeEnd: ipOf(end) });
}

/** 100,000 one-address ranges of 10.0.0.0/8 as config text, optionally with a last range overlapping the first. */
function manyRanges(n: number, overlapAtEnd: boolean): { subnet: string; rangeStart: string; rangeEnd: string }[] {
  const out = [];
  for (let k = 0; k < n; k++) {
    const ip = v4(0x0a000001 + 2 * k);
    out.push({ subnet: "10.0.0.0/8", rangeStart: ip, rangeEnd: ip });
  }
  if (overlapAtEnd) out.push({ subnet: "10.0.0.0/8", rangeStart: v4(0x0a000001), rangeEnd: v4(0x0a000001) });
  return out;
}

describe("overlap checks", () => {
  test("the same pair as the reference's pairwise loops, on random inputs", () => {
    let seed = 7;
    const rnd = (m: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % m;
    for (let round = 0; round < 400; round++) {
      const n = 1 + rnd(12);
      const ranges = Array.from({ length: n }, () => {
        const a = rnd(60);
        return range(a, a + rnd(8), rnd(4) === 0);
      });
      expect(firstOverlappingRanges(ranges)).toEqual(pairwise(n, (i, j) => rangesOverlap(ranges[i]!, ranges[j]!)));
      // Sets of ranges that do not overlap within themselves: one range per set, or two far apart.
      const sets = ranges.map((r, k) => (k % 3 === 0 ? [r, range(1000 + k * 10, 1000 + k * 10 + 2)] : [r]));
      const setsOverlap = (i: number, j: number) => sets[i]!.some((a) => sets[j]!.some((b) => rangesOverlap(a, b)));
      expect(firstOverlappingSets(sets)).toEqual(pairwise(sets.length, setsOverlap));
    }
  });

  test("100,000 ranges, in one set or in 100,000 sets, load in seconds (pairwise: minutes)", () => {
    const conf = (ipam: object) => ({ cniVersion: "1.0.0", name: "big", type: "bridge", ipam: { type: "host-local", ...ipam } }) as NetConf;
    const times: number[] = [];
    const time = (f: () => unknown) => {
      const t = performance.now();
      f();
      times.push(performance.now() - t);
    };
    time(() => expect(loadHostLocalConfig(conf({ ranges: [manyRanges(100_000, false)] }), "").ranges[0]!.length).toBe(100_000));
    time(() => expect(loadHostLocalConfig(conf({ ranges: manyRanges(100_000, false).map((r) => [r]) }), "").ranges.length).toBe(100_000));
    time(() =>
      expect(() => loadHostLocalConfig(conf({ ranges: [manyRanges(100_000, true)] }), "")).toThrow(
        "invalid range set 0: subnets 10.0.0.1-10.0.0.1 and 10.0.0.1-10.0.0.1 overlap",
      ),
    );
    time(() => expect(() => loadHostLocalConfig(conf({ ranges: manyRanges(100_000, true).map((r) => [r]) }), "")).toThrow("range set 0 overlaps with 100000"));
    console.log(
      `100,000 ranges: one set ${times[0]!.toFixed(0)} ms, 100,000 sets ${times[1]!.toFixed(0)} ms; with an overlap: ${times[2]!.toFixed(0)} ms, ${times[3]!.toFixed(0)} ms`,
    );
    // Generous for a loaded shared machine (about 1 s each when idle); pairwise takes hours.
    for (const t of times) expect(t).toBeLessThan(30_000);
  }, 240_000);
});
