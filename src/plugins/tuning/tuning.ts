/**
 * tuning: changes sysctls and link settings of the container's interface, chained
 * after a main plugin, as the reference tuning plugin does; DEL puts the link
 * settings (and, here, the sysctls) back from the backup file.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { IFF_ALLMULTI, IFF_PROMISC } from "../../netlink/nl/link-consts.ts";
import type { Link } from "../../netlink/link-types.ts";
import { linkSetAllmulti, linkSetMac, linkSetMtu, linkSetPromisc, linkSetTxQLen } from "../../netlink/link-set.ts";
import { linkFind } from "../../netlink/link.ts";
import { parseMAC } from "../../netlink/mac.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { getFold } from "../../spec/capabilities.ts";
import type { Attachment, NetConf, Result } from "../../spec/types.ts";
import { NetNS } from "../../sys/netns.ts";
import { sysctlGet, sysctlSet } from "../../sys/sysctl.ts";
import { failure, invalidConfig } from "../_shared/errors.ts";
import { type Backup, DEFAULT_DATA_DIR, backupFile, dropBackup, listBackups, loadBackup, saveBackup } from "./_backup.ts";

const ALLOWLIST = "/etc/cni/tuning/allowlist.conf";

/** The tuning config: the standard fields plus these, args.cni and CNI_ARGS merged in. */
export interface TuningConf extends NetConf {
  dataDir: string;
  sysctl: Record<string, string>;
  mac?: string;
  promisc: boolean;
  mtu: number;
  txQLen?: number;
  allmulti?: boolean;
}

function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw invalidConfig(`Invalid "${field}": ${JSON.stringify(v)}`);
  return v as number;
}

function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalidConfig(`Invalid "${field}": ${JSON.stringify(v)} is not a boolean`);
  return v;
}

/**
 * The sysctl's name under /proc/sys, "IFNAME" replaced by the interface: only keys of
 * the network subsystem, as the reference (it is the one per-namespace tree).
 */
export function sysctlName(key: string, ifName: string): string {
  const name = key.replaceAll(".", "/").replace("IFNAME", ifName);
  const parts = name.split("/");
  if (parts[0] !== "net" || parts.length < 2 || parts.some((p) => p === "" || p === "." || p === "..")) throw invalidConfig(`invalid net sysctl key: ${JSON.stringify(key)}`);
  return name;
}

/** The allow-list file, when present: only sysctls matching one of its regexes may be set. */
function checkAllowlist(keys: string[]): void {
  if (!existsSync(ALLOWLIST)) return;
  const patterns = readFileSync(ALLOWLIST, "utf8").split("\n").map((l) => l.trim()).filter(Boolean).map((p) => new RegExp(p));
  for (const k of keys) {
    if (!patterns.some((p) => p.test(k))) throw invalidConfig(`Sysctl ${k} is not allowed. Only the following sysctls are allowed: ${patterns.map((p) => p.source).join(" ")}`);
  }
}

/** Reads and checks the whole config: later sources win, as in the reference (CNI_ARGS, runtimeConfig, args.cni). */
export function loadNetConf(args: CmdArgs): TuningConf {
  const conf = args.conf;
  const sysctl: Record<string, string> = {};
  const merge = (v: unknown, where: string) => {
    if (v === undefined || v === null) return;
    if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) throw invalidConfig(`Invalid "${where}": must map names to strings`);
    Object.assign(sysctl, v);
  };
  merge(conf.sysctl, "sysctl");
  const a = ((conf.args as { cni?: Record<string, unknown> } | undefined)?.cni ?? {}) as Record<string, unknown>;
  merge(a.sysctl, "args.cni.sysctl");
  let mac = typeof conf.mac === "string" && conf.mac ? conf.mac : undefined;
  const envMac = loadArgs(args.args, ["MAC"] as const).MAC;
  if (envMac) mac = envMac;
  const rcMac = conf.runtimeConfig ? getFold(conf.runtimeConfig, "mac") : undefined;
  if (typeof rcMac === "string" && rcMac) mac = rcMac;
  if (typeof a.mac === "string" && a.mac) mac = a.mac;
  if (mac) {
    try {
      parseMAC(mac);
    } catch {
      throw invalidConfig(`Invalid "mac": ${JSON.stringify(mac)}`);
    }
  }
  for (const k of Object.keys(sysctl)) sysctlName(k, args.ifName || "IFNAME");
  checkAllowlist(Object.keys(sysctl));
  const promisc = optBool(a.promisc, "args.cni.promisc") ?? optBool(conf.promisc, "promisc") ?? false;
  const mtu = optInt(a.mtu, "args.cni.mtu", 68, 65535) ?? optInt(conf.mtu, "mtu", 0, 65535) ?? 0;
  const txQLen = optInt(a.txQLen, "args.cni.txQLen", 0, 2 ** 31 - 1) ?? optInt(conf.txQLen, "txQLen", 0, 2 ** 31 - 1);
  const allmulti = optBool(a.allmulti, "args.cni.allmulti") ?? optBool(conf.allmulti, "allmulti");
  const dataDir = typeof conf.dataDir === "string" && conf.dataDir ? conf.dataDir : DEFAULT_DATA_DIR;
  return {
    ...conf, dataDir, sysctl, promisc, mtu,
    ...(mac ? { mac: mac.toLowerCase() } : {}), ...(txQLen !== undefined ? { txQLen } : {}), ...(allmulti !== undefined ? { allmulti } : {}),
  };
}

function requirePrev(args: CmdArgs): Result {
  if (!args.prevResult) throw failure("Required prevResult missing");
  return args.prevResult;
}

