/**
 * bandwidth: shapes the container's traffic on the host side of its veth, chained
 * after a main plugin, as the reference bandwidth plugin does: a TBF qdisc on the host
 * veth for traffic to the container (ingress), and for traffic from it (egress) an ifb
 * device "bwp<hash>" that the host veth's ingress redirects to, with a TBF on it. All
 * through netlink (tc messages), no `tc` command.
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import { isNotFound } from "../../netlink/error.ts";
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import { linkFind } from "../../netlink/link.ts";
import { filterAddMirredRedirect, qdiscAddIngress, qdiscAddTbf, qdiscList } from "../../netlink/qdisc.ts";
import { chainNameFor } from "../../netfilter/ipmasq.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { getFold } from "../../spec/capabilities.ts";
import type { Interface, NetConf, Result } from "../../spec/types.ts";
import { NetNS } from "../../sys/netns.ts";
import { failure, invalidConfig } from "../_shared/errors.ts";
import { tbfParams } from "./_tbf.ts";

/** Rates in bits per second, bursts in bits; 0 is no limit (CONVENTIONS.md "bandwidth"). */
export interface Bandwidth {
  ingressRate: number;
  ingressBurst: number;
  egressRate: number;
  egressBurst: number;
}

const FIELDS = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"] as const;

function entry(src: Record<string, unknown>, where: string): Bandwidth | undefined {
  if (!FIELDS.some((f) => getFold(src, f) !== undefined)) return undefined;
  const out = {} as Bandwidth;
  for (const f of FIELDS) {
    const v = getFold(src, f) ?? 0;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalidConfig(`Invalid ${where} "${f}": ${JSON.stringify(v)}`);
    out[f] = v as number;
  }
  for (const [rate, burst] of [[out.ingressRate, out.ingressBurst], [out.egressRate, out.egressBurst]] as const) {
    if (burst === 0 && rate !== 0) throw invalidConfig("if rate is set, burst must also be set");
    if (rate === 0 && burst !== 0) throw invalidConfig("if burst is set, rate must also be set");
    if (burst / 8 >= 2 ** 32 - 1) throw invalidConfig("burst cannot be more than 4GB");
  }
  return out;
}

/** The limits: from the config's own fields, else runtimeConfig.bandwidth, as the reference. */
export function loadNetConf(args: CmdArgs): NetConf & { bandwidth?: Bandwidth } {
  const conf = args.conf;
  const own = entry(conf, "bandwidth");
  const rcv = conf.runtimeConfig ? getFold(conf.runtimeConfig, "bandwidth") : undefined;
  const rc = rcv && typeof rcv === "object" ? entry(rcv as Record<string, unknown>, "runtimeConfig.bandwidth") : undefined;
  const bandwidth = own ?? rc;
  return { ...conf, ...(bandwidth ? { bandwidth } : {}) };
}

/** "bwp" + hash of network name and container id, 15 characters. */
export function ifbName(net: string, containerID: string): string {
  return chainNameFor("bwp", net, containerID).slice(0, 15);
}

/** The prevResult's host-side interface that is the veth peer of the container's interface. */
function hostInterface(prev: Result, args: CmdArgs, host: NetlinkHandle): Interface {
  if (!prev.interfaces?.length) throw failure("no interfaces provided");
  using ns = NetNS.open(args.netns);
  using pod = NetlinkHandle.at(ns);
  const cont = linkFind(pod, args.ifName);
  if (!cont || cont.kind !== "veth" || cont.parentIndex === undefined) throw failure(`container interface ${args.ifName} has no veth peer`);
  for (const i of prev.interfaces) {
    if (i.sandbox) continue;
    if (linkFind(host, i.name)?.index === cont.parentIndex) return i;
  }
  throw failure("no veth peer of container interface found in host ns");
}

const isZero = (b?: Bandwidth) => !b || FIELDS.every((f) => b[f] === 0);

/** Installs the shaping; prevResult passes on (with the ifb added when egress is shaped). */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  const bw = conf.bandwidth;
  if (!args.prevResult) {
    if (isZero(bw)) return { cniVersion: conf.cniVersion };
    throw failure("must be called as chained plugin");
  }
  const result: Result = { ...args.prevResult, interfaces: [...(args.prevResult.interfaces ?? [])] };
  if (isZero(bw)) return result;
  using h = NetlinkHandle.at();
  const host = hostInterface(result, args, h);
  const ifb = ifbName(conf.name, args.containerID);
  try {
    if (bw!.ingressRate > 0) qdiscAddTbf(h, host.name, tbfParams(bw!.ingressRate, bw!.ingressBurst));
    if (bw!.egressRate > 0) {
      const mtu = linkFind(h, host.name)!.mtu;
      linkAdd(h, { kind: "ifb", name: ifb, mtu, up: true });
      result.interfaces!.push({ name: ifb, mac: linkFind(h, ifb)?.mac ?? "" });
      qdiscAddIngress(h, host.name);
      filterAddMirredRedirect(h, host.name, ifb);
      qdiscAddTbf(h, ifb, tbfParams(bw!.egressRate, bw!.egressBurst));
    }
  } catch (e) {
    removeIfb(h, ifb);
    throw failure("failed to set up bandwidth limits", e);
  }
  return result;
}

/** Deletes the ifb; gone already is fine. */
function removeIfb(h: NetlinkHandle, name: string): void {
  try {
    linkDel(h, name);
  } catch (e) {
    if (!isNotFound(e) && linkFind(h, name)) throw e;
  }
}

/** The TBF on the host veth (and on the ifb) must carry the configured numbers. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("must be called as a chained plugin");
  const bw = conf.bandwidth;
  if (isZero(bw)) return;
  using h = NetlinkHandle.at();
  const host = hostInterface(args.prevResult, args, h);
  const check = (dev: string, rateBits: number, burstBits: number) => {
    const want = tbfParams(rateBits, burstBits);
    const tbf = qdiscList(h, dev).find((q) => q.kind === "tbf")?.tbf;
    if (!tbf) throw failure("Failed to find qdisc");
    if (tbf.rate !== want.rate) throw failure("Rate doesn't match");
    if (tbf.limit !== want.limit) throw failure("Limit doesn't match");
    if (tbf.buffer !== want.buffer) throw failure("Buffer doesn't match");
  };
  if (bw!.ingressRate > 0) check(host.name, bw!.ingressRate, bw!.ingressBurst);
  if (bw!.egressRate > 0) {
    const ifb = ifbName(conf.name, args.containerID);
    if (!linkFind(h, ifb)) throw failure(`get ifb device: ${ifb} not found`);
    check(ifb, bw!.egressRate, bw!.egressBurst);
  }
}

/** Removes the ifb; the host veth's qdiscs go with the veth, which the main plugin deletes. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  using h = NetlinkHandle.at();
  removeIfb(h, ifbName(conf.name, args.containerID));
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "bandwidth: shapes a container's traffic with TBF and an ifb device (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
