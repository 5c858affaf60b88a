/**
 * The podman suite's scenario: every network feature a podman user meets, run against
 * one sandbox (test/podman/podman-env.ts), recorded in a shape that compares between
 * our plugins and the Go plugins: the ids, hashed chain names and veth names that
 * differ between two runs by nature are replaced by stable names.
 */
import { EXT_IP, EXT_IP6, NODE_IP, NODE_IP6, type NodeSnapshot, type PodmanEnv, type Run } from "./podman-env.ts";

/** What one run of the scenario saw. */
export interface Outcome {
  /** Named checks: a reply body ("c1"), true/false, or a listing. */
  checks: Record<string, unknown>;
  /** Normalised node iptables/ip6tables at each stage. */
  tables: Record<string, string[]>;
  /** Rules naming each of c1's attachments before and after restart / network reload. */
  c1Rules: { before: number; afterRestart: number; afterReload: number };
  /** The refused duplicate --ip: exit code and podman's message, normalised. */
  duplicate: { code: number; msg: string };
  before: NodeSnapshot;
  after: NodeSnapshot;
  /** Wall time of each stage, ms. */
  times: Record<string, number>;
}

const HTTP_PORT = 80;

/** podman run -d NAME: busybox httpd serving /etc, so GET /hostname answers the container's name. */
function runArgs(env: PodmanEnv, name: string, extra: string[]): string[] {
  return ["run", "-d", "--name", name, "--hostname", name, ...extra, "--rootfs", env.rootfs, "/bin/httpd", "-f", "-p", String(HTTP_PORT), "-h", "/etc"];
}

const httpScript = (nc: string, host: string, port: number) => `printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | ${nc} -w 1 ${host} ${port}`;

/** The body of an HTTP reply, "" when there was none. */
function body(r: Run): string {
  if (r.code !== 0) return "";
  const i = r.stdout.indexOf("\r\n\r\n");
  return i < 0 ? "" : r.stdout.slice(i + 4).trim();
}

/** Tries a positive check up to five times (an IPv6 gateway may still be in DAD); a negative one gets one try. */
async function retry<T>(fn: () => Promise<T>, ok: (v: T) => boolean, tries = 5): Promise<T> {
  let v = await fn();
  for (let i = 1; i < tries && !ok(v); i++) {
    await Bun.sleep(300);
    v = await fn();
  }
  return v;
}

const BUILTIN = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/**
 * Replaces what differs between runs by nature: container ids by names, the hashed
 * per-attachment chains by what owns them (found from the commented rule that jumps to
 * each), veth names, counters. iptables dumps are put in a canonical order: chains
 * sorted (iptables-nft lists them in the kernel's hash order), each chain's rules in
 * their order, except a port-map chain's, whose order is that of podman's port list
 * (podman 4.3 builds it from a map, so it varies from run to run); multiport lists sorted.
 */
export class Normalizer {
  private readonly ids = new Map<string, string>();

  /** Names a container id. */
  name(id: string, name: string): void {
    if (id) this.ids.set(id, name);
  }

  text(s: string): string {
    for (const [id, name] of this.ids) s = s.split(id).join(`<${name}>`);
    return s.replace(/\bveth[0-9a-f]{8}\b/g, "veth*").replace(/packets \d+ bytes \d+/g, "packets - bytes -");
  }

  /** Hashed chain name -> owner label, from the rules that jump to them. */
  private chainLabels(lines: string[]): Map<string, string> {
    const m = new Map<string, string>();
    for (const l of lines) {
      const j = l.match(/--comment "(dnat )?name: \\"([^\\]+)\\" id: \\"([^\\]+)\\"".* -j (CNI-[A-Za-z0-9-]+)$/);
      if (j && /^CNI-(DN-)?[0-9a-f]{16,}$/.test(j[4]!)) m.set(j[4]!, `${j[1] ? "CNI-DN" : "CNI-MASQ"}[${j[2]}/${j[3]}]`);
    }
    return m;
  }

