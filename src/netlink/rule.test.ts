import { describe, expect } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { isExists, isNotFound } from "./error.ts";
import { ruleAdd, ruleDel, ruleList } from "./rule.ts";
import { FR_ACT_TO_TBL } from "./nl/rule-consts.ts";

describe("rules", () => {
  rootTest("add, list and delete v4 and v6 rules, checked with ip -j rule", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      ruleAdd(h, { src: "10.1.0.0/24", table: 100, priority: 1000 });
      ruleAdd(h, { dst: "10.2.0.0/16", iifname: "eth0", table: 1000, priority: 1001, fwmark: 0x10, fwmask: 0xff });
      ruleAdd(h, { src: "fd00::/64", table: 200, priority: 1002 });
      ruleAdd(h, { src: "10.3.0.0/24", invert: true, table: 101, priority: 1003 });
      const w4 = ns.ipJson("-4", "rule", "show") as any[];
      expect(w4.find((r) => r.priority === 1000)).toMatchObject({ src: "10.1.0.0", srclen: 24, table: "100" });
      expect(w4.find((r) => r.priority === 1001)).toMatchObject({ dst: "10.2.0.0", dstlen: 16, iif: "eth0", table: "1000", fwmark: "0x10", fwmask: "0xff" });
      expect(w4.find((r) => r.priority === 1003)).toMatchObject({ not: null, src: "10.3.0.0", table: "101" });
      expect((ns.ipJson("-6", "rule", "show") as any[]).find((r) => r.priority === 1002)).toMatchObject({ src: "fd00::", srclen: 64, table: "200" });

      const mine = ruleList(h, { family: 4 });
      expect(mine.find((r) => r.priority === 1000)).toMatchObject({ family: 4, src: "10.1.0.0/24", table: 100, action: FR_ACT_TO_TBL, invert: false });
      expect(mine.find((r) => r.priority === 1001)).toMatchObject({ dst: "10.2.0.0/16", iifname: "eth0", table: 1000, fwmark: 0x10, fwmask: 0xff });
      expect(mine.find((r) => r.priority === 1003)!.invert).toBe(true);
      // The kernel's own rules: local, main, default.
      expect(
        mine
          .filter((r) => [0, 32766, 32767].includes(r.priority ?? 0))
          .map((r) => r.table)
          .sort(),
      ).toEqual([253, 254, 255]);
      expect(ruleList(h, { family: 6 }).find((r) => r.priority === 1002)).toMatchObject({ family: 6, src: "fd00::/64", table: 200 });
      expect(ruleList(h).length).toBe(mine.length + ruleList(h, { family: 6 }).length);

      try {
        ruleAdd(h, { src: "10.1.0.0/24", table: 100, priority: 1000 });
        throw new Error("no error");
      } catch (e) {
        expect(isExists(e)).toBe(true);
        expect((e as Error).message).toStartWith('Cannot add rule "from 10.1.0.0/24 priority 1000 table 100": EEXIST');
      }
      ruleDel(h, { src: "10.1.0.0/24", table: 100 });
      ruleDel(h, { priority: 1001 });
      ruleDel(h, { family: 6, priority: 1002 });
      ruleDel(h, { src: "10.3.0.0/24", invert: true, priority: 1003 });
      expect((ns.ipJson("rule", "show") as any[]).filter((r) => r.priority >= 1000 && r.priority <= 1003)).toEqual([]);
      try {
        ruleDel(h, { priority: 1000 });
        throw new Error("no error");
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
      }
      expect(() => ruleAdd(h, { src: "10.0.0.0/8", dst: "fd00::/8" })).toThrow(/mixed address families/);
    }),
  );
});
