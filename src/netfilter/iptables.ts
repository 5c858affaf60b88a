/**
 * iptables through iptables-save and iptables-restore: one read and one batch per
 * plugin call instead of one process per rule. `--noflush` keeps everything else in
 * the table; `-w` waits for the xtables lock that every iptables user takes.
 */
import { chainRules, chainsOf, checkChainName, commentOf, ruleLine } from "./rule-text.ts";
import { onPath } from "./on-path.ts";

export type Family = 4 | 6;

const SAVE = { 4: "iptables-save", 6: "ip6tables-save" } as const;
const RESTORE = { 4: "iptables-restore", 6: "ip6tables-restore" } as const;
const IPTABLES = { 4: "iptables", 6: "ip6tables" } as const;
const WAIT_SECONDS = "10";

/** A failed iptables command, with what it printed. */
export class IptablesError extends Error {
  constructor(msg: string, options?: { cause?: unknown }) {
    super(msg, options);
    this.name = "IptablesError";
  }
}

/**
 * True when the iptables tools of the family are installed. Looking on PATH costs no
 * process; a kernel without the nat table still fails at the first save, with its message.
 */
export function iptablesAvailable(family: Family = 4): boolean {
  return onPath(SAVE[family]) && onPath(RESTORE[family]);
}

/** The current rules of one table. Equivalent to: `iptables-save -t TABLE`. */
export function saveTable(family: Family, table: string): string {
  checkChainName(table);
  const r = Bun.spawnSync([SAVE[family], "-t", table], { stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new IptablesError(`${SAVE[family]} -t ${table} failed: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Applies one batch atomically. Equivalent to: `iptables-restore --noflush -w` with `text` on stdin. */
export function restore(family: Family, text: string): void {
  const r = Bun.spawnSync([RESTORE[family], "--noflush", "-w", WAIT_SECONDS], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new IptablesError(`${RESTORE[family]} failed: ${r.stderr.toString().trim()}\n${text}`);
}

/** A rule: the chain and its tokens in iptables-save order. */
export interface Rule {
  chain: string;
  tokens: string[];
}

/**
 * Asks iptables whether an equivalent rule exists, comparing as the kernel sees it
 * rather than as text: for rules with free-form parts (a config's conditions) whose
 * saved spelling we cannot predict. Equivalent to: `iptables -w -t TABLE -C CHAIN ...`.
 */
export function ruleExists(family: Family, table: string, rule: Rule): boolean {
  checkChainName(table);
  checkChainName(rule.chain);
  const r = Bun.spawnSync([IPTABLES[family], "-w", WAIT_SECONDS, "-t", table, "-C", rule.chain, ...rule.tokens], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode === 0) return true;
  // 1: no such rule (or chain); anything else is a usage or lock problem.
  if (r.exitCode === 1) return false;
  throw new IptablesError(`${IPTABLES[family]} -C ${rule.chain} failed: ${r.stderr.toString().trim()}`);
}

/**
 * One batch for one table, built against its current state: chains created when
 * missing, rules appended or inserted only when absent, deleted only when present,
 * chains flushed and removed only when they exist. Running a batch twice is a no-op.
 */
export class TableBatch {
  readonly family: Family;
  readonly table: string;
  private readonly saved: string;
  private readonly chains: Set<string>;
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();
  /** Chains this batch empties: their saved rules no longer count. */
  private readonly flushed = new Set<string>();
  /** "-A" lines this batch adds, so a rule asked for twice is added once. */
  private readonly pending = new Set<string>();
  /** Saved rules this batch deletes, so a rule is deleted once. */
  private readonly deleted = new Set<string>();
  /** Saved chains this batch removes. */
  private readonly removed = new Set<string>();
  /** The rules appended, in order (see `appendsOnly`). */
  private readonly appended: Rule[] = [];

  constructor(family: Family, table: string, saved = saveTable(family, table)) {
    this.family = family;
    this.table = table;
    this.saved = saved;
    this.chains = chainsOf(saved);
  }

  /** True when the chain exists now or is created by this batch. */
  hasChain(chain: string): boolean {
    return this.chains.has(chain);
  }

  /** True when the table holds the rule (as iptables-save prints it), counting this batch's changes. */
  hasRule(rule: Rule): boolean {
    const line = ruleLine("-A", rule.chain, rule.tokens);
    if (this.pending.has(line)) return true;
    return !this.flushed.has(rule.chain) && chainRules(this.saved, rule.chain).includes(line);
  }

  /** Creates the chain unless it exists. */
  ensureChain(chain: string): this {
    checkChainName(chain);
    if (this.chains.has(chain)) return this;
    this.chains.add(chain);
    // Declarations go first in the batch, before the -X that removes it: create it again in place.
    if (this.removed.has(chain)) {
      this.lines.push(`-N ${chain}`);
      this.flushed.add(chain);
    } else this.declared.add(chain);
    return this;
  }

  /** Appends the rule as it is (after resetChain, say). */
  append(rule: Rule): this {
    const line = ruleLine("-A", rule.chain, rule.tokens);
    this.lines.push(line);
    this.pending.add(line);
    this.appended.push(rule);
    return this;
  }

  /** Empties the chain when it exists, creates it otherwise: a fresh start for rules about to be appended. */
  resetChain(chain: string): this {
    checkChainName(chain);
    if (this.chains.has(chain)) this.lines.push(`-F ${chain}`);
    else this.ensureChain(chain);
    this.flushed.add(chain);
    for (const l of this.pending) if (l.startsWith(`-A ${chain} `)) this.pending.delete(l);
    return this;
  }

  /** Appends the rule unless present. */
  appendUnique(rule: Rule): this {
    return this.hasRule(rule) ? this : this.append(rule);
  }

  /** Inserts the rule first in its chain unless present. */
  insertUnique(rule: Rule): this {
    if (this.hasRule(rule)) return this;
    this.lines.push(ruleLine("-I", rule.chain, rule.tokens));
    this.pending.add(ruleLine("-A", rule.chain, rule.tokens));
    return this;
  }

  /** Deletes the rule when present. */
  deleteIfPresent(rule: Rule): this {
    const line = ruleLine("-A", rule.chain, rule.tokens);
    return this.deleteWhere(rule.chain, (l) => l === line);
  }

  /** Deletes every saved rule of `chain` whose text ends with `needle` (a jump to a chain being removed). */
  deleteMatching(chain: string, needle: string): this {
    return this.deleteWhere(chain, (line) => line.endsWith(needle));
  }

  /** Deletes every saved rule of `chain` that carries exactly this comment. */
  deleteByComment(chain: string, comment: string): this {
    return this.deleteWhere(chain, (line) => commentOf(line) === comment);
  }

  /** Deletes every saved rule of `chain` for which `pred` holds on its iptables-save line. */
  deleteWhere(chain: string, pred: (line: string) => boolean): this {
    if (this.flushed.has(chain)) return this;
    for (const line of chainRules(this.saved, chain)) {
      if (!pred(line) || this.deleted.has(line)) continue;
      this.deleted.add(line);
      this.lines.push(`-D ${line.slice(3)}`);
    }
    return this;
  }

  /** Flushes and removes the chain when it exists (jumps to it must be deleted first). */
  deleteChain(chain: string): this {
    checkChainName(chain);
    if (this.chains.has(chain) && !this.declared.has(chain)) {
      this.lines.push(`-F ${chain}`, `-X ${chain}`);
      this.chains.delete(chain);
      this.removed.add(chain);
    }
    return this;
  }

  /** The chains of the saved table whose names start with `prefix`. */
  chainsWithPrefix(prefix: string): string[] {
    return [...chainsOf(this.saved)].filter((c) => c.startsWith(prefix));
  }

  /** The saved rules of a chain, as iptables-save lines. */
  rulesOf(chain: string): string[] {
    return chainRules(this.saved, chain);
  }

  /** True when the batch would change something. */
  get dirty(): boolean {
    return this.lines.length > 0 || this.declared.size > 0;
  }

  /**
   * The batch as new chains and the rules appended after them, in the order
   * iptables-restore applies them; undefined when it also flushes, inserts or deletes.
   * For writing it another way (over netlink, `iptables-nft.ts`).
   */
  appendsOnly(): { chains: string[]; rules: Rule[] } | undefined {
    // Every other change (-N, -F, -I, -D, -X) is a line of its own that is not an -A.
    for (const l of this.lines) if (!l.startsWith("-A ")) return undefined;
    return { chains: [...this.declared], rules: [...this.appended] };
  }

  /** The iptables-restore input of this batch. */
  text(): string {
    let text = `*${this.table}\n`;
    for (const c of this.declared) text += `:${c} - [0:0]\n`;
    for (const l of this.lines) text += `${l}\n`;
    return `${text}COMMIT\n`;
  }

  /** Sends the batch; nothing is run when there is nothing to change. */
  commit(): void {
    if (this.dirty) restore(this.family, this.text());
  }
}
