/**
 * What the VM set's plugin tests share: our plugin as the compiled binary (a plugin
 * started from source costs seconds under emulation), a node namespace with a master
 * device, and results made comparable with the Go plugin's.
 */
import type { TestNetns } from "../helpers/netns.ts";
import { links as allLinks, withNode as withNodeOf } from "../helpers/node.ts";
import { tempDir } from "../helpers/plugin-run.ts";

export { ping, pingOnce } from "../helpers/node.ts";

/** Fallback devices the kernel puts in every namespace once their module is loaded (the VM set's ipip test loads ipip). */
const FALLBACK = new Set(["tunl0", "sit0", "ip6tnl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0", "ip6gre0"]);

/** Link names of a namespace but lo and the kernel's fallback tunnels, sorted. */
export function links(ns: TestNetns): string[] {
  return allLinks(ns).filter((n) => !FALLBACK.has(n));
}

/**
 * The node kit's node (test/helpers/node.ts) with a veth "up0" (up, 192.168.90.1/24, the
 * default route through it) as the master, a second one "up2" (for the Go plugin's
 * devices where two on one master would clash), `pods` pod namespaces, and a host-local
 * data dir per side.
 */
export async function withNode(
  pods: number,
  fn: (node: TestNetns, pods: TestNetns[], dataDirs: { ours: string; ref: string }) => Promise<void> | void,
): Promise<void> {
  const ref = tempDir();
  try {
    await withNodeOf(pods, (node, rest, ours) => fn(node, rest, { ours, ref: ref.dir }), {
      prefix: "vmn",
      setup: (node) => {
        for (const [a, b] of [
          ["up0", "up1"],
          ["up2", "up3"],
        ]) {
          node.exec(["ip", "link", "add", a!, "type", "veth", "peer", "name", b!]);
          node.exec(["ip", "link", "set", a!, "up"]);
          node.exec(["ip", "link", "set", b!, "up"]);
        }
        node.exec(["ip", "addr", "add", "192.168.90.1/24", "dev", "up0"]);
        node.exec(["ip", "route", "add", "default", "via", "192.168.90.254", "dev", "up0"]);
      },
    });
  } finally {
    ref.cleanup();
  }
}

/** A result with what differs by nature (MACs, sandbox paths) replaced. */
export function comparable(result: any): any {
  return JSON.parse(JSON.stringify(result ?? null), (k, v) => (k === "mac" ? "MAC" : k === "sandbox" ? "NETNS" : v));
}
