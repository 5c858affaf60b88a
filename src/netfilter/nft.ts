/**
 * nftables through the `nft` command: a rule set applied as one transaction
 * (`nft -f -`, all or nothing), and tables read back as JSON to find rules by comment.
 * The list of tables comes over netlink.
 */
import { nftHandle, nftTableNames } from "../netlink/nftables.ts";
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

function checkFamily(family: string): string {
  if (!FAMILIES.has(family)) throw new RangeError(`Invalid nftables family ${JSON.stringify(family)}`);
  return family;
}

/** Applies `lines` as one transaction. Equivalent to: `nft -f -`. */
export function nftApply(lines: readonly string[]): void {
  const r = Bun.spawnSync(["nft", "-f", "-"], { stdin: new TextEncoder().encode(lines.join("\n") + "\n"), stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new NftError(`nft failed: ${r.stderr.toString().trim()}\n${lines.join("\n")}`);
}

type Listed = { nftables: { rule?: { chain: string; handle: number; comment?: string } }[] };

function rulesOf(argv: string[]): NftRule[] {
  if (!nftAvailable()) return [];
  const r = Bun.spawnSync(["nft", "-j", ...argv], { stdout: "pipe", stderr: "pipe" });
  // nft fails with ENOENT when the table or chain does not exist: nothing listed.
  if (!r.success) {
    const err = r.stderr.toString();
    if (/No such file or directory|does not exist/i.test(err)) return [];
    throw new NftError(`nft -j ${argv.join(" ")} failed: ${err.trim()}`);
  }
  const doc = JSON.parse(r.stdout.toString()) as Listed;
  return doc.nftables.flatMap((o) =>
    o.rule ? [{ chain: o.rule.chain, handle: o.rule.handle, ...(o.rule.comment !== undefined ? { comment: o.rule.comment } : {}) }] : [],
  );
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

/** The rules of a chain; [] when the table or chain does not exist. Equivalent to: `nft -j list chain FAMILY TABLE CHAIN`. */
export function nftListRules(family: string, table: string, chain: string): NftRule[] {
  return rulesOf(["list", "chain", checkFamily(family), checkNftName(table), checkNftName(chain)]);
}

/** Every rule of a table in one read; [] when it does not exist. Equivalent to: `nft -j list table FAMILY TABLE`. */
export function nftListTable(family: string, table: string): NftRule[] {
  return rulesOf(["list", "table", checkFamily(family), checkNftName(table)]);
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