function containerLink(h: NetlinkHandle, ifName: string): Link {
  const link = linkFind(h, ifName);
  if (!link) throw failure(`failed to get "${ifName}": not found`);
  return link;
}

/** The current values of what the config will change. */
function snapshot(conf: TuningConf, link: Link, ns: NetNS, ifName: string): Backup {
  const b: Backup = {};
  if (conf.mac) b.mac = link.mac;
  if (conf.promisc) b.promisc = (link.flags & IFF_PROMISC) !== 0;
  if (conf.mtu) b.mtu = link.mtu;
  if (conf.allmulti !== undefined) b.allmulti = (link.flags & IFF_ALLMULTI) !== 0;
  if (conf.txQLen !== undefined) b.txQLen = link.txqlen;
  const sysctl: Record<string, string> = {};
  for (const k of Object.keys(conf.sysctl)) {
    const name = sysctlName(k, ifName);
    sysctl[name] = sysctlGet(name, ns);
  }
  if (Object.keys(sysctl).length) b.sysctl = sysctl;
  return b;
}

/** Applies the sysctls and link settings inside the pod; records the old values first. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  const prev = requirePrev(args);
  using ns = NetNS.open(args.netns);
  using h = NetlinkHandle.at(ns);
  const link = containerLink(h, args.ifName);
  const file = backupFile(conf.dataDir, args.containerID, args.ifName);
  // A retried ADD must not overwrite the originals with values it set itself.
  if (!loadBackup(file)) saveBackup(file, snapshot(conf, link, ns, args.ifName));
  try {
    for (const [k, v] of Object.entries(conf.sysctl)) sysctlSet(sysctlName(k, args.ifName), v, ns);
    if (conf.mac) linkSetMac(h, link, conf.mac);
    if (conf.promisc) linkSetPromisc(h, link, true);
    if (conf.mtu) linkSetMtu(h, link, conf.mtu);
    if (conf.allmulti !== undefined) linkSetAllmulti(h, link, conf.allmulti);
    if (conf.txQLen !== undefined) linkSetTxQLen(h, link, conf.txQLen);
  } catch (e) {
    restore(h, ns, args.ifName, file);
    throw failure(`failed to tune "${args.ifName}"`, e);
  }
  if (conf.mac) {
    for (const i of prev.interfaces ?? []) if (i.name === args.ifName && i.sandbox) i.mac = conf.mac;
  }
  return prev;
}

/** Puts back what the backup recorded, then removes it; a vanished link restores nothing. */
function restore(h: NetlinkHandle, ns: NetNS, ifName: string, file: string): void {
  const b = loadBackup(file);
  if (!b) return;
  const link = linkFind(h, ifName);
  if (link) {
    const errors: string[] = [];
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        errors.push(`failed to restore ${what}: ${(e as Error).message}`);
      }
    };
    if (b.mtu) step("MTU", () => linkSetMtu(h, link, b.mtu!));
    if (b.mac) step("MAC address", () => linkSetMac(h, link, b.mac!));
    if (b.promisc !== undefined) step("promiscuous mode", () => linkSetPromisc(h, link, b.promisc!));
    if (b.allmulti !== undefined) step("all-multicast mode", () => linkSetAllmulti(h, link, b.allmulti!));
    if (b.txQLen !== undefined) step("transmit queue length", () => linkSetTxQLen(h, link, b.txQLen!));
    for (const [name, v] of Object.entries(b.sysctl ?? {})) step(`sysctl ${name}`, () => sysctlSet(name, v, ns));
    if (errors.length) throw failure(errors.join("; "));
  }
  dropBackup(file);
}

/** Each configured value must be what the kernel has now. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  requirePrev(args);
  using ns = NetNS.open(args.netns);
  using h = NetlinkHandle.at(ns);
  for (const [k, v] of Object.entries(conf.sysctl)) {
    const cur = sysctlGet(sysctlName(k, args.ifName), ns);
    if (cur !== v) throw failure(`Error: Tuning configured value of ${k} is ${v}, current value is ${cur}`);
  }
  const link = linkFind(h, args.ifName);
  if (!link) throw failure(`Cannot find container link ${args.ifName}`);
  const bad = (what: string, want: unknown, have: unknown) => failure(`Error: Tuning configured ${what} of ${args.ifName} is ${want}, current value is ${have}`);
  if (conf.mac && conf.mac !== link.mac) throw bad("Ethernet", conf.mac, link.mac);
  if (conf.promisc !== ((link.flags & IFF_PROMISC) !== 0)) throw bad("promisc", conf.promisc, (link.flags & IFF_PROMISC) !== 0);
  if (conf.mtu && conf.mtu !== link.mtu) throw bad("MTU", conf.mtu, link.mtu);
  if (conf.allmulti !== undefined && conf.allmulti !== ((link.flags & IFF_ALLMULTI) !== 0)) throw bad("all-multicast mode", conf.allmulti, !conf.allmulti);
  if (conf.txQLen !== undefined && conf.txQLen !== link.txqlen) throw bad("Transmit Queue Length", conf.txQLen, link.txqlen);
}

/** Restores the originals when the pod is still there; the backup goes either way. */
async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  const file = backupFile(conf.dataDir, args.containerID, args.ifName);
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
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  const conf = loadNetConf(args);
  const keep = new Set(valid.map((v) => `${v.containerID}_${v.ifname}.json`));
  for (const name of listBackups(conf.dataDir)) if (!keep.has(name)) dropBackup(join(conf.dataDir, name));
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "tuning: sysctls and link settings of the container interface (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc } };
