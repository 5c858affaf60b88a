/**
 * What the VM set's plugin tests share: our plugin as the compiled binary (a plugin
 * started from source costs seconds under emulation), a node namespace with a master
 * device, and results made comparable with the Go plugin's.
 */
import { ensureBuilt } from "../helpers/dist.ts";
import { withNetns, type TestNetns } from "../helpers/netns.ts";
import { tempDir } from "../helpers/plugin-run.ts";

import { links as allLinks } from "../helpers/node.ts";

export { ping, pingOnce } from "../helpers/node.ts";

/** Fallback devices the kernel puts in every namespace once their module is loaded (the VM set's ipip test loads ipip). */
const FALLBACK = new Set(["tunl0", "sit0", "ip6tnl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0", "ip6gre0"]);

/** Link names of a namespace but lo and the kernel's fallback tunnels, sorted. */
export function links(ns: TestNetns): string[] {
  return allLinks(ns).filter((n) => !FALLBACK.has(n));
}

/** Our plugin `type`, from dist/cni-ts. */
export function oursBuilt(type: string): string[] {
  return [ensureBuilt(), "plugin", type];
}

/**
 * A node namespace with a veth "up0" (up, 192.168.90.1/24, the default route through
 * it) as the master, a second one "up2" (for the Go plugin's devices where two on one
 * master would clash), `pods` pod namespaces, and a host-local data dir per side.
 */
export async function withNode(
  pods: number,
  fn: (node: TestNetns, pods: TestNetns[], dataDirs: { ours: string; ref: string }) => Promise<void> | void,
): Promise<void> {
  const ours = tempDir();
  const ref = tempDir();
  try {
    await withNetns(
      pods + 1,
      async (node, ...rest) => {
        node.exec(["ip", "link", "set", "lo", "up"]);
        node.exec(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
        node.exec(["ip", "link", "set", "up0", "up"]);
        node.exec(["ip", "link", "set", "up1", "up"]);
        node.exec(["ip", "link", "add", "up2", "type", "veth", "peer", "name", "up3"]);
        node.exec(["ip", "link", "set", "up2", "up"]);
        node.exec(["ip", "link", "set", "up3", "up"]);
        node.exec(["ip", "addr", "add", "192.168.90.1/24", "dev", "up0"]);
        node.exec(["ip", "route", "add", "default", "via", "192.168.90.254", "dev", "up0"]);
        await fn(node, rest, { ours: ours.dir, ref: ref.dir });
      },
      "vmn",
    );
  } finally {
    ours.cleanup();
    ref.cleanup();
  }
}

/** A result with what differs by nature (MACs, sandbox paths) replaced. */
export function comparable(result: any): any {
  return JSON.parse(JSON.stringify(result ?? null), (k, v) => (k === "mac" ? "MAC" : k === "sandbox" ? "NETNS" : v));
}
