/**
 * Multus's own cost per pod: ADD+DEL of a pod with a master (bridge) and two extra
 * networks (ptp and bridge NADs, host-local) through the Go libcni, thin (`multus`,
 * reading the API server per exec) and thick (`multus-shim` -> `cni-ts multus-daemon`
 * with informer caches), against the sum of the three delegates' own ADD+DEL run as
 * networks of their own (each a plugin exec). Also the per-exec `multus` start-up
 * (a STATUS that loads its whole code path) against loopback's.
 *
 *   bun bench/multus-latency.ts [--runs N]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, median } from "./_node.ts";
import { benchApi, goLibcni, libcniRun, nad, startDaemon } from "./_multus.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);
const client = goLibcni();
const w = new BenchNode(1);
const { api, kubeconfig, stop } = await benchApi(w.node, w.work);
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  const ipam = (n: string, subnet: string) => ({ type: "host-local", subnet, dataDir: join(w.work, `ipam-${n}`) });
  const master = { cniVersion: "1.0.0", name: "cbr0", type: "bridge", bridge: "mbench0", isGateway: true, ipam: ipam("m", "10.124.0.0/16") };
  const extra1 = { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: ipam("p", "10.125.0.0/16") };
  const extra2 = { cniVersion: "1.0.0", name: "br-net", type: "bridge", bridge: "mbench1", ipam: ipam("b", "10.126.0.0/16") };
  api.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }, nad("bench", "ptp-net", extra1), nad("bench", "br-net", extra2));
  const [pod] = api.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "bench", annotations: { "k8s.v1.cni.cncf.io/networks": "ptp-net,br-net@data1" } },
    spec: { nodeName: "bench-node", containers: [{ name: "c" }] },
  });
  const cniArgs = `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=sb;K8S_POD_UID=${pod.metadata.uid}`;
  const cniDir = join(w.work, "multus");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const confDir = (name: string, conf: object) => {
    const d = join(w.work, `net.d-${name}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `10-${name}.conf`), JSON.stringify(conf));
    return d;
  };
  const run = join(w.work, "run");
  mkdirSync(run, { mode: 0o700 });
  const dirs = {
    master: confDir("cbr0", master),
    extra1: confDir("ptp-net", extra1),
    extra2: confDir("br-net", extra2),
    local: confDir("multus", {
      cniVersion: "1.0.0",
      name: "multus-cni-network",
      type: "multus",
      cniDir,
      binDir: w.ourBin,
      delegates: [master, extra1, { ...extra2, cniVersion: "1.0.0" }],
    }),
    thin: confDir("multus", { cniVersion: "1.0.0", name: "multus-cni-network", type: "multus", kubeconfig, cniDir, binDir: w.ourBin, delegates: [master] }),
    thick: confDir("multus", { cniVersion: "1.0.0", name: "multus-cni-network", type: "multus-shim", daemonSocketDir: run }),
  };
  daemon = await startDaemon(w.node, w.work, {
    cniVersion: "1.0.0",
    socketDir: run,
    kubeconfig,
    nodeName: "bench-node",
    multusConfigFile: join(dirs.thick, "10-multus.conf"),
    cniConfigDir: dirs.thick,
    cniDir,
    binDir: w.ourBin,
    delegates: [master],
  });
  const netns = `/var/run/netns/${w.pods[0]}`;
  const env = (d: string, ifname = "eth0") => ({
    NETCONFPATH: d,
    CNI_PATH: w.ourBin,
    CNI_CACHE_DIR: join(w.work, "cache"),
    CNI_ARGS: cniArgs,
    CNI_IFNAME: ifname,
  });
  const addDel = async (net: string, d: string, cid: string, ifname?: string) => {
    const a = await libcniRun(w.node, client, "add", net, netns, cid, env(d, ifname));
    if (a.code !== 0) throw new Error(`${net} ADD: ${a.stderr}`);
    const r = await libcniRun(w.node, client, "del", net, netns, cid, env(d, ifname));
    if (r.code !== 0) throw new Error(`${net} DEL: ${r.stderr}`);
    return a.ms + r.ms;
  };
  const sides = {
    delegates: [] as number[],
    local: [] as number[],
    thin: [] as number[],
    thick: [] as number[],
  };
  const once = async (i: number, keep: boolean) => {
    const d =
      (await addDel("cbr0", dirs.master, `d${i}`)) +
      (await addDel("ptp-net", dirs.extra1, `d${i}`, "net1")) +
      (await addDel("br-net", dirs.extra2, `d${i}`, "data1"));
    const local = await addDel("multus-cni-network", dirs.local, `l${i}`);
    const thin = await addDel("multus-cni-network", dirs.thin, `t${i}`);
    const thick = await addDel("multus-cni-network", dirs.thick, `k${i}`);
    if (keep) sides.delegates.push(d), sides.local.push(local), sides.thin.push(thin), sides.thick.push(thick);
  };
  for (let i = 0; i < 2; i++) await once(i, false);
  for (let i = 0; i < runs; i++) await once(i + 2, true);

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
    return (Bun.nanoseconds() - t0) / 1e6;
  };
  const st = { multus: [] as number[], loopback: [] as number[] };
  for (let i = 0; i < 30; i++) {
    st.multus.push(
      await status("multus", { cniVersion: "1.1.0", name: "m", type: "multus", delegates: [{ cniVersion: "1.0.0", name: "lo", type: "loopback" }] }),
    );
    st.loopback.push(await status("loopback", { cniVersion: "1.1.0", name: "lo", type: "loopback" }));
  }

  const m = { d: median(sides.delegates), local: median(sides.local), thin: median(sides.thin), thick: median(sides.thick) };
  console.log(`Multus, a pod with a master and two extra networks (bridge, ptp, bridge; host-local), ADD+DEL through the Go libcni, ${runs} runs, interleaved`);
  console.log(`  delegates alone (3 networks, 6 execs)   ${m.d.toFixed(1)} ms`);
  console.log(`  multus, same 3 delegates, no Kubernetes  ${m.local.toFixed(1)} ms   (the delegates in one process)`);
  console.log(
    `  thin multus (2 execs, API reads)        ${m.thin.toFixed(1)} ms   over the delegates alone ${(m.thin - m.d).toFixed(1)} ms, Kubernetes part ${(m.thin - m.local).toFixed(1)} ms`,
  );
  console.log(
    `  thick shim + daemon (2 execs)           ${m.thick.toFixed(1)} ms   over the delegates alone ${(m.thick - m.d).toFixed(1)} ms, over no-Kubernetes multus ${(m.thick - m.local).toFixed(1)} ms`,
  );
  console.log(`  targets: thick adds < 5 ms, thin < 15 ms (negative: less than running the delegates one exec each)`);
  console.log(`per-exec start-up (STATUS, whole code path loaded): multus ${median(st.multus).toFixed(1)} ms, loopback ${median(st.loopback).toFixed(1)} ms`);
} finally {
  await daemon?.stop();
  await stop();
  w.close();
}
