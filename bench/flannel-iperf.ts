/**
 * Pod-to-pod TCP throughput (iperf3 from Debian) across two lab nodes: over flanneld's
 * vxlan and host-gw, against the same two nodes routed by hand (subnet.env and the
 * route written without flanneld) and a plain veth pair between two namespaces. The
 * data path is the kernel's: host-gw should match the hand-made routes, vxlan pay only
 * the encapsulation. Run as root after `npm run build`: bun bench/flannel-iperf.ts [seconds]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addPod, cleanupBin, nodeDir, startFlanneld } from "../test/helpers/flannel-kit.ts";
import { pings, waitFor, withLab } from "../test/helpers/lab.ts";
import { TestNetns } from "../test/helpers/netns.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const PREFIX = "/coreos.com/network";

async function iperf(server: TestNetns, serverIP: string, client: TestNetns): Promise<number> {
  const srv = Bun.spawn(["ip", "netns", "exec", server.name, "iperf3", "-s", "-1", "-B", serverIP], { stdout: "ignore", stderr: "ignore" });
  let r = Bun.spawnSync(["true"]);
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(200);
    r = Bun.spawnSync(["ip", "netns", "exec", client.name, "iperf3", "-c", serverIP, "-t", String(SECONDS), "-J"], { stdout: "pipe", stderr: "pipe" });
    if (r.success) break;
  }
  if (!r.success) throw new Error(`iperf3 failed: ${r.stdout.toString()}${r.stderr.toString()}`);
  srv.kill();
  await srv.exited;
  const o = JSON.parse(r.stdout.toString());
  return o.end.sum_received.bits_per_second / 1e9;
}

async function overFlannel(backend: string): Promise<number> {
  return withLab({ nodes: 2, etcd: true }, async (lab) => {
    const [a, b] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.70.0.0/16", Backend: { Type: backend } }));
    await startFlanneld(lab, a);
    await startFlanneld(lab, b);
    const pa = addPod(lab, a, "iperf-a");
    const pb = addPod(lab, b, "iperf-b");
    await waitFor("pods to talk", () => pings(pa.pod, pb.ip));
    return iperf(pb.pod, pb.ip, pa.pod);
  });
}

async function byHand(): Promise<number> {
  return withLab({ nodes: 2, etcd: false }, async (lab) => {
    const [a, b] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    for (const [n, i] of [
      [a, 1],
      [b, 2],
    ] as const) {
      mkdirSync(nodeDir(lab, n), { recursive: true });
      writeFileSync(
        join(nodeDir(lab, n), "subnet.env"),
        `FLANNEL_NETWORK=10.70.0.0/16\nFLANNEL_SUBNET=10.70.${i}.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n`,
      );
    }
    a.ns.exec(["ip", "route", "add", "10.70.2.0/24", "via", b.ip]);
    b.ns.exec(["ip", "route", "add", "10.70.1.0/24", "via", a.ip]);
    const pa = addPod(lab, a, "iperf-a");
    const pb = addPod(lab, b, "iperf-b");
    await waitFor("pods to talk", () => pings(pa.pod, pb.ip));
    return iperf(pb.pod, pb.ip, pa.pod);
  });
}

async function plainVeth(): Promise<number> {
  const [x, y] = [TestNetns.create("bveth"), TestNetns.create("bveth")];
  try {
    x.exec(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", y.name]);
    x.exec(["ip", "addr", "add", "10.71.0.1/30", "dev", "v0"]);
    y.exec(["ip", "addr", "add", "10.71.0.2/30", "dev", "v1"]);
    for (const [n, d] of [
      [x, "v0"],
      [y, "v1"],
    ] as const)
      n.exec(["ip", "link", "set", d, "up"]), n.exec(["ip", "link", "set", "lo", "up"]);
    await waitFor("veth up", () => pings(x, "10.71.0.2"));
    return await iperf(y, "10.71.0.2", x);
  } finally {
    x.destroy();
    y.destroy();
  }
}

const veth = await plainVeth();
const hand = await byHand();
const hostgw = await overFlannel("host-gw");
const vxlan = await overFlannel("vxlan");
cleanupBin();
console.log(`pod-to-pod TCP throughput, iperf3 ${SECONDS} s, one stream:`);
console.log(`  plain veth pair (one hop):              ${veth.toFixed(2)} Gbit/s`);
console.log(`  two nodes routed by hand (no flanneld): ${hand.toFixed(2)} Gbit/s`);
console.log(`  flanneld host-gw:                       ${hostgw.toFixed(2)} Gbit/s  (${((hostgw / hand) * 100).toFixed(0)}% of by hand)`);
console.log(`  flanneld vxlan:                         ${vxlan.toFixed(2)} Gbit/s  (${((vxlan / hand) * 100).toFixed(0)}% of by hand)`);
