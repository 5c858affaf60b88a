/**
 * The one helper for tests that need root and network namespaces: it creates uniquely
 * named namespaces with iproute2 (a witness independent of our code) and always removes
 * them, also when the test fails or the process exits early.
 */
import { test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { waitFor } from "./wait.ts";

export const isRoot = process.getuid?.() === 0;

/** `test` when running as root, otherwise a skip that says why. */
export const rootTest: typeof test = isRoot
  ? test
  : (((name: string, ...rest: unknown[]) => test.skip(`${name} (needs root: run as root to create namespaces)`, ...(rest as []))) as unknown as typeof test);

let counter = 0;
const live = new Set<string>();

/** A short unique name (<= 15 bytes, so it also fits interface names). */
export function uniqueName(prefix: string): string {
  counter++;
  const tag = `${(process.pid % 100000).toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return `${prefix.slice(0, 15 - tag.length - 1)}-${tag}`.slice(0, 15);
}

/** Runs a command; throws with its stderr when it fails. */
export function sh(cmd: string[], opts: { input?: string; env?: Record<string, string>; allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { input: opts.input, env: opts.env ?? process.env, encoding: "utf8" });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A network namespace made by a test, at /var/run/netns/<name>. */
export class TestNetns {
  readonly name: string;
  readonly path: string;
  private constructor(name: string) {
    this.name = name;
    this.path = `/var/run/netns/${name}`;
  }

  /**
   * Creates a namespace; it is removed by destroy(), or at process exit at the latest.
   * Forwarding starts off, as the kernel's default, whatever the machine has: a new
   * namespace copies the host's IPv4 settings (net.core.devconf_inherit_init_net = 0),
   * and container hosts forward. A test that needs it on turns it on in its namespace.
   */
  static create(prefix = "cnits"): TestNetns {
    const name = uniqueName(prefix);
    sh(["ip", "netns", "add", name]);
    live.add(name);
    sh(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"], { allowFail: true });
    return new TestNetns(name);
  }

  /** Runs a command inside the namespace. */
  exec(cmd: string[], opts: { input?: string; env?: Record<string, string>; allowFail?: boolean } = {}): string {
    return sh(["ip", "netns", "exec", this.name, ...cmd], opts);
  }

  /** `ip -j <args>` inside the namespace, parsed. */
  ipJson<T = any>(...args: string[]): T {
    const out = this.exec(["ip", "-j", ...args]);
    return (out.trim() ? JSON.parse(out) : []) as T;
  }

  /**
   * The namespace's nftables rule set as the kernel holds it, expression by expression
   * (nft's debug listing), without handles: two namespaces given the same rules by
   * different writers (our netlink messages, an `nft -f` script) list the same.
   */
  nftListing(): string {
    return this.exec(["nft", "--debug=netlink", "list", "ruleset"]).replace(/ \d+( \d+)?\n/g, "\n");
  }

  /** Removes the namespace (idempotent). */
  destroy(): void {
    if (!live.has(this.name)) return;
    sh(["ip", "netns", "del", this.name], { allowFail: true });
    live.delete(this.name);
  }
}

/** Creates `count` namespaces, runs fn, and removes them whatever happens. */
export async function withNetns<T>(count: number, fn: (...ns: TestNetns[]) => Promise<T> | T, prefix = "cnits"): Promise<T> {
  const made: TestNetns[] = [];
  try {
    for (let i = 0; i < count; i++) made.push(TestNetns.create(prefix));
    return await fn(...made);
  } finally {
    for (const n of made) n.destroy();
  }
}

/**
 * Keeps a namespace alive with a process in it, so that removing its path does not
 * destroy it (a pod whose path the runtime already unmounted). Resolves once the
 * process is inside; kill it when done.
 */
export async function holdOpen(ns: TestNetns): Promise<{ kill(): void }> {
  // `ip netns exec` execs the command in place: the pid is the one inside the namespace.
  const p = spawn("ip", ["netns", "exec", ns.name, "sleep", "120"], { stdio: "ignore" });
  const pid = String(p.pid);
  await waitFor(() => sh(["ip", "netns", "pids", ns.name], { allowFail: true }).split("\n").includes(pid), `a process in ${ns.name}`);
  return { kill: () => p.kill("SIGKILL") };
}

/** Removes every namespace this process made and has not removed yet. */
export function removeLeftoverNetns(): void {
  for (const name of live) spawnSync("ip", ["netns", "del", name]);
  live.clear();
}

// `bun test` runs no exit handlers when a test times out: test/helpers/preload.ts also
// calls removeLeftoverNetns from a global afterAll, which it does run.
process.on("exit", removeLeftoverNetns);

/**
 * Runs fn with the namespace's path removed while a process keeps the namespace alive
 * (a pod whose path the runtime already unmounted); fn gets the old path.
 */
export async function withPathGone<T>(ns: TestNetns, fn: (path: string) => T | Promise<T>): Promise<T> {
  const holder = await holdOpen(ns);
  try {
    const path = ns.path;
    ns.destroy();
    return await fn(path);
  } finally {
    holder.kill();
  }
}
