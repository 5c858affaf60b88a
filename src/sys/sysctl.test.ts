import { describe, expect, test } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "./netns.ts";
import { sysctlGet, sysctlPath, sysctlSet, sysctlWrite, sysctlWriteIn } from "./sysctl.ts";

describe("sysctl", () => {
  test("sysctlPath takes dots or slashes and refuses escapes", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/conf/eth0.100/forwarding")).toBe("/proc/sys/net/ipv4/conf/eth0.100/forwarding");
    expect(() => sysctlPath("net/../../etc/passwd")).toThrow(RangeError);
    expect(() => sysctlPath("net..x")).toThrow(RangeError);
    expect(() => sysctlPath("")).toThrow(RangeError);
  });

  rootTest("reads and writes inside a namespace only", async () => {
    await withNetns(1, (t) => {
      using ns = NetNS.open(t.path);
      const host = sysctlGet("net.ipv4.ip_forward");
      const flipped = host === "1" ? "0" : "1";
      expect(sysctlSet("net.ipv4.ip_forward", flipped, ns)).toBe(flipped);
      expect(sysctlGet("net.ipv4.ip_forward", ns)).toBe(flipped);
      expect(t.exec(["cat", "/proc/sys/net/ipv4/ip_forward"]).trim()).toBe(flipped);
      expect(sysctlGet("net.ipv4.ip_forward")).toBe(host);
    });
  });

  rootTest("sysctlWrite writes inside a namespace only, without reading back", async () => {
    await withNetns(1, (t) => {
      using ns = NetNS.open(t.path);
      const host = sysctlGet("net.ipv4.conf.lo.arp_notify");
      const flipped = host === "1" ? "0" : "1";
      expect(sysctlWrite("net/ipv4/conf/lo/arp_notify", flipped, ns)).toBeUndefined();
      expect(t.exec(["cat", "/proc/sys/net/ipv4/conf/lo/arp_notify"]).trim()).toBe(flipped);
      expect(sysctlGet("net.ipv4.conf.lo.arp_notify")).toBe(host);
      expect(() => sysctlWrite("net/ipv4/conf/no-such-dev/arp_notify", "1", ns)).toThrow();
    });
  });

  rootTest("sysctlWriteIn writes several files of one directory, inside a namespace only", async () => {
    await withNetns(1, (t) => {
      t.exec(["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
      using ns = NetNS.open(t.path);
      const read = (k: string) => t.exec(["cat", `/proc/sys/net/ipv6/conf/d0/${k}`]).trim();
      expect([read("disable_ipv6"), read("accept_ra")]).toEqual(["0", "1"]);
      sysctlWriteIn(
        "net/ipv6/conf/d0",
        [
          ["disable_ipv6", "1"],
          ["accept_ra", "0"],
        ],
        ns,
      );
      expect([read("disable_ipv6"), read("accept_ra")]).toEqual(["1", "0"]);
      // In order, stopping at the first failure.
      expect(() =>
        sysctlWriteIn(
          "net/ipv6/conf/d0",
          [
            ["accept_ra", "2"],
            ["no_such_knob", "1"],
            ["disable_ipv6", "0"],
          ],
          ns,
        ),
      ).toThrow(/ENOENT/);
      expect([read("disable_ipv6"), read("accept_ra")]).toEqual(["1", "2"]);
      expect(() => sysctlWriteIn("net/ipv6/conf/no-such-dev", [["accept_ra", "0"]], ns)).toThrow(/ENOENT/);
      for (const bad of ["", ".", "..", "../all/forwarding", "a\0b"]) expect(() => sysctlWriteIn("net/ipv6/conf/d0", [[bad, "1"]], ns)).toThrow(RangeError);
      expect(() => sysctlWriteIn("net/../../etc", [["passwd", "x"]], ns)).toThrow(RangeError);
    });
  });

  test("failures keep node:fs's words", () => {
    expect(() => sysctlGet("net/ipv4/conf/no-such-dev/arp_notify")).toThrow(
      /^ENOENT: no such file or directory, open '\/proc\/sys\/net\/ipv4\/conf\/no-such-dev\/arp_notify'/,
    );
    expect(() => sysctlWrite("net/ipv4/conf/no-such-dev/arp_notify", "1")).toThrow(/^ENOENT: no such file or directory/);
  });
});
