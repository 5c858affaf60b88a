/**
 * What tuning changed, kept so DEL can put it back: the reference's file
 * (`<dataDir>/<containerID>_<ifname>.json`, fields mac, promisc, mtu, allmulti, txQLen),
 * so either plugin restores the other's changes. We also record the sysctls' old
 * values under "sysctl", a field the reference ignores.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_DATA_DIR = "/run/cni/tuning";

/** The original values of what this attachment's ADD changes. */
export interface Backup {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
  sysctl?: Record<string, string>;
}

/** The config's dataDir, or the default: all DEL and GC need of the config. */
export function backupDir(conf: Record<string, unknown>): string {
  return typeof conf.dataDir === "string" && conf.dataDir ? conf.dataDir : DEFAULT_DATA_DIR;
}

/** The reference's file name. */
export function backupFile(dataDir: string, containerID: string, ifName: string): string {
  return join(dataDir, `${containerID}_${ifName}.json`);
}

/** Writes the backup atomically (a crash leaves no half file). */
export function saveBackup(file: string, b: Backup): void {
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(b, null, " "), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The backup, or undefined when there is none (or it is unreadable: nothing to restore). */
export function loadBackup(file: string): Backup | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Backup;
  } catch {
    return undefined;
  }
}

/** Removes the backup (gone already is fine). */
export function dropBackup(file: string): void {
  rmSync(file, { force: true });
}

/** The file names of every backup in the directory. */
export function listBackups(dataDir: string): string[] {
  try {
    return readdirSync(dataDir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
}
