/**
 * podman (Debian 12's 4.3, CNI network backend) in a sandbox of its own, for the podman
 * suite and for benchmarks. Nothing global is read or changed:
 *
 * - podman's configuration comes from a temp dir through CONTAINERS_CONF and
 *   CONTAINERS_STORAGE_CONF: storage root, run root, tmp dir, file locks and events log
 *   there; network config dir there; `cni_plugin_dirs` = the plugin dir under test;
 *   runc with the cgroupfs manager (crun refuses this host's cgroup v1 hybrid mode, runc
 *   refuses `--cgroups=disabled`); low `default_ulimits` (root here cannot raise
 *   RLIMIT_NOFILE/NPROC to podman's defaults); `events_logger = "file"`.
 * - No image: containers run with `--rootfs` on a root filesystem made from Debian's
 *   busybox-static (one static binary and its applet links).
 * - podman runs inside a node network namespace and a private mount namespace, held by
 *   one `sleep` process: /var/lib and /run there are bind mounts of temp dirs. So the
 *   bridges, veths and iptables/nftables rules the plugins make live in the node
 *   namespace, and every state file a plugin or podman writes under /var/lib/cni or /run
 *   (host-local reservations, libcni's result cache, the firewall plugin's records, the
 *   containers' namespace files, runc's state) lands in the temp dir, where a test reads
 *   it. The host's own tables, /var/lib/cni and /etc/cni/net.d are never touched (the
 *   latter is hidden behind an empty dir there too).
 * - An "ext" namespace beside the node (198.18.0.2/24, fd00:198::2/64 on a veth whose
 *   node end has .1 / ::1) stands for another host: it has no route to the container
 *   subnets, so a container reaches it only masqueraded.
 *
 * API:
 *   podmanSkipReason(): string | undefined        why podman cannot run here (probes once)
 *   await PodmanEnv.create({ pluginDir, label? })  a sandbox whose podman uses pluginDir
 *   env.podman(args, { allowFail? })               podman ARGS in the sandbox (async, parallel-safe): { code, stdout, stderr }
 *   env.podmanCommand(args, wrap?)                 { argv, env } of that call, `wrap` (["/usr/bin/time", "-f", "%e %U %S"]) before podman
 *   env.inNode(cmd, { allowFail? })                a command in the node (its netns and mount ns), sync, stdout
 *   env.inNodeAsync(cmd) / env.inExtAsync(cmd)     the same, async, for checks run in parallel
 *   env.ext                                        the ext namespace (TestNetns)
 *   env.rootfs, env.dir, env.stateDir              busybox rootfs; temp dir; the sandbox's /var/lib/cni
 *   env.snapshot()                                 links, addresses, routes, iptables and nftables of the node, files under /var/lib/cni, namespace files
 *   await env.destroy()                            removes containers, networks, processes, namespaces, temp dir (also run at exit)
 * Constants: NODE_IP / NODE_IP6 (the node's address towards ext), EXT_IP / EXT_IP6.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { isRoot, TestNetns } from "../helpers/netns.ts";

export const NODE_IP = "198.18.0.1";
export const EXT_IP = "198.18.0.2";
export const NODE_IP6 = "fd00:198::1";
export const EXT_IP6 = "fd00:198::2";

const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "httpd", "wget", "ping", "ping6", "ip", "sleep", "cat", "hostname", "true", "nc", "ls"];
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What a command printed and returned. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The node's state that a test compares before and after: everything a plugin could leave behind. */
export interface NodeSnapshot {
  /** "name kind" of every link. */
  links: string[];
  /** "link address/prefix" of every global address. */
  addrs: string[];
  /** Routes of every table, as `ip route` prints them. */
  routes: string[];
  /** iptables-save and ip6tables-save of every table, each line after "4 " or "6 ", counters and comments dropped. */
  iptables: string[];
  /** `nft list ruleset` lines. */
  nft: string[];
  /** Paths of the files and dirs under the sandbox's /var/lib/cni, relative to it (dirs end in "/"). */
  state: string[];
  /** Paths under the sandbox's /run (where the tuning plugin, runc and podman's namespaces keep state), as `state`. */
  run: string[];
  /** Network namespace files podman made in the sandbox's /run/netns. */
  netns: string[];
}

