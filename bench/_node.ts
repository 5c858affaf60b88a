/** Shared set-up of the network benchmarks: a node namespace, pods, a conf dir and plugin dirs, all removed at the end. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { noopTuningConf as noopConf } from "../test/helpers/tuning-kit.ts";

export const DIST = resolve(import.meta.dir, "../dist/cni-ts");

/** `bun build` arguments of a compiled binary as package.json's build makes ours (the binary reads no bunfig.toml or .env where it runs). */
export const COMPILE = ["build", "--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--bytecode"];

/** Bun's floor: a compiled "hello world" at `out`, built as our binary is (its source written beside it). */
export function buildFloor(bun: string, out: string): string {
  writeFileSync(`${out}.ts`, `console.log("hello");\n`);
  sh([bun, ...COMPILE, "--minify", "--format=esm", `${out}.ts`, "--outfile", out]);
  return out;
}

export function sh(cmd: string[], input?: string, env?: Record<string, string>): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { input, env: env ?? process.env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * `cni-ts daemon` on `sock` (its directory made, mode 0700), started with `prefix` (e.g.
 * `nsenter --net=NODE`, which execs it: the pid is the daemon's), its stderr in `log`;
 * killed at exit, and not what keeps the bench running.
 */
export function startDaemon(prefix: string[], sock: string, log: string): Subprocess {
  mkdirSync(dirname(sock), { mode: 0o700 });
  const d = Bun.spawn([...prefix, DIST, "daemon", "--socket", sock], { stderr: Bun.file(log), stdout: "ignore" });
  d.unref();
  process.on("exit", () => d.kill("SIGKILL"));
  for (let i = 0; i < 500 && !existsSync(sock); i++) Bun.sleepSync(20);
  if (!existsSync(sock)) throw new Error(`cni-ts daemon did not start: ${readFileSync(log, "utf8")}`);
  return d;
}

/** A bench world: node + pods, our plugin links, a work dir; `close()` removes everything. */
export class BenchNode {
  readonly tag = `b${process.pid.toString(36)}`;
  readonly node = `cnitsbench-${this.tag}`;
  readonly pods: string[] = [];
  readonly work = mkdtempSync(join(tmpdir(), "cni-ts-bench-"));
  readonly ourBin = join(this.work, "bin");

  private closed = false;

  constructor(pods: number) {
    if (process.getuid?.() !== 0) throw new Error("benchmarks need root (they create network namespaces)");
    // Removed also when the bench is interrupted or killed by a timeout.
    process.on("exit", () => this.close());
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));
    sh(["ip", "netns", "add", this.node]);
    sh(["ip", "-n", this.node, "link", "set", "lo", "up"]);
    for (let i = 0; i < pods; i++) {
      const p = `cnitsbench-${this.tag}-${i}`;
      sh(["ip", "netns", "add", p]);
      this.pods.push(p);
    }
    sh([DIST, "install", "--bin-dir", this.ourBin]);
  }

  /** Writes a conf dir holding one list; returns its path. */
  confDir(name: string, list: object): string {
    const dir = mkdtempSync(join(this.work, "net.d-"));
    writeFileSync(join(dir, `10-${name}.conflist`), JSON.stringify(list));
    return dir;
  }

  /** The environment of a `cni-ts add|del` run as the runtime. */
  env(confDir: string, cniPath: string, containerID: string): Record<string, string> {
    return { PATH: process.env.PATH!, NETCONFPATH: confDir, CNI_PATH: cniPath, CNI_CACHE_DIR: join(this.work, "cache"), CNI_CONTAINERID: containerID };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pods) spawnSync("ip", ["netns", "del", p]);
    spawnSync("ip", ["netns", "del", this.node]);
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** The pod network of the standalone benchmarks: bridge (gateway, "cnibench0", a /16) + host-local, and portmap when asked. */
export function benchBridgeList(ipamDir: string, opts: { ipMasq: boolean; portmap?: boolean; backend?: "iptables" | "nftables" }): object {
  // The backend of the masquerade and port map rules; the reference's default (iptables) unless asked.
  const bridgeBackend = opts.backend ? { ipMasqBackend: opts.backend } : {};
  const portmapBackend = opts.backend ? { backend: opts.backend } : {};
  return {
    cniVersion: "1.0.0",
    name: "benchnet",
    plugins: [
      {
        type: "bridge",
        bridge: "cnibench0",
        isGateway: true,
        ipMasq: opts.ipMasq,
        ...bridgeBackend,
        ipam: { type: "host-local", subnet: "10.123.0.0/16", dataDir: ipamDir },
      },
      ...(opts.portmap ? [{ type: "portmap", capabilities: { portMappings: true }, snat: true, ...portmapBackend }] : []),
    ],
  };
}

/** Our side and the Go reference's, each with its own conf dir (and so its own host-local store) for `list`. */
export function benchSides<T extends object>(w: BenchNode, list: (ipamDir: string) => object, extra: () => T) {
  return {
    "cni-ts": { conf: w.confDir("benchnet", list(join(w.work, "ipam-ours"))), path: w.ourBin, ...extra() },
    "Go reference": { conf: w.confDir("benchnet", list(join(w.work, "ipam-go"))), path: "/usr/lib/cni", ...extra() },
  };
}

/** The no-op plugin command of the start-up cases (the tests' own, as stdin): tuning with nothing to tune, its backups under `dataDir`. */
export function noopTuningConf(dataDir: string): string {
  return JSON.stringify(noopConf(dataDir));
}

/** Median of a list of numbers. */
export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
