/**
 * What the plugin allowed for each attachment, kept on disk: the reference's rules
 * name addresses, not containers, so without this a DEL that has no prevResult and a
 * GC could not know which rules belong to whom.
 */
import { rmdir } from "../../sys/libc.ts";
import { nodeFs } from "../../sys/node-fs.ts";
import { dirname, join } from "../../sys/path.ts";
import { ensureStateDir, readStateFile, removeStateFile, writeStateFile } from "../../sys/state-file.ts";
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
  // A DEL of the last attachment may remove the default dir between ensure and write: make it again.
  for (let attempt = 0; ; attempt++) {
    ensureStateDir(dir);
    try {
      writeStateFile(fileOf(dir, s), JSON.stringify(s));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 3) throw e;
    }
  }
}

/** The attachment's record, or undefined. */
export function loadState(dir: string, a: Attachment): FirewallState | undefined {
  return parseState(readStateFile(fileOf(dir, a)));
}

/**
 * Removes the attachment's record (gone already is fine). The default dir is ours: it
 * goes once it is empty, and /var/lib/cni above it when that is empty too, so no
 * attachment leaves an empty directory behind; a configured stateDir is the operator's
 * and stays.
 */
export function dropState(dir: string, a: Attachment): void {
  removeStateFile(fileOf(dir, a));
  if (dir !== DEFAULT_STATE_DIR) return;
  for (const d of [dir, dirname(dir)]) {
    try {
      rmdir(d);
    } catch {
      // not empty (another attachment's record, another plugin's state) or gone already
      return;
    }
  }
}

/** Every record of `network` in the directory. */
export function listStates(dir: string, network: string): FirewallState[] {
  let names: string[];
  try {
    names = nodeFs()
      .readdirSync(dir)
      .filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: FirewallState[] = [];
  for (const n of names) {
    const s = parseState(readStateFile(join(dir, n)));
    if (s && s.network === network) out.push(s);
  }
  return out;
}

/** A record as written by saveState; undefined for a missing, torn, foreign or planted file. */
function parseState(text: string | undefined): FirewallState | undefined {
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as FirewallState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.hosts)) return undefined;
    for (const h of s.hosts) if (typeof h !== "string") return undefined;
    return s;
  } catch {
    return undefined;
  }
}
