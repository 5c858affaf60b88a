/**
 * Multus's auxiliary CNI chain (`auxiliaryCNIChainName`): a list named after the chain
 * whose first plugin is `passthru`, followed by the plugin configs of
 * `<dir of clusterNetwork>/<chain name>/*.conf` (libcni's subdirectory loading). It runs
 * after every other delegate of the pod, as one more delegate with its own interface
 * name (`net<index>`, which no plugin makes), so it is recorded, undone on a failed ADD
 * and deleted from the record like the others.
 */
import { dirname } from "node:path";
import { confListFromBytes } from "../../runtime/conf-dir.ts";
import { errorMessage } from "../../spec/error.ts";
import { validateNetworkName } from "../../spec/validate.ts";
import { loadDelegate } from "./delegate.ts";
import { cmdErr, type K8sArgsLike } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { Delegate, MultusConf } from "./types.ts";

/** The first plugin of every auxiliary chain, as Multus writes it. */
const PASSTHRU = { type: "passthru", name: "passthru-cni" };

/**
 * The auxiliary chain's delegate, or undefined when none is configured or its folder
 * holds no plugin config. clusterNetwork must be a path (the chain's folder is beside
 * it). As in Multus, a chain that cannot be loaded (a bad name, a broken config in the
 * folder) is logged and left out: the pod gets its networks without it.
 */
export function auxiliaryChain(n: MultusConf, k8s: K8sArgsLike, log: Logger): Delegate | undefined {
  const name = n.auxiliaryCNIChainName;
  if (!name) return undefined;
  log.debug(`Using AuxiliaryCNIChainName: ${name}`);
  if (!n.clusterNetwork.includes("/")) throw cmdErr(k8s, `auxiliary chain used but ClusterNetwork must be a path, and it is not a path: ${n.clusterNetwork}`);
  const bytes = new TextEncoder().encode(JSON.stringify({ cniVersion: n.cniVersion, name, plugins: [PASSTHRU] }));
  try {
    validateNetworkName(name);
    const list = confListFromBytes(bytes, { dir: dirname(n.clusterNetwork) });
    // Only the passthru plugin: nothing to run.
    if (list.conf.plugins.length < 2) return undefined;
    return loadDelegate(list.bytes);
  } catch (e) {
    log.error(`LoadChainedDelegatesFromBytes: auxiliary chain "${name}": ${errorMessage(e)}`);
    return undefined;
  }
}

/** True for the auxiliary chain a record holds (its list starts with Multus's passthru). */
export function isAuxiliaryChain(d: Delegate): boolean {
  const first = d.confList?.plugins[0] as { type?: string; name?: string } | undefined;
  return first?.type === PASSTHRU.type && first.name === PASSTHRU.name;
}
