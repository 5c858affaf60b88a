/** STATUS of a network list (spec 1.1.0; libcni's GetStatusNetworkList). */
import { greaterThanOrEqual } from "../spec/version.ts";
import { listChain, resolve, runWithoutAttachment } from "./_chain.ts";
import type { NetworkConfigList, RuntimeOptions } from "./types.ts";

/**
 * STATUS (1.1.0 lists; older ones have nothing to ask): every plugin in order, the
 * first failure returned as is so its code (50 "not available", 51 "limited
 * connectivity") reaches the caller.
 */
export async function getStatusNetworkList(list: NetworkConfigList, opts: RuntimeOptions = {}): Promise<void> {
  const chain = listChain(list);
  if (!greaterThanOrEqual(chain.cniVersion, "1.1.0")) return;
  const r = resolve(opts);
  for (const conf of chain.plugins) await runWithoutAttachment(r, chain, { command: "STATUS", conf });
}
