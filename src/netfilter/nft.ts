/**
 * nftables through the `nft` command: a rule set applied as one transaction
 * (`nft -f -`, all or nothing). What is there (tables, rules with their comments and
 * handles) is read over netlink: `nft -j list` starts a process, reads more than the one
 * table, prints every rule as JSON to be parsed again, and with a thousand pods' rules
 * took a pod's plugins hundreds of milliseconds. Removals (a DEL's) go over netlink too
 * (nftDelete): an `nft -f` process of deletions waited, at its socket's close, for the
 * kernel to free what it deleted (a whole RCU grace period), 15-25 ms per DEL here.
 */
import {
  type NftOp,
  type NftRemoval,
  type NftTableOps,
  type NftTableFamily,
  nftChainInfo,
  nftCommentedRules,
  nftHandle,
  nftRemove,
  nftTableNames,
  nftTransact,
} from "../netlink/nftables.ts";
import { errorMessage } from "../spec/error.ts";
import { nftAvailable } from "./nft-available.ts";

/** A failed nft command, with what it printed. */
export class NftError extends Error {
  constructor(msg: string, options?: { cause?: unknown }) {
    super(msg, options);
    this.name = "NftError";
  }
}

/** A rule as listed: its chain, handle and comment. */
export interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_\-]{0,62}$/;
const FAMILIES = new Set(["ip", "ip6", "inet", "arp", "bridge", "netdev"]);

/** Checks a table or chain name (what nft takes bare in a script). */
function checkNftName(name: string): string {
  if (!NAME.test(name)) throw new RangeError(`Invalid nftables name ${JSON.stringify(name)}`);
  return name;
}

function checkFamily(family: string): NftTableFamily {
  if (!FAMILIES.has(family)) throw new RangeError(`Invalid nftables family ${JSON.stringify(family)}`);
  return family as NftTableFamily;
}

