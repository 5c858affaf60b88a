/**
 * Whether the `nft` command is installed, in a module of its own: config checks of plugins
 * that may use it (ipMasqBackend, macspoofchk) ask this without loading the netfilter
 * layer, which a plugin process without masquerade or spoof check never needs.
 */

import { onPath } from "./on-path.ts";

/** True when the `nft` command is installed (looked up on PATH, no process started). */
export function nftAvailable(): boolean {
  return onPath("nft");
}
