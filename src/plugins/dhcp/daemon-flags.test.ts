import { describe, expect, test } from "bun:test";
import { parseDaemonFlags, parseDuration } from "./daemon-flags.ts";

describe("daemon flags", () => {
  test("defaults are the reference's", () => {
    expect(parseDaemonFlags([])).toEqual({
      pidfile: "",
      hostprefix: "",
      socketpath: "/run/cni/dhcp.sock",
      broadcast: false,
      timeoutMs: 10_000,
      resendmaxMs: 62_000,
      resendtimeoutMs: 208_000,
    });
  });

  test("Go flag syntax", () => {
    const f = parseDaemonFlags([
      "-socketpath",
      "/tmp/d.sock",
      "--pidfile=/run/d.pid",
      "-broadcast",
      "-timeout",
      "1m30s",
      "-resendmax=500ms",
      "-hostprefix",
      "/host",
    ]);
    expect(f).toMatchObject({ socketpath: "/tmp/d.sock", pidfile: "/run/d.pid", broadcast: true, timeoutMs: 90_000, resendmaxMs: 500, hostprefix: "/host" });
    expect(parseDaemonFlags(["-broadcast=false"]).broadcast).toBe(false);
  });

  test("errors as Go words them", () => {
    expect(() => parseDaemonFlags(["-nope"])).toThrow("flag provided but not defined: -nope");
    expect(() => parseDaemonFlags(["-timeout"])).toThrow("flag needs an argument: -timeout");
    expect(() => parseDuration("10")).toThrow("invalid duration");
    expect(parseDuration("1.5s")).toBe(1500);
  });
});
