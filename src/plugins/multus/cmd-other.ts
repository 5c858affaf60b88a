/** CHECK, STATUS, GC and the daemon's /delegate (Multus's CmdCheck, CmdStatus, CmdGC, delegate requests). */
import { confListFromBytes } from "../../runtime/conf-dir.ts";
import { listCacheEntries } from "../../runtime/cache.ts";
import { getStatusNetworkList } from "../../runtime/status.ts";
import { gcNetworkList } from "../../runtime/gc.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { errorMessage } from "../../spec/error.ts";
import type { Result } from "../../spec/types.ts";
import { greaterThanOrEqual } from "../../spec/version.ts";
import { isAuxiliaryChain } from "./aux-chain.ts";
import { isLegacyDelegates } from "./conf.ts";
import { ifnamesOf, loadDelegate } from "./delegate.ts";
import { cmdErr, multusError } from "./errors.ts";
import { defaultNetworks } from "./resolve.ts";
import { readDelegates } from "./scratch.ts";
import type { MultusConf } from "./types.ts";
import {
  addDelegateArgs,
  delegateLabel,
  type EngineOptions,
  delegateRuntimeConfOf,
  getPod,
  k8sArgsOf,
  runDelegate,
  runtimeOptions,
  sourceOf,
  startCommand,
  validateIfName,
} from "./_engine-kit.ts";

/**
 * CHECK: every recorded delegate (the configured ones when there is no record), but the
 * auxiliary chain, which Multus does not check either (its plugins' CHECKs look for an
 * interface the chain never made).
 */
export async function cmdCheck(args: CmdArgs, o: EngineOptions): Promise<void> {
  const { n, k8s } = await startCommand("CHECK", args, o);
  const record = readDelegates(n.cniDir, args.containerID);
  const delegates = record.state === "ok" ? record.delegates : n.delegates;
  const ifNames = ifnamesOf(delegates, args.ifName, record.state !== "ok" && isLegacyDelegates(n));
  const opts = runtimeOptions(n, args, o.exec);
  for (let i = 0; i < delegates.length; i++) {
    const d = delegates[i]!;
    if (isAuxiliaryChain(d)) continue;
    const rt = delegateRuntimeConfOf(args, k8s, d, ifNames[i]!, n.runtimeConfig);
    try {
      await runDelegate("CHECK", d, rt, opts);
    } catch (e) {
      throw multusError(
        d.confList
          ? `DelegateCheck: error invoking ConflistCheck - "${delegateLabel(d)}": conflistCheck: error in getting result from CheckNetworkList: ${errorMessage(e)}`
          : `DelegateCheck: error invoking DelegateCheck - "${delegateLabel(d)}": error in getting result from CheckNetwork: ${errorMessage(e)}`,
        e,
      );
    }
  }
}

/**
 * The cluster network as a list, for STATUS and GC: once the readiness indicator file is
 * there, from clusterNetwork or else the first delegate; undefined when there is none.
 */
async function clusterNetworkList(
  command: "STATUS" | "GC",
  args: CmdArgs,
  o: EngineOptions,
): Promise<{ n: MultusConf; list: ReturnType<typeof confListFromBytes> } | undefined> {
  const { n } = await startCommand(command, args, o);
  let master = n.delegates[0];
  if (n.clusterNetwork) {
    try {
      master = (await defaultNetworks({ source: sourceOf(n, o) }, undefined, n))[0];
    } catch (e) {
      throw cmdErr(undefined, `failed to get clusterNetwork: ${errorMessage(e)}`, e);
    }
  }
  if (!master) return undefined;
  const list = master.confList
    ? confListFromBytes(master.bytes)
    : confListFromBytes(
        new TextEncoder().encode(
          JSON.stringify({ name: master.conf!.name, cniVersion: master.conf!.cniVersion, plugins: [JSON.parse(new TextDecoder().decode(master.bytes))] }),
        ),
      );
  return { n, list };
}

/** STATUS: the cluster network's (1.1.0 and later; older ones have none). */
export async function cmdStatus(args: CmdArgs, o: EngineOptions): Promise<void> {
  const found = await clusterNetworkList("STATUS", args, o);
  if (!found) return;
  const { n, list } = found;
  if (!greaterThanOrEqual(list.conf.cniVersion, "1.1.0")) return;
  await getStatusNetworkList(list, runtimeOptions(n, args, o.exec));
}

/** The interface attributes of a /delegate request (Multus's DelegateInterfaceAttributes). */
export interface InterfaceAttributes {
  ips?: string[];
  mac?: string;
  "cni-args"?: Record<string, unknown> | null;
}

/**
 * One delegate added to or removed from a running pod (Multus's /delegate, for hotplug):
 * the config on stdin is the delegate itself, CNI_IFNAME its interface; the pod must exist.
 */
export async function cmdDelegate(args: CmdArgs, o: EngineOptions, multusConf: MultusConf, attrs?: InterfaceAttributes): Promise<Result | undefined> {
  const k8s = k8sArgsOf(args);
  if (!k8s.K8S_POD_NAMESPACE || !k8s.K8S_POD_NAME) {
    throw multusError(`required CNI variable missing. pod name: ${k8s.K8S_POD_NAME}; pod namespace: ${k8s.K8S_POD_NAMESPACE}`);
  }
  const opts = runtimeOptions(multusConf, args, o.exec);
  const sel = attrs ? { name: "", namespace: "", ips: attrs.ips, mac: attrs.mac, "cni-args": attrs["cni-args"] ?? undefined } : undefined;
  const d = loadDelegate(args.stdinData, sel);
  const rt = delegateRuntimeConfOf(args, k8s, d, args.ifName, undefined);
  if (args.command === "ADD") {
    const source = sourceOf(multusConf, o, k8s);
    const pod = await getPod(source, k8s, false, o);
    try {
      validateIfName(args.netns, args.ifName);
      addDelegateArgs(d, rt);
      const r = (await runDelegate("ADD", d, rt, opts))!;
      if (pod && source && (r.interfaces || r.ips)) {
        await source.event(
          pod,
          "Normal",
          "AddedInterface",
          `Add ${args.ifName} [${(r.ips ?? []).map((ip) => ip.address).join(" ")}]${d.name ? ` from ${d.name}` : ""}`,
        );
      }
      return r;
    } catch (e) {
      throw multusError(`error configuring pod [${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}] networking: ${errorMessage(e)}`, e);
    }
  }
  if (args.command === "DEL") {
    try {
      await runDelegate("DEL", d, rt, opts);
    } catch (e) {
      throw multusError(`DelegateDel: error invoking DelegateDel - "${delegateLabel(d)}": ${errorMessage(e)}`, e);
    }
    return undefined;
  }
  if (args.command === "CHECK") {
    await runDelegate("CHECK", d, rt, opts);
    return undefined;
  }
  throw multusError(`unknown cmd type: ${args.command}`);
}

/**
 * GC (1.1.0): the cluster network's GC, with every attachment the delegates' result
 * cache in cniDir still holds as valid (Multus's CmdGC; the runtime's own list of valid
 * attachments names Multus's attachments, not its delegates', so it is not used).
 */
export async function cmdGC(args: CmdArgs, o: EngineOptions): Promise<void> {
  const found = await clusterNetworkList("GC", args, o);
  if (!found) return;
  const { n, list } = found;
  const valid = listCacheEntries(n.cniDir).map((e) => ({ containerID: e.containerID, ifname: e.ifName }));
  try {
    await gcNetworkList(list, valid, runtimeOptions(n, args, o.exec));
  } catch (e) {
    throw multusError(`error in GC command: ${errorMessage(e)}`, e);
  }
}
