import { expect } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkAdd } from "./link-add.ts";
import { filterAddMirredRedirect, qdiscAddIngress, qdiscAddTbf, qdiscDel, qdiscList } from "./qdisc.ts";

rootTest("tbf, ingress and a mirred redirect as tc shows them; deleted again", () =>
  withNetns(1, (ns) => {
    ns.exec(["ip", "link", "add", "v1", "type", "veth", "peer", "name", "v2"]);
    ns.exec(["ip", "link", "set", "v1", "up"]);
    using n = NetNS.open(ns.path);
    using h = NetlinkHandle.at(n);
    linkAdd(h, { kind: "ifb", name: "ifb9", up: true });
    qdiscAddTbf(h, "v1", { rate: 125000, limit: 13365, buffer: 1280000 });
    qdiscAddIngress(h, "v1");
    filterAddMirredRedirect(h, "v1", "ifb9");
    const tc = JSON.parse(ns.exec(["tc", "-j", "qdisc", "show", "dev", "v1"]));
    expect(tc[0]).toMatchObject({ kind: "tbf", handle: "1:", root: true, options: { rate: 125000 } });
    expect(tc[1]).toMatchObject({ kind: "ingress", handle: "ffff:" });
    const filters = ns.exec(["tc", "filter", "show", "dev", "v1", "ingress"]);
    expect(filters).toContain("Redirect to device ifb9");
    expect(filters).toContain("flowid 1:1");
    const mine = qdiscList(h, "v1");
    expect(mine.map((q) => q.kind)).toEqual(["tbf", "ingress"]);
    expect(mine[0]!.tbf).toMatchObject({ rate: 125000, limit: 13365, buffer: 1280000 });
    qdiscDel(h, "v1", "root");
    qdiscDel(h, "v1", "ingress");
    expect(qdiscList(h, "v1").map((q) => q.kind)).not.toContain("tbf");
    expect(ns.exec(["ip", "-j", "-d", "link", "show", "ifb9"])).toContain('"info_kind":"ifb"');
  }));
