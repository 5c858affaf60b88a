/**
 * What the Multus tests share: a work dir with our plugins installed, a node namespace
 * with a macvlan master, and runs of `cni-ts add|del` or of the reference libcni client
 * inside the node, as a runtime or kubelet would run them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isIP } from "node:net";
import { join } from "node:path";
import { ensureBuilt, installedBinDir } from "../../../test/helpers/dist.ts";
import type { TestNetns } from "../../../test/helpers/netns.ts";

/** A scratch area for one test file. */
export interface Work {
  dir: string;
  bin: string;
  cleanup(): void;
}

/** A temp dir with every plugin type linked to dist/cni-ts in `bin`. */
export function makeWork(prefix: string): Work {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const plugins = installedBinDir();
  return { dir, bin: plugins.dir, cleanup: () => (rmSync(dir, { recursive: true, force: true }), plugins.cleanup()) };
}

/** A fresh sub dir. */
export function sub(work: Work, name: string): string {
  const d = mkdtempSync(join(work.dir, `${name}-`));
  return d;
}

/** Writes files (objects as JSON) into a new dir. */
export function dirWith(parent: string, name: string, files: Record<string, unknown>): string {
  const d = join(parent, name);
  mkdirSync(d, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), typeof body === "string" ? body : JSON.stringify(body));
  return d;
}

/** A veth pair in the node whose first end is up, a master for macvlan delegates. */
export function macvlanMaster(node: TestNetns, name = "m0"): string {
  node.exec(["ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`]);
  node.exec(["ip", "link", "set", name, "up"]);
  node.exec(["ip", "link", "set", `${name}p`, "up"]);
  return name;
}

/** Runs `cni-ts CMD NETWORK NETNS` in the node (CNI_CACHE_DIR, NETCONFPATH, CNI_PATH set). */
export function cniTs(node: TestNetns, cmd: "add" | "del" | "check", network: string, netns: string, env: Record<string, string>) {
  const r = spawnSync("ip", ["netns", "exec", node.name, ensureBuilt(), cmd, network, netns], {
    env: { PATH: process.env.PATH!, ...env }, encoding: "utf8", timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: safeJSON(r.stdout) };
}

/** Runs the reference libcni client in the node, as a kubelet's runtime would. */
export function libcni(node: TestNetns, client: string, cmd: "add" | "del" | "check", network: string, netns: string, containerID: string, env: Record<string, string>) {
  const r = spawnSync("ip", ["netns", "exec", node.name, client, cmd, network, netns, containerID], {
    env: { PATH: process.env.PATH!, ...env }, encoding: "utf8", timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: safeJSON(r.stdout) };
}

function safeJSON(s: string): any {
  try {
    return s.trim() ? JSON.parse(s) : undefined;
  } catch {
    return undefined;
  }
}

/** Interfaces of a pod namespace with their IPv4 addresses ("lo" left out). */
export function podLinks(pod: TestNetns): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of pod.ipJson("-4", "addr", "show")) {
    if (l.ifname === "lo") continue;
    out[l.ifname] = (l.addr_info ?? []).map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
  }
  for (const l of pod.ipJson("link", "show")) if (l.ifname !== "lo" && !out[l.ifname]) out[l.ifname] = [];
  return out;
}

/** host-local reservations left in a data dir (files named like addresses). */
export function reservations(dataDir: string): string[] {
  const out: string[] = [];
  let nets: string[] = [];
  try {
    nets = readdirSync(dataDir);
  } catch {
    return out;
  }
  for (const n of nets) {
    try {
      for (const f of readdirSync(join(dataDir, n))) if (isIP(f)) out.push(`${n}/${f}`);
    } catch {
      // not a dir
    }
  }
  return out;
}
