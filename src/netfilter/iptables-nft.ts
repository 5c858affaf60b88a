/**
 * iptables rules where the iptables tools are iptables-nft (the default of Debian 10+,
 * RHEL 8+, Ubuntu 20.10+): their tables are nf_tables tables, so what a plugin call must
 * read (does a chain exist, which rules jump to it) and remove (a container's chain and
 * the jumps to it) is done over netlink, one chain at a time, instead of an
 * `iptables-save` of the whole table and an `iptables-restore`, whose cost grows with
 * every pod on the node. A batch that only makes chains and appends rules goes over
 * netlink too, with iptables-nft's own expressions (`iptables-nft-rule.ts`), so the rules
 * are exactly what the Go plugins and iptables write, and both find and remove each
 * other's; anything else is written by iptables-restore.
 *
 * With legacy iptables, or tools we cannot identify, `NatTable.open` gives undefined and
 * callers keep the save/restore path. `CNI_TS_IPTABLES_NETLINK=0` forces that path too
 * (tests run both).
 */
import type { NetlinkHandle } from "../netlink/handle.ts";
import {
  type NftChainInfo,
  type NftFamily,
  type NftNewRule,
  type NftRemoval,
  type NftRule,
  nftChainInfo,
  nftChainRules,
  nftAppend,
  nftHandle,
  nftRemove,
  nftRuleByHandle,
  nftRuleIs,
  includesBytes,
} from "../netlink/nftables.ts";
import { isNetlinkError } from "../netlink/error.ts";
import { type FileStat, statPath } from "../sys/stat.ts";
import type { Family, Rule, TableBatch } from "./iptables.ts";
import { encodeIptablesRule } from "./iptables-nft-rule.ts";
import { whichOnce } from "./on-path.ts";

export type { NftRule };

const TOOL = { 4: "iptables-restore", 6: "ip6tables-restore" } as const;
const FAMILY: Record<Family, NftFamily> = { 4: "ip", 6: "ip6" };
/** A removal that raced with another process (a rule gone meanwhile) is tried again on a fresh read. */
const ATTEMPTS = 3;
/** How many handles past the chain's own rules are looked at for the jumps to it before the parents are read whole. */
const HANDLE_SLACK = 4;

const backend = new Map<Family, boolean>();

function hasHandle(handles: readonly (bigint | undefined)[], h: bigint): boolean {
  for (const x of handles) if (x === h) return true;
  return false;
}

/** True when one of the rule's expressions jumps (or goes) to `chain`. */
function jumpsTo(r: NftRule, chain: string): boolean {
  for (const e of r.exprs) if (e.jumpTo === chain) return true;
  return false;
}

/**
 * True when the family's iptables tools are the nf_tables variant: the tool on PATH is
 * (through its links: alternatives, iptables-nft-restore) the file xtables-nft-multi
 * beside it. Found by two statx, without starting a process or loading node:fs.
 */
export function iptablesUsesNftables(family: Family): boolean {
  if (process.env.CNI_TS_IPTABLES_NETLINK === "0") return false;
  let known = backend.get(family);
  if (known === undefined) {
    const tool = whichOnce(TOOL[family]);
    const stat = (p: string): FileStat | undefined => {
      try {
        return statPath(p);
      } catch {
        return undefined;
      }
    };
    const t = tool ? stat(tool) : undefined;
    const multi = tool ? stat(`${tool.slice(0, tool.lastIndexOf("/"))}/xtables-nft-multi`) : undefined;
    known = t !== undefined && multi !== undefined && t.dev === multi.dev && t.ino === multi.ino;
    backend.set(family, known);
  }
  return known;
}

/** The nat (or another) table of one family, read and pruned over netlink; close() when done. */
export class NftIptablesTable {
  readonly family: Family;
  readonly table: string;
  readonly #h: NetlinkHandle;

  private constructor(family: Family, table: string, h: NetlinkHandle) {
    this.family = family;
    this.table = table;
    this.#h = h;
  }

  /** The table in the calling thread's namespace, or undefined when iptables is not iptables-nft. */
  static open(family: Family, table: string): NftIptablesTable | undefined {
    if (!iptablesUsesNftables(family)) return undefined;
    return new NftIptablesTable(family, table, nftHandle());
  }

  /** True when the chain exists. */
  hasChain(chain: string): boolean {
    return this.#chain(chain) !== undefined;
  }

  /** The kernel's reference count of the chain (its rules and the rules jumping to it); undefined when it does not exist. */
  chainUse(chain: string): number | undefined {
    return this.#chain(chain)?.use;
  }

  #chain(chain: string): NftChainInfo | undefined {
    return nftChainInfo(this.#h, FAMILY[this.family], this.table, chain);
  }

