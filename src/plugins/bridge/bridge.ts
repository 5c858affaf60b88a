/**
 * bridge: a Linux bridge on the node and a veth pair per container, the host end a
 * port of the bridge; addresses from IPAM, the gateway on the bridge when asked.
 * Drop-in for the reference plugin of the same name (see README.md for the fields).
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkSetBridgePort, linkSetInetConf, linkSetMaster } from "../../netlink/link-set.ts";
import { linkFind, linkSetUp } from "../../netlink/link.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { cidrOf, familyOfText, formatIP, networkOf } from "../../spec/ip.ts";
import type { Attachment, IPConfig, Result, Route } from "../../spec/types.ts";
import { sysctlWrite } from "../../sys/sysctl.ts";
import { checkPodL3, openForCheck } from "../_shared/check-result.ts";
import { dnsSet } from "../_shared/conf-fields.ts";
import { configureIface } from "../_shared/configure-iface.ts";
import { failure } from "../../spec/error.ts";
import { ipamAddFor, ipamIfAny, ipamValidate } from "../_shared/ipam-exec.ts";
import { type ContainerNS, openContainerNS, openContainerNSIfAny } from "../_shared/netns-open.ts";
import { enableForward } from "../_shared/forward.ts";
import { Rollback } from "../_shared/rollback.ts";
import { deletePair, deleteQuietly, findPair, setupVeth, type VethOwner, type VethPair } from "../_shared/veth.ts";
import { delBool, delIpam } from "../_shared/del-conf.ts";
import { ensureBridge, ensureGatewayAddr } from "./_bridge-link.ts";
import { checkBridge, checkContainerEnd, checkHostEnd } from "./_check.ts";
import { ensureVlanGateway, setupPortVlans } from "./_vlan.ts";
import { type BridgeConf, loadNetConf } from "./_conf.ts";

/**
 * The masquerade work and the spoof check, with the netfilter layer behind them (a fifth
 * of this plugin's code), loaded only by the commands that have rules to make or remove.
 */
const masqWork = () => import("../_shared/masq.ts");
const spoofCheck = () => import("../../netfilter/spoofcheck.ts");

export { loadNetConf, type BridgeConf };

/** The first address of the subnet: the reference's gateway when IPAM names none. */
function calcGateway(cidr: string): string {
  const net = networkOf(cidrOf(cidr));
  net.ip[net.ip.length - 1]! += 1;
  return formatIP(net.ip);
}

/** IPAM's addresses, gateways filled in when the bridge is one. */
function withGateways(conf: BridgeConf, ips: IPConfig[]): IPConfig[] {
  if (!conf.isGateway) return ips;
  // Loops, not map/filter, on this path: a plugin process pays for an array builtin's first use (map's: about 0.2 ms).
  const out: IPConfig[] = [];
  for (const ipc of ips) out.push(ipc.gateway ? ipc : { ...ipc, gateway: calcGateway(ipc.address) });
  return out;
}

/** With isDefaultGateway, a default route via each family's gateway, unless IPAM gave one. */
function defaultRoutes(conf: BridgeConf, ips: IPConfig[], routes: Route[]): Route[] {
  if (!conf.isDefaultGateway) return routes;
  const out = [...routes];
  for (const ipc of ips) {
    const dst = familyOfText(ipc.address) === 4 ? "0.0.0.0/0" : "::/0";
    if (ipc.gateway && !out.some((r) => r.dst === dst)) out.push({ dst, gw: ipc.gateway });
  }
  return out;
}

/** The gateway of each address, with the subnet's prefix, on the bridge (or its VLAN's gateway interface); forwarding on. */
function setupGateway(h: NetlinkHandle, br: Link, conf: BridgeConf, result: Result): void {
  const gateways: IPConfig[] = [];
  for (const ipc of result.ips ?? []) if (ipc.gateway) gateways.push(ipc);
  if (gateways.length === 0) return;
  let on = br;
  if (conf.vlanConf.vlan) {
    // On a VLAN the gateway is an interface of its own, reported after the pod's, as the reference.
    try {
      on = ensureVlanGateway(h, br, conf.vlanConf);
    } catch (e) {
      throw failure("failed to create vlan interface", e);
    }
    result.interfaces!.push({ name: on.name, mac: on.mac });
  }
  for (const ipc of gateways) {
    try {
      ensureGatewayAddr(h, on, `${ipc.gateway}/${cidrOf(ipc.address).prefix}`, conf.forceAddress);
    } catch (e) {
      // The reference's prefixes, so messages match the Go plugin's.
      throw failure(on === br ? "failed to set bridge addr" : "failed to set vlan interface for bridge with addr", e);
    }
  }
  enableForward(gateways, h);
}

