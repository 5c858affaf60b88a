/**
 * What tuning does to the kernel and the disk: the netlink handle in the pod, the
 * sysctls, the backup file. Apart from tuning.ts and loaded by a command that has such
 * work, so the usual no-op ADD (tuning with nothing to tune) never evaluates the netlink
 * code: about 0.5 ms of a plugin process's start.
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkSetAllmulti, linkSetMac, linkSetMtu, linkSetPromisc, linkSetTxQLen } from "../../netlink/link-set.ts";
import { isAllmulti, isPromisc, linkFind } from "../../netlink/link.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { errorMessage, failure } from "../../spec/error.ts";
import type { Attachment } from "../../spec/types.ts";
import { NetNS } from "../../sys/netns.ts";
import { join } from "../../sys/path.ts";
import { sysctlGet, sysctlSet } from "../../sys/sysctl.ts";
import { type Backup, dropBackup, listBackups, loadBackup, saveBackup } from "./_backup.ts";
import { type TuningConf, backupDir, backupFile, isNetSysctl, setsLink, sysctlName } from "./_conf.ts";

/**
 * The container's link; with sysctls only it may be absent, as for the reference, which
 * looks the link up only for link settings (Multus's auxiliary chain runs tuning for an
 * interface name that no plugin made).
 */
function containerLink(h: NetlinkHandle, ifName: string, conf: TuningConf): Link | undefined {
  const link = linkFind(h, ifName);
  if (!link && setsLink(conf)) throw failure(`failed to get "${ifName}": not found`);
  return link;
}

/** The current values of what the config will change. */
function snapshot(conf: TuningConf, link: Link | undefined, ns: NetNS, ifName: string): Backup {
  const b: Backup = {};
  if (link) {
    if (conf.mac) b.mac = link.mac;
    if (conf.promisc) b.promisc = isPromisc(link);
    if (conf.mtu) b.mtu = link.mtu;
    if (conf.allmulti !== undefined) b.allmulti = isAllmulti(link);
    if (conf.txQLen !== undefined) b.txQLen = link.txqlen;
  }
  const sysctl: Record<string, string> = {};
  for (const k of Object.keys(conf.sysctl)) {
    const name = sysctlName(k, ifName);
    sysctl[name] = sysctlGet(name, ns);
  }
  if (Object.keys(sysctl).length) b.sysctl = sysctl;
  return b;
}

/**
 * Records the old values of what `conf` changes (keeping a retried ADD's first backup),
 * then applies the sysctls and link settings inside the pod; on a failure puts back what
 * the backup recorded.
 */
export function tune(args: CmdArgs, conf: TuningConf, ns: NetNS): void {
  using h = NetlinkHandle.at(ns);
  const link = containerLink(h, args.ifName, conf);
  const file = backupFile(conf.dataDir, args.containerID, args.ifName);
  // A retried ADD must not overwrite the originals with values it set itself; what it
  // changes beyond the first ADD (a config changed in between) is recorded now.
  const old = loadBackup(file);
  const now = snapshot(conf, link, ns, args.ifName);
  const merged: Backup = old ? { ...now, ...old, ...(now.sysctl || old.sysctl ? { sysctl: { ...now.sysctl, ...old.sysctl } } : {}) } : now;
  if (!old || JSON.stringify(merged) !== JSON.stringify(old)) saveBackup(file, merged);
  try {
    for (const [k, v] of Object.entries(conf.sysctl)) sysctlSet(sysctlName(k, args.ifName), v, ns);
    if (link) {
      if (conf.mac) linkSetMac(h, link, conf.mac);
      if (conf.promisc) linkSetPromisc(h, link, true);
      if (conf.mtu) linkSetMtu(h, link, conf.mtu);
      if (conf.allmulti !== undefined) linkSetAllmulti(h, link, conf.allmulti);
      if (conf.txQLen !== undefined) linkSetTxQLen(h, link, conf.txQLen);
    }
  } catch (e) {
    restore(h, ns, args.ifName, file);
    throw failure(`failed to tune "${args.ifName}"`, e);
  }
}

