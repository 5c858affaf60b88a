/**
 * The kit every plugin test uses: a "node" namespace with pod namespaces beside it and a
 * temp IPAM dir, all removed afterwards; what host-local holds; the links of a
 * namespace; ping with one retry policy.
 */
import { describe, expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { useBinDir } from "./dist.ts";
import { rootTest, withNetns, type TestNetns } from "./netns.ts";
import { badIpamCases, runIn, tempDir, type Call, type Outcome } from "./plugin-run.ts";

/** A node namespace (lo up, then `setup`) with `pods` namespaces beside it and a temp IPAM dir, all removed afterwards. */
export async function withNode(
  pods: number,
  fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void,
  opts: { prefix?: string; setup?: (node: TestNetns) => void } = {},
): Promise<void> {
  const ipam = tempDir();
  try {
    await withNetns(
      pods + 1,
      async (node, ...rest) => {
        node.exec(["ip", "link", "set", "lo", "up"]);
        opts.setup?.(node);
        await fn(node, rest, ipam.dir);
      },
      opts.prefix ?? "node",
    );
  } finally {
    ipam.cleanup();
  }
}

/** withNode with one pod: `fn` gets the node, the pod and the temp dir. */
export function withNodeAndPod(
  fn: (node: TestNetns, pod: TestNetns, dataDir: string) => Promise<void> | void,
  opts: { prefix?: string; setup?: (node: TestNetns) => void } = {},
): Promise<void> {
  return withNode(1, (node, [pod], dataDir) => fn(node, pod!, dataDir), opts);
}

/** The addresses host-local holds for network `net` in `dataDir`, sorted (its lock and last_reserved_ip files left out). */
export function allocated(dataDir: string, net: string): string[] {
  try {
    return readdirSync(join(dataDir, net))
      .filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** Names of the links of a namespace but lo, sorted. */
export function links(ns: TestNetns): string[] {
  return ns
    .ipJson("link", "show")
    .map((l: any) => l.ifname as string)
    .filter((n: string) => n !== "lo")
    .sort();
}

/** `ip -j -d link show dev DEV`: the link's details. */
export function linkDetail(ns: TestNetns, dev: string): any {
  return ns.ipJson("-d", "link", "show", "dev", dev)[0];
}

/**
 * True once `ip` answers an echo from `from`: tries for about 5 s, since a fresh address
 * (an IPv6 one still in DAD, a bridge port still learning) may not answer at once.
 */
export async function ping(from: TestNetns, ip: string): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  do {
    if (from.exec(["ping", "-c", "1", "-W", "1", ip], { allowFail: true }).includes("1 received")) return true;
    await Bun.sleep(100);
  } while (Date.now() < deadline);
  return false;
}

/** `sysctl -n NAME` in a namespace. */
export const sysctl = (ns: TestNetns, name: string): string => ns.exec(["sysctl", "-n", name]).trim();

/** True when one echo to `ip` is answered within 1 s: for pings that must fail (isolation), where retrying only waits. */
export function pingOnce(from: TestNetns, ip: string): boolean {
  return from.exec(["ping", "-c", "1", "-W", "1", ip], { allowFail: true }).includes("1 received");
}

/** One end of podVeth: its addresses ("10.9.0.2/24", added nodad) and default gateways. */
export interface VethEnd {
  addrs?: string[];
  gateways?: string[];
}

/**
 * A veth pair made by hand, as a main plugin would have made it for a chained plugin
 * under test: `host` in the node, `ifName` (default eth0) in the pod, both up, with the
 * addresses and default routes asked for. A pod link of that name is replaced.
 */
export function podVeth(node: TestNetns, pod: TestNetns, host: string, ends: { ifName?: string; node?: VethEnd; pod?: VethEnd } = {}): void {
  const ifName = ends.ifName ?? "eth0";
  pod.exec(["ip", "link", "del", ifName], { allowFail: true });
  node.exec(["ip", "link", "add", host, "type", "veth", "peer", "name", ifName, "netns", pod.name]);
  for (const [ns, dev, end] of [
    [node, host, ends.node],
    [pod, ifName, ends.pod],
  ] as const) {
    ns.exec(["ip", "link", "set", dev, "up"]);
    for (const a of end?.addrs ?? []) ns.exec(["ip", "addr", "add", a, "dev", dev, ...(a.includes(":") ? ["nodad"] : [])]);
    for (const gw of end?.gateways ?? []) ns.exec(["ip", ...(gw.includes(":") ? ["-6"] : []), "route", "add", "default", "via", gw, "dev", dev]);
  }
}

/**
 * ADD into `pod`, then the pod's namespace removed, then DEL with its old path: what a
 * runtime does after a pod died. Returns the DEL's outcome (the spec wants success).
 */
export function delAfterPodGone(node: TestNetns, pod: TestNetns, argv: string[], c: Omit<Call, "command" | "netns">): Outcome {
  const add = runIn(node, argv, { ...c, command: "ADD", netns: pod.path });
  if (add.code !== 0) throw new Error(`ADD failed: ${add.stdout}${add.stderr}`);
  const path = pod.path;
  pod.destroy();
  return runIn(node, argv, { ...c, command: "DEL", netns: path });
}

/** A TCP server in `pod` that writes `text` and a newline to each connection and closes it; stop() ends it. */
export function serveText(pod: TestNetns, opts: { port: number; text: string; host?: string }): { stop(): Promise<void> } {
  const hostname = opts.host ?? "0.0.0.0";
  const script = `Bun.listen({ hostname: ${JSON.stringify(hostname)}, port: ${opts.port}, socket: { open(s) { s.write(${JSON.stringify(`${opts.text}\n`)}); s.end(); }, data() {} } }); setTimeout(() => process.exit(0), 20000);`;
  // The Bun that runs the tests runs the server too.
  const server = Bun.spawn(["ip", "netns", "exec", pod.name, process.execPath, "-e", script]);
  return {
    async stop() {
      server.kill();
      await server.exited;
    },
  };
}

/**
 * What a TCP connection from `from` to `host` port `port` reads, trimmed; "" when nothing
 * answered in `tries` tries 200 ms apart (a new forward, or an IPv6 address still in DAD,
 * may take a moment).
 */
export function readTcp(from: TestNetns, host: string, port: number, tries = 20): string {
  for (let i = 0; i < tries; i++) {
    const out = from.exec(["timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port} && cat <&3`], { allowFail: true });
    if (out.trim()) return out.trim();
    if (i < tries - 1) Bun.sleepSync(200);
  }
  return "";
}

/**
 * The cases that show a plugin delegating to IPAM refuses each of badIpamCases (over a
 * host-local section of `subnet`) with code 7 before it makes anything: the compiled
 * `type` (its IPAM then runs in-process, the config read up front) ADDs `conf(dataDir)`
 * with the bad section in a node of `node` (the node kit's by default), then `unchanged`
 * checks what the node, the pod and the store hold.
 */
export function badIpamChangesNothing(
  type: string,
  opts: {
    subnet: string;
    /** What the case names as unchanged ("no pair, no reservation"). */
    what: string;
    conf: (dataDir: string) => Record<string, unknown>;
    node?: (pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => void) => Promise<void>;
    unchanged: (node: TestNetns, pod: TestNetns, dataDir: string) => void;
  },
): void {
  describe(`${type}: a bad IPAM section changes nothing`, () => {
    const bin = useBinDir();
    const inNode = opts.node ?? ((pods, fn) => withNode(pods, fn));
    for (const bad of badIpamCases({ type: "host-local", subnet: opts.subnet })) {
      rootTest(`${bad.name}: code 7, ${opts.what}`, () =>
        inNode(1, (node, [pod], dataDir) => {
          const c = { ...opts.conf(dataDir), ipam: { ...bad.ipam, ...(bad.ipam.type === "host-local" ? { dataDir } : {}) } };
          const r = runIn(node, [join(bin.dir, type)], { command: "ADD", netns: pod!.path, path: bin.dir, conf: c });
          expect([r.code, r.json.code]).toEqual([1, 7]);
          expect(r.json.msg).toContain(bad.msg);
          opts.unchanged(node, pod!, dataDir);
        }),
      );
    }
  });
}
