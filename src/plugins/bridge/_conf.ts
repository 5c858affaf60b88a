/** The bridge plugin's config: every field of the reference, read and checked before anything is made. */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { getFold } from "../../spec/capabilities.ts";
import { CniError, ErrorCode, invalidConfig } from "../../spec/error.ts";
import type { IPAMConfig, NetConf } from "../../spec/types.ts";
import { checkLinkName } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import { boolField, checkDNS, intField, ipamOf, stringField } from "../_shared/conf-fields.ts";
import { type MasqBackend, masqBackendOf } from "../_shared/masq-backend.ts";
import { nftAvailable } from "../../netfilter/nft-available.ts";
import { loadVlanConf, type VlanConf } from "./_vlan.ts";

/** The bridge config: the standard fields plus these, defaults applied. */
export interface BridgeConf extends NetConf {
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend?: MasqBackend;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** Drop frames from the container whose source MAC is not its own (nftables). */
  macspoofchk: boolean;
  /** The container end's MAC: runtimeConfig.mac, then args.cni.mac, then CNI_ARGS MAC. */
  mac?: string;
  /** Absent: the bridge is L2 only. */
  ipam?: IPAMConfig;
  /** vlan, vlanTrunk and preserveDefaultVlan, checked. */
  vlanConf: VlanConf;
}

/** The MAC asked for, by the reference's precedence. */
function requestedMac(args: CmdArgs): string | undefined {
  const rc = args.conf.runtimeConfig;
  const fromRc = rc ? getFold(rc, "mac") : undefined;
  const cniArgs = (args.conf.args as { cni?: { mac?: unknown } } | undefined)?.cni?.mac;
  // As the reference: MAC is the one known key; others need IgnoreUnknown=1 (the kubelet sends it).
  const fromEnv = loadArgs(args.args, ["MAC"] as const).MAC;
  const mac = fromRc ?? cniArgs ?? fromEnv;
  if (mac === undefined || mac === "") return undefined;
  if (typeof mac !== "string") throw invalidConfig(`Invalid MAC ${JSON.stringify(mac)}`);
  try {
    parseMAC(mac);
  } catch {
    throw invalidConfig(`Invalid MAC ${JSON.stringify(mac)}`);
  }
  return mac.toLowerCase();
}

/** Reads and checks the whole config; bad input is refused before anything is made. */
export function loadNetConf(args: CmdArgs): BridgeConf {
  const conf = args.conf;
  const bridge = stringField(conf, "bridge") || "cni0";
  try {
    checkLinkName(bridge);
  } catch {
    throw invalidConfig(`Invalid "bridge": ${JSON.stringify(bridge)} is not an interface name`);
  }
  const ipMasqBackend = masqBackendOf(conf);
  checkDNS(conf);
  if (boolField(conf, "macspoofchk") && !nftAvailable()) throw new CniError(ErrorCode.UnsupportedField, `"macspoofchk" needs the nft command on the node`);
  const mtu = intField(conf, "mtu", { min: 0, max: 65535 });
  if (mtu !== 0 && mtu < 68) throw invalidConfig(`Invalid "mtu": ${mtu} is below 68`);
  const isDefaultGateway = boolField(conf, "isDefaultGateway");
  // A default gateway is a gateway, as in the reference.
  const isGateway = boolField(conf, "isGateway") || isDefaultGateway;
  const vlanConf = loadVlanConf(conf, bridge, isGateway);
  const ipam = ipamOf(conf);
  const out: BridgeConf = {
    ...conf,
    bridge,
    isGateway,
    isDefaultGateway,
    forceAddress: boolField(conf, "forceAddress"),
    ipMasq: boolField(conf, "ipMasq"),
    ...(ipMasqBackend ? { ipMasqBackend } : {}),
    mtu,
    hairpinMode: boolField(conf, "hairpinMode"),
    promiscMode: boolField(conf, "promiscMode"),
    enabledad: boolField(conf, "enabledad"),
    disableContainerInterface: boolField(conf, "disableContainerInterface"),
    portIsolation: boolField(conf, "portIsolation"),
    macspoofchk: boolField(conf, "macspoofchk"),
    vlanConf,
  };
  if (ipam) out.ipam = ipam;
  else delete out.ipam;
  const mac = requestedMac(args);
  if (mac) out.mac = mac;
  return out;
}
