/**
 * Running a plugin as a process inside a test's node namespace (`ip netns exec NODE`),
 * ours (the compiled binary) or a Go reference binary, with CNI_* env and JSON stdin; and
 * comparable snapshots of kernel state (`ip -j`) for differential tests.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { indexDirOf } from "../../src/ipam/store.ts";
import { compareVersions } from "../../src/spec/version.ts";
import { ensureBuilt } from "./dist.ts";
import type { TestNetns } from "./netns.ts";

/** Our plugin `type`: the compiled binary, as users run it (rebuilt when the sources are newer). */
export function ours(type: string): string[] {
  return [ensureBuilt(), "plugin", type];
}

/** Where the Go reference plugins are: Debian's containernetworking-plugins, or CNI_REFERENCE_DIR. */
export const GO_PLUGINS = process.env.CNI_REFERENCE_DIR || "/usr/lib/cni";

/** The Go reference plugin `type`. */
export function reference(type: string): string[] {
  return [`${GO_PLUGINS}/${type}`];
}

/**
 * A plugin dir (CNI_PATH) at `dir`, made here: one link per plugin type, to our binary or
 * to the Go plugin of that name, as `whose` says. For chains that mix the two.
 */
export function mixedPluginDir(dir: string, whose: Record<string, "ours" | "go">): string {
  mkdirSync(dir, { recursive: true });
  for (const [type, w] of Object.entries(whose)) symlinkSync(w === "ours" ? ensureBuilt() : `${GO_PLUGINS}/${type}`, join(dir, type));
  return dir;
}

/** One call: the command, the CNI_* values (defaults for a test) and the config. */
export interface Call {
  command: "ADD" | "CHECK" | "DEL" | "GC" | "STATUS" | "VERSION";
  netns?: string;
  containerID?: string;
  ifName?: string;
  path?: string;
  args?: string;
  conf: unknown;
  /** Prefix of the command line inside the node (e.g. ["unshare", "-m", ...]). */
  wrap?: string[];
}

/** What the plugin printed and returned. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs `argv` in the node namespace with the call's environment and stdin. */
export function runIn(node: TestNetns, argv: string[], call: Call): Outcome {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerID ?? "ctr-test-1",
    CNI_NETNS: call.netns ?? "",
    CNI_IFNAME: call.ifName ?? "eth0",
    CNI_PATH: call.path ?? GO_PLUGINS,
  };
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  const r = spawnSync("ip", ["netns", "exec", node.name, ...(call.wrap ?? []), ...argv], {
    input: typeof call.conf === "string" ? call.conf : JSON.stringify(call.conf),
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  const stdout = r.stdout ?? "";
  let json: any;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout, stderr: r.stderr ?? "", json };
}

/** A temp dir for host-local's dataDir; remove it with cleanup(). */
export function tempDir(prefix = "cni-ipam-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // host-local keeps its owner index beside the data dir: that goes too.
  return { dir, cleanup: () => [dir, indexDirOf(dir)].forEach((d) => rmSync(d, { recursive: true, force: true })) };
}

/** Link fields that differ between two runs by nature (indexes, random names and MACs, counters). */
const VOLATILE_LINK = [
  "ifindex",
  "link_index",
  "link",
  "address",
  "ifalias",
  "link_netnsid",
  "linkinfo_peer",
  "stats64",
  "stats",
  "txqlen",
  "operstate",
  "parentbus",
  "parentdev",
  "perm_address",
  "altnames",
  "promiscuity",
  "allmulti",
];

/** `ip -j -d link show dev NAME` without what differs by nature; the link name is replaced by `as`. */
export function linkState(ns: TestNetns, name: string, as = "IF"): any {
  const [l] = ns.ipJson("-d", "link", "show", "dev", name);
  for (const k of VOLATILE_LINK) delete l[k];
  l.ifname = as;
  // Carrier and queue flags race with the peer coming up.
  l.flags = (l.flags as string[]).filter((f) => !["NO-CARRIER", "LOWER_UP", "M-DOWN"].includes(f)).sort();
  return l;
}

