/**
 * A multi-node lab: "nodes" are network namespaces on one underlay (a bridge in a
 * switch namespace), etcd optionally runs in a namespace of its own on the same
 * underlay, and every namespace, process and temp dir is removed by destroy(), also
 * when a test fails or the process exits early.
 *
 *   await withLab({ nodes: 2, etcd: true }, async (lab) => {
 *     const [a, b] = lab.nodes;              // LabNode: ns (TestNetns), ip "10.250.0.11", iface "eth0"
 *     lab.etcd!.endpoint;                    // "http://10.250.0.2:2379", reachable from every node
 *     lab.etcd!.put(key, value); lab.etcd!.get(prefix); lab.etcd!.del(key);   // through curl in etcd's namespace
 *     lab.etcd!.putMany([[key, value], ...]);                                 // transactions of 100 puts
 *     lab.etcd!.stop(); await lab.etcd!.start();                              // same data dir
 *     const c = lab.addNode();               // joins later
 *     const p = lab.spawn(a, [cmd...]);      // a process inside node a (ip netns exec); killed by destroy()
 *     await p.stop();                        // SIGTERM, then SIGKILL after 3 s; p.log() is its output so far
 *     const pod = lab.pod(a);                // a pod namespace (a TestNetns) for plugins run in node a
 *     lab.removeNode(c);
 *     lab.dir;                               // a temp dir for state files, removed at the end
 *   });
 *
 * Nodes have lo up, IPv4 forwarding on, and eth0 (MTU 1500) in 10.250.0.0/24 (fd50::/64 too).
 * Traffic stays between the lab's namespaces; nothing of the host is touched.
 */
import { spawnSync, type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestNetns } from "./netns.ts";

const UNDERLAY4 = "10.250.0";
const UNDERLAY6 = "fd50::";
const ETCD_HOST = 2;

/** One node of the lab. */
export interface LabNode {
  /** "n1", "n2", ... in order of creation. */
  name: string;
  ns: TestNetns;
  /** The node's underlay IPv4 address. */
  ip: string;
  ip6: string;
  /** The node's underlay interface. */
  iface: string;
}

/** A process the lab started inside a namespace. */
export interface LabProcess {
  pid: number;
  /** Resolves with the exit code (or signal name) once it ended. */
  exited: Promise<number | string>;
  /** What it wrote on stdout and stderr so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Options of a lab. */
export interface LabOptions {
  nodes?: number;
  etcd?: boolean;
}

const liveProcs = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of liveProcs)
    if (p.pid)
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {}
});

