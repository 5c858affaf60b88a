/**
 * What grows as a node fills, plugin by plugin: a pod's bridge ADD (ipMasq, host-local
 * in-process), portmap ADD, portmap DEL and bridge DEL, each a process as a runtime
 * starts it, on an empty node and on one holding --fill pods (each with ipMasq and a
 * port mapping), the two sampled interleaved so load that comes and goes counts on both.
 * Prints wall and CPU time (user+sys of the process, which holds the kernel's work in its
 * system calls) and the user part of it per step, medians, and what the full node adds
 * (growth in system time is the kernel's, in user time our own). Rerunnable.
 *
 * --backend nftables puts the masquerade and port map rules in the reference's nftables
 * tables instead of its default iptables layout.
 *
 * --daemon adds a second side, interleaved with the first: the same steps through the
 * shim to a `cni-ts daemon` in each node namespace, a process that is already warm. What
 * the full node adds there is what it adds to any implementation of the same rules and
 * links (the kernel's work, and the cost of the node's other pods), without the cold
 * start of a plugin process; set against the first side's growth, it tells the two apart.
 *
 *   bun bench/profile-fill.ts [--fill N] [--runs N] [--backend iptables|nftables] [--daemon]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, DIST, benchBridgeList, median, sh, startDaemon } from "./_node.ts";

const { values } = parseArgs({
  options: {
    fill: { type: "string", default: "1000" },
    runs: { type: "string", default: "15" },
    backend: { type: "string" },
    daemon: { type: "boolean", default: false },
  },
});
const FILL = Number(values.fill);
const RUNS = Number(values.runs);

const w = new BenchNode(FILL + 1);
const empty = `${w.node}-empty`;
const emptyProbe = `${w.node}-eprobe`;
process.on("exit", () => {
  for (const n of [emptyProbe, empty]) spawnSync("ip", ["netns", "del", n]);
});
for (const n of [empty, emptyProbe]) sh(["ip", "netns", "add", n]);
for (const n of [w.node, empty]) sh(["ip", "-n", n, "link", "set", "lo", "up"]);
const noSocket = join(w.work, "none.sock");
const backend = values.backend as "iptables" | "nftables" | undefined;
if (backend !== undefined && backend !== "iptables" && backend !== "nftables") throw new Error("--backend: iptables or nftables");
const list = (ipamDir: string) => benchBridgeList(ipamDir, { ipMasq: true, portmap: true, backend }) as { plugins: object[] };
const NODES = {
  empty: { node: empty, probe: emptyProbe, list: list(join(w.work, "ipam-empty")) },
  [`${FILL} pods`]: { node: w.node, probe: w.pods[FILL]!, list: list(join(w.work, "ipam-full")) },
};

// Fill through `cni-ts add` (the whole list in one process), 8 at a time, each pod with its own host port.
const fillConf = w.confDir("benchnet", NODES[`${FILL} pods`]!.list);
for (let i = 0; i < FILL; i += 8) {
  const batch = w.pods.slice(i, Math.min(i + 8, FILL));
  await Promise.all(
    batch.map(async (p, k) => {
      const proc = Bun.spawn(["nsenter", `--net=/var/run/netns/${w.node}`, DIST, "add", "benchnet", `/var/run/netns/${p}`], {
        env: {
          ...w.env(fillConf, w.ourBin, `fill-${i + k}`),
          CNI_IFNAME: "eth0",
          CNI_TS_DAEMON_SOCKET: noSocket,
          CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: 20000 + i + k, containerPort: 80, protocol: "tcp" }] }),
        },
        stdout: "ignore",
        stderr: "pipe",
      });
      if ((await proc.exited) !== 0) throw new Error(`fill ADD failed: ${await new Response(proc.stderr).text()}`);
    }),
  );
}

const STEPS = ["bridge ADD", "portmap ADD", "portmap DEL", "bridge DEL"] as const;

/** How a step's process is started: our plugin links (no daemon), or the shim handing over to the node's daemon. */
interface Side {
  bin: string;
  socket: (node: string) => string;
  /** The pid of the process doing the work when it is not the one started (the node's daemon). */
  worker?: (node: string) => number;
}
const SIDES: Record<string, Side> = { "plugin processes": { bin: w.ourBin, socket: () => noSocket } };
if (values.daemon) {
  const shimBin = join(w.work, "shim-bin");
  sh([DIST, "install", "--daemon", "--bin-dir", shimBin]);
  const sockets: Record<string, string> = {};
  const pids: Record<string, number> = {};
  for (const { node } of Object.values(NODES)) [sockets[node], pids[node]] = startNodeDaemon(node);
  SIDES["through the daemon"] = { bin: shimBin, socket: (node) => sockets[node]!, worker: (node) => pids[node]! };
}

/** A daemon in `node`'s namespace (a daemon refuses plugin processes of another); its socket and pid. */
function startNodeDaemon(node: string): [string, number] {
  const dir = join(w.work, `daemon-${node}`);
  const sock = join(dir, "daemon.sock");
  return [sock, startDaemon(["nsenter", `--net=/var/run/netns/${node}`], sock, join(w.work, `daemon-${node}.log`)).pid];
}