/**
 * The pod end's sysctls, as the reference (failures ignored, as there: no IPv6 in the
 * pod is fine): DAD off unless enabledad (our own probes come back over the bridge,
 * e.g. with hairpin), and a gratuitous ARP when the link comes up. arp_notify goes by
 * netlink: every /proc/sys open walks a dentry per network namespace on the machine
 * (about 1 ms each with a thousand pods), and IPv6's settings can only be set there.
 */
function podSysctls(c: ContainerNS, pod: Link, enabledad: boolean): void {
  const knobs: [string, string][] = enabledad
    ? [
        [`net/ipv6/conf/${pod.name}/enhanced_dad`, "1"],
        [`net/ipv6/conf/${pod.name}/accept_dad`, "1"],
      ]
    : [[`net/ipv6/conf/${pod.name}/accept_dad`, "0"]];
  for (const [name, value] of knobs) {
    try {
      sysctlWrite(name, value, c.ns);
    } catch {
      // no IPv6 in this kernel or pod
    }
  }
  try {
    linkSetInetConf(c.h, pod.index, { arpNotify: 1 });
  } catch {
    // no IPv4 on the link
  }
}

/** The reference's waits for the host end to come up as a bridge port once the pod end is up. */
const PORT_UP_WAITS_MS = [0, 50, 500, 1000, 1000];

/** Waits until the host end is up (the pod end was just set up), failing as the reference when it never is; the host end as last seen. */
async function waitPortUp(h: NetlinkHandle, index: number): Promise<Link> {
  let state = "unknown";
  for (const ms of PORT_UP_WAITS_MS) {
    if (ms) await Bun.sleep(ms);
    const link = linkFind(h, index);
    if (!link) throw failure(`host veth ${index} vanished`);
    state = link.operstate;
    if (state === "up") return link;
  }
  throw failure(`bridge port in error state: ${state}`);
}

/** Sets a link up, as a CNI failure when it cannot be. */
function linkSetUpOrFail(h: NetlinkHandle, link: Link, name: string): void {
  try {
    linkSetUp(h, link);
  } catch (e) {
    throw failure(`failed to set "${name}" up`, e);
  }
}

/** The attachment a host end belongs to, which names and tags it. */
function vethOwner(conf: { name: string }, args: CmdArgs): VethOwner {
  return { type: "bridge", network: conf.name, containerID: args.containerID, ifName: args.ifName };
}

/** What every step of one ADD works on: the config, the call, both namespaces and the undo record. */
interface Attach {
  conf: BridgeConf;
  args: CmdArgs;
  hostH: NetlinkHandle;
  c: ContainerNS;
  undo: Rollback;
}

/** The pair, its host end a port of the bridge with the port flags asked for, and the spoof check; each recorded for undo. */
async function setupPort(a: Attach, br: Link): Promise<VethPair> {
  const { conf, args, hostH, c, undo } = a;
  const pair = setupVeth(hostH, c.h, c.ns, { owner: vethOwner(conf, args), mtu: conf.mtu, bridgePort: true, ...(conf.mac ? { mac: conf.mac } : {}) });
  undo.add(`veth "${pair.host.name}"`, () => deleteQuietly(hostH, pair.host.index));
  try {
    linkSetMaster(hostH, pair.host, br);
    if (conf.hairpinMode || conf.portIsolation)
      linkSetBridgePort(hostH, pair.host, { ...(conf.hairpinMode ? { hairpin: true } : {}), ...(conf.portIsolation ? { isolated: true } : {}) });
  } catch (e) {
    throw failure(`failed to connect "${pair.host.name}" to bridge ${conf.bridge}`, e);
  }
  setupPortVlans(hostH, pair.host, conf.vlanConf);
  if (conf.macspoofchk) {
    const { setupSpoofCheck, teardownSpoofCheck } = await spoofCheck();
    const refID = `${args.containerID}-${args.ifName}`;
    undo.add("spoof check", () => teardownSpoofCheck(refID));
    try {
      setupSpoofCheck(pair.host.name, pair.container.mac, refID);
    } catch (e) {
      throw failure("failed to setup spoof-check", e);
    }
  }
  return pair;
}