/** Addresses of a link, without link-local IPv6 (derived from the random MAC) and lifetimes. */
export function addrState(ns: TestNetns, name: string): any[] {
  const [l] = ns.ipJson("addr", "show", "dev", name);
  return (l?.addr_info ?? [])
    .filter((a: any) => !(a.family === "inet6" && a.scope === "link"))
    .map((a: any) => ({ family: a.family, local: a.local, prefixlen: a.prefixlen, scope: a.scope, broadcast: a.broadcast, noprefixroute: a.noprefixroute }));
}

/** Routes of every table of a namespace, with device names replaced by `names` (a random veth name -> "HOST"). */
export function routeState(ns: TestNetns, names: Record<string, string> = {}): any[] {
  const out: any[] = [];
  for (const fam of ["-4", "-6"]) {
    for (const r of ns.ipJson(fam, "route", "show", "table", "all")) {
      if (r.type === "local" || r.type === "broadcast" || r.type === "multicast") continue;
      if (fam === "-6" && (r.dst?.startsWith("fe80") || r.dst?.startsWith("ff00"))) continue;
      out.push({ ...r, dev: names[r.dev] ?? r.dev });
    }
  }
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** A scripted IPAM plugin named "fake-ipam" in a temp dir (use it as CNI_PATH): prints `result` on ADD, logs every command. */
export function fakeIPAM(result: unknown): { dir: string; cleanup: () => void; commands: () => string[] } {
  const bin = tempDir("cni-fake-ipam-");
  const log = join(bin.dir, "log");
  const script = `#!/bin/sh\ncat > /dev/null\necho "$CNI_COMMAND" >> ${log}\nif [ "$CNI_COMMAND" = ADD ]; then echo '${JSON.stringify(result)}'; fi\n`;
  writeFileSync(join(bin.dir, "fake-ipam"), script);
  chmodSync(join(bin.dir, "fake-ipam"), 0o755);
  return { dir: bin.dir, cleanup: bin.cleanup, commands: () => readFileSync(log, "utf8").trim().split("\n") };
}

/**
 * IPAM sections IPAM ADD refuses with code 7, over a host-local section `base`: a plugin
 * that delegates to IPAM must refuse them before it makes anything (its IPAM runs
 * in-process from the compiled binary, so the config is read up front).
 */
export function badIpamCases(base: Record<string, unknown>): { name: string; ipam: Record<string, unknown>; msg: string }[] {
  return [
    { name: "no such IPAM plugin", ipam: { type: "no-such-ipam" }, msg: 'failed to find plugin "no-such-ipam" in path' },
    { name: "host-local with a bad subnet", ipam: { ...base, subnet: "10.44.0.0/33" }, msg: "" },
    { name: "host-local without ranges", ipam: { ...base, subnet: undefined }, msg: "no IP ranges specified" },
    { name: "static with an address that is no CIDR", ipam: { type: "static", addresses: [{ address: "10.44.0.5" }] }, msg: "CIDR notation" },
  ];
}

/**
 * The prevResult a main plugin of spec version `v` prints for a pod with 10.9.0.2/24 via
 * 10.9.0.1 on eth0 (interface 1) and a host end `host` (interface 0): what a chained
 * plugin's version tests hand in.
 */
export function prevResultAt(v: string, podPath: string, host: Record<string, string>, pod: Record<string, string> = {}): Record<string, unknown> {
  if (compareVersions(v, "0.3.0") < 0) return { cniVersion: v, ip4: { ip: "10.9.0.2/24", gateway: "10.9.0.1" }, dns: {} };
  const ip = { ...(compareVersions(v, "1.0.0") < 0 ? { version: "4" } : {}), interface: 1, address: "10.9.0.2/24", gateway: "10.9.0.1" };
  return { cniVersion: v, interfaces: [host, { name: "eth0", ...pod, sandbox: podPath }], ips: [ip], dns: {} };
}
