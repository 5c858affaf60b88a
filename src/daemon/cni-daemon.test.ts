/**
 * `cni-ts daemon` end to end: plugin processes (the compiled binary, linked under plugin
 * names) hand their commands to a daemon running in the test's node namespace, and get
 * the same results as without it; a stopped, killed or half-dead daemon never fails a
 * command (the plugin runs in-process), and a stale socket is replaced.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installedBinDir } from "../../test/helpers/dist.ts";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { runIn, type Call, type Outcome } from "../../test/helpers/plugin-run.ts";

let links: { dir: string; cleanup: () => void };
let shimDir: string;
let tmp: string;
/** The plugin links of the mode under test: to the binary, or to its shim (`install --daemon`). */
const bin = { dir: "" };
beforeAll(() => {
  links = installedBinDir({ direct: true });
  tmp = mkdtempSync(join(tmpdir(), "cni-ts-daemon-e2e-"));
  shimDir = join(tmp, "shim-bin");
  const r = Bun.spawnSync([realpathSync(join(links.dir, "bridge")), "install", "--daemon", "--bin-dir", shimDir]);
  if (r.exitCode !== 0) throw new Error(`install --daemon failed: ${r.stderr}`);
  symlinkSync(realpathSync(join(links.dir, "bridge")), join(tmp, "cni-ts-dist"));
});
afterAll(() => {
  links.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const socketPath = () => join(tmp, `s${++n}`, "daemon.sock");

/** A daemon started in `node`, its stderr in a log file; stop() ends it (idempotent). */
class Daemon {
  private constructor(
    readonly proc: ReturnType<typeof Bun.spawn>,
    readonly socket: string,
    readonly log: string,
  ) {}

  static async start(node: TestNetns, socket: string, args: string[] = []): Promise<Daemon> {
    const log = `${socket}.${++n}.log`;
    mkdirSync(join(socket, ".."), { recursive: true, mode: 0o700 });
    // The test waits in spawnSync while plugins run, so the daemon's output goes to a file, not a pipe.
    const proc = Bun.spawn(["ip", "netns", "exec", node.name, join(tmp, "cni-ts-dist"), "daemon", "--socket", socket, ...args], {
      stderr: Bun.file(log),
      stdout: "ignore",
    });
    const d = new Daemon(proc, socket, log);
    for (let i = 0; i < 500 && !d.lines().some((l) => l.includes("serving plugins on")); i++) {
      if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${d.lines().join("\n")}`);
      await Bun.sleep(20);
    }
    if (!d.lines().some((l) => l.includes("serving plugins on"))) throw new Error(`daemon did not start: ${d.lines().join("\n")}`);
    return d;
  }

  lines(): string[] {
    return existsSync(this.log) ? readFileSync(this.log, "utf8").split("\n").filter(Boolean) : [];
  }

  /** Lines of handled commands. */
  handled(): string[] {
    return this.lines().filter((l) => / exit \d+$/.test(l));
  }

  /** The handled lines once there are `count` (the log is written right after the answer goes out). */
  async handledWhen(count: number): Promise<string[]> {
    for (let i = 0; i < 250 && this.handled().length < count; i++) await Bun.sleep(20);
    return this.handled();
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.proc.exited;
  }
}

function conf(dataDir: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.0.0",
    name: "dnet",
    type: "bridge",
    bridge: "cnid0",
    isGateway: true,
    ...extra,
    ipam: { type: "host-local", dataDir, subnet: "10.46.0.0/24", routes: [{ dst: "0.0.0.0/0" }] },
  };
}

/** Runs plugin `type` (the compiled binary's link) in `node`, handing over to `socket` when given. */
function plugin(node: TestNetns, type: string, c: Call, socket?: string, extraEnv: string[] = []): Outcome {
  // Without a daemon: a socket path where nothing is (a node that does not run it).
  // A loaded machine may starve a live daemon past the default 1 s: only the test of a
  // silent daemon relies on the timeout, and sets its own.
  const env = [`CNI_TS_DAEMON_SOCKET=${socket ?? join(tmp, "none", "daemon.sock")}`, "CNI_TS_DAEMON_TIMEOUT_MS=30000", ...extraEnv];
  return runIn(node, [join(bin.dir, type)], { path: bin.dir, ...c, wrap: ["env", ...env] });
}

/** What differs between two pods by nature: MAC addresses and the namespace path. */
function normalized(o: Outcome): unknown {
  return JSON.parse(o.stdout.replace(/"mac": "[0-9a-f:]+"/g, `"mac": "M"`).replace(/"sandbox": "[^"]+"/g, `"sandbox": "S"`));
}

async function withNode(pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmp, "ipam-"));
  await withNetns(
    pods + 1,
    async (node, ...rest) => {
      node.exec(["ip", "link", "set", "lo", "up"]);
      await fn(node, rest, dataDir);
    },
    "dmn",
  );
}

for (const mode of ["links to the binary", "links to cni-ts-shim"] as const)
  describe(`cni-ts daemon, ${mode}`, () => {
    beforeAll(() => {
      bin.dir = mode === "links to the binary" ? links.dir : shimDir;
    });

    rootTest("VERSION and the about text without a daemon", () => {
      const v = Bun.spawnSync([join(bin.dir, "bridge")], { env: { CNI_COMMAND: "VERSION", CNI_TS_DAEMON_SOCKET: join(tmp, "none.sock") } });
      expect(JSON.parse(v.stdout.toString()).supportedVersions).toContain("1.1.0");
      const about = Bun.spawnSync([join(bin.dir, "host-local")], { env: { CNI_TS_DAEMON_SOCKET: join(tmp, "none.sock") } });
      expect(about.stderr.toString()).toContain("CNI protocol versions supported");
    });

    rootTest(
      "bridge + host-local ADD, CHECK, DEL: the same results with and without the daemon",
      async () => {
        // Two nodes with the same config: one without a daemon, one with.
        await withNode(1, async (plain, [podA], dirA) => {
          await withNode(1, async (warm, [podB], dirB) => {
            const d = await Daemon.start(warm, socketPath());
            try {
              const a = plugin(plain, "bridge", { command: "ADD", netns: podA!.path, containerID: "c1", conf: conf(dirA, { ipMasq: true }) });
              const b = plugin(warm, "bridge", { command: "ADD", netns: podB!.path, containerID: "c1", conf: conf(dirB, { ipMasq: true }) }, d.socket);
              expect(b.code).toBe(0);
              expect(b.stderr).toBe("");
              expect(a.code).toBe(0);
              expect(normalized(b)).toEqual(normalized(a));
              // The daemon ran it, in its namespace (the node's): the bridge and the masquerade rule are there.
              expect(await d.handledWhen(1)).toEqual([expect.stringContaining("ADD bridge container=c1 ifname=eth0: exit 0")]);
              expect(warm.ipJson("link", "show", "cnid0").length).toBe(1);
              expect(warm.exec(["iptables-save", "-t", "nat"])).toContain("CNI-");

              const withPrev = (dir: string, r: Outcome) => ({ ...conf(dir, { ipMasq: true }), prevResult: r.json });
              const ca = plugin(plain, "bridge", { command: "CHECK", netns: podA!.path, containerID: "c1", conf: withPrev(dirA, a) });
              const cb = plugin(warm, "bridge", { command: "CHECK", netns: podB!.path, containerID: "c1", conf: withPrev(dirB, b) }, d.socket);
              expect([cb.code, cb.stdout]).toEqual([ca.code, ca.stdout]);
              expect(ca.code).toBe(0);

              // A refused config: the same error object, code and exit status, byte for byte.
              const bad = { ...conf(dirB), ipam: { type: "host-local", dataDir: dirB, subnet: "10.46.0.0/33" } };
              const ea = plugin(plain, "bridge", {
                command: "ADD",
                netns: podA!.path,
                containerID: "c2",
                ifName: "eth1",
                conf: { ...bad, ipam: { ...bad.ipam, dataDir: dirA } },
              });
              const eb = plugin(warm, "bridge", { command: "ADD", netns: podB!.path, containerID: "c2", ifName: "eth1", conf: bad }, d.socket);
              expect(eb.code).toBe(1);
              expect([eb.code, eb.stdout]).toEqual([ea.code, ea.stdout]);
              expect(eb.json.code).toBeGreaterThan(0);

              // host-local started on its own (as a Go bridge would exec it): its config's type is
              // the bridge's, the daemon runs host-local because the process says which it is.
              const ha = plugin(plain, "host-local", { command: "ADD", netns: podA!.path, containerID: "c3", conf: conf(dirA) });
              const hb = plugin(warm, "host-local", { command: "ADD", netns: podB!.path, containerID: "c3", conf: conf(dirB) }, d.socket);
              expect(hb.code).toBe(0);
              expect(hb.stdout).toBe(ha.stdout);
              expect((await d.handledWhen(4)).at(-1)).toContain("ADD host-local container=c3");

              for (const [node, pod, dir, sock] of [
                [plain, podA!, dirA, undefined],
                [warm, podB!, dirB, d.socket],
              ] as const) {
                expect(plugin(node, "host-local", { command: "DEL", netns: pod.path, containerID: "c3", conf: conf(dir) }, sock).code).toBe(0);
                const del = plugin(node, "bridge", { command: "DEL", netns: pod.path, containerID: "c1", conf: conf(dir, { ipMasq: true }) }, sock);
                expect([del.code, del.stdout]).toEqual([0, ""]);
              }
              expect(warm.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-");
              expect(podB!.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
              expect((await d.handledWhen(6)).length).toBe(6);
            } finally {
              await d.stop();
            }
            expect(existsSync(d.socket)).toBe(false);
          });
        });
      },
      60_000,
    );

    rootTest(
      "a stopped daemon (no answer in time), a killed one (stale socket) and a restarted one",
      async () => {
        await withNode(3, async (node, [p1, p2, p3], dataDir) => {
          const sock = socketPath();
          const d = await Daemon.start(node, sock);
          try {
            d.proc.kill("SIGSTOP");
            const r1 = plugin(node, "bridge", { command: "ADD", netns: p1!.path, containerID: "c1", conf: conf(dataDir) }, sock, [
              "CNI_TS_DAEMON_TIMEOUT_MS=200",
            ]);
            expect(r1.code).toBe(0);
            expect(r1.json.ips[0].address).toBe("10.46.0.2/24");
            expect(r1.stderr).toContain("cni-ts daemon unreachable, running in-process");
            d.proc.kill("SIGCONT");
            await d.stop("SIGKILL");
            // The killed daemon's socket file stays behind: refused at once, run in-process.
            expect(existsSync(sock)).toBe(true);
            const r2 = plugin(node, "bridge", { command: "ADD", netns: p2!.path, containerID: "c2", conf: conf(dataDir) }, sock);
            expect(r2.code).toBe(0);
            expect(r2.json.ips[0].address).toBe("10.46.0.3/24");
            expect(r2.stderr).toContain("running in-process");
          } finally {
            await d.stop("SIGKILL");
          }
          // A new daemon takes the stale path over and serves again, also DELs of pods it never saw.
          const d2 = await Daemon.start(node, sock);
          try {
            const r3 = plugin(node, "bridge", { command: "ADD", netns: p3!.path, containerID: "c3", conf: conf(dataDir) }, sock);
            expect(r3.json.ips[0].address).toBe("10.46.0.4/24");
            for (const [i, p] of [p1!, p2!, p3!].entries()) {
              expect(plugin(node, "bridge", { command: "DEL", netns: p.path, containerID: `c${i + 1}`, conf: conf(dataDir) }, sock).code).toBe(0);
            }
            expect((await d2.handledWhen(4)).length).toBe(4);
          } finally {
            await d2.stop();
          }
        });
      },
      60_000,
    );

    rootTest(
      "a plugin in another node's namespace pointed at this daemon: refused, the work happens in the plugin's namespace",
      async () => {
        await withNode(0, async (nodeA) => {
          await withNode(1, async (nodeB, [pod], dataDir) => {
            const d = await Daemon.start(nodeA, socketPath());
            const forwardA = nodeA.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim();
            try {
              const c = conf(dataDir, { ipMasq: true });
              const add = plugin(nodeB, "bridge", { command: "ADD", netns: pod!.path, containerID: "c1", conf: c }, d.socket);
              expect(add.code).toBe(0);
              expect(add.json.ips[0].address).toBe("10.46.0.2/24");
              expect(add.stderr).toMatch(
                /^bridge: cni-ts daemon not used, running in-process: daemon refused the request \(421\): cni-ts daemon: refused ADD bridge container=c1 ifname=eth0: request from network namespace \d+:\d+, this daemon runs in \d+:\d+\n$/,
              );
              // The bridge, the forwarding and the masquerade rule are B's; A has none of them.
              expect(nodeB.ipJson("link", "show", "cnid0").length).toBe(1);
              expect(nodeB.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("1");
              expect(nodeB.exec(["iptables-save", "-t", "nat"])).toContain("CNI-");
              expect(nodeA.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
              expect(nodeA.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe(forwardA);
              expect(nodeA.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-");

              const del = plugin(nodeB, "bridge", { command: "DEL", netns: pod!.path, containerID: "c1", conf: c }, d.socket);
              expect([del.code, del.stdout]).toEqual([0, ""]);
              expect(nodeB.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-");
              // The daemon ran nothing and said why, once per command.
              const refused = d.lines().filter((l) => l.includes("cni-ts daemon: refused"));
              expect(refused).toEqual([expect.stringContaining("refused ADD bridge container=c1"), expect.stringContaining("refused DEL bridge container=c1")]);
              expect(d.handled()).toEqual([]);
            } finally {
              await d.stop();
            }
          });
        });
      },
      60_000,
    );

    rootTest(
      "a daemon that dies after taking the request: the plugin runs in-process",
      async () => {
        await withNode(1, async (node, [p1], dataDir) => {
          const sock = socketPath();
          mkdirSync(join(sock, ".."), { mode: 0o700 });
          // Acknowledges, then the connection drops before any answer (a daemon killed mid-way).
          // Its own process: this one waits in spawnSync while the plugin runs.
          const script = `Bun.listen({ unix: ${JSON.stringify(sock)}, socket: { data(s) { s.write("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n1\\r\\n \\r\\n"); s.end(); } } }); console.log("up");`;
          const fake = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
          await (fake.stdout as ReadableStream<Uint8Array>).getReader().read();
          const l = { stop: () => fake.kill("SIGKILL") };
          try {
            const r = plugin(node, "bridge", { command: "ADD", netns: p1!.path, containerID: "c1", conf: conf(dataDir) }, sock);
            expect(r.code).toBe(0);
            expect(r.json.ips[0].address).toBe("10.46.0.2/24");
            expect(r.stderr).toMatch(/closed the connection before answering|the connection closed before the answer/);
            expect(plugin(node, "bridge", { command: "DEL", netns: p1!.path, containerID: "c1", conf: conf(dataDir) }, sock).code).toBe(0);
          } finally {
            l.stop();
          }
        });
      },
      60_000,
    );
  });

/** Starts plugin `type` of the shim's links in `node` without waiting; resolves to its outcome. */
async function pluginAsync(node: TestNetns, type: string, c: Call, socket: string): Promise<Outcome> {
  const env = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: c.command,
    CNI_CONTAINERID: c.containerID ?? "ctr",
    CNI_NETNS: c.netns ?? "",
    CNI_IFNAME: c.ifName ?? "eth0",
    CNI_PATH: shimDir,
    CNI_TS_DAEMON_SOCKET: socket,
    CNI_TS_DAEMON_TIMEOUT_MS: "60000",
  };
  const p = Bun.spawn(["ip", "netns", "exec", node.name, join(shimDir, type)], {
    env,
    stdin: new TextEncoder().encode(JSON.stringify(c.conf)),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  let json: any;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

describe("cni-ts daemon, commands side by side", () => {
  for (const [how, workers, pods] of [
    ["on 3 worker threads", "3", 16],
    ["on its main thread (--workers 0)", "0", 6],
  ] as const)
    rootTest(
      `many pods ADDed at once through the daemon ${how} get distinct addresses, and DELeted at once leave nothing behind`,
      async () => {
        await withNode(pods, async (node, podNs, dataDir) => {
          const d = await Daemon.start(node, socketPath(), ["--workers", workers]);
          try {
            const c = conf(dataDir, { ipMasq: true });
            const adds = await Promise.all(
              podNs.map((p, i) => pluginAsync(node, "bridge", { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }, d.socket)),
            );
            for (const a of adds) expect([a.code, a.stderr]).toEqual([0, ""]);
            const addrs = adds.map((a) => a.json.ips[0].address);
            expect(new Set(addrs).size).toBe(pods);
            // Every one ran in the daemon (none fell back to its own process), each pod wired.
            expect((await d.handledWhen(pods)).filter((l) => l.includes("ADD bridge") && l.endsWith("exit 0")).length).toBe(pods);
            for (const [i, p] of podNs.entries()) expect(p.ipJson("-4", "addr", "show", "eth0")[0].addr_info[0].local).toBe(addrs[i].split("/")[0]);
            expect(node.ipJson("link", "show", "master", "cnid0").length).toBe(pods);
            expect(node.exec(["iptables-save", "-t", "nat"]).match(/-A POSTROUTING .* -j CNI-/g)?.length).toBe(pods);

            const dels = await Promise.all(
              podNs.map((p, i) => pluginAsync(node, "bridge", { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }, d.socket)),
            );
            for (const x of dels) expect([x.code, x.stdout, x.stderr]).toEqual([0, "", ""]);
            expect((await d.handledWhen(2 * pods)).length).toBe(2 * pods);
            expect(node.ipJson("link", "show", "master", "cnid0")).toEqual([]);
            expect(node.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-");
            expect(readdirSync(join(dataDir, "dnet")).filter((f) => /^\d/.test(f))).toEqual([]);
          } finally {
            await d.stop();
          }
        });
      },
      120_000,
    );

  rootTest("a bad --workers is refused before anything is served", () => {
    const r = Bun.spawnSync([join(tmp, "cni-ts-dist"), "daemon", "--socket", socketPath(), "--workers", "two"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toBe('cni-ts daemon: invalid --workers "two": expected a whole number\n');
  });
});
