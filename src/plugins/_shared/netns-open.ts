/** Opening the container's namespace from a plugin: errors as CNI errors, "gone" told apart for DEL. */
import { NetlinkHandle } from "../../netlink/handle.ts";
import { NetNS, NetNSError } from "../../sys/netns.ts";
import { failure } from "../../spec/error.ts";

/** The container's namespace and a netlink handle in it; close both with close(). */
export interface ContainerNS {
  ns: NetNS;
  h: NetlinkHandle;
  close(): void;
  [Symbol.dispose](): void;
}

/** Opens CNI_NETNS; code 999 "failed to open netns" as the reference when it cannot. */
export function openContainerNS(path: string): ContainerNS {
  let ns: NetNS;
  try {
    ns = NetNS.open(path);
  } catch (e) {
    throw failure(`failed to open netns "${path}"`, e);
  }
  let h: NetlinkHandle;
  try {
    h = NetlinkHandle.at(ns);
  } catch (e) {
    ns.close();
    throw failure(`failed to open netns "${path}"`, e);
  }
  const close = () => {
    h.close();
    ns.close();
  };
  return { ns, h, close, [Symbol.dispose]: close };
}

/** Like openContainerNS, but undefined when there is no path or the namespace is gone (DEL must then succeed). */
export function openContainerNSIfAny(path: string): ContainerNS | undefined {
  if (!path) return undefined;
  try {
    return openContainerNS(path);
  } catch (e) {
    // kubernetes#43014: the runtime may call DEL again after the namespace is gone.
    if (e instanceof Error && e.cause instanceof NetNSError && e.cause.code === "ENOENT") return undefined;
    throw e;
  }
}
