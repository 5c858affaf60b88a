/**
 * What tuning changed, kept so DEL can put it back: the reference's file
 * (`<dataDir>/<containerID>_<ifname>.json`, fields mac, promisc, mtu, allmulti, txQLen),
 * so either plugin restores the other's changes. We also record the sysctls' old
 * values under "sysctl", a field the reference ignores.
 */
import { join } from "../../sys/path.ts";
import { nodeFs } from "../../sys/node-fs.ts";
import { ensureStateDir, readStateFile, removeStateFile, writeStateFile } from "../../sys/state-file.ts";

/** The original values of what this attachment's ADD changes. */
export interface Backup {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
  sysctl?: Record<string, string>;
}

/** Writes the backup atomically (a crash leaves no half file) and durably: DEL depends on it. */
export function saveBackup(file: string, b: Backup): void {
  ensureStateDir(join(file, ".."));
  writeStateFile(file, JSON.stringify(b, null, " "), { durable: true });
}

/** The backup, or undefined when there is none (or it is unreadable or a symlink: nothing to restore). */
export function loadBackup(file: string): Backup | undefined {
  try {
    const text = readStateFile(file);
    const b = text === undefined ? undefined : JSON.parse(text);
    return typeof b === "object" && b !== null ? (b as Backup) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the backup (gone already is fine). */
export function dropBackup(file: string): void {
  removeStateFile(file);
}

/** The file names of every backup in the directory. */
export function listBackups(dataDir: string): string[] {
  try {
    return nodeFs()
      .readdirSync(dataDir)
      .filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
}
