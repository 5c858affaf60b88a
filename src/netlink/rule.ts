/** Policy routing rules: add, delete, list. Every function acts in the namespace of its handle. */
import type { NetlinkHandle } from "./handle.ts";
import { formatIP, parsePrefix } from "../spec/ip.ts";
import { concat } from "./nl/_bytes.ts";
import { AF_INET, AF_INET6, AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL, afOf } from "./nl/netlink-consts.ts";
import {
  FIB_RULE_INVERT,
  FRA_DST,
  FRA_FWMARK,
  FRA_FWMASK,
  FRA_IIFNAME,
  FRA_OIFNAME,
  FRA_PRIORITY,
  FRA_SRC,
  FRA_TABLE,
  FR_ACT_TO_TBL,
} from "./nl/rule-consts.ts";
import { RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE, RT_TABLE_MAIN, RT_TABLE_UNSPEC } from "./nl/rtnetlink-consts.ts";
import { SIZEOF_FIB_RULE_HDR, decodeFibRuleHdr, encodeFibRuleHdr } from "./nl/fib-rule-hdr.ts";
import { type RtAttr, attrMap, decodeAttrs, encodeAttrs, readString, readU32, rtaBytes, rtaString, rtaU32 } from "./nl/rtattr.ts";

/** What a rule matches besides its priority. */
interface RuleSelectors {
  /** "10.0.0.0/24" */
  src?: string;
  dst?: string;
  iifname?: string;
  oifname?: string;
  fwmark?: number;
  fwmask?: number;
}

/** A rule as the kernel reports it. */
export interface Rule extends RuleSelectors {
  family: 4 | 6;
  priority?: number;
  table: number;
  /** FR_ACT_* */
  action: number;
  invert: boolean;
}

/** A rule to add or delete; on delete, unset fields match anything. */
export interface RuleSpec extends RuleSelectors {
  /** Needed only when neither src nor dst tells it; default 4. */
  family?: 4 | 6;
  priority?: number;
  /** Default main on add. */
  table?: number;
  /** FR_ACT_*; default FR_ACT_TO_TBL on add. */
  action?: number;
  /** `not`: match what the selectors do not. */
  invert?: boolean;
}

/** Adds a rule; NetlinkError EEXIST when the same rule is there. Equivalent to: `ip rule add [from SRC] [to DST] [priority P] table T`. */
export function ruleAdd(h: NetlinkHandle, rule: RuleSpec): void {
  h.request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, encodeRule(rule, false), `add rule ${label(rule)}`);
}

/** Deletes the first rule matching the given fields; NetlinkError ENOENT when none does. Equivalent to: `ip rule del ...`. */
export function ruleDel(h: NetlinkHandle, rule: RuleSpec): void {
  h.request(RTM_DELRULE, 0, encodeRule(rule, true), `delete rule ${label(rule)}`);
}

/** Rules of one family or both. Equivalent to: `ip [-4|-6] rule show`. */
export function ruleList(h: NetlinkHandle, opts: { family?: 4 | 6 } = {}): Rule[] {
  const family = opts.family ? afOf(opts.family) : AF_UNSPEC;
  return h
    .dump(RTM_GETRULE, encodeFibRuleHdr({ family }), "list rules")
    .filter((m) => m.header.type === RTM_NEWRULE)
    .map((m) => decodeRule(m.payload))
    .filter((r) => r !== undefined);
}

/** Decodes the payload of an RTM_NEWRULE message; undefined for families other than v4/v6. */
function decodeRule(payload: Uint8Array): Rule | undefined {
  const hdr = decodeFibRuleHdr(payload);
  if (hdr.family !== AF_INET && hdr.family !== AF_INET6) return undefined;
  const a = attrMap(decodeAttrs(payload.subarray(SIZEOF_FIB_RULE_HDR)));
  const r: Rule = {
    family: hdr.family === AF_INET ? 4 : 6,
    table: a.has(FRA_TABLE) ? readU32(a.get(FRA_TABLE)!) : hdr.table,
    action: hdr.action,
    invert: (hdr.flags & FIB_RULE_INVERT) !== 0,
  };
  if (a.has(FRA_PRIORITY)) r.priority = readU32(a.get(FRA_PRIORITY)!);
  if (a.has(FRA_SRC)) r.src = `${formatIP(a.get(FRA_SRC)!)}/${hdr.srcLen}`;
  if (a.has(FRA_DST)) r.dst = `${formatIP(a.get(FRA_DST)!)}/${hdr.dstLen}`;
  if (a.has(FRA_IIFNAME)) r.iifname = readString(a.get(FRA_IIFNAME)!);
  if (a.has(FRA_OIFNAME)) r.oifname = readString(a.get(FRA_OIFNAME)!);
  if (a.has(FRA_FWMARK)) r.fwmark = readU32(a.get(FRA_FWMARK)!);
  if (a.has(FRA_FWMASK)) r.fwmask = readU32(a.get(FRA_FWMASK)!);
  return r;
}

function encodeRule(s: RuleSpec, del: boolean): Uint8Array {
  const src = s.src === undefined ? undefined : parsePrefix(s.src, "rule source");
  const dst = s.dst === undefined ? undefined : parsePrefix(s.dst, "rule destination");
  const fam = src?.family ?? dst?.family ?? s.family ?? 4;
  const family = afOf(fam);
  if ((src && src.family !== fam) || (dst && dst.family !== fam)) throw new RangeError(`Invalid rule ${label(s)}: mixed address families`);
  const table = s.table ?? (del ? RT_TABLE_UNSPEC : RT_TABLE_MAIN);
  const attrs: RtAttr[] = [];
  if (table !== RT_TABLE_UNSPEC) attrs.push(rtaU32(FRA_TABLE, table));
  if (s.priority !== undefined) attrs.push(rtaU32(FRA_PRIORITY, s.priority));
  if (src) attrs.push(rtaBytes(FRA_SRC, src.bytes));
  if (dst) attrs.push(rtaBytes(FRA_DST, dst.bytes));
  if (s.iifname !== undefined) attrs.push(rtaString(FRA_IIFNAME, s.iifname));
  if (s.oifname !== undefined) attrs.push(rtaString(FRA_OIFNAME, s.oifname));
  if (s.fwmark !== undefined) attrs.push(rtaU32(FRA_FWMARK, s.fwmark));
  if (s.fwmask !== undefined) attrs.push(rtaU32(FRA_FWMASK, s.fwmask));
  const hdr = encodeFibRuleHdr({
    family,
    srcLen: src?.prefix ?? 0,
    dstLen: dst?.prefix ?? 0,
    // Tables above 255 only fit in FRA_TABLE.
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    action: s.action ?? (del ? 0 : FR_ACT_TO_TBL),
    flags: s.invert ? FIB_RULE_INVERT : 0,
  });
  return concat([hdr, encodeAttrs(attrs)]);
}

function label(s: RuleSpec): string {
  const parts: string[] = [];
  if (s.invert) parts.push("not");
  parts.push(`from ${s.src ?? "all"}`);
  if (s.dst) parts.push(`to ${s.dst}`);
  if (s.priority !== undefined) parts.push(`priority ${s.priority}`);
  if (s.table !== undefined) parts.push(`table ${s.table}`);
  return JSON.stringify(parts.join(" "));
}
