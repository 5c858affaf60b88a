/**
 * Multus's `--multus-conf-file=auto`: the first CNI config of the auto-config dir that is
 * not ours becomes the master, and `00-multus.conf` (`.conflist` from CNI 1.0.0 on, thin
 * mode) is written beside it with the master's capabilities and the kubeconfig; it is
 * rewritten when the master changes, and removed on exit. Thin mode follows Multus's
 * thin entrypoint (the master inlined as the only delegate); thick mode its daemon's
 * config manager (the master's path as clusterNetwork, type multus-shim).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { compareVersions } from "../spec/version.ts";
import type { DaemonConfig } from "./daemon-config.ts";
import { writeStateFile } from "../sys/state-file.ts";

/** The thin entrypoint's options (its flag names in the CLI). */
export interface ThinOptions {
  cniConfDir: string;
  multusAutoconfigDir?: string;
  multusMasterCNIFileName?: string;
  cniVersion?: string;
  kubeconfig: string;
  namespaceIsolation?: boolean;
  globalNamespaces?: string;
  logToStderr?: boolean;
  logLevel?: string;
  logFile?: string;
  additionalBinDir?: string;
  multusCNIConfDir?: string;
  readinessIndicatorFile?: string;
  overrideNetworkName?: boolean;
}

/** The first .conf/.conflist of `dir` (by name) that is not Multus's own, or the named one. */
export function findMasterConfig(dir: string, named?: string): string | undefined {
  if (named) return join(dir, named);
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  const n = names.find((f) => [".conf", ".conflist"].includes(extname(f)) && !f.startsWith("00-multus"));
  return n ? join(dir, n) : undefined;
}

/** Capabilities a master declares: its own, or those of every plugin of a list. */
export function masterCapabilities(master: Record<string, unknown>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const from = Array.isArray(master.plugins) ? (master.plugins as Record<string, unknown>[]) : [master];
  for (const p of from) {
    const caps = p?.capabilities;
    if (caps && typeof caps === "object") for (const [k, v] of Object.entries(caps)) if (typeof v === "boolean") out[k] = v;
  }
  return out;
}

function readMaster(path: string): Record<string, unknown> {
  const o = JSON.parse(readFileSync(path, "utf8"));
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error(`cannot read master CNI config json: not an object`);
  return o;
}

/** The thin 00-multus.conf(list): [file name, contents]. */
export function generateThin(o: ThinOptions, masterPath: string): [string, string] {
  const master = readMaster(masterPath);
  if (typeof master.cniVersion !== "string") throw new Error(`cannot get cniVersion in master CNI config file "${masterPath}"`);
  if (o.cniVersion && master.cniVersion !== o.cniVersion)
    throw new Error(`Multus cni version is "${o.cniVersion}" while master plugin cni version is "${master.cniVersion}"`);
  const cniVersion = master.cniVersion;
  const name = o.overrideNetworkName && typeof master.name === "string" ? master.name : "multus-cni-network";
  const plugin: Record<string, unknown> = { type: "multus" };
  const caps = masterCapabilities(master);
  if (Object.keys(caps).length) plugin.capabilities = caps;
  if (o.namespaceIsolation) plugin.namespaceIsolation = true;
  if (o.globalNamespaces) plugin.globalNamespaces = o.globalNamespaces;
  if (o.logToStderr === false) plugin.logToStderr = false;
  if (o.logLevel) {
    const l = o.logLevel.toLowerCase();
    if (!["debug", "error", "panic", "verbose"].includes(l))
      throw new Error(`Log levels should be one of: debug/verbose/error/panic, did not understand: "${o.logLevel}"`);
    plugin.logLevel = l;
  }
  if (o.logFile) plugin.logFile = o.logFile;
  if (o.additionalBinDir) plugin.binDir = o.additionalBinDir;
  if (o.multusCNIConfDir) plugin.confDir = o.multusCNIConfDir;
  if (o.readinessIndicatorFile) plugin.readinessindicatorfile = o.readinessIndicatorFile;
  plugin.kubeconfig = o.kubeconfig;
  plugin.delegates = [master];
  if (compareVersions(cniVersion, "1.0.0") >= 0) {
    return ["00-multus.conflist", JSON.stringify({ cniVersion, name, plugins: [plugin] }, null, 4)];
  }
  return ["00-multus.conf", JSON.stringify({ cniVersion, name, ...plugin }, null, 4)];
}