/** Applies `lines` as one transaction. Equivalent to: `nft -f -`. */
export function nftApply(lines: readonly string[]): void {
  const r = Bun.spawnSync(["nft", "-f", "-"], { stdin: new TextEncoder().encode(lines.join("\n") + "\n"), stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new NftError(`nft failed: ${r.stderr.toString().trim()}\n${lines.join("\n")}`);
}

/** The rules read over netlink; [] without nft (nothing of ours can be there) or when the table or chain does not exist. */
function rulesOf(family: string, table: string, chain: string | undefined, containing: string | undefined): NftRule[] {
  if (!nftAvailable()) return [];
  using h = nftHandle();
  try {
    // A loop, not map: a plugin process pays for an array builtin's first use.
    const out: NftRule[] = [];
    for (const r of nftCommentedRules(h, family, table, chain, containing)) {
      out.push({ chain: r.chain, handle: Number(r.handle), ...(r.comment !== undefined ? { comment: r.comment } : {}) });
    }
    return out;
  } catch (e) {
    // The netlink error names what it was reading ("Cannot list rules of inet t c: ...").
    throw new NftError(errorMessage(e), { cause: e });
  }
}

/** The tables that exist, as "FAMILY NAME" ("ip cni_hostport"); none without nft. Equivalent to: `nft -j list tables`. */
export function nftTables(): Set<string> {
  if (!nftAvailable()) return new Set();
  // Over netlink: `nft list tables` reads every rule of every table first (hundreds of
  // milliseconds on a node whose iptables-nft tables hold thousands of rules).
  using h = nftHandle();
  try {
    return nftTableNames(h);
  } catch (e) {
    throw new NftError(`Cannot list nftables tables: ${errorMessage(e)}`, { cause: e });
  }
}

/**
 * The rules of a chain; [] when the table or chain does not exist. With `containing`,
 * only rules that hold that text (their comment's, say) can be listed; callers still
 * match the comment. Equivalent to: `nft -j list chain FAMILY TABLE CHAIN`.
 */
export function nftListRules(family: string, table: string, chain: string, containing?: string): NftRule[] {
  return rulesOf(checkFamily(family), checkNftName(table), checkNftName(chain), containing);
}

/** Every rule of a table in one read; [] when it does not exist; `containing` as nftListRules. Equivalent to: `nft -j list table FAMILY TABLE`. */
export function nftListTable(family: string, table: string, containing?: string): NftRule[] {
  return rulesOf(checkFamily(family), checkNftName(table), undefined, containing);
}

/**
 * Deletes listed rules and whole chains of one table in one transaction over netlink
 * (all or nothing; a rule gone meanwhile fails it, as in `nft -f`), its socket closed
 * where nobody waits (NetlinkHandle). Equivalent to: `nft -f` of `delete rule FAMILY
 * TABLE CHAIN handle N` and `delete chain FAMILY TABLE CHAIN` lines, in order.
 */
export function nftDelete(family: string, table: string, rules: readonly NftRule[], chains: readonly string[] = []): void {
  const f = checkFamily(family);
  checkNftName(table);
  const removals: NftRemoval[] = [];
  for (const r of rules) removals.push({ rule: BigInt(r.handle), chain: checkNftName(r.chain) });
  for (const c of chains) removals.push({ deleteChain: checkNftName(c) });
  if (removals.length === 0) return;
  using h = nftHandle();
  try {
    nftRemove(h, f, table, removals);
  } catch (e) {
    throw new NftError(`Cannot delete ${rules.length} rules and ${chains.length} chains from ${family} ${table}: ${errorMessage(e)}`, { cause: e });
  }
}

/**
 * Applies the steps (tables, chains, flushes, rule deletions and additions) to each table
 * in one transaction over netlink, all or nothing, its socket closed where nobody waits:
 * for the scripts whose rules are fixed here (no admin's nft text in them). Only where
 * nft is installed: what is made here is read back (nftListRules) only there. Equivalent
 * to: `nft -f` of the steps' lines.
 */
export function nftTransactTables(parts: readonly { family: string; table: string; ops: readonly NftOp[] }[]): void {
  const checked: NftTableOps[] = [];
  let steps = 0;
  let names = "";
  for (const p of parts) {
    checked.push({ family: checkFamily(p.family), table: checkNftName(p.table), ops: p.ops });
    steps += p.ops.length;
    names += `${names ? ", " : ""}${p.family} ${p.table}`;
  }
  if (!nftAvailable()) throw new NftError(`Cannot change nftables table ${names}: nft is not installed`);
  using h = nftHandle();
  try {
    nftTransact(h, checked, `change ${names} (${steps} steps)`);
  } catch (e) {
    throw new NftError(`nft failed: ${errorMessage(e)}`, { cause: e });
  }
}

/** Whether the chain exists (one chain asked for over netlink); false without nft. Equivalent to: `nft list chain FAMILY TABLE CHAIN` succeeding. */
export function nftChainExists(family: string, table: string, chain: string): boolean {
  const f = checkFamily(family);
  if (!nftAvailable()) return false;
  using h = nftHandle();
  try {
    return nftChainInfo(h, f, checkNftName(table), checkNftName(chain)) !== undefined;
  } catch (e) {
    throw new NftError(`Cannot look for chain ${family} ${table} ${chain}: ${errorMessage(e)}`, { cause: e });
  }
}

/** The script line that deletes a listed rule. */
export function nftDeleteRule(family: string, table: string, rule: NftRule): string {
  return `delete rule ${checkFamily(family)} ${checkNftName(table)} ${checkNftName(rule.chain)} handle ${rule.handle}`;
}

/** A string for an nft script: double quoted, without characters nft cannot take. */
export function nftString(s: string): string {
  if (/["\n\r\0\\]/.test(s)) throw new RangeError(`Cannot put ${JSON.stringify(s)} in an nft string`);
  return `"${s}"`;
}
