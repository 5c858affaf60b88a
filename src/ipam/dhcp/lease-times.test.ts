import { describe, expect, test } from "bun:test";
import { newMessage, setOption } from "./message.ts";
import { leasePhase, leaseTimes } from "./lease-times.ts";

const u32 = (v: number) => new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);

describe("leaseTimes", () => {
  test("T1 = lease/2 and T2 = 85% by default", () => {
    const ack = newMessage();
    setOption(ack, 51, u32(120));
    expect(leaseTimes(ack, 1000)).toEqual({ renewAt: 61_000, rebindAt: 103_000, expireAt: 121_000 });
  });

  test("options 58 and 59 win; one hour without option 51", () => {
    const ack = newMessage();
    setOption(ack, 58, u32(10));
    setOption(ack, 59, u32(20));
    expect(leaseTimes(ack, 0)).toEqual({ renewAt: 10_000, rebindAt: 20_000, expireAt: 3_600_000 });
  });

  test("phases follow the deadlines", () => {
    const t = { renewAt: 10, rebindAt: 20, expireAt: 30 };
    expect([0, 10, 19, 20, 29, 30].map((n) => leasePhase(t, n))).toEqual(["bound", "renewing", "renewing", "rebinding", "rebinding", "expired"]);
  });
});
