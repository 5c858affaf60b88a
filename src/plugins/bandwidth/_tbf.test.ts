import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { tbfParams } from "./_tbf.ts";

// The reference's numbers for the same limits, as its plugin sent them (strace), on a
// kernel whose /proc/net/psched gives 15.625 ticks per microsecond.
const psched = readFileSync("/proc/net/psched", "utf8").trim();

test.if(psched === "000003e8 00000040 000f4240 3b9aca00")("TBF arithmetic as the reference: rate, buffer, limit", () => {
  expect(tbfParams(8_000_000, 80_000)).toEqual({ rate: 1_000_000, buffer: 156_250, limit: 35_000 });
  expect(tbfParams(40_000_000_000, 40_000)).toEqual({ rate: 5_000_000_000, buffer: 15, limit: 125_005_000 });
  // Go truncates each float to uint32 on the way: 4114.67 µs become 4114, 64281.25 ticks 64281.
  expect(tbfParams(3_000_000, 12_345)).toEqual({ rate: 375_000, buffer: 64_281, limit: 10_918 });
});