function syncRun(cmd: string[], opts: { env?: Record<string, string>; input?: string; timeout?: number } = {}): Run {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { env: opts.env ?? { PATH }, input: opts.input, encoding: "utf8", timeout: opts.timeout ?? 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}

function asyncRun(cmd: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function failed(what: string, r: Run): Error {
  return new Error(`${what} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
}

/** A root filesystem of busybox-static and its applet links, with /etc for podman's bind mounts. */
export function makeRootfs(dir: string): string {
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "run", "www"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, "bin/busybox"));
  for (const a of APPLETS) symlinkSync("busybox", join(dir, "bin", a));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\n");
  return dir;
}

function containersConf(dir: string, pluginDir: string): string {
  return `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
# podman's defaults plus NET_RAW, so busybox ping works in the containers.
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT", "NET_RAW"]

[network]
network_backend = "cni"
network_config_dir = "${join(dir, "net.d")}"
cni_plugin_dirs = ["${pluginDir}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "${join(dir, "tmp")}"
`;
}

function storageConf(dir: string): string {
  return `[storage]
driver = "vfs"
graphroot = "${join(dir, "storage")}"
runroot = "${join(dir, "storage-run")}"
`;
}

const live = new Set<PodmanEnv>();
process.on("exit", () => {
  for (const e of live) e.destroySync();
});

/** A podman sandbox: see the top of this file. */
export class PodmanEnv {
  readonly dir: string;
  readonly rootfs: string;
  readonly pluginDir: string;
  readonly node: TestNetns;
  readonly ext: TestNetns;
  /** The sandbox's /var/lib/cni. */
  readonly stateDir: string;
  /** The sandbox's /run. */
  readonly runDir: string;
  private holder = 0;
  private readonly env: Record<string, string>;

  private constructor(opts: { pluginDir: string; label: string }) {
    this.pluginDir = opts.pluginDir;
    this.dir = mkdtempSync(join(tmpdir(), `cni-ts-podman-${opts.label}-`));
    for (const d of ["net.d", "tmp", "storage", "storage-run", "varlib/cni", "run"]) mkdirSync(join(this.dir, d), { recursive: true });
    this.stateDir = join(this.dir, "varlib/cni");
    this.runDir = join(this.dir, "run");
    this.rootfs = makeRootfs(join(this.dir, "rootfs"));
    writeFileSync(join(this.dir, "containers.conf"), containersConf(this.dir, opts.pluginDir));
    writeFileSync(join(this.dir, "storage.conf"), storageConf(this.dir));
    this.env = { PATH, HOME: this.dir, CONTAINERS_CONF: join(this.dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(this.dir, "storage.conf") };
    this.node = TestNetns.create("pmnode");
    this.ext = TestNetns.create("pmext");
  }

  /** Makes the sandbox; `pluginDir` is what podman's cni_plugin_dirs names. */
  static async create(opts: { pluginDir: string; label?: string }): Promise<PodmanEnv> {
    const e = new PodmanEnv({ pluginDir: opts.pluginDir, label: opts.label ?? "env" });
    live.add(e);
    try {
      e.wireNodes();
      await e.startHolder();
    } catch (err) {
      e.destroySync();
      throw err;
    }
    return e;
  }

  private wireNodes(): void {
    const up = `pmup${this.node.name.slice(-6)}`.slice(0, 15);
    this.node.exec(["ip", "link", "set", "lo", "up"]);
    this.ext.exec(["ip", "link", "set", "lo", "up"]);
    this.node.exec(["ip", "link", "add", "ext0", "type", "veth", "peer", "name", up, "netns", this.ext.name]);
    this.ext.exec(["ip", "link", "set", up, "name", "up0"]);
    this.node.exec(["ip", "addr", "add", `${NODE_IP}/24`, "dev", "ext0"]);
    this.node.exec(["ip", "addr", "add", `${NODE_IP6}/64`, "dev", "ext0", "nodad"]);
    this.ext.exec(["ip", "addr", "add", `${EXT_IP}/24`, "dev", "up0"]);
    this.ext.exec(["ip", "addr", "add", `${EXT_IP6}/64`, "dev", "up0", "nodad"]);
    this.node.exec(["ip", "link", "set", "ext0", "up"]);
    this.ext.exec(["ip", "link", "set", "up0", "up"]);
  }

  /** The process that holds the node netns + private mount namespace every podman call enters. */
  private async startHolder(): Promise<void> {
    // runc keeps its state in /run/runc; the sandbox's /run is a temp dir, so make it there.
    mkdirSync(join(this.runDir, "runc"), { recursive: true });
    // The machine's /etc/cni/net.d (Debian's podman puts 87-podman-bridge.conflist there)
    // is hidden too, so nothing can read it even if a setting were ignored.
    mkdirSync(join(this.dir, "etc-net.d"));
    const script =
      `mount --bind ${join(this.dir, "varlib")} /var/lib && mount --bind ${this.runDir} /run && ` +
      `{ [ ! -d /etc/cni/net.d ] || mount --bind ${join(this.dir, "etc-net.d")} /etc/cni/net.d; } && exec sleep 86400`;
    const p = spawn("nsenter", [`--net=${this.node.path}`, "unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
      env: { PATH },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.unref();
    this.holder = p.pid ?? 0;
    // Ready once the shell has exec'd sleep (after its mounts).
    for (let i = 0; i < 200; i++) {
      if (p.exitCode !== null) throw new Error(`podman sandbox: the holder exited (${p.exitCode}): ${err}`);
      if (this.holderReady()) return;
      await Bun.sleep(10);
    }
    throw new Error(`podman sandbox: the holder did not start: ${err}`);
  }

  private holderReady(): boolean {
    try {
      // nsenter and unshare exec in place, so the pid is the sleep's once the mounts are done.
      return readFileSync(`/proc/${this.holder}/comm`, "utf8").trim() === "sleep";
    } catch {
      return false;
    }
  }

  private nsenter(cmd: string[]): string[] {
    return ["nsenter", "-t", String(this.holder), "-m", "-n", "--", ...cmd];
  }

  /** The command line and environment of `podman ARGS` in the sandbox, for a bench that wraps it (GNU time, perf). */
  podmanCommand(args: string[], wrap: string[] = []): { argv: string[]; env: Record<string, string> } {
    return { argv: this.nsenter([...wrap, "podman", ...args]), env: { ...this.env } };
  }

  /** `podman ARGS` in the sandbox. Throws on a non-zero exit unless allowFail. */
  async podman(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<Run> {
    const r = await asyncRun(this.nsenter(["podman", ...args]), this.env, opts.timeoutMs);
    if (r.code !== 0 && !opts.allowFail) throw failed(`podman ${args.join(" ")}`, r);
    return r;
  }

  /** A command in the node (its netns and the sandbox's mounts); stdout. Throws on failure unless allowFail. */
  inNode(cmd: string[], opts: { allowFail?: boolean } = {}): string {
    const r = syncRun(this.nsenter(cmd));
    if (r.code !== 0 && !opts.allowFail) throw failed(cmd.join(" "), r);
    return r.stdout;
  }

  /** A command in the node, async. */
  inNodeAsync(cmd: string[], timeoutMs?: number): Promise<Run> {
    return asyncRun(this.nsenter(cmd), { PATH }, timeoutMs);
  }

  /** A command in the ext namespace, async. */
  inExtAsync(cmd: string[], timeoutMs?: number): Promise<Run> {
    return asyncRun(["ip", "netns", "exec", this.ext.name, ...cmd], { PATH }, timeoutMs);
  }

  /** The node's links, addresses, routes, rules, state files and namespace files. */
  snapshot(): NodeSnapshot {
    const json = (args: string[]) => JSON.parse(this.inNode(["ip", "-j", ...args]) || "[]") as any[];
    const links = json(["-d", "link", "show"])
      .map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ""}`.trim())
      .sort();
    const addrs = json(["addr", "show"])
      .flatMap((l) => (l.addr_info ?? []).filter((a: any) => a.scope !== "link").map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen}`))
      .sort();
    const routes = ["-4", "-6"]
      .flatMap((f) => this.inNode(["ip", f, "route", "show", "table", "all"]).split("\n"))
      .filter((l) => l && !/^(local|broadcast|multicast|anycast) /.test(l) && !/^fe80::|^ff00::/.test(l) && !l.includes(" table local "))
      // A route's "linkdown" follows its device's carrier through the kernel's linkwatch work,
      // which runs up to a second after the last port leaves a bridge: a snapshot right after a
      // teardown may or may not have it yet, so it is not compared.
      .map((l) => l.replace(/ linkdown /, " "))
      .sort();
    const iptables = (["4", "6"] as const).flatMap((f) =>
      this.inNode([f === "4" ? "iptables-save" : "ip6tables-save"])
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => `${f} ${l.replace(/ \[\d+:\d+\]$/, "")}`),
    );
    const nft = this.inNode(["nft", "list", "ruleset"])
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    return {
      links,
      addrs,
      routes,
      iptables,
      nft,
      state: listTree(this.stateDir),
      run: listTree(this.runDir),
      netns: listDir(join(this.runDir, "netns")).filter((n) => n.startsWith("netns-")),
    };
  }

  /** Removes containers, networks, the holder, the namespaces and the temp dir. */
  async destroy(): Promise<void> {
    if (!live.has(this)) return;
    if (this.holder && this.holderReady()) {
      await this.podman(["rm", "--all", "--force", "--time", "0"], { allowFail: true });
      await this.podman(["network", "prune", "--force"], { allowFail: true });
    }
    this.destroySync();
  }

  /** The synchronous tail of destroy (also what runs at process exit). */
  destroySync(): void {
    if (!live.has(this)) return;
    live.delete(this);
    if (this.holder && this.holderReady()) {
      syncRun(this.nsenter(["podman", "rm", "--all", "--force", "--time", "0"]), { env: this.env });
      for (const pid of this.conmons()) killPid(pid);
      killPid(this.holder);
    }
    this.node.destroy();
    this.ext.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Pids of the conmon processes of this sandbox's containers (their pid files are in its run root). */
  private conmons(): number[] {
    const root = join(this.dir, "storage-run/vfs-containers");
    const pids: number[] = [];
    for (const id of listDir(root)) {
      try {
        pids.push(Number(readFileSync(join(root, id, "userdata/conmon.pid"), "utf8").trim()));
      } catch {
        // no conmon for this one
      }
    }
    return pids.filter((p) => p > 0);
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of listDir(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        out.push(`${relative(root, p)}/`);
        walk(p);
      } else out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

let skipReason: string | undefined | null = null;

/** Why podman cannot run containers here (not root, a missing package, a failing probe container), or undefined when it can. */
export function podmanSkipReason(): string | undefined {
  if (skipReason !== null) return skipReason;
  skipReason = probe();
  return skipReason;
}

function probe(): string | undefined {
  if (!isRoot) return "needs root (podman with the CNI backend runs as root here)";
  for (const [bin, pkg] of [
    ["podman", "podman"],
    ["runc", "runc"],
    ["nsenter", "util-linux"],
    ["unshare", "util-linux"],
    ["iptables-save", "iptables"],
  ]) {
    if (syncRun(["sh", "-c", `command -v ${bin}`]).code !== 0) return `${bin} is not installed (Debian package ${pkg}; scripts/setup.sh installs it)`;
  }
  if (!existsSync(BUSYBOX) || syncRun(["sh", "-c", `ldd ${BUSYBOX} 2>&1 | grep -q 'not a dynamic'`]).code !== 0) {
    return `${BUSYBOX} is missing or not static (Debian package busybox-static; scripts/setup.sh installs it)`;
  }
  const v = syncRun(["podman", "--version"]).stdout.match(/(\d+)\.(\d+)/);
  if (!v || Number(v[1]) !== 4) return `podman ${v?.[0] ?? "?"} is not 4.x: the CNI network backend was removed in podman 5`;
  // A throwaway sandbox running one container, so what this host refuses shows as the reason.
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-podman-probe-"));
  try {
    const rootfs = makeRootfs(join(dir, "rootfs"));
    for (const d of ["net.d", "tmp", "storage", "storage-run"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "containers.conf"), containersConf(dir, "/usr/lib/cni"));
    writeFileSync(join(dir, "storage.conf"), storageConf(dir));
    const env = { PATH, HOME: dir, CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
    const r = syncRun(["podman", "run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/true"], { env });
    if (r.code !== 0) return `podman cannot run a container here: ${r.stderr.trim().split("\n").pop()}`;
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