  /**
   * For each of `wanted` (a rule in encodeIptablesRule's shapes and bytes it holds: the
   * address or chain it matches on), the handle of the first rule of `chain` that is that
   * rule, compared expression by expression, or undefined when the chain lacks it; read
   * in one dump of the rules holding any of those bytes. Undefined altogether when that
   * cannot be told here: a rule of a shape encodeIptablesRule does not know, or rules
   * holding a wanted rule's bytes of which none is it (they may be it, written in a way
   * not compared here): iptables must judge.
   */
  findEach(chain: string, wanted: readonly { rule: Rule; containing: Uint8Array }[]): (bigint | undefined)[] | undefined {
    const enc: NftNewRule[] = [];
    const needles: Uint8Array[] = [];
    for (const w of wanted) {
      const e = encodeIptablesRule(this.family, w.rule);
      if (!e) return undefined;
      enc.push(e);
      needles.push(w.containing);
    }
    const rules = this.rules(chain, needles);
    const out: (bigint | undefined)[] = [];
    for (let i = 0; i < enc.length; i++) {
      let holding = 0;
      let found: bigint | undefined;
      for (const r of rules) {
        if (!includesBytes(r.raw, needles[i]!)) continue;
        holding++;
        if (!hasHandle(out, r.handle) && nftRuleIs(r, enc[i]!)) {
          found = r.handle;
          break;
        }
      }
      if (found === undefined && holding > 0) return undefined;
      out.push(found);
    }
    return out;
  }

  /** findEach's answer as the handles of the rules the chain has (undefined when iptables must judge). */
  findRules(chain: string, wanted: readonly { rule: Rule; containing: Uint8Array }[]): bigint[] | undefined {
    const found = this.findEach(chain, wanted);
    if (!found) return undefined;
    const handles: bigint[] = [];
    for (const h of found) if (h !== undefined) handles.push(h);
    return handles;
  }

