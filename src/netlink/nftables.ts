/**
 * nf_tables over netlink (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_NFTABLES): look up a
 * chain or one rule, list the rules of one chain, add chains and rules, and remove rules
 * and chains, each change one transaction.
 * What iptables-nft and nft do through libnftnl, for the few reads, appends and removals
 * that must not cost a process per call (a node with a thousand pods has thousands of rules:
 * `iptables-save` of the whole table grows with them, one chain's dump does not).
 */
import type { NetNS } from "../sys/netns.ts";
import { isNetlinkError } from "./error.ts";
import { NetlinkHandle, type NlBatchMsg } from "./handle.ts";
import {
  NFT_GOTO,
  NFT_JUMP,
  NFTA_DATA_VERDICT,
  NFTA_EXPR_DATA,
  NFTA_EXPR_NAME,
  NFTA_LIST_ELEM,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
  type NftExprAttr,
} from "./nft-expr.ts";
import { NETLINK_NETFILTER, NLA_TYPE_MASK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL } from "./nl/netlink-consts.ts";
import {
  attrMap,
  be16,
  be32,
  be64,
  decodeAttrs,
  encodeAttrs,
  readBe32,
  readBe64,
  readString,
  rtaBytes,
  rtaNested,
  rtaString,
  type RtAttr,
} from "./nl/rtattr.ts";

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_DELCHAIN = 5;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_DELRULE = 8;
const NFTA_TABLE_NAME = 1;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_HANDLE = 2;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_USE = 6;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_HANDLE = 3;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_RULE_COMPAT = 5;
const NFTA_RULE_USERDATA = 7;
const NFTA_RULE_COMPAT_PROTO = 1;
const NFTA_RULE_COMPAT_FLAGS = 2;
/** libnftnl's rule user data: type-length-value records; this one holds nft's `comment "..."`, NUL-terminated. */
const NFTNL_UDATA_RULE_COMMENT = 0;
const NFTA_IMMEDIATE_DATA = 2;
/** NFTA_MATCH_NAME and NFTA_TARGET_NAME. */
const NFTA_XT_NAME = 1;

/** NFPROTO_IPV4 / NFPROTO_IPV6: the `ip` and `ip6` table families iptables and ip6tables use. */
export type NftFamily = "ip" | "ip6";
/** Every family of nftables tables, as nft names them. */
export type NftTableFamily = NftFamily | "inet" | "arp" | "bridge" | "netdev";

/** One expression of a rule, decoded as far as callers look into it. */
export interface NftExpr {
  /** "payload", "cmp", "match", "target", "immediate", "counter", ... */
  name: string;
  /** The xtables extension of a "match" or "target" expression ("comment", "MASQUERADE"). */
  xtName?: string;
  /** The chain an "immediate" jumps or goes to. */
  jumpTo?: string;
  /** NFTA_EXPR_DATA as received. */
  data: Uint8Array;
}

/** A rule as the kernel lists it. */
export interface NftRule {
  handle: bigint;
  exprs: NftExpr[];
  /** The NEWRULE message's payload as received (what `containing` looked in). */
  raw: Uint8Array;
}

/** One removal of a transaction: a rule by handle, every rule of a chain, or a chain (empty and unreferenced). */
export type NftRemoval = { rule: bigint; chain: string } | { flush: string } | { deleteChain: string };
/** A handle on nf_tables in a namespace (the current one without `ns`). */
export function nftHandle(ns?: NetNS): NetlinkHandle {
  return NetlinkHandle.at(ns, { protocol: NETLINK_NETFILTER });
}

function msgType(msg: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | msg;
}

/** struct nfgenmsg + attributes; a batch marker has family AF_UNSPEC and the subsystem as resource id. */
function body(family: NftTableFamily | "unspec" | number, attrs: RtAttr[], resId = 0): Uint8Array {
  const a = encodeAttrs(attrs);
  const out = new Uint8Array(4 + a.length);
  out.set([family === "unspec" ? 0 : typeof family === "number" ? family : FAMILY_NUMBERS.get(family)!, 0]);
  out.set(be16(resId), 2);
  out.set(a, 4);
  return out;
}

