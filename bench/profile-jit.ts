/**
 * What the shim's JIT-off run (BUN_JSC_useJIT=0 for a plugin command) costs where a plugin
 * has real work, against the JIT on and middle settings: each case a process through the
 * plugin links (`cni-ts install`: cni-ts-shim, no daemon), the variants interleaved run by
 * run, CPU (user+sys from wait4, the process and what it waited for) and wall medians,
 * with the load average.
 *
 * Cases (--only; without it the ones of the README's numbers): noop (tuning ADD), bridge (ADD+DEL, ipMasq), host-local@N (ADD+DEL with
 * N = 0, 30000, 60000 reservations in a /16), host-local-reindex@N (the same with one
 * reservation written behind the owner index's back before each sample, as the Go plugin
 * sharing the store does), rangesN (host-local with N = 100 to 10000 ranges in one set),
 * portmapN (N = 10 to 1000 mappings), multus (no Kubernetes, delegates bridge, ptp, bridge).
 *
 *   bun bench/profile-jit.ts [--runs N] [--only case,case] [--variants name=ENV,...]
 *
 * A variant is a name and the BUN_JSC_* settings it adds (`+`-separated), e.g.
 * `baseline=BUN_JSC_useJIT=1+BUN_JSC_useDFGJIT=0`; the default variants are "off"
 * (BUN_JSC_useJIT=0) and "on" (BUN_JSC_useJIT=1), an empty one (`shim=`) is the shim's own choice.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, median, noopTuningConf, sh } from "./_node.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "6" }, only: { type: "string" }, variants: { type: "string" } },
});
const runs = Number(values.runs);
const only = values.only ? new Set(values.only.split(",")) : undefined;
const VARIANTS: Record<string, Record<string, string>> = {};
for (const v of (values.variants ?? "off=BUN_JSC_useJIT=0,on=BUN_JSC_useJIT=1").split(",")) {
  const [name, ...rest] = v.split("=");
  const env: Record<string, string> = {};
  for (const kv of rest.join("=").split("+").filter(Boolean)) {
    const [k, val] = kv.split("=");
    env[k!] = val!;
  }
  VARIANTS[name!] = env;
}

const w = new BenchNode(1);
const pod = `/var/run/netns/${w.pods[0]}`;
const noSocket = join(w.work, "none.sock");
const enter = ["nsenter", `--net=/var/run/netns/${w.node}`];
sh(["ip", "-n", w.node, "link", "add", "dummy0", "type", "bridge"]);
sh(["ip", "-n", w.node, "addr", "add", "10.99.0.1/16", "dev", "dummy0"]);
sh(["ip", "-n", w.node, "link", "set", "dummy0", "up"]);

function run(plugin: string, command: string, id: string, conf: object | string, extra: Record<string, string>): { cpu: number; wall: number } {
  const env = {
    PATH: process.env.PATH!,
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: pod,
    CNI_IFNAME: "eth0",
    CNI_PATH: w.ourBin,
    CNI_TS_DAEMON_SOCKET: noSocket,
    ...extra,
  };
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync([...enter, join(w.ourBin, plugin)], {
    env,
    stdin: new TextEncoder().encode(typeof conf === "string" ? conf : JSON.stringify(conf)),
    stdout: "pipe",
    stderr: "pipe",
  });
  const wall = (Bun.nanoseconds() - t0) / 1e6;
  if (!r.success) throw new Error(`${plugin} ${command} failed: ${r.stdout}${r.stderr}`);
  return { cpu: Number(r.resourceUsage?.cpuTime.total ?? 0n) / 1000, wall };
}

interface Case {
  name: string;
  /** One sample: the commands of one round (ADD then DEL), summed. */
  sample: (id: string, env: Record<string, string>) => { cpu: number; wall: number };
}

const sum = (...m: { cpu: number; wall: number }[]) => ({ cpu: m.reduce((a, b) => a + b.cpu, 0), wall: m.reduce((a, b) => a + b.wall, 0) });
const addDel = (plugin: string, conf: (id: string) => object | string) => (id: string, env: Record<string, string>) =>
  sum(run(plugin, "ADD", id, conf(id), env), run(plugin, "DEL", id, conf(id), env));

const CASES: Case[] = [];
const DEFAULT = new Set(["noop", "bridge", "host-local@0", "host-local@60000", "ranges3000", "ranges10000", "portmap100", "portmap300", "multus"]);
const want = (n: string) => (only ?? DEFAULT).has(n);

