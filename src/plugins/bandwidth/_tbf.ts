/**
 * The reference bandwidth plugin's TBF arithmetic (its numbers, so CHECK by either
 * plugin accepts the other's qdiscs): rate and burst in bits from the config become
 * bytes; the buffer is the burst's duration at the rate, in scheduler ticks; the limit
 * is what the rate sends in 25 ms plus the burst.
 */
import { readFileSync } from "node:fs";

const TIME_UNITS_PER_SEC = 1_000_000;
const LATENCY_MS = 25;

let tickInUsec: number | undefined;

/** Scheduler ticks per microsecond, from /proc/net/psched as iproute2 reads it. */
function ticksPerUsec(): number {
  if (tickInUsec !== undefined) return tickInUsec;
  const v = readFileSync("/proc/net/psched", "utf8")
    .trim()
    .split(/\s+/)
    .map((x) => parseInt(x, 16));
  let [t2us, us2t, clockRes] = v as [number, number, number];
  if (clockRes === 1_000_000_000) t2us = us2t;
  tickInUsec = (t2us / us2t) * (clockRes / TIME_UNITS_PER_SEC);
  return tickInUsec;
}

const u32 = (x: number) => Math.trunc(x) >>> 0;

/** The TBF parameters for a rate and burst in bits. */
export function tbfParams(rateBits: number, burstBits: number): { rate: number; buffer: number; limit: number } {
  const rate = Math.floor(rateBits / 8);
  const burst = u32(Math.floor(burstBits / 8));
  const buffer = u32(u32((burst * TIME_UNITS_PER_SEC) / rate) * ticksPerUsec());
  const latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  const limit = u32(u32((rate * latency) / TIME_UNITS_PER_SEC) + burst);
  return { rate, buffer, limit };
}