/** Puts back what the backup recorded, then removes it; without the link, only the sysctls still there. */
function restore(h: NetlinkHandle, ns: NetNS, ifName: string, file: string): void {
  const b = loadBackup(file);
  if (!b) return;
  // The backup is a file anyone with write access to dataDir could edit: what it names
  // passes the same net.* check as the config's sysctls, or nothing of it is applied.
  const bad = Object.keys(b.sysctl ?? {}).filter((name) => !isNetSysctl(name));
  if (bad.length) {
    console.error(`tuning: ignoring corrupt backup ${JSON.stringify(file)}: not net.* sysctls: ${bad.map((n) => JSON.stringify(n)).join(", ")}`);
    return dropBackup(file);
  }
  const link = linkFind(h, ifName);
  if (link) {
    const errors: string[] = [];
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        errors.push(`failed to restore ${what}: ${errorMessage(e)}`);
      }
    };
    if (b.mtu) step("MTU", () => linkSetMtu(h, link, b.mtu!));
    if (b.mac) step("MAC address", () => linkSetMac(h, link, b.mac!));
    if (b.promisc !== undefined) step("promiscuous mode", () => linkSetPromisc(h, link, b.promisc!));
    if (b.allmulti !== undefined) step("all-multicast mode", () => linkSetAllmulti(h, link, b.allmulti!));
    if (b.txQLen !== undefined) step("transmit queue length", () => linkSetTxQLen(h, link, b.txQLen!));
    for (const [name, v] of Object.entries(b.sysctl ?? {})) step(`sysctl ${name}`, () => sysctlSet(name, v, ns));
    if (errors.length) throw failure(errors.join("; "));
  } else {
    // No link (gone, or never there with sysctls only): the sysctls that still exist go back.
    for (const [name, v] of Object.entries(b.sysctl ?? {})) {
      try {
        sysctlSet(name, v, ns);
      } catch {
        // went with the link
      }
    }
  }
  dropBackup(file);
}

/** Each configured value must be what the kernel has now. */
export function check(args: CmdArgs, conf: TuningConf): void {
  using ns = NetNS.open(args.netns);
  using h = NetlinkHandle.at(ns);
  for (const [k, v] of Object.entries(conf.sysctl)) {
    const name = sysctlName(k, args.ifName);
    const cur = sysctlGet(name, ns);
    if (cur !== v) throw failure(`Error: Tuning configured value of /proc/sys/${name} is ${v}, current value is ${cur}`);
  }
  const link = linkFind(h, args.ifName);
  if (!link) throw failure(`Cannot find container link ${args.ifName}`);
  const bad = (what: string, want: unknown, have: unknown) =>
    failure(`Error: Tuning configured ${what} of ${args.ifName} is ${want}, current value is ${have}`);
  if (conf.mac && conf.mac !== link.mac) throw bad("Ethernet", conf.mac, link.mac);
  const promisc = isPromisc(link);
  if (conf.promisc !== promisc) throw failure(`Error: Tuning link ${args.ifName} configured promisc is ${conf.promisc}, current value is ${promisc ? 1 : 0}`);
  if (conf.mtu && conf.mtu !== link.mtu) throw bad("MTU", conf.mtu, link.mtu);
  if (conf.allmulti !== undefined && conf.allmulti !== isAllmulti(link)) throw bad("all-multicast mode", conf.allmulti, !conf.allmulti);
  if (conf.txQLen !== undefined && conf.txQLen !== link.txqlen) throw bad("Transmit Queue Length", conf.txQLen, link.txqlen);
}

/**
 * Restores the originals when the pod is still there; the backup goes either way. Only
 * dataDir is read from the config: an allow-list or config changed since the ADD must
 * not keep a DEL from succeeding (the reference checks them on ADD only).
 */
export function untune(args: CmdArgs): void {
  const file = backupFile(backupDir(args.conf), args.containerID, args.ifName);
  let ns: NetNS | undefined;
  try {
    ns = args.netns ? NetNS.open(args.netns) : undefined;
  } catch {
    ns = undefined;
  }
  if (!ns) return dropBackup(file);
  try {
    using h = NetlinkHandle.at(ns);
    restore(h, ns, args.ifName, file);
  } finally {
    ns.close();
  }
}

/** Drops the backups of attachments the runtime no longer has (their pods are gone). */
export function dropStaleBackups(args: CmdArgs, valid: Attachment[]): void {
  const dir = backupDir(args.conf);
  const keep = new Set(valid.map((v) => `${v.containerID}_${v.ifname}.json`));
  for (const name of listBackups(dir)) if (!keep.has(name)) dropBackup(join(dir, name));
}
