/**
 * bandwidth: shapes the container's traffic on the host side of its veth, chained
 * after a main plugin, as the reference bandwidth plugin does: a TBF qdisc on the host
 * veth for traffic to the container (ingress), and for traffic from it (egress) an ifb
 * device "bwp<hash>" that the host veth's ingress redirects to, with a TBF on it. All
 * through netlink (tc messages), no `tc` command.
 */
import { isNotFound } from "../../netlink/error.ts";
import { filterAddMirredRedirect, filterListIngress, redirectsTo } from "../../netlink/filter.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { linkAdd, linkDel } from "../../netlink/link-add.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkFind } from "../../netlink/link.ts";
import { qdiscAddIngress, qdiscAddTbf, qdiscDel, qdiscList } from "../../netlink/qdisc.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { getFold } from "../../spec/capabilities.ts";
import type { Interface, NetConf, Result } from "../../spec/types.ts";
import { NetNS } from "../../sys/netns.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { tbfParams } from "./_tbf.ts";

/** Rates in bits per second, bursts in bits; 0 is no limit (CONVENTIONS.md "bandwidth"). */
export interface Bandwidth {
  ingressRate: number;
  ingressBurst: number;
  egressRate: number;
  egressBurst: number;
}

/** The config: the standard fields and the limits in force, when there are any. */
export interface BandwidthConf extends NetConf {
  bandwidth?: Bandwidth;
}

const FIELDS = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"] as const;
const IFB_PREFIX = "bwp";
const IFB_NAME_LEN = 15;

/** One set of limits: undefined when none of the four keys is there (in any case, as Go's JSON matches them). */
function entry(src: Record<string, unknown>, where: string): Bandwidth | undefined {
  if (!FIELDS.some((f) => getFold(src, f) !== undefined)) return undefined;
  const out = {} as Bandwidth;
  for (const f of FIELDS) {
    const v = getFold(src, f) ?? 0;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalidConfig(`Invalid ${where} "${f}": ${JSON.stringify(v)} is not a non-negative integer`);
    out[f] = v as number;
  }
  for (const [rate, burst] of [
    [out.ingressRate, out.ingressBurst],
    [out.egressRate, out.egressBurst],
  ] as const) {
    if (burst === 0 && rate !== 0) throw invalidConfig("if rate is set, burst must also be set");
    if (rate === 0 && burst !== 0) throw invalidConfig("if burst is set, rate must also be set");
    if (burst / 8 >= 2 ** 32 - 1) throw invalidConfig("burst cannot be more than 4GB");
    // Below a byte per second the reference divides by zero; refuse it instead.
    if (rate !== 0 && rate < 8) throw invalidConfig(`Invalid ${where} rate ${rate}: less than 8 bits per second`);
  }
  return out;
}

/** The limits: the config's own fields when it has any, else runtimeConfig.bandwidth, as the reference. */
export function loadNetConf(args: CmdArgs): BandwidthConf {
  const conf = args.conf;
  const own = entry(conf, "bandwidth");
  const rcv = conf.runtimeConfig ? getFold(conf.runtimeConfig, "bandwidth") : undefined;
  const rc = rcv && typeof rcv === "object" ? entry(rcv as Record<string, unknown>, "runtimeConfig.bandwidth") : undefined;
  const bandwidth = own ?? rc;
  return { ...conf, ...(bandwidth ? { bandwidth } : {}) };
}

/** The reference's ifb name: "bwp" + hex sha512(network name + container id), 15 characters. */
export function ifbName(net: string, containerID: string): string {
  return (IFB_PREFIX + new Bun.CryptoHasher("sha512").update(net + containerID).digest("hex")).slice(0, IFB_NAME_LEN);
}

const isZero = (b?: Bandwidth): boolean => !b || FIELDS.every((f) => b[f] === 0);

/** The prevResult's host-side interface that is the veth peer of the container's interface. */
function hostInterface(prev: Result, args: CmdArgs, host: NetlinkHandle): { iface: Interface; link: Link } {
  if (!prev.interfaces?.length) throw failure("no interfaces provided");
  using ns = NetNS.open(args.netns);
  using pod = NetlinkHandle.at(ns);
  const cont = linkFind(pod, args.ifName);
  if (!cont || cont.kind !== "veth" || !cont.parentIndex) throw failure(`container interface ${args.ifName} has no veth peer`);
  const peer = linkFind(host, cont.parentIndex);
  if (!peer) throw failure(`veth peer with index ${cont.parentIndex} is not in host ns`);
  const iface = prev.interfaces.find((i) => !i.sandbox && i.name === peer.name);
  if (!iface) throw failure("no veth peer of container interface found in host ns");
  return { iface, link: peer };
}

/** What an ADD made, so a failure half way removes exactly that. */
interface Made {
  hostTbf?: boolean;
  hostIngress?: boolean;
  ifb?: boolean;
}

