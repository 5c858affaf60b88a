/** Traffic control filters through rtnetlink (RTM_*TFILTER): the u32 match-all redirect the bandwidth plugin uses. */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkIndexOf, linkLabel } from "./link.ts";
import { concat } from "./nl/_bytes.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import { attrMap, decodeAttrs, encodeAttrs, readString, readU32, rtaBytes, rtaNested, rtaString, rtaU32 } from "./nl/rtattr.ts";
import {
  TCA_ACT_KIND,
  TCA_ACT_OPTIONS,
  TCA_EGRESS_REDIR,
  TCA_MIRRED_PARMS,
  TC_ACT_STOLEN,
  type TcMirred,
  decodeTcMirred,
  encodeTcMirred,
} from "./nl/tc-mirred.ts";
import { TCA_U32_ACT, TCA_U32_CLASSID, TCA_U32_SEL, U32_MATCH_ALL, encodeU32Sel } from "./nl/tc-u32.ts";
import {
  ETH_P_ALL,
  RTM_GETTFILTER,
  RTM_NEWTFILTER,
  SIZEOF_TCMSG,
  TCA_KIND,
  TCA_OPTIONS,
  decodeTcMsg,
  encodeTcMsg,
  filterInfo,
  makeHandle,
} from "./nl/tcmsg.ts";
import { INGRESS_HANDLE } from "./qdisc.ts";

/** A filter as listed: its kind, place and the mirred actions it carries. */
export interface Filter {
  ifindex: number;
  kind: string;
  handle: number;
  parent: number;
  priority: number;
  /** u32: the flow id (TCA_U32_CLASSID), when set. */
  classid?: number;
  mirred: TcMirred[];
}

/**
 * The body of the redirect filter (pure, for byte-exact tests): u32 on the ingress
 * qdisc, priority 1, every protocol, match all, flow id 1:1, one mirred egress redirect
 * that steals the packet. The reference's library sends that action twice (its
 * RedirIndex plus the action list, the copy with verdict "pass"); the first one takes
 * every packet, so one is the same traffic with one action fewer.
 */
export function mirredRedirectBody(ifindex: number, toIndex: number): Uint8Array {
  const mirred = encodeTcMirred({ index: 0, action: TC_ACT_STOLEN, eaction: TCA_EGRESS_REDIR, ifindex: toIndex });
  const action = rtaNested(1, [rtaString(TCA_ACT_KIND, "mirred"), rtaNested(TCA_ACT_OPTIONS, [rtaBytes(TCA_MIRRED_PARMS, mirred)])]);
  const opts = [rtaBytes(TCA_U32_SEL, encodeU32Sel(U32_MATCH_ALL)), rtaU32(TCA_U32_CLASSID, makeHandle(1, 1)), rtaNested(TCA_U32_ACT, [action])];
  const head = encodeTcMsg({ ifindex, parent: INGRESS_HANDLE, info: filterInfo(1, ETH_P_ALL) });
  return concat([head, encodeAttrs([rtaString(TCA_KIND, "u32"), rtaNested(TCA_OPTIONS, opts)])]);
}

/**
 * Redirects every packet arriving on `link` to the egress of `to`. Equivalent to:
 * `tc filter add dev LINK parent ffff: protocol all prio 1 u32 match u32 0 0 flowid 1:1
 * action mirred egress redirect dev TO`.
 */
export function filterAddMirredRedirect(h: NetlinkHandle, link: LinkRef, to: LinkRef): void {
  const body = mirredRedirectBody(linkIndexOf(h, link), linkIndexOf(h, to));
  h.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, body, `add mirred redirect filter on ${linkLabel(link)}`);
}

/** Decodes one RTM_NEWTFILTER message body (the u32 options it knows; other kinds by name only). */
function decodeFilter(payload: Uint8Array): Filter {
  const t = decodeTcMsg(payload);
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_TCMSG)));
  const kind = a.has(TCA_KIND) ? readString(a.get(TCA_KIND)!) : "";
  const f: Filter = { ifindex: t.ifindex, kind, handle: t.handle, parent: t.parent, priority: t.info >>> 16, mirred: [] };
  const opts = kind === "u32" ? a.get(TCA_OPTIONS) : undefined;
  if (!opts) return f;
  const o = attrMap(decodeAttrs(opts));
  const classid = o.get(TCA_U32_CLASSID);
  if (classid) f.classid = readU32(classid);
  for (const act of decodeAttrs(o.get(TCA_U32_ACT) ?? new Uint8Array(0))) {
    const aa = attrMap(decodeAttrs(act.data));
    if (readString(aa.get(TCA_ACT_KIND) ?? new Uint8Array(0)) !== "mirred") continue;
    const parms = attrMap(decodeAttrs(aa.get(TCA_ACT_OPTIONS) ?? new Uint8Array(0))).get(TCA_MIRRED_PARMS);
    if (parms) f.mirred.push(decodeTcMirred(parms));
  }
  return f;
}

/** The filters of a link's ingress qdisc. Equivalent to: `tc filter show dev LINK ingress`. */
export function filterListIngress(h: NetlinkHandle, link: LinkRef): Filter[] {
  const index = linkIndexOf(h, link);
  return h
    .dump(RTM_GETTFILTER, encodeTcMsg({ ifindex: index, parent: INGRESS_HANDLE }), `list ingress filters of ${linkLabel(link)}`)
    .filter((m) => m.header.type === RTM_NEWTFILTER)
    .map((m) => decodeFilter(m.payload));
}

/** True when the filter redirects packets out of link `ifindex` (`action mirred egress redirect dev ...`). */
export function redirectsTo(f: Filter, ifindex: number): boolean {
  return f.mirred.some((m) => m.eaction === TCA_EGRESS_REDIR && m.ifindex === ifindex);
}
