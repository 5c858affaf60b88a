import { describe, expect } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkError, isNotFound } from "./error.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkBody } from "./link.ts";
import { IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO } from "./nl/link-consts.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import { RTM_GETLINK, RTM_NEWLINK } from "./nl/rtnetlink-consts.ts";
import { rtaNested, rtaString } from "./nl/rtattr.ts";

describe("NetlinkHandle", () => {
  rootTest("acts in the namespace it was opened in, across awaits", async () => {
    await withNetns(2, async (a, b) => {
      using ns = NetNS.open(a.path);
      using h = NetlinkHandle.at(ns);
      using hb = NetlinkHandle.atPath(b.path);
      await Bun.sleep(1);
      const add = linkBody({}, [rtaString(IFLA_IFNAME, "hdl0"), rtaNested(IFLA_LINKINFO, [rtaString(IFLA_INFO_KIND, "bridge")])]);
      expect(h.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, add, 'add link "hdl0"')).toEqual([]);
      expect(a.ipJson("link", "show", "hdl0")[0].ifname).toBe("hdl0");
      expect(b.exec(["ip", "link", "show", "hdl0"], { allowFail: true })).toBe("");
      // Dumps are multi-part: each namespace sees only its own links.
      const names = (hh: NetlinkHandle) => hh.dump(RTM_GETLINK, linkBody({}), "list links").length;
      expect(names(h)).toBe(2);
      expect(names(hb)).toBe(1);
    });
  });

  rootTest("kernel errors carry errno, code and the extack text", async () => {
    await withNetns(1, (a) => {
      using h = NetlinkHandle.atPath(a.path);
      const add = linkBody({}, [rtaString(IFLA_IFNAME, "lo"), rtaNested(IFLA_LINKINFO, [rtaString(IFLA_INFO_KIND, "dummy")])]);
      try {
        h.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, add, 'add link "lo"');
        throw new Error("no error");
      } catch (e) {
        expect(e).toBeInstanceOf(NetlinkError);
        expect((e as NetlinkError).errno).toBe(17);
        expect((e as NetlinkError).code).toBe("EEXIST");
        expect((e as Error).message).toStartWith('Cannot add link "lo": EEXIST');
      }
      // An unknown kind: the kernel explains itself through extack.
      const bad = linkBody({}, [rtaString(IFLA_IFNAME, "x0"), rtaNested(IFLA_LINKINFO, [rtaString(IFLA_INFO_KIND, "no-such-kind")])]);
      try {
        h.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, bad, 'add link "x0"');
        throw new Error("no error");
      } catch (e) {
        expect((e as NetlinkError).code).toBe("EOPNOTSUPP");
        expect((e as NetlinkError).extack).toMatch(/Unknown device type/);
        expect((e as Error).message).toBe('Cannot add link "x0": EOPNOTSUPP: Unknown device type');
      }
      try {
        h.request(RTM_GETLINK, 0, linkBody({ index: 4242 }), "find link 4242");
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
      }
    });
  });

  rootTest("a closed handle refuses requests", async () => {
    await withNetns(1, (a) => {
      const h = NetlinkHandle.atPath(a.path);
      h.close();
      h.close();
      expect(() => h.dump(RTM_GETLINK, linkBody({}), "list links")).toThrow(/netlink handle is closed/);
    });
  });
});
