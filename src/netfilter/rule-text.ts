/**
 * Rules as iptables-save prints them. We build every rule as argument tokens in the
 * order iptables-save uses, and print each token the way iptables-save does, so a rule
 * we want can be compared with the saved table as text and sent to iptables-restore
 * unchanged: no shell, no pasted user input.
 */
import { formatCIDR, networkOf, parseCIDR, to4 } from "../spec/ip.ts";

/** xtables_save_string's characters that need no quotes. */
const NO_QUOTE = /^[_\-0-9A-Za-z]+$/;
/** What iptables-restore's tokenizer (add_param_to_argv) takes as one bare word. */
const BARE = /^[^\s"'\\]+$/;
const CHAIN = /^[A-Za-z0-9_.\-]{1,28}$/;
/** Options whose value iptables-save prints through xtables_save_string. */
const SAVED_AS_STRING = new Set(["--comment"]);

/** A string as iptables-save prints it (xtables_save_string): bare when safe, else in double quotes with \ " ' escaped. */
export function quoteToken(token: string): string {
  if (/[\n\r\0]/.test(token)) throw new RangeError(`Cannot put ${JSON.stringify(token)} in a rule: line breaks and NUL are not allowed`);
  if (NO_QUOTE.test(token)) return token;
  return `"${token.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** Checks a chain name: what iptables accepts and what cannot break a restore file. */
export function checkChainName(chain: string): string {
  if (!CHAIN.test(chain)) throw new RangeError(`Invalid chain name ${JSON.stringify(chain)}`);
  return chain;
}

/** Options whose value iptables-save prints as a masked network with its prefix. */
const ADDRESS = new Set(["-s", "-d", "--source", "--destination"]);

/** An address as iptables-save prints it: "10.0.0.1" -> "10.0.0.1/32", "10.1.2.3/24" -> "10.1.2.0/24"; anything else unchanged. */
function canonicalAddress(t: string): string {
  const n = parseCIDR(t.includes("/") ? t : `${t}/${t.includes(":") ? 128 : 32}`);
  if (!n || (t.includes(":") && to4(n.ip) && n.ip.length === 16)) return t;
  return formatCIDR(networkOf(n));
}

/** One argument of a rule line: strings as iptables-save quotes them, addresses as it prints them, other values bare when the tokenizer allows. */
function token(t: string, prev: string | undefined): string {
  if (prev !== undefined && SAVED_AS_STRING.has(prev)) return quoteToken(t);
  if (prev !== undefined && ADDRESS.has(prev)) t = canonicalAddress(t);
  if (BARE.test(t)) return t;
  return quoteToken(t);
}

/** "-A CHAIN tok tok ..." (or -D, -I CHAIN 1) with each token printed as iptables-save would. */
export function ruleLine(op: "-A" | "-D" | "-I", chain: string, tokens: readonly string[]): string {
  checkChainName(chain);
  let line = op === "-I" ? `${op} ${chain} 1` : `${op} ${chain}`;
  for (let i = 0; i < tokens.length; i++) line += ` ${token(tokens[i]!, tokens[i - 1])}`;
  return line;
}

/** The "-A ..." lines of one chain in an iptables-save dump of one table. */
export function chainRules(saved: string, chain: string): string[] {
  const prefix = `-A ${chain} `;
  const out: string[] = [];
  for (const l of saved.split("\n")) if (l.startsWith(prefix)) out.push(l);
  return out;
}

/** The user and built-in chains declared in an iptables-save dump of one table. */
export function chainsOf(saved: string): Set<string> {
  const out = new Set<string>();
  for (const l of saved.split("\n")) if (l.startsWith(":")) out.add(l.slice(1).split(" ")[0]!);
  return out;
}

/** The comment of a saved rule line (`-m comment --comment X`), unquoted; undefined without one. */
export function commentOf(line: string): string | undefined {
  const m = / --comment ("(?:[^"\\]|\\.)*"|\S+)/.exec(line);
  if (!m) return undefined;
  const v = m[1]!;
  return v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v;
}
