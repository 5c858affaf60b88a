/**
 * Rules as iptables-save prints them. We build every rule as argument tokens in the
 * order iptables-save uses, and quote each token the way iptables-save does
 * (xtables_save_string), so a rule we want can be compared with the saved table as
 * text and sent to iptables-restore unchanged: no shell, no pasted user input.
 */

const NO_QUOTE = /^[_\-0-9A-Za-z]+$/;
const CHAIN = /^[A-Za-z0-9_.\-]{1,28}$/;

/** One token as iptables-save prints it: bare when safe, else in double quotes with \ " ' escaped. */
export function quoteToken(token: string): string {
  if (NO_QUOTE.test(token)) return token;
  if (/[\n\r\0]/.test(token)) throw new RangeError(`Cannot put ${JSON.stringify(token)} in a rule: line breaks and NUL are not allowed`);
  return `"${token.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** Checks a chain name: what iptables accepts and what cannot break a restore file. */
export function checkChainName(chain: string): string {
  if (!CHAIN.test(chain)) throw new RangeError(`Invalid chain name ${JSON.stringify(chain)}`);
  return chain;
}

/** "-A CHAIN tok tok ..." with each token quoted; plain address/port tokens pass through. */
export function ruleLine(op: "-A" | "-D", chain: string, tokens: readonly string[]): string {
  checkChainName(chain);
  return [op, chain, ...tokens.map((t) => (/^[!0-9A-Za-z_.:\/,=+\-]+$/.test(t) && !t.includes('"') ? t : quoteToken(t)))].join(" ");
}

/** The "-A ..." lines of one chain in an iptables-save dump of one table. */
export function chainRules(saved: string, chain: string): string[] {
  const prefix = `-A ${chain} `;
  return saved.split("\n").filter((l) => l.startsWith(prefix));
}

/** The user and built-in chains declared in an iptables-save dump of one table. */
export function chainsOf(saved: string): Set<string> {
  const out = new Set<string>();
  for (const l of saved.split("\n")) if (l.startsWith(":")) out.add(l.slice(1).split(" ")[0]!);
  return out;
}
