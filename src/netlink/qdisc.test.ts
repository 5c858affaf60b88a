import { describe, expect, test } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkAdd } from "./link-add.ts";
import { hex } from "../../test/helpers/hex.ts";
import { ingressQdiscBody, qdiscAddIngress, qdiscAddTbf, qdiscDel, qdiscList, tbfQdiscBody } from "./qdisc.ts";

describe("qdisc messages, byte for byte what the reference bandwidth plugin sends (strace)", () => {
  test("root TBF 1: on ifindex 2", () => {
    expect(hex(tbfQdiscBody(2, { rate: 1_000_000, limit: 35_000, buffer: 156_250 }))).toBe(
      "00 00 00 00 02 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00" +
        " 08 00 01 00 74 62 66 00" +
        " 2c 00 02 00 28 00 01 00" +
        " 00".repeat(8) +
        " 40 42 0f 00" +
        " 00".repeat(12) +
        " b8 88 00 00 5a 62 02 00 00 00 00 00",
    );
  });

  test("ingress ffff: on ifindex 2, with the empty options", () => {
    expect(hex(ingressQdiscBody(2))).toBe("00 00 00 00 02 00 00 00 00 00 ff ff f1 ff ff ff 00 00 00 00 0c 00 01 00 69 6e 67 72 65 73 73 00 04 00 02 00");
  });
});

rootTest("tbf (also above 2^32 bytes/s) and ingress as tc shows them, listed back, deleted", () =>
  withNetns(1, (ns) => {
    ns.exec(["ip", "link", "add", "v1", "type", "veth", "peer", "name", "v2"]);
    ns.exec(["ip", "link", "set", "v1", "up"]);
    using n = NetNS.open(ns.path);
    using h = NetlinkHandle.at(n);
    linkAdd(h, { kind: "ifb", name: "ifb9", up: true });
    qdiscAddTbf(h, "v1", { rate: 125_000, limit: 13_365, buffer: 1_280_000 });
    qdiscAddIngress(h, "v1");
    qdiscAddTbf(h, "ifb9", { rate: 5_000_000_000, limit: 125_005_000, buffer: 15 });
    const tc = (dev: string) => JSON.parse(ns.exec(["tc", "-j", "qdisc", "show", "dev", dev]));
    expect(tc("v1")[0]).toMatchObject({ kind: "tbf", handle: "1:", root: true, options: { rate: 125_000 } });
    expect(tc("v1")[1]).toMatchObject({ kind: "ingress", handle: "ffff:" });
    expect(tc("ifb9")[0]).toMatchObject({ kind: "tbf", options: { rate: 5_000_000_000 } });
    const mine = qdiscList(h, "v1");
    expect(mine.map((q) => q.kind)).toEqual(["tbf", "ingress"]);
    expect(mine[0]!.tbf).toMatchObject({ rate: 125_000, limit: 13_365, buffer: 1_280_000 });
    expect(qdiscList(h, "ifb9")[0]!.tbf).toMatchObject({ rate: 5_000_000_000, limit: 125_005_000, buffer: 15 });
    expect(() => qdiscAddIngress(h, "v1")).toThrow(/EEXIST|exists/i);
    qdiscDel(h, "v1", "root");
    qdiscDel(h, "v1", "ingress");
    expect(qdiscList(h, "v1").map((q) => q.kind)).not.toContain("tbf");
    expect(qdiscList(h, "v1").map((q) => q.kind)).not.toContain("ingress");
  }),
);