/** IPAM's addresses on the pod end, the gateway on the bridge, masquerade; each recorded for undo. */
async function setupL3(a: Attach, br: Link, pod: Link, result: Result): Promise<void> {
  const { conf, args, hostH, c, undo } = a;
  const ipam = await ipamAddFor(conf.ipam!.type, args, undo, 2);
  result.ips = withGateways(conf, ipam.ips);
  const routes = defaultRoutes(conf, result.ips, ipam.routes ?? []);
  if (routes.length) result.routes = routes;
  if (!dnsSet(conf.dns) && ipam.dns) result.dns = ipam.dns;

  podSysctls(c, pod, conf.enabledad);
  if (!conf.disableContainerInterface) await configureIface(c.h, c.ns, args.ifName, result, { link: pod });
  if (conf.isGateway) setupGateway(hostH, br, conf, result);
  if (conf.ipMasq) {
    const { setupMasq, teardownMasq } = await masqWork();
    undo.add("ipMasq rules", () => teardownMasq(conf, args));
    setupMasq(conf, args, result.ips);
  }
}

/** Bridge, veth, IPAM, addresses, gateway, masquerade; every step undone when a later one fails. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  using c = openContainerNS(args.netns);
  using hostH = NetlinkHandle.at();
  if (linkFind(c.h, args.ifName)) throw failure(`container veth name "${args.ifName}" already exists in netns "${args.netns}"`);
  if (conf.ipam) await ipamValidate(conf.ipam.type, args);
  const undo = new Rollback();
  return await undo.guard(async () => {
    const br = ensureBridge(hostH, conf.bridge, { mtu: conf.mtu, promisc: conf.promiscMode, vlan: conf.vlanConf });
    const a: Attach = { conf, args, hostH, c, undo };
    const pair = await setupPort(a, br);
    const result: Result = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: br.name, mac: br.mac },
        { name: pair.host.name, mac: pair.host.mac },
        { name: args.ifName, mac: pair.container.mac, sandbox: args.netns },
      ],
      dns: conf.dns && dnsSet(conf.dns) ? conf.dns : {},
    };
    if (conf.ipam) await setupL3(a, br, pair.container, result);
    // L2 only: the pod's end is up with no addresses, as in the reference.
    else if (!conf.disableContainerInterface) linkSetUpOrFail(c.h, pair.container, args.ifName);
    const hostEnd = conf.disableContainerInterface ? linkFind(hostH, pair.host.index) : await waitPortUp(hostH, pair.host.index);
    // Both MACs may have changed since: the bridge's when the port joined or the gateway went on it.
    result.interfaces![0]!.mac = linkFind(hostH, br.index)?.mac ?? br.mac;
    result.interfaces![1]!.mac = hostEnd?.mac ?? pair.host.mac;
    return result;
  });
}

/**
 * IPAM's check, then as the reference: the bridge, the container end and its peer on
 * the bridge, the addresses and routes in the pod. An L2-only bridge has no IPAM to
 * ask (the reference then fails looking for a plugin named "").
 */
async function cmdCheck(args: CmdArgs): Promise<void> {
  using pod = await openForCheck(args, loadNetConf);
  const { conf, prev } = pod;
  using hostH = NetlinkHandle.at();
  const br = checkBridge(hostH, prev, conf);
  const cont = checkContainerEnd(pod.h, prev, args);
  checkHostEnd(hostH, prev, br, cont, args);
  if (!conf.disableContainerInterface) {
    checkPodL3(pod.h, args.ifName, prev);
  }
}

/**
 * Releases the addresses, removes the pair and the masquerade rules. The host end is
 * found by its alias or its name when the pod's namespace is gone, so nothing stays
 * behind, also after an ADD that was killed half way.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Only what teardown needs (a bad mtu or vlan must not keep a pod stuck); masquerade
  // rules are looked for whenever ipMasq may have been on.
  const conf = {
    name: args.conf.name,
    ipam: delIpam(args.conf),
    ipMasq: delBool(args.conf, "ipMasq", true),
    macspoofchk: delBool(args.conf, "macspoofchk", false),
  };
  using hostH = NetlinkHandle.at();
  using c = openContainerNSIfAny(args.netns);
  const pair = findPair(hostH, c, vethOwner(conf, args), args.prevResult);
  await ipamIfAny("DEL", conf, args);
  if (conf.ipMasq) (await masqWork()).teardownMasqBefore(args.conf, args, () => deletePair(hostH, c, pair, args.ifName));
  else deletePair(hostH, c, pair, args.ifName);
  if (conf.macspoofchk) {
    const { teardownSpoofCheck } = await spoofCheck();
    try {
      teardownSpoofCheck(`${args.containerID}-${args.ifName}`);
    } catch (e) {
      throw failure("failed to teardown spoof-check", e);
    }
  }
}

/** IPAM's reservations and the masquerade rules (both backends) of attachments that are gone. */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("GC", conf, args);
  if (conf.ipMasq) (await masqWork()).gcMasq(conf, valid);
}

/** Ready when the IPAM plugin is. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  await ipamIfAny("STATUS", conf, args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "bridge: a Linux bridge with a veth pair per container (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
