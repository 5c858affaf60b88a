/**
 * The tuning config: the reference's fields, merged from the config, CNI_ARGS,
 * runtimeConfig and args.cni (later sources win), all checked before anything changes.
 */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { loadArgs } from "../../spec/args.ts";
import { getFold } from "../../spec/capabilities.ts";
import { invalidConfig } from "../../spec/error.ts";
import type { NetConf } from "../../spec/types.ts";
import { join } from "../../sys/path.ts";
import { pathExists } from "../../sys/stat.ts";

/*
 * Each module of a chunk outside the entry's costs a plugin process about 0.09 ms of CPU to
 * load (measured: a no-op ADD with five fewer, 0.957x). So node:fs and netlink/mac
 * are required where an allow-list file is read or a MAC is given (sys/node-fs.ts and
 * netlink/mac.ts are chunks of their own too). spec/args and spec/capabilities are in the
 * entry's chunk (skel/run.ts says why); a lazy require() of those would move spec/error.ts
 * out of it, a module more for every process.
 */

/** Where backups go when the config names no dataDir. */
export const DEFAULT_DATA_DIR = "/run/cni/tuning";

/** The reference's allow-list: when the file exists, only sysctls matching one of its lines (regexes) may be set. */
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

/** True when the config changes the link itself, not only sysctls. */
export function setsLink(conf: TuningConf): boolean {
  return !!conf.mac || conf.promisc || !!conf.mtu || conf.allmulti !== undefined || conf.txQLen !== undefined;
}

/**
 * The sysctl's name under /proc/sys, "IFNAME" replaced by the interface: only keys of
 * the network subsystem, as the reference (it is the one per-namespace tree). Dots
 * separate the levels; the interface name is put in afterwards so "eth0.100" stays one.
 */
export function sysctlName(key: string, ifName: string): string {
  const name = key.replaceAll(".", "/").replace("IFNAME", ifName);
  if (!isNetSysctl(name)) throw invalidConfig(`invalid net sysctl key: ${JSON.stringify(key)}`);
  return name;
}

/** True for a name under /proc/sys/net with no empty, "." or ".." level (slash form, or dots when it has no slash). */
export function isNetSysctl(name: string): boolean {
  if (typeof name !== "string") return false;
  const parts = name.includes("/") ? name.split("/") : name.split(".");
  return parts[0] === "net" && parts.length >= 2 && !parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\0"));
}

/** The allow-list's regexes (blank lines and "#" comments skipped), or undefined when there is no file. */
export function readAllowlist(file = ALLOWLIST): RegExp[] | undefined {
  if (!pathExists(file)) return undefined;
  const lines = (require("node:fs") as typeof import("node:fs"))
    .readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  return lines.map((l) => {
    try {
      return new RegExp(l);
    } catch {
      throw invalidConfig(`Invalid regex in ${file}: ${JSON.stringify(l)}`);
    }
  });
}

/** Refuses a sysctl key (as written in the config, IFNAME and all) that no allow-list regex matches. */
export function checkAllowlist(keys: string[], patterns: RegExp[] | undefined): void {
  if (!patterns) return;
  for (const k of keys) {
    if (!patterns.some((p) => p.test(k)))
      throw invalidConfig(`Sysctl ${k} is not allowed. Only the following sysctls are allowed: [${patterns.map((p) => p.source).join(" ")}]`);
  }
}

/** Adds the sysctls of `v` (a config's or args.cni's "sysctl", at `where`) to `into`; code 7 unless it maps names to strings. */
function mergeSysctls(into: Record<string, string>, v: unknown, where: string): void {
  if (v === undefined || v === null) return;
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string"))
    throw invalidConfig(`Invalid "${where}": must map names to strings`);
  Object.assign(into, v);
}

/** Reads and checks the whole config: later sources win, as in the reference (CNI_ARGS, runtimeConfig, args.cni). */
export function loadNetConf(args: CmdArgs): TuningConf {
  const conf = args.conf;
  const sysctl: Record<string, string> = {};
  mergeSysctls(sysctl, conf.sysctl, "sysctl");
  const a = ((conf.args as { cni?: Record<string, unknown> } | undefined)?.cni ?? {}) as Record<string, unknown>;
  mergeSysctls(sysctl, a.sysctl, "args.cni.sysctl");
  let mac = typeof conf.mac === "string" && conf.mac ? conf.mac : undefined;
  const envMac = loadArgs(args.args, ["MAC"] as const).MAC;
  if (envMac) mac = envMac;
  const rc = conf.runtimeConfig && typeof conf.runtimeConfig === "object" ? (conf.runtimeConfig as Record<string, unknown>) : undefined;
  const rcMac = rc ? getFold(rc, "mac") : undefined;
  if (typeof rcMac === "string" && rcMac) mac = rcMac;
  if (typeof a.mac === "string" && a.mac) mac = a.mac;
  if (mac) {
    const { parseMAC } = require("../../netlink/mac.ts") as typeof import("../../netlink/mac.ts");
    try {
      parseMAC(mac);
    } catch {
      throw invalidConfig(`Invalid "mac": ${JSON.stringify(mac)}`);
    }
  }
  for (const k of Object.keys(sysctl)) sysctlName(k, args.ifName || "IFNAME");
  checkAllowlist(Object.keys(sysctl), readAllowlist());
  const promisc = optBool(a.promisc, "args.cni.promisc") ?? optBool(conf.promisc, "promisc") ?? false;
  const mtu = optInt(a.mtu, "args.cni.mtu", 68, 65535) ?? optInt(conf.mtu, "mtu", 0, 65535) ?? 0;
  const txQLen = optInt(a.txQLen, "args.cni.txQLen", 0, 2 ** 31 - 1) ?? optInt(conf.txQLen, "txQLen", 0, 2 ** 31 - 1);
  const allmulti = optBool(a.allmulti, "args.cni.allmulti") ?? optBool(conf.allmulti, "allmulti");
  const dataDir = backupDir(conf);
  // Set one by one, not spread from conditional literals: each spread is a call the
  // interpreter runs; the keys come out in the same order.
  const out: TuningConf = { ...conf, dataDir, sysctl, promisc, mtu };
  if (mac) out.mac = mac.toLowerCase();
  if (txQLen !== undefined) out.txQLen = txQLen;
  if (allmulti !== undefined) out.allmulti = allmulti;
  return out;
}

/** The config's dataDir, or the default: all DEL and GC need of the config. */
export function backupDir(conf: Record<string, unknown>): string {
  return typeof conf.dataDir === "string" && conf.dataDir ? conf.dataDir : DEFAULT_DATA_DIR;
}

/** The reference's backup file name for one attachment. */
export function backupFile(dataDir: string, containerID: string, ifName: string): string {
  return join(dataDir, `${containerID}_${ifName}.json`);
}
