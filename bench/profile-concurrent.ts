/**
 * Where the time of the `concurrent` case goes: N pods ADDed at once through N runtime
 * processes (`ip netns exec NODE libcni-client add`), then DELeted at once, for several
 * variants that peel the work apart:
 *
 *   ip-netns-exec     `ip netns exec NODE true`: the mount namespace and /sys remount of every run
 *   runtime+loopback  libcni-client with the Go loopback only: the runtime's own start and one exec
 *   Go bridge         Debian's Go bridge + host-local, ipMasq (and without, to see the iptables share)
 *   cni-ts            our binary, in-process
 *   cni-ts + daemon   cni-ts-shim + `cni-ts daemon`
 *
 * Each row: wall ms of the ADD burst and of the DEL burst, the CPU (user+system) of the
 * runtime processes and everything they waited for (plugins, iptables), and the daemon's
 * CPU with its children's. On 2 cores, CPU / 2 is the floor of the wall time.
 *
 *   bun bench/profile-concurrent.ts [--pods N] [--only name,name] [--workers N (the daemon's)]
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { libcniClient } from "../test/helpers/libcni-client.ts";
import { BenchNode, DIST, sh } from "./_node.ts";

const { values } = parseArgs({ options: { pods: { type: "string", default: "50" }, only: { type: "string" }, workers: { type: "string" } } });
const n = Number(values.pods);
const only = values.only ? new Set(values.only.split(",")) : undefined;
const client = libcniClient();
if (!client.path) throw new Error(`no Go libcni runtime: ${client.why}`);
const w = new BenchNode(n);
const GO = "/usr/lib/cni";
const shimBin = join(w.work, "shim-bin");
sh([DIST, "install", "--daemon", "--bin-dir", shimBin]);
const socket = join(w.work, "daemon", "daemon.sock");
mkdirSync(join(w.work, "daemon"), { mode: 0o700 });
const daemon = Bun.spawn(["ip", "netns", "exec", w.node, DIST, "daemon", "--socket", socket, ...(values.workers ? ["--workers", values.workers] : [])], {
  stderr: "ignore",
  stdout: "ignore",
});
process.on("exit", () => daemon.kill("SIGKILL"));
for (let i = 0; i < 500 && !existsSync(socket); i++) Bun.sleepSync(20);

/** CPU ms of a process: its own (utime+stime) and its waited-for children's (cutime+cstime). */
function cpuOf(pid: number): { own: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ms = (i: number, j: number) => ((Number(f[i]) + Number(f[j])) * 1000) / 100;
  return { own: ms(11, 12), children: ms(13, 14) };
}

let nets = 0;
function conf(kind: "loopback" | "bridge", ipMasq: boolean): string {
  nets++;
  const plugins =
    kind === "loopback"
      ? [{ type: "loopback" }]
      : [
          {
            type: "bridge",
            bridge: `cnipc${nets}`,
            isGateway: true,
            ipMasq,
            ipam: { type: "host-local", subnet: `10.${150 + nets}.0.0/16`, dataDir: join(w.work, `ipam-${nets}`) },
          },
        ];
  return w.confDir("benchnet", { cniVersion: "1.0.0", name: "benchnet", plugins });
}

async function burst(argvOf: (i: number) => string[], env: (i: number) => Record<string, string>) {
  const t0 = Bun.nanoseconds();
  const procs = Array.from({ length: n }, (_, i) => Bun.spawn(argvOf(i), { env: env(i), stdout: "pipe", stderr: "pipe" }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  const cpu = procs.reduce((s, p) => s + Number(p.resourceUsage()!.cpuTime.total) / 1000, 0);
  const failed = codes.filter((c) => c !== 0).length;
  const err = failed ? await new Response(procs[codes.findIndex((c) => c !== 0)]!.stderr).text() : "";
  return { ms, cpu, failed, err };
}

async function variant(name: string, path: string, dir: string, sockEnv: Record<string, string>) {
  if (only && !only.has(name)) return;
  const d0 = cpuOf(daemon.pid);
  const run = (verb: string) =>
    burst(
      (i) => ["ip", "netns", "exec", w.node, client.path!, verb, "benchnet", `/var/run/netns/${w.pods[i]}`, `pc-${nets}-${i}`],
      (i) => ({ ...w.env(dir, path, `pc-${nets}-${i}`), CNI_IFNAME: "eth0", ...sockEnv }),
    );
  const add = await run("add");
  const del = await run("del");
  const d1 = cpuOf(daemon.pid);
  const f = (x: number) => x.toFixed(0).padStart(6);
  console.log(
    `${name.padEnd(22)} ADD ${f(add.ms)} ms  DEL ${f(del.ms)} ms  total ${f(add.ms + del.ms)} ms | CPU runtimes ${f(add.cpu + del.cpu)} ms, daemon ${f(d1.own - d0.own)} + children ${f(d1.children - d0.children)} ms | failed ${add.failed}+${del.failed} ${add.err.slice(0, 200)}${del.err.slice(0, 200)}`,
  );
}

console.log(`${n} pods at once, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
const noDaemon = { CNI_TS_DAEMON_SOCKET: join(w.work, "none.sock") };
try {
  if (!only || only.has("ip-netns-exec")) {
    const t0 = Bun.nanoseconds();
    const b = await burst(
      () => ["ip", "netns", "exec", w.node, "true"],
      () => ({}),
    );
    console.log(`${"ip-netns-exec".padEnd(22)} ${((Bun.nanoseconds() - t0) / 1e6).toFixed(0).padStart(6)} ms (x2 for ADD+DEL) | CPU ${b.cpu.toFixed(0)} ms`);
  }
  await variant("runtime+loopback", GO, conf("loopback", false), {});
  await variant("Go bridge", GO, conf("bridge", false), {});
  await variant("Go bridge ipMasq", GO, conf("bridge", true), {});
  await variant("cni-ts bridge", w.ourBin, conf("bridge", false), noDaemon);
  await variant("cni-ts bridge ipMasq", w.ourBin, conf("bridge", true), noDaemon);
  await variant("daemon bridge", shimBin, conf("bridge", false), { CNI_TS_DAEMON_SOCKET: socket });
  await variant("daemon bridge ipMasq", shimBin, conf("bridge", true), { CNI_TS_DAEMON_SOCKET: socket });
} finally {
  daemon.kill("SIGTERM");
  w.close();
}
