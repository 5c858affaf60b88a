import { describe, expect, test } from "bun:test";
import { messageType } from "./client-messages.ts";
import { DhcpLease } from "./lease.ts";
import { FakeClock, FakeLink, SERVER_MAC, settle } from "../../../test/helpers/fake-dhcp-server.ts";

const ID = { mac: new Uint8Array(6), clientID: "c1/net/eth0", options: new Map<number, Uint8Array>([[55, new Uint8Array([3, 1])]]), broadcast: false };

function setup() {
  const clock = new FakeClock();
  const link = new FakeLink(clock);
  const logs: string[] = [];
  let n = 0;
  const deps = { link, clock, xid: () => ++n, jitter: () => 0, log: (m: string) => logs.push(m) };
  return { clock, link, logs, deps };
}

const types = (link: FakeLink) => link.sent.map((s) => messageType(s.msg));

describe("DhcpLease", () => {
  test("acquire: DISCOVER and REQUEST broadcast from 0.0.0.0 with the client id; deadlines from the ACK", async () => {
    const { clock, link, deps } = setup();
    const lease = await DhcpLease.acquire(ID, deps);
    expect(types(link)).toEqual([1, 3]);
    expect(link.sent.every((s) => "broadcast" in s.to && s.src.every((b) => b === 0))).toBe(true);
    expect(new TextDecoder().decode(link.sent[0]!.msg.options.find((o) => o.code === 61)!.data)).toBe("\0c1/net/eth0");
    expect(Array.from(link.sent[1]!.msg.options.find((o) => o.code === 50)!.data)).toEqual([10, 9, 0, 50]);
    expect(lease.times).toEqual({ renewAt: clock.t + 60_000, rebindAt: clock.t + 102_000, expireAt: clock.t + 120_000 });
    await lease.stop();
  });

  test("renews at T1 by unicast to the server, from the leased address; the new ACK moves the deadlines", async () => {
    const { clock, link, deps } = setup();
    const lease = await DhcpLease.acquire(ID, deps);
    const start = clock.t;
    await clock.advance(59_999);
    expect(link.sent.length).toBe(2);
    await clock.advance(1);
    expect(types(link)).toEqual([1, 3, 3]);
    const renew = link.sent[2]!;
    expect(renew.at).toBe(start + 60_000);
    expect(Array.from(renew.msg.ciaddr)).toEqual([10, 9, 0, 50]);
    expect(Array.from(renew.src)).toEqual([10, 9, 0, 50]);
    expect(renew.to).toEqual({ ip: new Uint8Array([10, 9, 0, 1]), mac: SERVER_MAC });
    expect(renew.msg.options.some((o) => o.code === 54 || o.code === 50)).toBe(false);
    expect(lease.times.renewAt).toBe(start + 120_000);
    await clock.advance(60_000);
    expect(types(link)).toEqual([1, 3, 3, 3]);
    await lease.stop();
  });

  test("no answer: renew retries until T2, rebinds by broadcast until expiry, then sets the interface down", async () => {
    const { clock, link, deps, logs } = setup();
    let ended = "";
    const lease = await DhcpLease.acquire(ID, deps);
    lease.onEnd = (r) => (ended = r);
    const start = clock.t;
    link.answer = "silent";
    await clock.advance(119_000);
    const renews = link.sent.slice(2).filter((s) => s.at < start + 102_000);
    const rebinds = link.sent.slice(2).filter((s) => s.at >= start + 102_000);
    expect(renews.length).toBeGreaterThan(1);
    expect(renews.every((s) => "ip" in s.to)).toBe(true);
    expect(rebinds.length).toBeGreaterThan(0);
    expect(rebinds.every((s) => "broadcast" in s.to && s.msg.ciaddr[3] === 50)).toBe(true);
    expect(link.up).toBe(true);
    await clock.advance(2_000);
    expect(link.up).toBe(false);
    expect(ended).toBe("lease expired, bringing interface DOWN");
    expect(logs).toContain("c1/net/eth0: rebinding lease");
    const before = link.sent.length;
    await clock.advance(600_000);
    expect(link.sent.length).toBe(before);
  });

  test("a NAK to a renewal starts over with DISCOVER", async () => {
    const { clock, link, deps } = setup();
    const lease = await DhcpLease.acquire(ID, deps);
    link.answer = "nak";
    await clock.advance(60_000);
    link.answer = "ack";
    await clock.advance(10_000);
    expect(types(link).slice(0, 4)).toEqual([1, 3, 3, 1]);
    expect(types(link).at(-1)).toBe(3);
    expect(lease.times.expireAt).toBeGreaterThan(clock.t + 100_000);
    await lease.stop();
  });

  test("stop() sends RELEASE to the server and ends maintenance; a vanished interface ends it too", async () => {
    const { clock, link, deps } = setup();
    const lease = await DhcpLease.acquire(ID, deps);
    await lease.stop();
    const rel = link.sent.at(-1)!;
    expect(messageType(rel.msg)).toBe(7);
    expect(rel.to).toEqual({ ip: new Uint8Array([10, 9, 0, 1]), mac: SERVER_MAC });
    expect(Array.from(rel.msg.options.find((o) => o.code === 54)!.data)).toEqual([10, 9, 0, 1]);
    await clock.advance(600_000);
    expect(link.sent.length).toBe(3);

    const other = setup();
    const l2 = await DhcpLease.acquire(ID, other.deps);
    let ended = "";
    l2.onEnd = (r) => (ended = r);
    other.link.present = false;
    l2.check();
    await settle();
    expect(ended).toContain("no longer exists");
  });

  test("acquire gives up after resendTimeout with the last error", async () => {
    const { clock, link, deps } = setup();
    link.answer = "silent";
    const p = DhcpLease.acquire(ID, { ...deps, timing: { timeoutMs: 1_000, resendTimeoutMs: 30_000 } });
    // Not expect(p).rejects: Bun's waits for p there, and p only fails once the fake clock moves.
    let err: unknown;
    p.catch((e) => (err = e));
    await clock.advance(40_000);
    expect((err as Error)?.message).toBe("no DHCPOFFER received");
    // 4 quick tries 2 s apart, then 4 s, 8 s ...: all DISCOVERs, and none after the deadline.
    expect(types(link).every((t) => t === 1)).toBe(true);
    expect(link.sent.at(-1)!.at).toBeLessThan(clock.t - 10_000);
  });
});
