import { describe, expect, test } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "./netns.ts";
import { tunFlags, tunIfreq, tuntapAdd } from "./tun.ts";

const hex = (b: Uint8Array) =>
  Buffer.from(b)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");

describe("tun/tap", () => {
  test("TUNSETIFF's ifreq: name, then the flags at offset 16", () => {
    const req = tunIfreq("tap0", tunFlags({ mode: "tap", multiQueue: true, vnetHdr: true }));
    expect(hex(req)).toBe(["74 61 70 30", ...Array(12).fill("00"), "02 51", ...Array(22).fill("00")].join(" "));
    expect(tunFlags({ mode: "tun" })).toBe(0x1001);
    expect(() => tunIfreq("a-name-too-long-for-it", 2)).toThrow(RangeError);
  });

  rootTest("a persistent tap in another namespace, with owner, group and multi-queue", () =>
    withNetns(1, (pod) => {
      using ns = NetNS.open(pod.path);
      tuntapAdd("tap-t0", { mode: "tap", owner: 1234, group: 4321, multiQueue: true, ns });
      tuntapAdd("tap-t1", { mode: "tap", vnetHdr: true, ns });
      const [t0] = pod.ipJson("-d", "link", "show", "dev", "tap-t0");
      expect(t0.linkinfo).toMatchObject({
        info_kind: "tun",
        info_data: { type: "tap", pi: false, vnet_hdr: false, multi_queue: true, persist: true, user: 1234, group: 4321 },
      });
      const [t1] = pod.ipJson("-d", "link", "show", "dev", "tap-t1");
      expect(t1.linkinfo.info_data).toMatchObject({ type: "tap", vnet_hdr: true, multi_queue: false });
      expect(t1.linkinfo.info_data.user).toBeUndefined();
    }),
  );
});