  /** iptables-save output (one family) in canonical order, with `label` before each table. */
  iptables(dump: string, label: string): string[] {
    const lines = dump
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => this.text(l.replace(/ \[\d+:\d+\]$/, "")));
    const labels = this.chainLabels(lines);
    const relabel = (l: string) =>
      l
        .replace(/\bCNI-(?:DN-)?[0-9a-f]{16,}\b/g, (c) => labels.get(c) ?? "CNI-?")
        .replace(/--dports ([\d,]+)/, (_m, p: string) => `--dports ${p.split(",").sort().join(",")}`);
    const out: string[] = [];
    let decls: string[] = [];
    let rules = new Map<string, string[]>();
    for (const raw of lines) {
      const l = relabel(raw);
      if (l.startsWith("*")) {
        out.push(`${label} ${l}`);
        decls = [];
        rules = new Map();
      } else if (l.startsWith(":")) decls.push(l);
      else if (l.startsWith("-A ")) {
        const chain = l.split(" ")[1]!;
        rules.set(chain, [...(rules.get(chain) ?? []), l]);
      } else if (l === "COMMIT") {
        out.push(...decls.sort());
        const order = [...rules.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
        for (const c of order) out.push(...(c.startsWith("CNI-DN[") ? rules.get(c)!.sort() : rules.get(c)!));
        out.push("COMMIT");
      }
    }
    return out;
  }

  /** A snapshot with names normalised; iptables canonical, nftables as a sorted multiset of lines. */
  snapshot(s: NodeSnapshot): NodeSnapshot {
    const family = (f: string) =>
      s.iptables
        .filter((l) => l.startsWith(`${f} `))
        .map((l) => l.slice(2))
        .join("\n");
    const labels = this.chainLabels(s.iptables.map((l) => this.text(l)));
    const relabel = (l: string) => this.text(l).replace(/\bCNI-(?:DN-)?[0-9a-f]{16,}\b/g, (c) => labels.get(c) ?? "CNI-?");
    return {
      links: s.links.map(relabel).sort(),
      addrs: s.addrs.map(relabel).sort(),
      routes: s.routes.map(relabel).sort(),
      iptables: [...this.iptables(family("4"), "ip4"), ...this.iptables(family("6"), "ip6")],
      nft: s.nft.map(relabel).sort(),
      state: s.state.map(relabel).sort(),
      run: s.run.map(relabel).sort(),
      netns: s.netns,
    };
  }
}

function rank(chain: string): number {
  const i = BUILTIN.indexOf(chain);
  return i < 0 ? BUILTIN.length : i;
}

interface Addr {
  ip?: string;
  ip6?: string;
  mac?: string;
}

