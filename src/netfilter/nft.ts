/**
 * nftables through the `nft` command: a rule set applied as one transaction
 * (`nft -f -`, all or nothing), and chains read back as JSON to find rules by comment.
 */

/** A failed nft command, with what it printed. */
export class NftError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "NftError";
  }
}

/** A rule as listed: its handle and comment. */
export interface NftRule {
  handle: number;
  comment?: string;
}

/** True when the `nft` command can be run here. */
export function nftAvailable(): boolean {
  try {
    return Bun.spawnSync(["nft", "--version"], { stdout: "ignore", stderr: "ignore" }).success;
  } catch {
    return false;
  }
}

/** Applies `lines` as one transaction. Equivalent to: `nft -f -`. */
export function nftApply(lines: readonly string[]): void {
  const r = Bun.spawnSync(["nft", "-f", "-"], { stdin: new TextEncoder().encode(lines.join("\n") + "\n"), stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new NftError(`nft failed: ${r.stderr.toString().trim()}\n${lines.join("\n")}`);
}

/** The rules of a chain; [] when the table or chain does not exist. Equivalent to: `nft -j list chain FAMILY TABLE CHAIN`. */
export function nftListRules(family: string, table: string, chain: string): NftRule[] {
  const r = Bun.spawnSync(["nft", "-j", "list", "chain", family, table, chain], { stdout: "pipe", stderr: "pipe" });
  if (!r.success) return [];
  const doc = JSON.parse(r.stdout.toString()) as { nftables: { rule?: { handle: number; comment?: string } }[] };
  return doc.nftables.flatMap((o) => (o.rule ? [{ handle: o.rule.handle, ...(o.rule.comment ? { comment: o.rule.comment } : {}) }] : []));
}

/** A string for an nft script: double quoted, without characters nft cannot take. */
export function nftString(s: string): string {
  if (/["\n\r\0\\]/.test(s)) throw new RangeError(`Cannot put ${JSON.stringify(s)} in an nft string`);
  return `"${s}"`;
}
