/** Queueing disciplines and filters (tc) through rtnetlink: what the bandwidth plugin needs. */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkIndexOf, linkLabel } from "./link.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import { attrMap, decodeAttrs, encodeAttrs, readString, rtaBytes, rtaNested, rtaString, rtaU32 } from "./nl/rtattr.ts";
import {
  ETH_P_ALL, RTM_DELQDISC, RTM_GETQDISC, RTM_NEWQDISC, RTM_NEWTFILTER, TCA_ACT_KIND, TCA_ACT_OPTIONS, TCA_KIND, TCA_MIRRED_PARMS, TCA_OPTIONS,
  TCA_TBF_PARMS, TCA_U32_ACT, TCA_U32_CLASSID, TCA_U32_SEL, TCMSG_LEN, TC_H_INGRESS, TC_H_ROOT, type TbfQopt, decodeTbfQopt, decodeTcMsg,
  encodeMirredRedirect, encodeTbfQopt, encodeTcMsg, encodeU32MatchAll, makeHandle,
} from "./nl/tc.ts";

/** A qdisc as listed. */
export interface Qdisc {
  ifindex: number;
  kind: string;
  handle: number;
  parent: number;
  /** TBF's parameters, for kind "tbf". */
  tbf?: TbfQopt;
}

function body(ifindex: number, handle: number, parent: number, attrs: Parameters<typeof encodeAttrs>[0]): Uint8Array {
  const head = encodeTcMsg({ ifindex, handle, parent });
  const rest = encodeAttrs(attrs);
  const out = new Uint8Array(TCMSG_LEN + rest.length);
  out.set(head);
  out.set(rest, TCMSG_LEN);
  return out;
}

/** Adds a root TBF qdisc with handle 1:. Equivalent to: `tc qdisc add dev LINK root handle 1: tbf rate R burst B limit L`. */
export function qdiscAddTbf(h: NetlinkHandle, link: LinkRef, q: TbfQopt): void {
  const index = linkIndexOf(h, link);
  const attrs = [rtaString(TCA_KIND, "tbf"), rtaNested(TCA_OPTIONS, [rtaBytes(TCA_TBF_PARMS, encodeTbfQopt(q))])];
  h.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, body(index, makeHandle(1, 0), TC_H_ROOT, attrs), `add tbf qdisc to ${linkLabel(link)}`);
}

/** Adds the ingress qdisc (handle ffff:). Equivalent to: `tc qdisc add dev LINK ingress`. */
export function qdiscAddIngress(h: NetlinkHandle, link: LinkRef): void {
  const index = linkIndexOf(h, link);
  h.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, body(index, makeHandle(0xffff, 0), TC_H_INGRESS, [rtaString(TCA_KIND, "ingress")]), `add ingress qdisc to ${linkLabel(link)}`);
}

/** Deletes the root (or, with ingress, the ingress) qdisc. Equivalent to: `tc qdisc del dev LINK root|ingress`. */
export function qdiscDel(h: NetlinkHandle, link: LinkRef, which: "root" | "ingress"): void {
  const index = linkIndexOf(h, link);
  const parent = which === "root" ? TC_H_ROOT : TC_H_INGRESS;
  h.request(RTM_DELQDISC, 0, body(index, which === "root" ? 0 : makeHandle(0xffff, 0), parent, []), `delete ${which} qdisc of ${linkLabel(link)}`);
}

/** The qdiscs of a link (or of all links). Equivalent to: `tc qdisc show [dev LINK]`. */
export function qdiscList(h: NetlinkHandle, link?: LinkRef): Qdisc[] {
  const index = link === undefined ? 0 : linkIndexOf(h, link);
  return h
    .dump(RTM_GETQDISC, encodeTcMsg({ ifindex: index }), "list qdiscs")
    .filter((m) => m.header.type === RTM_NEWQDISC)
    .map((m) => {
      const t = decodeTcMsg(m.payload);
      const a = attrMap(decodeAttrs(m.payload.subarray(TCMSG_LEN)));
      const kind = a.has(TCA_KIND) ? readString(a.get(TCA_KIND)!) : "";
      const q: Qdisc = { ifindex: t.ifindex, kind, handle: t.handle, parent: t.parent };
      const opts = a.get(TCA_OPTIONS);
      if (kind === "tbf" && opts) {
        const parms = attrMap(decodeAttrs(opts)).get(TCA_TBF_PARMS);
        if (parms) q.tbf = decodeTbfQopt(parms);
      }
      return q;
    })
    .filter((q) => index === 0 || q.ifindex === index);
}

/**
 * Redirects everything arriving on `link` to `to` (egress of `to`), with a match-all u32
 * filter on the ingress qdisc. Equivalent to: `tc filter add dev LINK parent ffff:
 * protocol all prio 1 u32 match u32 0 0 flowid 1:1 action mirred egress redirect dev TO`.
 */
export function filterAddMirredRedirect(h: NetlinkHandle, link: LinkRef, to: LinkRef): void {
  const index = linkIndexOf(h, link);
  const target = linkIndexOf(h, to);
  const action = rtaNested(1, [rtaString(TCA_ACT_KIND, "mirred"), rtaNested(TCA_ACT_OPTIONS, [rtaBytes(TCA_MIRRED_PARMS, encodeMirredRedirect(target))])]);
  const opts = [rtaBytes(TCA_U32_SEL, encodeU32MatchAll()), rtaU32(TCA_U32_CLASSID, makeHandle(1, 1)), rtaNested(TCA_U32_ACT, [action])];
  // info: priority in the high half, protocol (network order) in the low half.
  const info = ((1 << 16) | ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8)) >>> 0;
  const head = encodeTcMsg({ ifindex: index, parent: makeHandle(0xffff, 0), info });
  const rest = encodeAttrs([rtaString(TCA_KIND, "u32"), rtaNested(TCA_OPTIONS, opts)]);
  const msg = new Uint8Array(TCMSG_LEN + rest.length);
  msg.set(head);
  msg.set(rest, TCMSG_LEN);
  h.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, msg, `add mirred filter on ${linkLabel(link)}`);
}
