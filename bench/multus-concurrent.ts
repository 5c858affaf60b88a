/**
 * 100 pods with two extra networks each, added at once through the thick daemon
 * (`multus-shim` per exec by the Go libcni -> `cni-ts multus-daemon`), then deleted at
 * once: no error, no address given twice, nothing left, and the daemon's peak RSS.
 *
 *   bun bench/multus-concurrent.ts [--pods N]
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, median, sh } from "./_node.ts";
import { benchApi, goLibcni, libcniRun, nad, rssMB, startDaemon } from "./_multus.ts";

const { values } = parseArgs({ options: { pods: { type: "string", default: "100" } } });
const n = Number(values.pods);
const client = goLibcni();
const w = new BenchNode(n);
const { api, kubeconfig, stop } = await benchApi(w.node, w.work);
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  const ipam = (k: string, subnet: string) => ({ type: "host-local", subnet, dataDir: join(w.work, `ipam-${k}`) });
  const master = { cniVersion: "1.0.0", name: "cbr0", type: "bridge", bridge: "mcbr0", isGateway: true, ipam: ipam("m", "10.127.0.0/16") };
  api.seed(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } },
    nad("bench", "ptp-net", { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: ipam("p", "10.128.0.0/16") }),
    nad("bench", "br-net", { cniVersion: "1.0.0", name: "br-net", type: "bridge", bridge: "mcbr1", ipam: ipam("b", "10.129.0.0/16") }),
  );
  const uids = w.pods.map(
    (_, i) =>
      api.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `p${i}`, namespace: "bench", annotations: { "k8s.v1.cni.cncf.io/networks": "ptp-net,br-net" } },
        spec: { nodeName: "bench-node", containers: [{ name: "c" }] },
      })[0].metadata.uid as string,
  );
  const run = join(w.work, "run");
  mkdirSync(run, { mode: 0o700 });
  const confDir = join(w.work, "net.d");
  mkdirSync(confDir);
  writeFileSync(
    join(confDir, "00-multus.conf"),
    JSON.stringify({ cniVersion: "1.0.0", name: "multus-cni-network", type: "multus-shim", daemonSocketDir: run }),
  );
  daemon = await startDaemon(w.node, w.work, {
    cniVersion: "1.0.0",
    socketDir: run,
    kubeconfig,
    nodeName: "bench-node",
    multusConfigFile: join(confDir, "00-multus.conf"),
    cniConfigDir: confDir,
    cniDir: join(w.work, "multus"),
    binDir: w.ourBin,
    delegates: [master],
  });
  let peak = rssMB(daemon.pid);
  const idle = peak;
  const sampler = setInterval(() => {
    const r = rssMB(daemon!.pid);
    if (r === r) peak = Math.max(peak, r);
  }, 20);
  const env = (i: number) => ({
    NETCONFPATH: confDir,
    CNI_PATH: w.ourBin,
    CNI_CACHE_DIR: join(w.work, "cache"),
    CNI_IFNAME: "eth0",
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p${i};K8S_POD_INFRA_CONTAINER_ID=sb${i};K8S_POD_UID=${uids[i]}`,
  });
  const all = async (cmd: string) => {
    const t0 = Date.now();
    const rs = await Promise.all(w.pods.map((p, i) => libcniRun(w.node, client, cmd, "multus-cni-network", `/var/run/netns/${p}`, `ctr-${i}`, env(i))));
    return { rs, ms: Date.now() - t0 };
  };
  const add = await all("add");
  const failedAdd = add.rs.filter((r) => r.code !== 0);
  const addrs = new Map<string, string>();
  let dup = 0;
  let ifaces = 0;
  for (const p of w.pods) {
    for (const l of JSON.parse(sh(["ip", "-n", p, "-j", "-4", "addr", "show"]))) {
      if (l.ifname === "lo") continue;
      ifaces++;
      for (const a of l.addr_info) {
        if (addrs.has(a.local)) dup++;
        addrs.set(a.local, p);
      }
    }
  }
  const peakAdd = peak;
  const del = await all("del");
  clearInterval(sampler);
  const failedDel = del.rs.filter((r) => r.code !== 0);
  const left = ["m", "p", "b"].flatMap((k) => {
    try {
      return readdirSync(join(w.work, `ipam-${k}`), { recursive: true })
        .map(String)
        .filter((f) => isIP(f.split("/").pop()!) !== 0);
    } catch {
      return [];
    }
  });
  const leftIfaces = w.pods.reduce(
    (c, p) => c + JSON.parse(sh(["ip", "-n", p, "-j", "link", "show"])).filter((l: { ifname: string }) => l.ifname !== "lo").length,
    0,
  );
  console.log(`${n} pods x (eth0 + 2 extra networks) through the thick daemon, all at once`);
  console.log(
    `  ADD: ${add.ms} ms wall, median per pod ${median(add.rs.map((r) => r.ms)).toFixed(0)} ms, failures ${failedAdd.length}${failedAdd.length ? `: ${failedAdd[0]!.stderr.trim()}` : ""}`,
  );
  console.log(`  interfaces ${ifaces} (want ${3 * n}), addresses ${addrs.size}, duplicates ${dup}`);
  console.log(
    `  DEL: ${del.ms} ms wall, failures ${failedDel.length}${failedDel.length ? `: ${failedDel[0]!.stderr.trim()}` : ""}; reservations left ${left.length}, pod interfaces left ${leftIfaces}`,
  );
  console.log(`  daemon RSS: idle ${idle.toFixed(1)} MB, peak ${peak.toFixed(1)} MB (during ADD ${peakAdd.toFixed(1)} MB; target < 100 MB)`);
  if (failedAdd.length || failedDel.length) console.log(`daemon log (tail):\n${(await daemon!.log()).split("\n").slice(-15).join("\n")}`);
  if (failedAdd.length || failedDel.length || dup || ifaces !== 3 * n || left.length || leftIfaces || peak >= 100) process.exitCode = 1;
} finally {
  await daemon?.stop();
  await stop();
  w.close();
}
