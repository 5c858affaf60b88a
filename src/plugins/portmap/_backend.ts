/**
 * What portmap asks of a backend (the reference's iptables and nftables mappers): the
 * verbs pick one and call it, with no backend switch of their own.
 */
import type { Family } from "../../netfilter/iptables.ts";
import type { PortMapConf } from "./_conf.ts";

/** The container's first address of each family ("ip/prefix"), the one its ports map to. */
export type ContainerAddrs = Map<Family, string>;

/** One way of putting a container's port maps into the kernel. */
export interface PortMapBackend {
  /** Installs the container's port maps for each address, replacing what an earlier ADD left. */
  forward(conf: PortMapConf, containerID: string, addrs: ContainerAddrs): void;
  /** What is missing of what forward made, as CHECK's message; undefined when all is there. */
  check(conf: PortMapConf, containerID: string, addrs: ContainerAddrs): string | undefined;
  /** Removes the container's port maps (`net` is the network's name); nothing there is fine. */
  unforward(net: string, containerID: string): void;
  /** Removes the port maps of this network's containers that are not in `keep` (container ids). */
  gc(net: string, keep: Set<string>): void;
}