/** Traffic to the container: a TBF at the root of the host veth. */
function setupIngress(h: NetlinkHandle, host: Link, bw: Bandwidth, made: Made): void {
  qdiscAddTbf(h, host, tbfParams(bw.ingressRate, bw.ingressBurst));
  made.hostTbf = true;
}

/** Traffic from the container: host veth ingress -> redirect -> ifb with a TBF at its root. */
function setupEgress(h: NetlinkHandle, host: Link, ifb: string, bw: Bandwidth, made: Made): Link {
  linkAdd(h, { kind: "ifb", name: ifb, mtu: host.mtu, up: true });
  made.ifb = true;
  const dev = linkFind(h, ifb);
  if (!dev) throw failure(`get ifb device: ${ifb} not found`);
  qdiscAddIngress(h, host);
  made.hostIngress = true;
  filterAddMirredRedirect(h, host, dev);
  qdiscAddTbf(h, dev, tbfParams(bw.egressRate, bw.egressBurst));
  return dev;
}

/** Removes what a failed ADD made; errors here would hide the real one. */
function undo(h: NetlinkHandle, host: Link, ifb: string, made: Made): void {
  const quietly = (fn: () => void) => {
    try {
      fn();
    } catch {
      // best effort: the ADD's own error is reported
    }
  };
  if (made.hostIngress) quietly(() => qdiscDel(h, host, "ingress"));
  if (made.hostTbf) quietly(() => qdiscDel(h, host, "root"));
  if (made.ifb) quietly(() => removeIfb(h, ifb));
}

/** Deletes the ifb; gone already is fine. */
function removeIfb(h: NetlinkHandle, name: string): void {
  try {
    linkDel(h, name);
  } catch (e) {
    if (!isNotFound(e) && linkFind(h, name)) throw e;
  }
}

/** Installs the shaping; prevResult passes on, with the ifb appended when egress is shaped. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  const bw = conf.bandwidth;
  if (isZero(bw)) return args.prevResult ?? { cniVersion: conf.cniVersion };
  if (!args.prevResult) throw failure("must be called as chained plugin");
  const result: Result = { ...args.prevResult, interfaces: [...(args.prevResult.interfaces ?? [])] };
  using h = NetlinkHandle.at();
  const { link: host } = hostInterface(result, args, h);
  const ifb = ifbName(conf.name, args.containerID);
  const made: Made = {};
  try {
    if (bw!.ingressRate > 0) setupIngress(h, host, bw!, made);
    if (bw!.egressRate > 0) {
      const dev = setupEgress(h, host, ifb, bw!, made);
      result.interfaces!.push({ name: ifb, mac: dev.mac });
    }
  } catch (e) {
    undo(h, host, ifb, made);
    throw failure("failed to set up bandwidth limits", e);
  }
  return result;
}

/** The root TBF of a link must carry the numbers the limits give (the reference's messages). */
function checkTbf(h: NetlinkHandle, link: Link, rateBits: number, burstBits: number): void {
  const want = tbfParams(rateBits, burstBits);
  const tbf = qdiscList(h, link).find((q) => q.kind === "tbf" && q.parent === 0xffffffff)?.tbf;
  if (!tbf) throw failure("Failed to find qdisc");
  if (tbf.rate !== want.rate) throw failure("Rate doesn't match");
  if (tbf.limit !== want.limit) throw failure("Limit doesn't match");
  if (tbf.buffer !== want.buffer) throw failure("Buffer doesn't match");
}

/** The qdiscs on the host veth and the ifb must carry the configured numbers, and the redirect must lead to the ifb. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  if (!args.prevResult) throw failure("must be called as a chained plugin");
  using h = NetlinkHandle.at();
  const { link: host } = hostInterface(args.prevResult, args, h);
  const bw = conf.bandwidth;
  if (isZero(bw)) return;
  if (bw!.ingressRate > 0) checkTbf(h, host, bw!.ingressRate, bw!.ingressBurst);
  if (bw!.egressRate > 0) {
    const name = ifbName(conf.name, args.containerID);
    const ifb = linkFind(h, name);
    if (!ifb) throw failure(`get ifb device: ${name} not found`);
    checkTbf(h, ifb, bw!.egressRate, bw!.egressBurst);
    const redirected = filterListIngress(h, host).some((f) => redirectsTo(f, ifb.index));
    if (!redirected) throw failure(`no redirect from ${host.name} to ${name}`);
  }
}

/** Removes the ifb; the host veth's qdiscs go with the veth, which the main plugin deletes. */
async function cmdDel(args: CmdArgs): Promise<void> {
  // The ifb is named by network and container: no rate in the config matters to DEL.
  using h = NetlinkHandle.at();
  removeIfb(h, ifbName(args.conf.name, args.containerID));
}

/** What this plugin says about itself; like the reference it takes configs from 0.3.0 on. */
export const info: PluginInfo = {
  about: "bandwidth: shapes a container's traffic with TBF and an ifb device (cni-ts)",
  supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
};

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
