/**
 * Multus's own cost per pod: ADD+DEL of a pod with a master (bridge) and two extra
 * networks (ptp and bridge NADs, host-local) through the Go libcni, for `multus`
 * without Kubernetes (delegates in its config), thin (`multus` reading the API server
 * per exec) and thick (`multus-shim` -> `cni-ts multus-daemon` with informer caches).
 *
 * The baseline is measured in the same run the same way: the three delegates as
 * networks of their own through the same libcni runtime, and a no-op network (our
 * `passthru`, one exec of the same binary) for the fixed cost of one network (runtime
 * exec, plugin exec, cache). Multus runs its delegates behind one network, so what it
 * adds per pod is
 *
 *   mode - (delegate1 + delegate2 + delegate3 - 2 x no-op)
 *
 * computed per round; the rounds run every case in a fresh random order (interleaved),
 * and the report gives median, p10 and p90 of those per-round differences with the load
 * average. The same is computed on CPU time spent on the node (the runtime and the
 * plugins it waited for, and the daemon's threads; this process, which serves the test
 * API server, is reported apart): on a loaded machine wall time mostly measures the run
 * queue, CPU time what the work costs. Also the per-exec `multus` start-up (a STATUS that loads its
 * whole code path) against loopback's.
 *
 *   bun bench/multus-latency.ts [--runs N] [--json] [--cpu-prof DIR]
 *
 * --cpu-prof DIR: the thin `multus` processes write Bun CPU profiles into DIR (build
 * without --minify for function names).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, median } from "./_node.ts";
import { benchApi, cpuMsOf, goLibcni, libcniRun, nad, startDaemon } from "./_multus.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "30" },
    json: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
  },
});
const runs = Number(values.runs);

/** The p-th percentile (0-100) by nearest rank. */
function percentile(v: number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const load = () => loadavg().map((l) => l.toFixed(2));
const loadStart = load();
const client = goLibcni();
const w = new BenchNode(1);
const { api, kubeconfig, stop } = await benchApi(w.node, w.work);
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  const ipam = (n: string, subnet: string) => ({ type: "host-local", subnet, dataDir: join(w.work, `ipam-${n}`) });
  const master = { cniVersion: "1.0.0", name: "cbr0", type: "bridge", bridge: "mbench0", isGateway: true, ipam: ipam("m", "10.124.0.0/16") };
  const extra1 = { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: ipam("p", "10.125.0.0/16") };
  const extra2 = { cniVersion: "1.0.0", name: "br-net", type: "bridge", bridge: "mbench1", ipam: ipam("b", "10.126.0.0/16") };
  const noop = { cniVersion: "1.0.0", name: "noop", type: "passthru" };
  api.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }, nad("bench", "ptp-net", extra1), nad("bench", "br-net", extra2));
  const [pod] = api.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "bench", annotations: { "k8s.v1.cni.cncf.io/networks": "ptp-net,br-net@data1" } },
    spec: { nodeName: "bench-node", containers: [{ name: "c" }] },
  });
  const cniArgs = `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=sb;K8S_POD_UID=${pod.metadata.uid}`;
  const cniDir = join(w.work, "multus");
  const confDir = (name: string, conf: object) => {
    const d = join(w.work, `net.d-${name}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `10-${name}.conf`), JSON.stringify(conf));
    return d;
  };
  const run = join(w.work, "run");
  mkdirSync(run, { mode: 0o700 });
  const multus = { cniVersion: "1.0.0", name: "multus-cni-network", cniDir, binDir: w.ourBin };
  const dirs = {
    master: confDir("cbr0", master),
    extra1: confDir("ptp-net", extra1),
    extra2: confDir("br-net", extra2),
    noop: confDir("noop", noop),
    local: confDir("multus-local", { ...multus, type: "multus", delegates: [master, extra1, extra2] }),
    thin: confDir("multus-thin", { ...multus, type: "multus", kubeconfig, delegates: [master] }),
    thick: confDir("multus-thick", { cniVersion: "1.0.0", name: "multus-cni-network", type: "multus-shim", daemonSocketDir: run }),
  };
  daemon = await startDaemon(w.node, w.work, {
    cniVersion: "1.0.0",
    socketDir: run,
    kubeconfig,
    nodeName: "bench-node",
    multusConfigFile: join(dirs.thick, "10-multus-thick.conf"),
    cniConfigDir: dirs.thick,
    cniDir,
    binDir: w.ourBin,
    delegates: [master],
  });
  const netns = `/var/run/netns/${w.pods[0]}`;
  const env = (d: string, ifname: string) => ({
    NETCONFPATH: d,
    CNI_PATH: w.ourBin,
    CNI_CACHE_DIR: join(w.work, "cache"),
    CNI_ARGS: cniArgs,
    CNI_IFNAME: ifname,
    ...(values["cpu-prof"] && d === dirs.thin ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${values["cpu-prof"]} --cpu-prof-interval=100` } : {}),
  });
  const daemonPid = daemon.pid;
  const addDel = async (net: string, d: string, cid: string, ifname: string) => {
    const daemon0 = cpuMsOf(daemonPid);
    const self0 = cpuMsOf("self");
    const a = await libcniRun(w.node, client, "add", net, netns, cid, env(d, ifname));
    if (a.code !== 0) throw new Error(`${net} ADD: ${a.stderr}`);
    const r = await libcniRun(w.node, client, "del", net, netns, cid, env(d, ifname));
    if (r.code !== 0) throw new Error(`${net} DEL: ${r.stderr}`);
    return { ms: a.ms + r.ms, cpuMs: a.cpuMs + r.cpuMs + cpuMsOf(daemonPid) - daemon0, apiCpuMs: cpuMsOf("self") - self0 };
  };
  const cases = {
    d1: (i: number) => addDel("cbr0", dirs.master, `d${i}`, "eth0"),
    d2: (i: number) => addDel("ptp-net", dirs.extra1, `d${i}`, "net1"),
    d3: (i: number) => addDel("br-net", dirs.extra2, `d${i}`, "data1"),
    noop: (i: number) => addDel("noop", dirs.noop, `n${i}`, "eth0"),
    local: (i: number) => addDel("multus-cni-network", dirs.local, `l${i}`, "eth0"),
    thin: (i: number) => addDel("multus-cni-network", dirs.thin, `t${i}`, "eth0"),
    thick: (i: number) => addDel("multus-cni-network", dirs.thick, `k${i}`, "eth0"),
  };
  type Case = keyof typeof cases;
  const empty = () => Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]])) as Record<Case, number[]>;
  const samples = empty();
  const cpu = empty();
  const apiCpu = empty();
  const WARMUP = 3;
  for (let i = 0; i < WARMUP + runs; i++) {
    for (const k of shuffle(Object.keys(cases) as Case[])) {
      const r = await cases[k](i);
      if (i >= WARMUP) samples[k].push(r.ms), cpu[k].push(r.cpuMs), apiCpu[k].push(r.apiCpuMs);
    }
  }
  // Per round: the delegates' own cost behind one network, and each mode over it.
  const derive = (s: Record<Case, number[]>) => {
    const base = s.d1.map((_, i) => s.d1[i]! + s.d2[i]! + s.d3[i]! - 2 * s.noop[i]!);
    return {
      base,
      over: (k: Case) => s[k].map((v, i) => v - base[i]!),
      overK8s: (k: Case) => s[k].map((v, i) => v - s.local[i]!),
    };
  };
  const wall = derive(samples);
  const cpuD = derive(cpu);

  // Start-up of the per-exec multus: STATUS loads its code, the light kube client included.
  const status = async (type: string, conf: object) => {
    const p = Bun.spawn([join(w.ourBin, type)], {
      env: { PATH: process.env.PATH!, CNI_COMMAND: "STATUS", CNI_PATH: w.ourBin },
      stdin: new TextEncoder().encode(JSON.stringify(conf)),
      stdout: "ignore",
      stderr: "ignore",
    });
    const t0 = Bun.nanoseconds();
    await p.exited;
    return { ms: (Bun.nanoseconds() - t0) / 1e6, cpuMs: Number(p.resourceUsage()?.cpuTime.total ?? 0n) / 1000 };
  };
  const st = { multus: [] as number[], loopback: [] as number[], multusCpu: [] as number[], loopbackCpu: [] as number[] };
  for (let i = 0; i < 30; i++) {
    const m = await status("multus", { cniVersion: "1.1.0", name: "m", type: "multus", delegates: [{ cniVersion: "1.0.0", name: "lo", type: "loopback" }] });
    const l = await status("loopback", { cniVersion: "1.1.0", name: "lo", type: "loopback" });
    st.multus.push(m.ms), st.multusCpu.push(m.cpuMs), st.loopback.push(l.ms), st.loopbackCpu.push(l.cpuMs);
  }
  const loadEnd = load();

  const stats = (v: number[]) => ({ median: median(v), p10: percentile(v, 10), p90: percentile(v, 90) });
  const summary = (s: Record<Case, number[]>, d: ReturnType<typeof derive>) => ({
    raw: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, stats(v)])),
    delegatesBehindOneNetwork: stats(d.base),
    overDelegates: { local: stats(d.over("local")), thin: stats(d.over("thin")), thick: stats(d.over("thick")) },
    kubernetesPart: { thin: stats(d.overK8s("thin")), thick: stats(d.overK8s("thick")) },
  });
  const report = {
    runs,
    loadavg: { start: loadStart, end: loadEnd },
    wall: summary(samples, wall),
    cpu: summary(cpu, cpuD),
    /** CPU of this process (the test API server, and the bench's own spawning) per case. */
    apiServerCpu: Object.fromEntries(Object.entries(apiCpu).map(([k, v]) => [k, stats(v)])),
    startup: { multus: stats(st.multus), loopback: stats(st.loopback), multusCpu: stats(st.multusCpu), loopbackCpu: stats(st.loopbackCpu) },
    podNamespacesOnMachine: readdirSync("/var/run/netns").length,
    targets: { thickMs: 5, thinMs: 15 },
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const f = (s: { median: number; p10: number; p90: number }) => `${s.median.toFixed(1).padStart(7)} ms  (p10 ${s.p10.toFixed(1)}, p90 ${s.p90.toFixed(1)})`;
    console.log(`Multus, a pod with a master and two extra networks (bridge, ptp, bridge; host-local), ADD+DEL through the Go libcni`);
    console.log(`${runs} rounds, cases in random order each round; load average ${loadStart.join(" ")} at start, ${loadEnd.join(" ")} at end`);
    for (const [what, r] of [
      ["wall time", report.wall],
      ["CPU time on the node", report.cpu],
    ] as const) {
      console.log(`${what}, each case ADD+DEL:`);
      for (const [k, v] of Object.entries(r.raw)) console.log(`    ${k.padEnd(6)} ${f(v)}`);
      console.log(`  the three delegates behind one network (d1+d2+d3 - 2 x noop): ${f(r.delegatesBehindOneNetwork)}`);
      console.log(`  added per pod over that, per round:`);
      console.log(`    multus without Kubernetes  ${f(r.overDelegates.local)}`);
      console.log(`    thin multus (API reads)    ${f(r.overDelegates.thin)}   target < 15 ms`);
      console.log(`    thick shim + daemon        ${f(r.overDelegates.thick)}   target < 5 ms`);
      console.log(`  Kubernetes part (over multus without Kubernetes): thin ${f(r.kubernetesPart.thin)}, thick ${f(r.kubernetesPart.thick)}`);
    }
    const a = report.apiServerCpu;
    console.log(`test API server and bench process CPU (not in the above): thin ${f(a.thin!)}, thick ${f(a.thick!)}, local ${f(a.local!)}`);
    const su = report.startup;
    console.log(`per-exec start-up (STATUS, whole code path loaded): wall multus ${f(su.multus)}, loopback ${f(su.loopback)}`);
    console.log(`                                                    CPU  multus ${f(su.multusCpu)}, loopback ${f(su.loopbackCpu)}`);
    console.log(`${report.podNamespacesOnMachine} network namespaces on this machine`);
  }
} finally {
  await daemon?.stop();
  await stop();
  w.close();
}
