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
    // A fresh namespace: its only interface is lo (read inside it, nothing of the machine's).
    const devs = tmp.runIn(() => require("node:fs").readFileSync("/proc/self/net/dev", "utf8") as string);
    expect(
      devs
        .split("\n")
        .slice(2)
        .filter(Boolean)
        .map((l) => l.trim().split(":")[0]),
    ).toEqual(["lo"]);
    after.close();
  } finally {
    tmp.close();
    before.close();
  }
});