/** Runs the whole scenario in `env`; throws only when podman itself fails where it must not. */
export async function runScenario(env: PodmanEnv): Promise<Outcome> {
  const norm = new Normalizer();
  const times: Record<string, number> = {};
  let t = Date.now();
  const stage = (name: string) => {
    times[name] = Date.now() - t;
    t = Date.now();
  };
  const checks: Record<string, unknown> = {};
  const tables: Record<string, string[]> = {};
  const iptables = () => [...norm.iptables(env.inNode(["iptables-save"]), "ip4"), ...norm.iptables(env.inNode(["ip6tables-save"]), "ip6")];
  const podman = (args: string[], allowFail = false) => env.podman(args, { allowFail });
  const run = async (name: string, extra: string[] = []) => norm.name((await podman(runArgs(env, name, extra))).stdout.trim(), name);

  // Clients: a container (podman exec), the node, the ext host.
  const fromCtr = (c: string, host: string, port = HTTP_PORT) =>
    retry(
      async () => body(await podman(["exec", c, "sh", "-c", httpScript("nc", host, port)], true)),
      (b) => b !== "",
    );
  const fromNode = (host: string, port: number) =>
    retry(
      async () => body(await env.inNodeAsync(["sh", "-c", httpScript("busybox nc", host, port)])),
      (b) => b !== "",
    );
  const fromExt = (host: string, port: number) =>
    retry(
      async () => body(await env.inExtAsync(["sh", "-c", httpScript("busybox nc", host, port)])),
      (b) => b !== "",
    );
  const once = {
    fromCtr: async (c: string, host: string, port: number) => body(await podman(["exec", c, "sh", "-c", httpScript("nc", host, port)], true)),
    fromNode: async (host: string, port: number) => body(await env.inNodeAsync(["sh", "-c", httpScript("busybox nc", host, port)])),
    fromExt: async (host: string, port: number) => body(await env.inExtAsync(["sh", "-c", httpScript("busybox nc", host, port)])),
  };
  const ping = (c: string, ip: string, tries = 3) =>
    retry(
      async () => (await podman(["exec", c, "ping", "-c", "1", "-W", "1", ip], true)).code === 0,
      (ok) => ok,
      tries,
    );
  const inCtr = async (c: string, cmd: string[]) => (await podman(["exec", c, ...cmd])).stdout;
  const addrs = async (c: string): Promise<Record<string, Addr>> => {
    const nets = JSON.parse((await podman(["inspect", c, "--format", "{{json .NetworkSettings.Networks}}"])).stdout) ?? {};
    const out: Record<string, Addr> = {};
    for (const [n, v] of Object.entries<any>(nets))
      out[n] = { ip: v.IPAddress || undefined, ip6: v.GlobalIPv6Address || undefined, mac: v.MacAddress || undefined };
    return out;
  };
  // podman 4.3 names the interfaces of a container on several networks in map order: eth0 may be either.
  const routes = async (c: string) =>
    (await inCtr(c, ["ip", "route"]))
      .split("\n")
      .map((l) => l.trim().replace(/\bdev eth\d+/, "dev eth*"))
      .filter(Boolean)
      .sort();
  const links = async (c: string) =>
    (await inCtr(c, ["ip", "-o", "link"]))
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(":")[1]!.trim().split("@")[0]!)
      .sort();
  const rulesOf = (name: string) => iptables().filter((l) => l.includes(`<${name}>`)).length;

  const before = env.snapshot();
  checks["setup: networks podman knows"] = (await podman(["network", "ls", "--format", "{{.Name}}"])).stdout.trim().split("\n");
  stage("setup");

  await podman(["network", "create", "--subnet", "10.89.7.0/24", "netx"]);
  await podman(["network", "create", "--internal", "--subnet", "10.89.9.0/24", "neti"]);
  await podman(["network", "create", "--ipv6", "--subnet", "10.89.8.0/24", "--subnet", "fd00:89:8::/64", "net6"]);
  // One after the other, so both runs hand out the same addresses.
  await run("c1", ["-p", "8080:80", "-p", "127.0.0.1:8081:80"]);
  await run("c2");
  await run("c3", ["--network", "netx", "--ip", "10.89.7.50", "--mac-address", "02:00:0a:59:07:32"]);
  const dup = await podman(runArgs(env, "c3dup", ["--network", "netx", "--ip", "10.89.7.50"]), true);
  norm.name((await podman(["inspect", "c3dup", "--format", "{{.Id}}"], true)).stdout.trim(), "c3dup");
  // Only podman's error line: the warnings before it carry a time.
  const duplicate = {
    code: dup.code,
    msg: norm.text(
      dup.stderr
        .split("\n")
        .filter((l) => l.startsWith("Error:"))
        .join("\n"),
    ),
  };
  await podman(["rm", "--force", "--time", "0", "c3dup"], true);
  await run("c4", ["--network", "none"]);
  await run("c5", ["--network", "podman,netx"]);
  await run("c6", ["--network", "neti"]);
  await run("c7", ["--network", "neti"]);
  await run("c8", ["--network", "net6", "-p", "8090:80"]);
  stage("start");

  const [a1, a3, a5, a7, a8] = await Promise.all(["c1", "c3", "c5", "c7", "c8"].map(addrs));
  const c1 = a1!.podman!.ip!;
  const c3 = a3!.netx!;
  const c7 = a7!.neti!.ip!;
  const c8 = a8!.net6!;
  tables.running = iptables();
  const parallel: Record<string, Promise<unknown>> = {
    // The default network.
    "default: container to container": fromCtr("c2", c1),
    "default: to the gateway": ping("c1", "10.88.0.1"),
    "default: to the node": ping("c1", NODE_IP),
    "default: masquerade out (ext has no route back)": ping("c1", EXT_IP),
    // -p 8080:80 and -p 127.0.0.1:8081:80 on c1.
    "ports: from the node": fromNode(NODE_IP, 8080),
    "ports: from another host": fromExt(NODE_IP, 8080),
    "ports: from another container": fromCtr("c2", NODE_IP, 8080),
    "ports: hairpin to itself": fromCtr("c1", NODE_IP, 8080),
    "ports: 127.0.0.1 from the node": fromNode("127.0.0.1", 8081),
    "ports: 127.0.0.1 not from another host": once.fromExt(NODE_IP, 8081),
    "ports: 127.0.0.1 not from another container": once.fromCtr("c2", NODE_IP, 8081),
    // podman network create with a subnet, --ip, --mac-address.
    "create: --ip and --mac-address": Promise.resolve({ ip: c3.ip, mac: c3.mac }),
    "create: address and MAC in the container": inCtr("c3", ["ip", "-o", "addr", "show", "eth0"]).then((s) => s.includes("inet 10.89.7.50/24")),
    "create: MAC in the container": inCtr("c3", ["cat", "/sys/class/net/eth0/address"]).then((s) => s.trim()),
    // --network none.
    "none: only lo": links("c4"),
    // Two networks on one container.
    "two networks: addresses": Promise.resolve([a5!.podman?.ip, a5!.netx?.ip]),
    "two networks: routes": routes("c5"),
    "two networks: reaches the default network": fromCtr("c5", c1),
    "two networks: reaches the other network": fromCtr("c5", c3.ip!),
    "two networks: out": ping("c5", EXT_IP),
    // --internal.
    "internal: container to container": fromCtr("c6", c7),
    "internal: no way out": ping("c6", EXT_IP, 1),
    "internal: routes": routes("c6"),
    // --ipv6 dual stack.
    "ipv6: addresses": Promise.resolve([c8.ip, c8.ip6]),
    "ipv6: port map from another host (IPv6)": fromExt(`${NODE_IP6}`, 8090),
    "ipv6: port map from another host (IPv4)": fromExt(NODE_IP, 8090),
    "ipv6: port map from another container (IPv4)": fromCtr("c2", NODE_IP, 8090),
    "ipv6: masquerade out (IPv6)": ping("c8", EXT_IP6),
    "ipv6: container to the gateway (IPv6)": ping("c8", "fd00:89:8::1"),
  };
  const values = await Promise.all(Object.values(parallel));
  Object.keys(parallel).forEach((k, i) => (checks[k] = values[i]));
  stage("checks");

  // network connect / disconnect on a running container.
  await podman(["network", "connect", "netx", "c2"]);
  const a2 = await addrs("c2");
  checks["connect: addresses"] = [a2.podman?.ip, a2.netx?.ip];
  checks["connect: routes"] = await routes("c2");
  checks["connect: reaches the other network"] = await fromCtr("c2", c3.ip!);
  tables.connected = iptables();
  await podman(["network", "disconnect", "netx", "c2"]);
  checks["disconnect: links"] = await links("c2");
  checks["disconnect: routes"] = await routes("c2");
  checks["disconnect: still on the default network"] = await fromCtr("c2", c1);
  checks["disconnect: netx reservations"] = env.snapshot().state.filter((p) => /^networks\/netx\/[0-9a-f.:]+$/.test(p));
  stage("connect");

  // restart and network reload: the same rules, not two copies.
  const c1Rules = { before: rulesOf("c1"), afterRestart: 0, afterReload: 0 };
  await podman(["restart", "--time", "0", "c1"]);
  c1Rules.afterRestart = rulesOf("c1");
  checks["restart: port map from another host"] = await fromExt(NODE_IP, 8080);
  tables.restarted = iptables();
  await podman(["network", "reload", "c1"]);
  c1Rules.afterReload = rulesOf("c1");
  checks["reload: port map from another host"] = await fromExt(NODE_IP, 8080);
  tables.reloaded = iptables();
  stage("restart");

  await podman(["stop", "--all", "--time", "0"]);
  tables.stopped = iptables();
  await podman(["rm", "--all", "--force", "--time", "0"]);
  await podman(["network", "rm", "netx", "neti", "net6"]);
  const after = env.snapshot();
  stage("teardown");
  return { checks, tables, c1Rules, duplicate, before: norm.snapshot(before), after: norm.snapshot(after), times };
}
