/**
 * iptables through iptables-save and iptables-restore: one read and one batch per
 * plugin call instead of one process per rule. `--noflush` keeps everything else in
 * the table; `-w` waits for the xtables lock that every iptables user takes.
 */
import { chainRules, chainsOf, checkChainName, ruleLine } from "./rule-text.ts";

export type Family = 4 | 6;

const SAVE = { 4: "iptables-save", 6: "ip6tables-save" } as const;
const RESTORE = { 4: "iptables-restore", 6: "ip6tables-restore" } as const;
const WAIT_SECONDS = "10";

/** A failed iptables command, with what it printed. */
export class IptablesError extends Error {
  constructor(msg: string, options?: { cause?: unknown }) {
    super(msg, options);
    this.name = "IptablesError";
  }
}

/** The current rules of one table. Equivalent to: `iptables-save -t TABLE`. */
export function saveTable(family: Family, table: string): string {
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

  /** True when the table holds the rule (as iptables-save prints it). */
  hasRule(rule: Rule): boolean {
    return chainRules(this.saved, rule.chain).includes(ruleLine("-A", rule.chain, rule.tokens));
  }

  /** Creates the chain unless it exists. */
  ensureChain(chain: string): this {
    checkChainName(chain);
    if (!this.chains.has(chain)) {
      this.chains.add(chain);
      this.declared.add(chain);
    }
    return this;
  }

  /** Appends the rule as it is (after resetChain, say). */
  append(rule: Rule): this {
    this.lines.push(ruleLine("-A", rule.chain, rule.tokens));
    return this;
  }

  /** Empties the chain when it exists, creates it otherwise: a fresh start for rules about to be appended. */
  resetChain(chain: string): this {
    checkChainName(chain);
    if (this.chains.has(chain) && !this.declared.has(chain)) this.lines.push(`-F ${chain}`);
    else this.ensureChain(chain);
    return this;
  }

  /** Appends the rule unless present. */
  appendUnique(rule: Rule): this {
    if (!this.hasRule(rule)) this.lines.push(ruleLine("-A", rule.chain, rule.tokens));
    return this;
  }

  /** Inserts the rule first in its chain unless present. */
  insertUnique(rule: Rule): this {
    if (!this.hasRule(rule)) this.lines.push(`-I ${rule.chain} 1 ${ruleLine("-A", rule.chain, rule.tokens).slice(`-A ${rule.chain} `.length)}`);
    return this;
  }

  /** Deletes the rule when present. */
  deleteIfPresent(rule: Rule): this {
    if (this.hasRule(rule)) this.lines.push(ruleLine("-D", rule.chain, rule.tokens));
    return this;
  }

  /** Deletes every rule of `chain` whose saved text ends with `needle` (a jump to a chain being removed). */
  deleteMatching(chain: string, needle: string): this {
    for (const line of chainRules(this.saved, chain)) if (line.endsWith(needle)) this.lines.push(`-D ${line.slice(3)}`);
    return this;
  }

  /** Flushes and removes the chain when it exists (jumps to it must be deleted first). */
  deleteChain(chain: string): this {
    checkChainName(chain);
    if (this.chains.has(chain) && !this.declared.has(chain)) this.lines.push(`-F ${chain}`, `-X ${chain}`);
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

  /** Sends the batch; nothing is run when there is nothing to change. */
  commit(): void {
    if (this.lines.length === 0 && this.declared.size === 0) return;
    const decl = [...this.declared].map((c) => `:${c} - [0:0]`);
    restore(this.family, [`*${this.table}`, ...decl, ...this.lines, "COMMIT", ""].join("\n"));
  }
}