/** nft's names of the NFPROTO_* families of tables. */
const FAMILY_NAMES: Record<number, string> = { 1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6" };
/** The NFPROTO_* number of each family as nft names it (FAMILY_NAMES the other way). */
const FAMILY_NUMBERS = new Map([
  ["inet", 1],
  ["ip", 2],
  ["arp", 3],
  ["netdev", 5],
  ["bridge", 7],
  ["ip6", 10],
]);

/** Every table, as "FAMILY NAME" ("ip nat", "inet cni_plugins_masquerade"). Equivalent to: `nft list tables`. */
export function nftTableNames(h: NetlinkHandle): Set<string> {
  const out = new Set<string>();
  for (const m of h.dump(msgType(NFT_MSG_GETTABLE), body("unspec", []), "list nftables tables")) {
    const name = attrMap(decodeAttrs(m.payload.subarray(4))).get(NFTA_TABLE_NAME);
    const family = FAMILY_NAMES[m.payload[0]!];
    if (name && family) out.add(`${family} ${readString(name)}`);
  }
  return out;
}

/** A chain as the kernel lists it: its handle and its reference count (its own rules and the rules jumping or going to it). */
export interface NftChainInfo {
  handle: bigint;
  use: number;
}

/** The chain's handle and reference count, or undefined when the chain (or its table) does not exist. Equivalent to: `nft -a list chain FAMILY TABLE CHAIN` without its rules. */
export function nftChainInfo(h: NetlinkHandle, family: NftTableFamily, table: string, chain: string): NftChainInfo | undefined {
  let reply;
  try {
    reply = h.request(
      msgType(NFT_MSG_GETCHAIN),
      0,
      body(family, [rtaString(NFTA_CHAIN_TABLE, table), rtaString(NFTA_CHAIN_NAME, chain)]),
      `get chain ${family} ${table} ${chain}`,
    );
  } catch (e) {
    if (isNetlinkError(e, "ENOENT")) return undefined;
    throw e;
  }
  const a = reply[0] ? attrMap(decodeAttrs(reply[0].payload.subarray(4))) : new Map<number, Uint8Array>();
  const use = a.get(NFTA_CHAIN_USE);
  const handle = a.get(NFTA_CHAIN_HANDLE);
  return {
    handle: handle ? readBe64(handle) : 0n,
    use: use ? readBe32(use) : 0,
  };
}

/**
 * The rule of `chain` with this handle, or undefined when the chain has none: one rule
 * asked for, not a dump of the chain. Equivalent to: `nft -a list chain ...` filtered to
 * `# handle HANDLE`.
 */
export function nftRuleByHandle(h: NetlinkHandle, family: NftFamily, table: string, chain: string, handle: bigint): NftRule | undefined {
  const hb = be64(handle);
  let reply;
  try {
    reply = h.request(
      msgType(NFT_MSG_GETRULE),
      0,
      body(family, [rtaString(NFTA_RULE_TABLE, table), rtaString(NFTA_RULE_CHAIN, chain), rtaBytes(NFTA_RULE_HANDLE, hb)]),
      `get rule ${handle} of ${family} ${table} ${chain}`,
    );
  } catch (e) {
    if (isNetlinkError(e, "ENOENT")) return undefined;
    throw e;
  }
  return reply[0] ? decodeRule(reply[0].payload, chain) : undefined;
}

/**
 * The rules of one chain in order; [] when the chain or table does not exist. With
 * `containing`, only the rules whose attributes hold that text (a chain name, a comment)
 * are decoded and returned: a long chain is then mostly skipped unread.
 * Equivalent to: `nft list chain FAMILY TABLE CHAIN`.
 */
export function nftChainRules(
  h: NetlinkHandle,
  family: NftFamily,
  table: string,
  chain: string,
  containing?: string | Uint8Array | readonly Uint8Array[],
): NftRule[] {
  const needles =
    containing === undefined
      ? undefined
      : typeof containing === "string"
        ? [new TextEncoder().encode(containing)]
        : containing instanceof Uint8Array
          ? [containing]
          : containing;
  let msgs;
  try {
    msgs = h.dump(
      msgType(NFT_MSG_GETRULE),
      body(family, [rtaString(NFTA_RULE_TABLE, table), rtaString(NFTA_RULE_CHAIN, chain)]),
      `list rules of ${family} ${table} ${chain}`,
    );
  } catch (e) {
    if (isNetlinkError(e, "ENOENT")) return [];
    throw e;
  }
  const out: NftRule[] = [];
  for (const m of msgs) {
    if (needles && !includesAny(m.payload, needles)) continue;
    const r = decodeRule(m.payload, chain);
    if (r) out.push(r);
  }
  return out;
}

/** A NEWRULE message's rule; undefined when it has no handle or belongs to another chain (the kernel filters by chain since 4.x: never ours to judge). */
function decodeRule(payload: Uint8Array, chain: string): NftRule | undefined {
  const a = attrMap(decodeAttrs(payload.subarray(4)));
  const c = a.get(NFTA_RULE_CHAIN);
  if (c && readString(c) !== chain) return undefined;
  const handle = a.get(NFTA_RULE_HANDLE);
  if (!handle) return undefined;
  return { handle: readBe64(handle), exprs: decodeExprs(a.get(NFTA_RULE_EXPRESSIONS)), raw: payload };
}

/** A rule's place and comment: what finds an attachment's rules in a table shared by all, and deletes them by handle. */
export interface NftCommentedRule {
  chain: string;
  handle: bigint;
  comment?: string;
}

/**
 * The rules of one chain, or of a whole table without `chain`, with their comments (nft
 * keeps a rule's `comment "..."` in its user data); [] when the table or chain does not
 * exist. With `containing`, only rules whose message holds that text (a container id, a
 * hash) are decoded: a table of thousands of rules is then mostly skipped unread.
 * `family` as nft names it ("inet", "ip", "bridge", ...).
 * Equivalent to: `nft -a list chain FAMILY TABLE CHAIN` (or `list table`), comments and handles.
 */
export function nftCommentedRules(h: NetlinkHandle, family: string, table: string, chain?: string, containing?: string): NftCommentedRule[] {
  const proto = FAMILY_NUMBERS.get(family);
  if (proto === undefined) throw new RangeError(`Invalid nftables family ${JSON.stringify(family)}`);
  const needle = containing === undefined ? undefined : new TextEncoder().encode(containing);
  const attrs = [rtaString(NFTA_RULE_TABLE, table), ...(chain === undefined ? [] : [rtaString(NFTA_RULE_CHAIN, chain)])];
  const what = `list rules of ${family} ${table}${chain === undefined ? "" : ` ${chain}`}`;
  let msgs;
  try {
    msgs = h.dump(msgType(NFT_MSG_GETRULE), body(proto, attrs), what, needle);
  } catch (e) {
    if (isNetlinkError(e, "ENOENT")) return [];
    throw e;
  }
  const out: NftCommentedRule[] = [];
  for (const m of msgs) {
    const a = attrMap(decodeAttrs(m.payload.subarray(4)));
    const c = a.get(NFTA_RULE_CHAIN);
    const handle = a.get(NFTA_RULE_HANDLE);
    if (!c || !handle) continue;
    const name = readString(c);
    if (chain !== undefined && name !== chain) continue;
    const comment = ruleComment(a.get(NFTA_RULE_USERDATA));
    out.push({ chain: name, handle: readBe64(handle), ...(comment === undefined ? {} : { comment }) });
  }
  return out;
}

/** The comment record of a rule's user data (libnftnl's TLVs), without its NUL. */
function ruleComment(udata: Uint8Array | undefined): string | undefined {
  if (!udata) return undefined;
  for (let at = 0; at + 2 <= udata.length; at += 2 + udata[at + 1]!) {
    const len = udata[at + 1]!;
    if (udata[at] !== NFTNL_UDATA_RULE_COMMENT || at + 2 + len > udata.length) continue;
    return readString(udata.subarray(at + 2, at + 2 + len));
  }
  return undefined;
}

function includesAny(hay: Uint8Array, needles: readonly Uint8Array[]): boolean {
  for (const n of needles) if (includesBytes(hay, n)) return true;
  return false;
}

/**
 * True when `r`, a rule read back from the kernel, is `want` as written for nftAppend
 * (encodeIptablesRule's): the same expressions in the same order with the same
 * attributes, the counter's values aside. The kernel's dump and the request differ only
 * in NLA_F_NESTED bits, so nested attributes are compared level by level.
 */
export function nftRuleIs(r: NftRule, want: NftNewRule): boolean {
  if (r.exprs.length !== want.exprs.length) return false;
  for (let i = 0; i < r.exprs.length; i++) {
    const w = want.exprs[i]!;
    if (!("children" in w)) return false;
    let name: string | undefined;
    let data: RtAttr[] | undefined;
    for (const c of w.children) {
      const type = c.type & NLA_TYPE_MASK;
      if (type === NFTA_EXPR_NAME && "data" in c) name = readString(c.data);
      else if (type === NFTA_EXPR_DATA && "children" in c) data = c.children;
    }
    const got = r.exprs[i]!;
    if (name === undefined || data === undefined || got.name !== name) return false;
    if (name !== "counter" && !sameAttrs(data, got.data)) return false;
  }
  return true;
}

/** Whether the attributes `want` and the received bytes `got` hold the same values (nested ones level by level, flag bits aside). */
function sameAttrs(want: readonly RtAttr[], got: Uint8Array): boolean {
  let g;
  try {
    g = decodeAttrs(got);
  } catch {
    return false;
  }
  if (g.length !== want.length) return false;
  for (let i = 0; i < g.length; i++) {
    const w = want[i]!;
    if ((w.type & NLA_TYPE_MASK) !== g[i]!.type) return false;
    if ("children" in w ? !sameAttrs(w.children, g[i]!.data) : !sameBytes(w.data, g[i]!.data)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `needle` occurs in `hay` (an expression's attribute bytes holding a comment, an address, ...). */
export function includesBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0]!;
  for (let at = hay.indexOf(first); at >= 0 && at + needle.length <= hay.length; at = hay.indexOf(first, at + 1)) {
    let i = 1;
    while (i < needle.length && hay[at + i] === needle[i]) i++;
    if (i === needle.length) return true;
  }
  return false;
}

function decodeExprs(list: Uint8Array | undefined): NftExpr[] {
  const out: NftExpr[] = [];
  if (!list) return out;
  for (const e of decodeAttrs(list)) if (e.type === NFTA_LIST_ELEM) out.push(decodeExpr(e.data));
  return out;
}

/** One expression of a rule, from the attributes of its NFTA_LIST_ELEM. */
function decodeExpr(elem: Uint8Array): NftExpr {
  const a = attrMap(decodeAttrs(elem));
  const name = readString(a.get(NFTA_EXPR_NAME) ?? new Uint8Array());
  const data = a.get(NFTA_EXPR_DATA) ?? new Uint8Array();
  const expr: NftExpr = { name, data };
  if (name === "match" || name === "target") {
    const x = attrMap(decodeAttrs(data));
    const n = x.get(NFTA_XT_NAME);
    if (n) expr.xtName = readString(n);
  } else if (name === "immediate") {
    const v = attrMap(decodeAttrs(data)).get(NFTA_IMMEDIATE_DATA);
    const verdict = v && attrMap(decodeAttrs(v)).get(NFTA_DATA_VERDICT);
    if (verdict) {
      const va = attrMap(decodeAttrs(verdict));
      const code = va.get(NFTA_VERDICT_CODE);
      const to = va.get(NFTA_VERDICT_CHAIN);
      const c = code ? readBe32(code) | 0 : 0;
      if (to && (c === NFT_JUMP || c === NFT_GOTO)) expr.jumpTo = readString(to);
    }
  }
  return expr;
}

/**
 * Applies the removals in one transaction: all or nothing, as `nft -f` applies a
 * script. A rule or chain that is gone meanwhile fails it with ENOENT; a chain still
 * referenced with EBUSY.
 */
export function nftRemove(h: NetlinkHandle, family: NftTableFamily, table: string, removals: readonly NftRemoval[]): void {
  nftTransact(h, [{ family, table, ops: removals }], `remove ${removals.length} rules and chains from ${family} ${table}`);
}

const NFT_MSG_NEWTABLE = 0;
const NFTA_TABLE_FLAGS = 2;
const NFTA_TABLE_USERDATA = 6;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_CHAIN_USERDATA = 12;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;

/** libnftnl's user data of a table, chain or rule holding nft's `comment "..."` (a record of type 0, NUL-terminated). */
function commentUdata(comment: string): Uint8Array {
  const text = new TextEncoder().encode(comment);
  if (text.length > 254) throw new RangeError(`Comment too long for nftables: ${JSON.stringify(comment)}`);
  const out = new Uint8Array(text.length + 3);
  out[0] = NFTNL_UDATA_RULE_COMMENT;
  out[1] = text.length + 1;
  out.set(text, 2);
  return out;
}

/** One step of an nftables transaction on one table, as a line of an `nft -f` script. */
export type NftOp =
  /** `add table FAMILY TABLE { comment "..." ; }` */
  | { addTable: true; comment?: string }
  /** `add chain FAMILY TABLE CHAIN { [type TYPE hook HOOK priority PRIORITY ; [policy POLICY ;]] [comment "..." ;] }` */
  | { addChain: string; comment?: string; hook?: { type: string; num: number; priority: number; policy?: "accept" | "drop" } }
  /** `delete rule FAMILY TABLE CHAIN handle HANDLE`, `flush chain ...`, `delete chain ...` (its rules with it) */
  | NftRemoval
  /** `add rule FAMILY TABLE CHAIN EXPRESSIONS [comment "..."]` */
  | { addRule: string; exprs: NftExprAttr[]; comment?: string };

/** The steps of a transaction on one table. */
export interface NftTableOps {
  family: NftTableFamily;
  table: string;
  ops: readonly NftOp[];
}

/**
 * Applies the steps, table by table, in one transaction, all or nothing, as `nft -f`
 * applies the same lines (and with the messages nft sends for them): without a process,
 * and with the socket's close (which waits for the kernel to free what the transaction
 * replaced) left to the handle (NetlinkHandle.close).
 */
export function nftTransact(h: NetlinkHandle, parts: readonly NftTableOps[], what: string): void {
  const msgs: NlBatchMsg[] = [];
  for (const part of parts) opMessages(part, msgs);
  if (msgs.length === 0) return;
  commit(h, msgs, what);
}

/** Sends the messages between nfnetlink's batch markers: one nf_tables transaction. */
function commit(h: NetlinkHandle, msgs: readonly NlBatchMsg[], what: string): void {
  const marker = (type: number): NlBatchMsg => ({ type, flags: 0, body: body("unspec", [], NFNL_SUBSYS_NFTABLES) });
  h.batch(marker(NFNL_MSG_BATCH_BEGIN), msgs, marker(NFNL_MSG_BATCH_END), what);
}

/** The messages of one table's steps, appended to `msgs`. */
function opMessages({ family, table, ops }: NftTableOps, msgs: NlBatchMsg[]): void {
  const t = rtaString(NFTA_RULE_TABLE, table);
  for (const op of ops) {
    if ("addTable" in op) {
      const attrs = [rtaString(NFTA_TABLE_NAME, table), rtaBytes(NFTA_TABLE_FLAGS, be32(0))];
      if (op.comment !== undefined) attrs.push(rtaBytes(NFTA_TABLE_USERDATA, commentUdata(op.comment)));
      msgs.push({ type: msgType(NFT_MSG_NEWTABLE), flags: NLM_F_CREATE, body: body(family, attrs) });
    } else if ("addChain" in op) {
      const attrs = [rtaString(NFTA_CHAIN_TABLE, table), rtaString(NFTA_CHAIN_NAME, op.addChain)];
      if (op.hook) {
        const hook = [rtaBytes(NFTA_HOOK_HOOKNUM, be32(op.hook.num)), rtaBytes(NFTA_HOOK_PRIORITY, be32(op.hook.priority >>> 0))];
        attrs.push(rtaNested(NFTA_CHAIN_HOOK, hook, true), rtaString(NFTA_CHAIN_TYPE, op.hook.type));
        // NF_ACCEPT or NF_DROP
        if (op.hook.policy) attrs.push(rtaBytes(NFTA_CHAIN_POLICY, be32(op.hook.policy === "accept" ? 1 : 0)));
      }
      if (op.comment !== undefined) attrs.push(rtaBytes(NFTA_CHAIN_USERDATA, commentUdata(op.comment)));
      msgs.push({ type: msgType(NFT_MSG_NEWCHAIN), flags: NLM_F_CREATE, body: body(family, attrs) });
    } else if ("flush" in op) {
      msgs.push({ type: msgType(NFT_MSG_DELRULE), flags: 0, body: body(family, [t, rtaString(NFTA_RULE_CHAIN, op.flush)]) });
    } else if ("rule" in op) {
      const attrs = [t, rtaString(NFTA_RULE_CHAIN, op.chain), rtaBytes(NFTA_RULE_HANDLE, be64(op.rule))];
      msgs.push({ type: msgType(NFT_MSG_DELRULE), flags: 0, body: body(family, attrs) });
    } else if ("deleteChain" in op) {
      const attrs = [rtaString(NFTA_CHAIN_TABLE, table), rtaString(NFTA_CHAIN_NAME, op.deleteChain)];
      msgs.push({ type: msgType(NFT_MSG_DELCHAIN), flags: 0, body: body(family, attrs) });
    } else {
      const attrs = [t, rtaString(NFTA_RULE_CHAIN, op.addRule), rtaNested(NFTA_RULE_EXPRESSIONS, op.exprs, true)];
      if (op.comment !== undefined) attrs.push(rtaBytes(NFTA_RULE_USERDATA, commentUdata(op.comment)));
      msgs.push({ type: msgType(NFT_MSG_NEWRULE), flags: NLM_F_CREATE | NLM_F_APPEND, body: body(family, attrs) });
    }
  }
}

/** A rule to append: its chain, expressions, and the layer-4 protocol xtables matches are checked against (0: any). */
export interface NftNewRule {
  chain: string;
  exprs: NftExprAttr[];
  proto: number;
}

/**
 * Creates the chains (which must not exist) and appends the rules, in that order, in one
 * transaction: all or nothing, as `iptables-restore --noflush` applies a batch, and with
 * the messages it sends (NFTA_RULE_COMPAT on every rule). Fails with EEXIST when a chain
 * exists, ENOENT when the table or a rule's chain does not.
 */
export function nftAppend(h: NetlinkHandle, family: NftFamily, table: string, chains: readonly string[], rules: readonly NftNewRule[]): void {
  const t = rtaString(NFTA_RULE_TABLE, table);
  const msgs: NlBatchMsg[] = [];
  for (const c of chains) {
    msgs.push({
      type: msgType(NFT_MSG_NEWCHAIN),
      flags: NLM_F_EXCL,
      body: body(family, [rtaString(NFTA_CHAIN_TABLE, table), rtaString(NFTA_CHAIN_NAME, c)]),
    });
  }
  for (const r of rules) {
    msgs.push({
      type: msgType(NFT_MSG_NEWRULE),
      flags: NLM_F_CREATE | NLM_F_APPEND,
      body: body(family, [
        t,
        rtaString(NFTA_RULE_CHAIN, r.chain),
        rtaNested(NFTA_RULE_EXPRESSIONS, r.exprs, true),
        rtaNested(NFTA_RULE_COMPAT, [rtaBytes(NFTA_RULE_COMPAT_PROTO, be32(r.proto)), rtaBytes(NFTA_RULE_COMPAT_FLAGS, be32(0))], true),
      ]),
    });
  }
  if (msgs.length === 0) return;
  commit(h, msgs, `add ${chains.length} chains and ${rules.length} rules to ${family} ${table}`);
}