/** The thick 00-multus.conf (Multus's MultusConf.Generate): the master's path as clusterNetwork. */
export function generateThick(d: DaemonConfig, masterPath: string): string {
  const master = readMaster(masterPath);
  const c = d.contents;
  const cniVersion = d.cniVersion;
  if (!cniVersion) throw new Error("the CNI version is a mandatory parameter when the '-multus-config-file=auto' option is used");
  if (compareVersions(cniVersion, "0.4.0") >= 0) {
    const dv = master.cniVersion;
    if (typeof dv !== "string") throw new Error("couldn't get cni version of delegate");
    if (compareVersions(dv, "0.4.0") < 0) throw new Error(`delegate cni version is ${dv} while top level cni version is ${cniVersion}`);
  }
  const out: Record<string, unknown> = {};
  const copy = (k: string) => {
    if (c[k] !== undefined && c[k] !== "" && c[k] !== false) out[k] = c[k];
  };
  copy("binDir");
  const caps = { ...((c.capabilities as Record<string, boolean>) ?? {}), ...masterCapabilities(master) };
  if (Object.keys(caps).length) out.capabilities = caps;
  out.cniVersion = cniVersion;
  for (const k of ["logFile", "logLevel", "logToStderr", "logOptions"]) copy(k);
  out.name = d.overrideNetworkName && typeof master.name === "string" ? master.name : "multus-cni-network";
  out.clusterNetwork = masterPath;
  for (const k of ["namespaceIsolation", "globalNamespaces"]) copy(k);
  out.type = "multus-shim";
  for (const k of ["cniDir", "auxiliaryCNIChainName", "daemonSocketDir"]) copy(k);
  return JSON.stringify(out);
}

/** A running auto-configuration. */
export interface AutoConfig {
  /** The file written. */
  path(): string;
  /** Called when the daemon must exit (the readiness indicator file went away). */
  onExit(fn: () => void): void;
  exitCode(): number;
  stop(): void;
}

function writeAtomic(path: string, text: string): void {
  writeStateFile(path, text);
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex");

async function waitFor(fn: () => boolean, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (fn()) return true;
    if (Date.now() >= until) return false;
    await Bun.sleep(stepMs);
  }
}

/**
 * Writes the config and watches the master (and the readiness indicator) every
 * `pollMs`; thick mode exits (code 2) when the readiness indicator file is removed.
 */
export async function startAutoConfig(
  o: { mode: "thin"; thin: ThinOptions; pollMs?: number; watch?: boolean } | { mode: "thick"; daemon: DaemonConfig; pollMs?: number; watch?: boolean },
): Promise<AutoConfig> {
  const autoDir = o.mode === "thin" ? (o.thin.multusAutoconfigDir ?? o.thin.cniConfDir) : o.daemon.multusAutoconfigDir;
  const outDir = o.mode === "thin" ? o.thin.cniConfDir : o.daemon.cniConfigDir;
  const named = o.mode === "thin" ? o.thin.multusMasterCNIFileName : o.daemon.multusMasterCNI;
  const readiness = o.mode === "thin" ? "" : o.daemon.readinessindicatorfile;
  if (readiness && !(await waitFor(() => existsSync(readiness), 45_000, 1000))) {
    throw new Error(`have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${readiness}`);
  }
  let master = "";
  if (!(await waitFor(() => !!(master = findMasterConfig(autoDir, named) ?? ""), 120_000, 1000))) {
    throw new Error(`failed to find the cluster master CNI plugin: could not find a plugin configuration in ${autoDir}`);
  }
  if (basename(master).startsWith("00-multus")) throw new Error(`cannot specify ${master} to prevent recursive config load`);
  let written = "";
  let lastHash = "";
  const generate = () => {
    const m = findMasterConfig(autoDir, named);
    if (!m || !existsSync(m)) return; // the master went away: wait for it to come back
    const text = readFileSync(m, "utf8");
    if (hash(m + text) === lastHash) return;
    let name: string;
    let body: string;
    if (o.mode === "thin") [name, body] = generateThin(o.thin, m);
    else [name, body] = ["00-multus.conf", generateThick(o.daemon, m)];
    const path = join(outDir, name);
    // A change of master version may change the form: never leave both forms behind.
    for (const other of ["00-multus.conf", "00-multus.conflist"]) if (other !== name) rmSync(join(outDir, other), { force: true });
    writeAtomic(path, body);
    written = path;
    lastHash = hash(m + text);
  };
  generate();
  let exitFns: (() => void)[] = [];
  let code = 0;
  const timer =
    o.watch === false
      ? undefined
      : setInterval(() => {
          if (readiness && !existsSync(readiness)) {
            // Multus restarts its daemon when the default network goes away.
            if (written) rmSync(written, { force: true });
            code = 2;
            for (const f of exitFns) f();
            exitFns = [];
            return;
          }
          try {
            generate();
          } catch (e) {
            process.stderr.write(`multus: failed to regenerate the multus configuration: ${(e as Error).message}\n`);
          }
        }, o.pollMs ?? 1000);
  return {
    path: () => written,
    onExit: (fn) => void exitFns.push(fn),
    exitCode: () => code,
    stop() {
      if (timer) clearInterval(timer);
      if (written) rmSync(written, { force: true });
    },
  };
}
