/**
 * What the plugin allowed for each attachment, kept on disk: the reference's rules
 * name addresses, not containers, so without this a DEL that has no prevResult and a
 * GC could not know which rules belong to whom.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Attachment } from "../../spec/types.ts";

export const DEFAULT_STATE_DIR = "/var/lib/cni/firewall";

/** One attachment's record. */
export interface FirewallState extends Attachment {
  network: string;
  /** "ip/32" or "ip/128" of every address that got rules. */
  hosts: string[];
}

function fileOf(dir: string, a: Attachment): string {
  return join(dir, `${a.containerID}-${a.ifname}.json`);
}

/** Records the attachment's addresses (atomically: a crash leaves the old record or the new). */
export function saveState(dir: string, s: FirewallState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${fileOf(dir, s)}.tmp`;
  writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
  renameSync(tmp, fileOf(dir, s));
}

/** The attachment's record, or undefined. */
export function loadState(dir: string, a: Attachment): FirewallState | undefined {
  try {
    return JSON.parse(readFileSync(fileOf(dir, a), "utf8")) as FirewallState;
  } catch {
    return undefined;
  }
}

/** Removes the attachment's record (gone already is fine). */
export function dropState(dir: string, a: Attachment): void {
  rmSync(fileOf(dir, a), { force: true });
}

/** Every record of `network` in the directory. */
export function listStates(dir: string, network: string): FirewallState[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: FirewallState[] = [];
  for (const n of names) {
    try {
      const s = JSON.parse(readFileSync(join(dir, n), "utf8")) as FirewallState;
      if (s.network === network && Array.isArray(s.hosts)) out.push(s);
    } catch {
      // a torn or foreign file: not ours to judge
    }
  }
  return out;
}