/** A process's user and system time so far, all its threads' (dead ones' too), in ms: /proc/PID/stat, in clock ticks of 10 ms. */
function processTimes(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return [Number(f[11]) * 10, Number(f[12]) * 10];
}

const wall: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
const user: Record<string, number[]> = {};
/** Per step, the daemon's own user and system time (ms), where a daemon does the work. */
const workerUser: Record<string, number[]> = {};
const workerSys: Record<string, number[]> = {};

/** One plugin process in `node`; its stdout. */
function plugin(side: string, where: (typeof NODES)[string], step: (typeof STEPS)[number], id: string, conf: object): string {
  const [type, command] = step.split(" ") as [string, string];
  const { bin, socket, worker } = SIDES[side]!;
  const before = worker && processTimes(worker(where.node));
  const env = {
    PATH: process.env.PATH!,
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: `/var/run/netns/${where.probe}`,
    CNI_IFNAME: "eth0",
    CNI_PATH: bin,
    CNI_TS_DAEMON_SOCKET: socket(where.node),
  };
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(["nsenter", `--net=/var/run/netns/${where.node}`, join(bin, type)], {
    env,
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
    stdout: "pipe",
    stderr: "pipe",
  });
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  if (!r.success) throw new Error(`${step} (${side}) failed: ${r.stdout}${r.stderr}`);
  const key = `${side}|${where.node}|${step}`;
  (wall[key] ??= []).push(ms);
  (cpu[key] ??= []).push(Number(r.resourceUsage!.cpuTime.total) / 1000);
  (user[key] ??= []).push(Number(r.resourceUsage!.cpuTime.user) / 1000);
  if (worker && before) {
    const after = processTimes(worker(where.node));
    (workerUser[key] ??= []).push(after[0] - before[0]);
    (workerSys[key] ??= []).push(after[1] - before[1]);
  }
  return r.stdout.toString();
}

const caps = { portMappings: [{ hostPort: 18081, containerPort: 80, protocol: "tcp" }] };
for (let i = 0; i < RUNS + 1; i++) {
  for (const where of Object.values(NODES)) {
    for (const side of Object.keys(SIDES)) {
      const id = `probe-${i}-${side.replace(/\W+/g, "")}`;
      const head = { cniVersion: "1.0.0", name: "benchnet" };
      const bridge = { ...head, ...where.list.plugins[0]! };
      const prev = JSON.parse(plugin(side, where, "bridge ADD", id, bridge));
      const portmap = { ...head, ...where.list.plugins[1]!, runtimeConfig: caps, prevResult: prev };
      plugin(side, where, "portmap ADD", id, portmap);
      plugin(side, where, "portmap DEL", id, portmap);
      plugin(side, where, "bridge DEL", id, { ...bridge, prevResult: prev });
    }
  }
  // The first round warms caches: not counted.
  if (i === 0) for (const m of [wall, cpu, user, workerUser, workerSys]) for (const k of Object.keys(m)) m[k] = [];
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const [e, f] = Object.values(NODES).map((n) => n.node) as [string, string];
for (const side of Object.keys(SIDES)) {
  // CPU and user time are the process's own: through the daemon, the shim's (the daemon's work is not in them).
  console.log(
    `\nA pod's ${side} on an empty node and on one with ${FILL} pods, ${backend ?? "iptables"} rules (medians of ${RUNS}, interleaved; load ${load})`,
  );
  console.log(
    `  ${"step".padEnd(12)} ${Object.keys(NODES)
      .map((n) => `${n}: wall / CPU / user ms`.padEnd(36))
      .join("")}growth (wall / CPU / user)`,
  );
  const total = (m: Record<string, number[]>, node: string) => STEPS.reduce((s, st) => s + median(m[`${side}|${node}|${st}`]!), 0);
  for (const st of [...STEPS, "total"] as const) {
    const at = (m: Record<string, number[]>, node: string) => (st === "total" ? total(m, node) : median(m[`${side}|${node}|${st}`]!));
    const cells = Object.values(NODES).map((n) => `${at(wall, n.node).toFixed(1)} / ${at(cpu, n.node).toFixed(1)} / ${at(user, n.node).toFixed(1)}`.padEnd(36));
    const grow = (m: Record<string, number[]>) => `+${(at(m, f) - at(m, e)).toFixed(1)}`;
    console.log(`  ${st.padEnd(12)} ${cells.join("")}${grow(wall)} / ${grow(cpu)} / ${grow(user)}`);
  }
  console.log(`  full / empty: ${(total(wall, f) / total(wall, e)).toFixed(2)}x wall, ${(total(cpu, f) / total(cpu, e)).toFixed(2)}x CPU`);
  if (SIDES[side]!.worker) {
    // Ticks of 10 ms: a pod's mean over the rounds, not a median of steps.
    const perPod = (m: Record<string, number[]>, node: string) => STEPS.reduce((s, st) => s + mean(m[`${side}|${node}|${st}`]!), 0).toFixed(1);
    console.log(
      `  the daemon's own time per pod (user / system ms, mean of ${RUNS}): empty ${perPod(workerUser, e)} / ${perPod(workerSys, e)}, full ${perPod(workerUser, f)} / ${perPod(workerSys, f)}`,
    );
  }
}
