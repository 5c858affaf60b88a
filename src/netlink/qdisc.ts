/** Queueing disciplines through rtnetlink (RTM_*QDISC): the root TBF and the ingress qdisc the bandwidth plugin uses. */
import type { NetlinkHandle } from "./handle.ts";
import type { LinkRef } from "./link-types.ts";
import { linkIndexOf, linkLabel } from "./link.ts";
import { concat } from "./nl/_bytes.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readString, rtaNested, rtaString } from "./nl/rtattr.ts";
import { type TbfParams, decodeTbfOptions, tbfOptions } from "./nl/tc-tbf.ts";
import {
  RTM_DELQDISC,
  RTM_GETQDISC,
  RTM_NEWQDISC,
  SIZEOF_TCMSG,
  TCA_KIND,
  TCA_OPTIONS,
  TC_H_INGRESS,
  TC_H_ROOT,
  decodeTcMsg,
  encodeTcMsg,
  makeHandle,
} from "./nl/tcmsg.ts";

/** A qdisc as listed. */
export interface Qdisc {
  ifindex: number;
  kind: string;
  handle: number;
  parent: number;
  /** The parameters of a "tbf" qdisc. */
  tbf?: TbfParams;
}

/** The handle of the ingress qdisc, "ffff:". */
export const INGRESS_HANDLE = makeHandle(0xffff, 0);

/** A qdisc message body: tcmsg and attributes. */
function qdiscBody(ifindex: number, handle: number, parent: number, attrs: RtAttr[]): Uint8Array {
  return concat([encodeTcMsg({ ifindex, handle, parent }), encodeAttrs(attrs)]);
}

/** The body that adds a root TBF with handle 1: (pure, for byte-exact tests). */
export function tbfQdiscBody(ifindex: number, q: TbfParams): Uint8Array {
  return qdiscBody(ifindex, makeHandle(1, 0), TC_H_ROOT, [rtaString(TCA_KIND, "tbf"), rtaNested(TCA_OPTIONS, tbfOptions(q))]);
}

/** The body that adds the ingress qdisc; the empty TCA_OPTIONS is what the reference's library sends. */
export function ingressQdiscBody(ifindex: number): Uint8Array {
  return qdiscBody(ifindex, INGRESS_HANDLE, TC_H_INGRESS, [rtaString(TCA_KIND, "ingress"), rtaNested(TCA_OPTIONS, [])]);
}

/** Adds a root TBF qdisc, handle 1:. Equivalent to: `tc qdisc add dev LINK root handle 1: tbf rate R burst B limit L`. */
export function qdiscAddTbf(h: NetlinkHandle, link: LinkRef, q: TbfParams): void {
  h.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, tbfQdiscBody(linkIndexOf(h, link), q), `add tbf qdisc to ${linkLabel(link)}`);
}

/** Adds the ingress qdisc, handle ffff:. Equivalent to: `tc qdisc add dev LINK ingress`. */
export function qdiscAddIngress(h: NetlinkHandle, link: LinkRef): void {
  h.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ingressQdiscBody(linkIndexOf(h, link)), `add ingress qdisc to ${linkLabel(link)}`);
}

/** Deletes the root or the ingress qdisc. Equivalent to: `tc qdisc del dev LINK root|ingress`. */
export function qdiscDel(h: NetlinkHandle, link: LinkRef, which: "root" | "ingress"): void {
  const body = which === "root" ? qdiscBody(linkIndexOf(h, link), 0, TC_H_ROOT, []) : qdiscBody(linkIndexOf(h, link), INGRESS_HANDLE, TC_H_INGRESS, []);
  h.request(RTM_DELQDISC, 0, body, `delete ${which} qdisc of ${linkLabel(link)}`);
}

/** Decodes one RTM_NEWQDISC message body. */
function decodeQdisc(payload: Uint8Array): Qdisc {
  const t = decodeTcMsg(payload);
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_TCMSG)));
  const kind = a.has(TCA_KIND) ? readString(a.get(TCA_KIND)!) : "";
  const q: Qdisc = { ifindex: t.ifindex, kind, handle: t.handle, parent: t.parent };
  const opts = a.get(TCA_OPTIONS);
  if (kind === "tbf" && opts) {
    const tbf = decodeTbfOptions(opts);
    if (tbf) q.tbf = tbf;
  }
  return q;
}

/** The qdiscs of a link, or of every link. Equivalent to: `tc qdisc show [dev LINK]`. */
export function qdiscList(h: NetlinkHandle, link?: LinkRef): Qdisc[] {
  const index = link === undefined ? 0 : linkIndexOf(h, link);
  return (
    h
      .dump(RTM_GETQDISC, encodeTcMsg({ ifindex: index }), link === undefined ? "list qdiscs" : `list qdiscs of ${linkLabel(link)}`)
      .filter((m) => m.header.type === RTM_NEWQDISC)
      .map((m) => decodeQdisc(m.payload))
      // The kernel's qdisc dump ignores tcm_ifindex: filter here.
      .filter((q) => index === 0 || q.ifindex === index)
  );
}
