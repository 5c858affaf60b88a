/**
 * /proc/sys entries. The net.* ones belong to the network namespace of the thread that
 * opens them, so the namespaced variants open them synchronously inside runIn.
 */
import type { NetNS } from "./netns.ts";
import { nodeFs } from "./node-fs.ts";

/**
 * The /proc/sys path of a sysctl given as "net.ipv4.ip_forward" or "net/ipv4/ip_forward".
 * The slash form exists for interface names with dots ("net/ipv4/conf/eth0.100/forwarding").
 */
export function sysctlPath(name: string): string {
  const parts = name.includes("/") ? name.split("/") : name.split(".");
  if (parts.length === 0 || parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\0"))) {
    throw new RangeError(`Invalid sysctl name ${JSON.stringify(name)}: empty, "." or ".." component`);
  }
  return `/proc/sys/${parts.join("/")}`;
}

/** Reads a sysctl, trailing newline removed; inside `ns` when given. */
export function sysctlGet(name: string, ns?: NetNS): string {
  const path = sysctlPath(name);
  const read = () => nodeFs().readFileSync(path, "utf8").replace(/\n$/, "");
  return ns ? ns.runIn(read) : read();
}

/**
 * Writes a sysctl without reading it back; inside `ns` when given. For the settings a
 * plugin makes on every ADD (a new veth's accept_ra, the pod end's accept_dad): the read
 * back is most of the cost of a /proc/sys write, and nothing looks at it.
 */
export function sysctlWrite(name: string, value: string | number, ns?: NetNS): void {
  const path = sysctlPath(name);
  const write = () => nodeFs().writeFileSync(path, String(value));
  ns ? ns.runIn(write) : write();
}

/** Writes a sysctl and returns the value read back; inside `ns` when given. */
export function sysctlSet(name: string, value: string | number, ns?: NetNS): string {
  const path = sysctlPath(name);
  const write = () => {
    nodeFs().writeFileSync(path, String(value));
    return nodeFs().readFileSync(path, "utf8").replace(/\n$/, "");
  };
  return ns ? ns.runIn(write) : write();
}
