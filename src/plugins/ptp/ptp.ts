/**
 * ptp: a veth pair per container, the host end in the node's namespace. The container
 * gets its IPAM addresses with every packet sent via the gateway (a /32 route to it and
 * the subnet through it); the host end carries the gateway as a /32 and a host route to
 * each container address. Drop-in for the reference plugin of the same name.
 */
import { addrAdd, addrList } from "../../netlink/addr.ts";
import { isExists } from "../../netlink/error.ts";
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkDel } from "../../netlink/link-add.ts";
import { linkFind } from "../../netlink/link.ts";
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from "../../netlink/route.ts";
import { routeAdd, routeDel } from "../../netlink/route.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Attachment, IPAMConfig, IPConfig, NetConf, Result } from "../../spec/types.ts";
import { checkContainerLink, checkPodL3, containerIface, openForCheck } from "../_shared/check-result.ts";
import { boolField, checkDNS, dnsSet, intField, ipamOf } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { familyOfText, hostPrefix, ipOfCIDR, networkOfCIDR } from "../../spec/ip.ts";
import { ipamAddFor, ipamCommand, ipamValidate } from "../_shared/ipam-exec.ts";
import { type ContainerNS, openContainerNS, openContainerNSIfAny } from "../_shared/netns-open.ts";
import { masqBackendOf } from "../_shared/masq-backend.ts";
import { enableForward } from "../_shared/forward.ts";
import { Rollback } from "../_shared/rollback.ts";
import { deletePair, findPair, setupVeth, type VethOwner } from "../_shared/veth.ts";
import { delBool, delIpam } from "../_shared/del-conf.ts";

/** The masquerade work and the netfilter layer behind it, loaded only by the commands that have rules to make or remove. */
const masqWork = () => import("../_shared/masq.ts");

/** The ptp config: the standard fields plus these. */
export interface PtpConf extends NetConf {
  ipam: IPAMConfig;
  /** Masquerade traffic from the container addresses leaving the node. */
  ipMasq: boolean;
  /** "iptables" or "nftables"; by default whichever the node already uses. */
  ipMasqBackend?: "iptables" | "nftables";
  /** MTU of both veth ends; 0 keeps the kernel's default. */
  mtu: number;
}

/** Reads and checks the whole config before anything is changed. */
export function loadNetConf(args: CmdArgs): PtpConf {
  const conf = args.conf;
  const ipam = ipamOf(conf);
  if (!ipam) throw invalidConfig(`Invalid config: ptp needs "ipam" with a "type"`);
  checkDNS(conf);
  const backend = masqBackendOf(conf);
  // 68 is the IPv4 minimum; veth allows up to 65535.
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`Invalid "mtu": ${mtu} is below 68`);
  const ipMasq = boolField(conf, "ipMasq");
  return { ...conf, ipam, ipMasq, mtu, ...(backend ? { ipMasqBackend: backend } : {}) };
}

/** Every address needs a gateway of its own family: the container reaches everything through it. */
function checkGateways(ips: IPConfig[]): IPConfig[] {
  for (const ipc of ips) {
    if (!ipc.gateway) throw failure(`IPAM result for ptp has no gateway for ${ipc.address}`);
    if (familyOfText(ipc.gateway) !== familyOfText(ipc.address))
      throw failure(`IPAM result for ptp has gateway ${ipc.gateway} of another family than ${ipc.address}`);
  }
  return ips;
}

/**
 * Container side: the addresses and routes of the IPAM result, then, per address, the
 * subnet route replaced by "gw/32 dev IF" and "subnet via gw": veth is not
 * point-to-point, so everything, the subnet included, is sent to the gateway.
 */
async function setupContainerVeth(c: ContainerNS, ifName: string, link: Link, result: Result): Promise<void> {
  await configureIface(c.h, c.ns, ifName, result);
  for (const ipc of result.ips ?? []) {
    const net = networkOfCIDR(ipc.address);
    const ip = ipOfCIDR(ipc.address);
    try {
      routeDel(c.h, { dst: net, link });
    } catch (e) {
      throw failure(`failed to delete route ${net} dev ${ifName}`, e);
    }
    const routes = [
      { dst: hostPrefix(ipc.gateway!), link, scope: RT_SCOPE_LINK, src: ip },
      { dst: net, link, scope: RT_SCOPE_UNIVERSE, gw: ipc.gateway!, src: ip },
    ];
    for (const r of routes) {
      try {
        routeAdd(c.h, r);
      } catch (e) {
        throw failure(`failed to add route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} dev ${ifName}`, e);
      }
    }
  }
}

