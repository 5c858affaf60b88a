/**
 * Anonymous network namespaces: made with unshare(2) on the calling thread, which then
 * switches straight back, so only the returned fd refers to the new namespace. It has
 * no path and lives until the fd is closed; a physical device still in it then returns
 * to the initial namespace and a virtual one is destroyed, so callers move devices out
 * before closing. host-device renames devices in one, out of udev's sight.
 */
import { CLONE_NEWNET, unshare } from "./libc.ts";
import { NetNS, returnTo } from "./netns.ts";

/** A new, empty network namespace; close() it when done. */
export function createTempNetNS(): NetNS {
  const origin = NetNS.current();
  try {
    unshare(CLONE_NEWNET);
    try {
      return NetNS.current();
    } finally {
      returnTo(origin);
    }
  } finally {
    origin.close();
  }
}