if (want("noop")) {
  const conf = noopTuningConf(join(w.work, "tuning"));
  CASES.push({ name: "noop", sample: (id, env) => run("tuning", "ADD", id, conf, env) });
}
if (want("bridge")) {
  const conf = {
    cniVersion: "1.0.0",
    name: "jitnet",
    type: "bridge",
    bridge: "cnijit0",
    isGateway: true,
    ipMasq: true,
    ipam: { type: "host-local", subnet: "10.120.0.0/16", dataDir: join(w.work, "ipam-bridge") },
  };
  CASES.push({ name: "bridge", sample: addDel("bridge", () => conf) });
}
for (const n of [0, 30000, 60000]) {
  const reindex = want(`host-local-reindex@${n}`);
  if (!want(`host-local@${n}`) && !reindex) continue;
  // Spread over the /16 as the Go plugin writes them (owner, CRLF, interface); each variant its own copy.
  const confs: Record<string, object> = {};
  for (const v of Object.keys(VARIANTS)) {
    const dataDir = join(w.work, `hl-${n}-${v}`);
    mkdirSync(join(dataDir, "bench"), { recursive: true });
    for (let i = 0; i < n; i++) {
      const k = 2 + Math.floor((i * 65000) / Math.max(n, 1));
      writeFileSync(join(dataDir, "bench", `10.20.${k >> 8}.${k & 255}`), `existing-${i}\r\neth0`, { mode: 0o600 });
    }
    confs[v] = { cniVersion: "1.0.0", name: "bench", type: "bridge", ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.20.0.0/16" }]] } };
  }
  // reindex: a reservation written behind the index's back before each sample (as the Go plugin sharing the store does), so every ADD reads the whole store again.
  let extra = 0;
  CASES.push({
    name: `host-local${reindex ? "-reindex" : ""}@${n}`,
    sample: (id, env) => {
      const c = confs[variantOf(env)] as { ipam: { dataDir: string } };
      if (reindex) writeFileSync(join(c.ipam.dataDir, "bench", `10.20.255.${1 + (++extra % 250)}`), `other-${extra}\r\neth0`, { mode: 0o600 });
      return addDel("host-local", () => c)(id, env);
    },
  });
}
for (const n of [100, 1000, 3000, 10000]) {
  if (!want(`ranges${n}`)) continue;
  const v4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  const ranges: object[] = [];
  for (let k = 0; k < n; k++) ranges.push({ subnet: "10.0.0.0/8", rangeStart: v4(0x0a000001 + 2 * k), rangeEnd: v4(0x0a000001 + 2 * k) });
  const conf = {
    cniVersion: "1.0.0",
    name: "ranges",
    type: "bridge",
    ipam: { type: "host-local", dataDir: join(w.work, `ipam-ranges${n}`), ranges: [ranges] },
  };
  CASES.push({ name: `ranges${n}`, sample: addDel("host-local", () => conf) });
}
for (const n of [10, 30, 100, 300, 1000]) {
  if (!want(`portmap${n}`)) continue;
  const portMappings: { hostPort: number; containerPort: number; protocol: string }[] = [];
  for (let k = 0; k < n; k++) portMappings.push({ hostPort: 20000 + k, containerPort: 80 + (k % 10), protocol: k % 2 ? "udp" : "tcp" });
  const conf = (id: string) => ({
    cniVersion: "1.0.0",
    name: "pmnet",
    type: "portmap",
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings },
    prevResult: {
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", sandbox: pod }],
      ips: [{ address: `10.99.${1 + (Number(id.replace(/\D/g, "")) % 200)}.5/16`, gateway: "10.99.0.1", interface: 0 }],
    },
  });
  CASES.push({ name: `portmap${n}`, sample: addDel("portmap", conf) });
}
if (want("multus")) {
  const ipam = (n: string, subnet: string) => ({ type: "host-local", subnet, dataDir: join(w.work, `ipam-m-${n}`) });
  const master = { cniVersion: "1.0.0", name: "cbr0", type: "bridge", bridge: "mjit0", isGateway: true, ipam: ipam("m", "10.124.0.0/16") };
  const extra1 = { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: ipam("p", "10.125.0.0/16") };
  const extra2 = { cniVersion: "1.0.0", name: "br-net", type: "bridge", bridge: "mjit1", ipam: ipam("b", "10.126.0.0/16") };
  const conf = {
    cniVersion: "1.0.0",
    name: "multus-cni-network",
    type: "multus",
    cniDir: join(w.work, "multus"),
    binDir: w.ourBin,
    delegates: [master, extra1, extra2],
  };
  CASES.push({ name: "multus", sample: addDel("multus", () => conf) });
}

/** Which variant an env is (the host-local copies are per variant). */
function variantOf(env: Record<string, string>): string {
  for (const [k, v] of Object.entries(VARIANTS)) if (JSON.stringify(v) === JSON.stringify(env)) return k;
  throw new Error("unknown variant");
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(
  `variants: ${Object.entries(VARIANTS)
    .map(
      ([k, v]) =>
        `${k} {${Object.entries(v)
          .map(([a, b]) => `${a}=${b}`)
          .join(" ")}}`,
    )
    .join(", ")}; ${runs} runs; load ${load()}`,
);
try {
  let id = 0;
  for (const c of CASES) {
    const cpu: Record<string, number[]> = {};
    const wall: Record<string, number[]> = {};
    for (const v of Object.keys(VARIANTS)) (cpu[v] = []), (wall[v] = []);
    // One untimed round (the host-local index is built, the bridge made), then interleaved.
    for (const env of Object.values(VARIANTS)) c.sample(`j${++id}`, env);
    for (let r = 0; r < runs; r++) {
      for (const [v, env] of Object.entries(VARIANTS)) {
        const m = c.sample(`j${++id}`, env);
        cpu[v]!.push(m.cpu);
        wall[v]!.push(m.wall);
      }
    }
    const base = median(cpu.off ?? Object.values(cpu)[0]!);
    console.log(`\n${c.name}  (load ${load()})`);
    for (const v of Object.keys(VARIANTS))
      console.log(
        `  ${v.padEnd(10)} cpu ${median(cpu[v]!).toFixed(1).padStart(8)} ms  wall ${median(wall[v]!).toFixed(1).padStart(8)} ms   cpu / off ${(median(cpu[v]!) / base).toFixed(2)}x`,
      );
  }
} finally {
  w.close();
}