/** Host side: each gateway as a /32 (/128) on the host end and a host route to each container address. */
function setupHostVeth(hostH: NetlinkHandle, veth: Link, ips: IPConfig[]): void {
  for (const ipc of ips) {
    const gw = hostPrefix(ipc.gateway!);
    try {
      addrAdd(hostH, veth, gw);
    } catch (e) {
      throw failure(`failed to add IP addr ${gw} to veth`, e);
    }
    try {
      routeAdd(hostH, { dst: hostPrefix(ipOfCIDR(ipc.address)), link: veth, scope: RT_SCOPE_HOST });
    } catch (e) {
      if (!isExists(e)) throw failure("failed to add route on host", e);
    }
  }
}

/** The attachment a host end belongs to, which names and tags it. */
function vethOwner(conf: { name: string }, args: CmdArgs): VethOwner {
  return { type: "ptp", network: conf.name, containerID: args.containerID, ifName: args.ifName };
}

/** Creates the pair, applies the IPAM result on both sides, masquerades when asked; undoes it all when a step fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  using hostH = NetlinkHandle.at();
  if (linkFind(c.h, args.ifName)) throw failure(`container veth name "${args.ifName}" already exists in netns "${args.netns}"`);
  await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const ipamResult = await ipamAddFor(conf.ipam.type, args, undo, 1);
    const ips = checkGateways(ipamResult.ips);
    enableForward(ips, hostH);

    const pair = setupVeth(hostH, c.h, c.ns, { owner: vethOwner(conf, args), mtu: conf.mtu });
    undo.add(`veth "${pair.host.name}"`, () => linkDel(hostH, pair.host.index));
    const result: Result = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: pair.host.name, mac: pair.host.mac },
        { name: args.ifName, mac: pair.container.mac, sandbox: args.netns },
      ],
      ips,
      ...(ipamResult.routes ? { routes: ipamResult.routes } : {}),
      dns: dnsSet(conf.dns) ? conf.dns : ipamResult.dns,
    };
    await setupContainerVeth(c, args.ifName, pair.container, result);
    setupHostVeth(hostH, pair.host, ips);

    if (conf.ipMasq) {
      const { setupMasq, teardownMasq } = await masqWork();
      undo.add("ipMasq rules", () => teardownMasq(conf, args));
      setupMasq(conf, args, ips);
    }
    return result;
  });
}

/** The host end named in the prevResult must be a veth with the gateways on it. */
function checkHostVeth(hostH: NetlinkHandle, prev: Result): void {
  const hostIface = prev.interfaces?.find((i) => !i.sandbox && i.name);
  if (!hostIface) return;
  const link = linkFind(hostH, hostIface.name);
  if (!link || link.kind !== "veth") throw failure(`ptp: host veth "${hostIface.name}" in prevResult not found`);
  const have = addrList(hostH, { link }).map((a) => a.cidr);
  for (const ipc of prev.ips ?? []) {
    if (ipc.gateway && !have.includes(hostPrefix(ipc.gateway))) throw failure(`ptp: host veth "${hostIface.name}" lacks gateway ${hostPrefix(ipc.gateway)}`);
  }
}

/** Checks IPAM, then that both ends still look as the prevResult says. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf, "ptp: ");
  checkContainerLink(pod.h, containerIface(pod.prev, args), "veth");
  checkPodL3(pod.h, args.ifName, pod.prev);
  using hostH = NetlinkHandle.at();
  checkHostVeth(hostH, pod.prev);
}

/**
 * Releases the addresses and removes the pair and the masquerade rules. The pair is
 * found from the pod's side when its namespace is there, else by the host end's name or
 * alias, so nothing is left behind when the namespace is gone but the pair lives on,
 * also after an ADD that was killed half way.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Only what teardown needs: a bad mtu must not keep a pod stuck.
  const conf = { name: args.conf.name, ipam: delIpam(args.conf), ipMasq: delBool(args.conf, "ipMasq", true) };
  using hostH = NetlinkHandle.at();
  using c = openContainerNSIfAny(args.netns);
  // Found before IPAM DEL: if that fails, nothing is deleted and a retry finds it all again.
  const pair = findPair(hostH, c, vethOwner(conf, args), args.prevResult);
  if (conf.ipam) await ipamCommand("DEL", conf.ipam.type, args);
  // The rules by chain name and comment hash, so they go even when no address can be found any more.
  if (conf.ipMasq) (await masqWork()).teardownMasqBefore(args.conf, args, () => deletePair(hostH, c, pair, args.ifName));
  else deletePair(hostH, c, pair, args.ifName);
}

/** IPAM's leases and the nftables masquerade rules of attachments that are gone. */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  const conf = loadNetConf(args);
  await ipamCommand("GC", conf.ipam.type, args);
  if (conf.ipMasq) (await masqWork()).gcMasq(conf, valid);
}

/** Ready when the IPAM plugin is. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamCommand("STATUS", conf.ipam.type, args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "ptp: a veth pair per container, routed through the node (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