function startProcess(ns: TestNetns, argv: string[], logFile: string, env?: Record<string, string>): LabProcess {
  const fd = openSync(logFile, "a");
  const child = spawn("ip", ["netns", "exec", ns.name, ...argv], { stdio: ["ignore", fd, fd], env: env ?? process.env });
  closeSync(fd);
  liveProcs.add(child);
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, sig) => {
      liveProcs.delete(child);
      resolve(code ?? sig ?? -1);
    }),
  );
  let done = false;
  exited.then(() => {
    done = true;
  });
  return {
    pid: child.pid!,
    exited,
    log: () => readFileSync(logFile, "utf8"),
    async stop(signal = "SIGTERM") {
      if (done) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** etcd in its own namespace of the lab. */
export class LabEtcd {
  readonly ns: TestNetns;
  readonly ip: string;
  readonly endpoint: string;
  private proc?: LabProcess;
  private readonly dataDir: string;
  private readonly logFile: string;

  constructor(ns: TestNetns, ip: string, dir: string) {
    this.ns = ns;
    this.ip = ip;
    this.endpoint = `http://${ip}:2379`;
    this.dataDir = join(dir, "etcd-data");
    this.logFile = join(dir, "etcd.log");
  }

  /** Starts etcd (again, on the same data) and waits until it answers. */
  async start(): Promise<void> {
    this.proc = startProcess(
      this.ns,
      [
        "etcd",
        "--name",
        "lab",
        "--data-dir",
        this.dataDir,
        "--listen-client-urls",
        this.endpoint,
        "--advertise-client-urls",
        this.endpoint,
        "--listen-peer-urls",
        "http://127.0.0.1:2380",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:2380",
        "--initial-cluster",
        "lab=http://127.0.0.1:2380",
      ],
      this.logFile,
    );
    const tries = process.env.CNI_TS_IN_VM === "1" ? 1000 : 100;
    for (let i = 0; i < tries; i++) {
      const r = this.ns.exec(["curl", "-s", "-m", "1", `${this.endpoint}/health`], { allowFail: true });
      if (r.includes('"health":"true"')) return;
      await Bun.sleep(100);
    }
    throw new Error(`etcd did not become healthy:\n${this.proc.log()}`);
  }

  /** Stops etcd (its data stays). */
  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  private call(path: string, body: unknown): any {
    const out = this.ns.exec(["curl", "-s", "-m", "5", "-X", "POST", `${this.endpoint}${path}`, "-d", JSON.stringify(body)]);
    return JSON.parse(out);
  }

  /** Writes a key (no lease). */
  put(key: string, value: string): void {
    this.call("/v3/kv/put", { key: b64(key), value: b64(value) });
  }

  /** Writes many keys, 100 to a transaction (etcd's default limit is 128 operations). */
  putMany(entries: [string, string][]): void {
    for (let i = 0; i < entries.length; i += 100) {
      const success = entries.slice(i, i + 100).map(([k, v]) => ({ request_put: { key: b64(k), value: b64(v) } }));
      this.call("/v3/kv/txn", { success });
    }
  }

  /** Keys under a prefix with their values. */
  get(prefix: string): Record<string, string> {
    const r = this.call("/v3/kv/range", { key: b64(prefix), range_end: b64(prefixEnd(prefix)) });
    const out: Record<string, string> = {};
    for (const kv of r.kvs ?? []) out[unb64(kv.key)] = unb64(kv.value ?? "");
    return out;
  }

  /** Deletes a key. */
  del(key: string): void {
    this.call("/v3/kv/deleterange", { key: b64(key) });
  }
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString();
function prefixEnd(p: string): string {
  const b = Buffer.from(p);
  b[b.length - 1]!++;
  return b.toString("latin1");
}

/** The lab; make it with Lab.create or withLab. */
export class Lab {
  readonly dir: string;
  readonly switchNs: TestNetns;
  readonly nodes: LabNode[] = [];
  etcd?: LabEtcd;
  private readonly procs: LabProcess[] = [];
  private readonly pods: TestNetns[] = [];
  private readonly extra: TestNetns[] = [];
  private count = 0;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "cni-ts-lab-"));
    this.switchNs = TestNetns.create("labsw");
    this.switchNs.exec(["ip", "link", "add", "lab0", "type", "bridge"]);
    this.switchNs.exec(["ip", "link", "set", "lab0", "up"]);
  }

  /** A lab with `nodes` nodes and, when asked, a running etcd. */
  static async create(opts: LabOptions = {}): Promise<Lab> {
    const lab = new Lab();
    try {
      if (opts.etcd) {
        const ns = TestNetns.create("labetcd");
        lab.extra.push(ns);
        lab.plug(ns, "etcd0", `${UNDERLAY4}.${ETCD_HOST}`, `${UNDERLAY6}${ETCD_HOST}`);
        lab.etcd = new LabEtcd(ns, `${UNDERLAY4}.${ETCD_HOST}`, lab.dir);
        await lab.etcd.start();
      }
      for (let i = 0; i < (opts.nodes ?? 2); i++) lab.addNode();
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  /** Connects `ns` to the switch with a veth whose switch end is `port`, addresses on eth0. */
  private plug(ns: TestNetns, port: string, ip: string, ip6: string): void {
    this.switchNs.exec(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name]);
    this.switchNs.exec(["ip", "link", "set", port, "master", "lab0", "up"]);
    ns.exec(["ip", "link", "set", "lo", "up"]);
    ns.exec(["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
    ns.exec(["ip", "addr", "add", `${ip6}/64`, "dev", "eth0", "nodad"]);
    ns.exec(["ip", "link", "set", "eth0", "up"]);
  }

  /** Adds a node (n1, n2, ... at 10.250.0.11, .12, ...). */
  addNode(): LabNode {
    this.count++;
    const name = `n${this.count}`;
    const ns = TestNetns.create(`lab${name}`);
    const host = 10 + this.count;
    const node: LabNode = { name, ns, ip: `${UNDERLAY4}.${host}`, ip6: `${UNDERLAY6}${host.toString(16)}`, iface: "eth0" };
    this.plug(ns, `p${name}`, node.ip, node.ip6);
    ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
    this.nodes.push(node);
    return node;
  }

  /** Removes a node and everything in it (its processes are stopped first). */
  async removeNode(node: LabNode): Promise<void> {
    this.nodes.splice(this.nodes.indexOf(node), 1);
    node.ns.destroy();
  }

  /** A pod namespace for plugins run in `node` (removed with the lab). */
  pod(_node: LabNode): TestNetns {
    const p = TestNetns.create("labpod");
    this.pods.push(p);
    return p;
  }

  /** Starts argv inside `node` (or any lab namespace); output goes to a log file in the lab dir. */
  spawn(node: LabNode | TestNetns, argv: string[], opts: { env?: Record<string, string>; logName?: string } = {}): LabProcess {
    const ns = "ns" in node ? node.ns : node;
    const p = startProcess(ns, argv, join(this.dir, `${opts.logName ?? ns.name}.log`), opts.env);
    this.procs.push(p);
    return p;
  }

  /** Stops every process, removes every namespace and the temp dir. */
  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop("SIGKILL").catch(() => {})));
    await this.etcd?.stop().catch(() => {});
    for (const n of [...this.nodes.map((x) => x.ns), ...this.pods, ...this.extra, this.switchNs]) n.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs fn with a new lab and always destroys it. */
export async function withLab<T>(opts: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(opts);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

/** Polls `probe` every 50 ms until it returns true (or a value), failing after `ms` with `what`. */
export async function waitFor<T>(what: string, probe: () => T | false | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    await Bun.sleep(50);
  }
}

/** True when `from` can ping `ip` once within 2 s. */
export function pings(from: TestNetns, ip: string): boolean {
  return spawnSync("ip", ["netns", "exec", from.name, "ping", "-c1", "-W2", ip]).status === 0;
}
