import { expect } from "bun:test";
import { rootTest } from "../../test/helpers/netns.ts";
import { NetNS } from "./netns.ts";
import { createTempNetNS } from "./temp-netns.ts";

rootTest("createTempNetNS makes a new namespace and leaves the thread where it was", () => {
  const before = NetNS.current();
  const tmp = createTempNetNS();
  try {
    const after = NetNS.current();
    expect(after.equals(before)).toBe(true);
    expect(tmp.equals(before)).toBe(false);
    // Its own /proc/sys: ip_forward starts at 0 in a fresh namespace.
    const fwd = tmp.runIn(() => require("node:fs").readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim());
    expect(fwd).toBe("0");
    after.close();
  } finally {
    tmp.close();
    before.close();
  }
});