  /** Deletes these rules of `chain` by handle, in one transaction. Equivalent to: `iptables -D CHAIN RULE` for each. */
  deleteRules(chain: string, handles: readonly bigint[]): void {
    if (handles.length === 0) return;
    const removals: NftRemoval[] = [];
    for (const rule of handles) removals.push({ rule, chain });
    nftRemove(this.#h, FAMILY[this.family], this.table, removals);
  }

  /** The rules of `chain` (only those whose attributes hold `containing`, when given). */
  rules(chain: string, containing?: string | Uint8Array | readonly Uint8Array[]): NftRule[] {
    return nftChainRules(this.#h, FAMILY[this.family], this.table, chain, containing);
  }

  /** True when a rule of `from` jumps (or goes) to `to` and satisfies `pred`. */
  hasJump(from: string, to: string, pred: (r: NftRule) => boolean = () => true): boolean {
    for (const r of this.rules(from, to)) if (jumpsTo(r, to) && pred(r)) return true;
    return false;
  }

  /**
   * Removes `chain`, its rules and every rule of `parents` that jumps to it, in one
   * transaction. Nothing to do when the chain does not exist: no rule can jump to a
   * missing chain. Returns whether there was a chain. Equivalent to: `iptables -D PARENT
   * ... -j CHAIN` for each jump, `iptables -F CHAIN`, `iptables -X CHAIN`.
   */
  removeChain(chain: string, parents: readonly string[]): boolean {
    for (let attempt = 1; ; attempt++) {
      const info = this.#chain(chain);
      if (!info) return false;
      const removals = this.#jumpsByHandle(chain, info, parents) ?? this.#jumpsByDump(chain, parents);
      removals.push({ flush: chain }, { deleteChain: chain });
      try {
        nftRemove(this.#h, FAMILY[this.family], this.table, removals);
        return true;
      } catch (e) {
        if (attempt >= ATTEMPTS || !isNetlinkError(e, "ENOENT")) throw e;
      }
    }
  }

  /** Every rule of `parents` jumping to `chain`, found by reading the parents whole (a long POSTROUTING costs milliseconds per thousand rules). */
  #jumpsByDump(chain: string, parents: readonly string[]): NftRemoval[] {
    const out: NftRemoval[] = [];
    for (const p of parents) {
      for (const r of this.rules(p, chain)) if (jumpsTo(r, chain)) out.push({ rule: r.handle, chain: p });
    }
    return out;
  }

  /**
   * The jumps to `chain` found without reading the parents: a table numbers its chains
   * and rules from one counter, so where one transaction made the chain, its rules and
   * the jumps to it (an ADD of ours, iptables-restore's, and the Go plugins' commands when
   * no other ran between them), the jumps have the handles just after the chain's own
   * rules. The kernel's reference count says how many jumps there are; each candidate
   * handle is asked for alone and must be a jump to this chain in a parent. Undefined when
   * they are not all found that way: the caller reads the parents.
   */
  #jumpsByHandle(chain: string, info: NftChainInfo, parents: readonly string[]): NftRemoval[] | undefined {
    const own = this.rules(chain);
    const expected = info.use - own.length;
    if (expected <= 0) return [];
    const ownHandles = new Set<bigint>();
    for (const r of own) ownHandles.add(r.handle);
    const out: NftRemoval[] = [];
    const last = info.handle + BigInt(own.length + expected + HANDLE_SLACK);
    for (let handle = info.handle + 1n; handle <= last && out.length < expected; handle++) {
      if (ownHandles.has(handle)) continue;
      for (const p of parents) {
        const r = nftRuleByHandle(this.#h, FAMILY[this.family], this.table, p, handle);
        if (!r) continue;
        if (jumpsTo(r, chain)) out.push({ rule: handle, chain: p });
        break;
      }
    }
    return out.length === expected ? out : undefined;
  }

  /** Creates the chains and appends the rules in one transaction (see `commitBatch`). */
  append(chains: readonly string[], rules: readonly NftNewRule[]): void {
    nftAppend(this.#h, FAMILY[this.family], this.table, chains, rules);
  }

  /** Appends rules of encodeIptablesRule's shapes (findEach has told they are); throws on one it does not know. */
  appendRules(rules: readonly Rule[]): void {
    const enc = encodeAll(this.family, rules);
    if (!enc) throw new Error(`Cannot write these rules over netlink: ${rules.length} rules of ${this.family === 4 ? "ip" : "ip6"} ${this.table}`);
    if (enc.length) this.append([], enc);
  }

  /** Closes the socket, or hands it to the enclosing `withLateNetfilterCloses`. */
  close(): void {
    if (lateCloses) lateCloses.push(this.#h);
    else this.#h.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Where `close()` puts its socket while a `withLateNetfilterCloses` runs. */
let lateCloses: NetlinkHandle[] | undefined;

/**
 * Runs `fn` with the netfilter sockets it closes kept open until it returns. Closing a
 * netfilter socket after a transaction that deleted something waits for the kernel to
 * free what it deleted (nf_tables flushes its destroy work: an RCU grace period, 5-10 ms
 * here), so a DEL that removes its rules first and then does other kernel work (the veth
 * pair) pays that wait alongside the work instead of after it. `fn` is synchronous, so no
 * other command of the same thread (the daemon's) can close into this one's list.
 */
export function withLateNetfilterCloses<T>(fn: () => T): T {
  const outer = lateCloses;
  const mine: NetlinkHandle[] = [];
  lateCloses = mine;
  try {
    return fn();
  } finally {
    lateCloses = outer;
    for (const h of mine) h.close();
  }
}

/** Runs `fn` on the table over netlink when iptables is iptables-nft; undefined otherwise. */
export function withNftIptables<T>(family: Family, table: string, fn: (t: NftIptablesTable) => T): T | undefined {
  const t = NftIptablesTable.open(family, table);
  if (!t) return undefined;
  try {
    return fn(t);
  } finally {
    t.close();
  }
}

/** Every rule as `encodeIptablesRule` writes it; undefined when one has a shape it does not know. */
function encodeAll(family: Family, rules: readonly Rule[]): NftNewRule[] | undefined {
  const out: NftNewRule[] = [];
  for (const r of rules) {
    const encoded = encodeIptablesRule(family, r);
    if (!encoded) return undefined;
    out.push(encoded);
  }
  return out;
}

/**
 * Commits the batch. Where iptables is iptables-nft and the batch only makes chains and
 * appends rules of the shapes `encodeIptablesRule` knows (a new container's chain and the
 * jumps to it, the usual ADD), it goes to the kernel as one nf_tables transaction with the
 * very expressions iptables-restore would write: no process, and no read of the table,
 * which iptables-restore does first and which grows with every pod. Otherwise, or when the
 * kernel refuses (a chain made meanwhile, no nat table yet), through iptables-restore.
 */
export function commitBatch(b: TableBatch): void {
  if (!b.dirty) return;
  const plan = iptablesUsesNftables(b.family) ? b.appendsOnly() : undefined;
  const rules = plan && encodeAll(b.family, plan.rules);
  if (plan && rules) {
    try {
      withNftIptables(b.family, b.table, (t) => t.append(plan.chains, rules));
      return;
    } catch (e) {
      if (!isNetlinkError(e)) throw e;
    }
  }
  b.commit();
}
