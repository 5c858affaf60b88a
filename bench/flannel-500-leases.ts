/**
 * One node programming 500 remote leases over vxlan: flanneld runs on a lab node, 500
 * leases are written to etcd (transactions of 100), and we time until all 500 onlink
 * routes, neighbours and FDB entries are on the node; then the daemon's RSS. Targets:
 * under 2 s, RSS under 80 MB. Run as root after `npm run build`: bun bench/flannel-500-leases.ts [count]
 */
import { readFileSync } from "node:fs";
import { fdbList, neighList } from "../src/netlink/neigh.ts";
import { routeList } from "../src/netlink/route.ts";
import { PREFIX, withFlanneld } from "./_flannel.ts";

const COUNT = Number(process.argv[2] ?? 500);
const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

await withFlanneld({ ipMasq: true }, async ({ lab, proc: p, h }) => {
  const idle = rssMB(p.pid);
  const entries: [string, string][] = [];
  for (let i = 0; i < COUNT; i++) {
    const [x, y] = [100 + Math.floor(i / 250), i % 250];
    const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`;
    entries.push([
      `${PREFIX}/subnets/10.${x}.${y}.0-24`,
      JSON.stringify({
        PublicIP: `192.168.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        PublicIPv6: null,
        BackendType: "vxlan",
        BackendData: { VNI: 1, VtepMAC: mac },
      }),
    ]);
  }
  const t0 = performance.now();
  lab.etcd!.putMany(entries);
  const written = performance.now() - t0;
  const onlink = () => routeList(h, { family: 4 }).filter((r) => r.dst?.startsWith("10.1") && r.dst.endsWith(".0/24") && r.flags & 4).length;
  while (onlink() < COUNT) {
    if (performance.now() - t0 > 30_000) throw new Error(`only ${onlink()} routes after 30 s\n${p.log()}`);
    await Bun.sleep(5);
  }
  const elapsed = performance.now() - t0;
  const neigh = neighList(h, { link: "flannel.1" }).length;
  const fdb = fdbList(h, { link: "flannel.1" }).filter((f) => f.ip?.startsWith("192.168.")).length;
  const rss = rssMB(p.pid);
  console.log(
    `${COUNT} remote leases over vxlan: all routes in ${elapsed.toFixed(0)} ms from the first write (writing them to etcd took ${written.toFixed(0)} ms); ${neigh} neighbours, ${fdb} FDB entries`,
  );
  console.log(`flanneld RSS: ${idle.toFixed(1)} MB idle, ${rss.toFixed(1)} MB with ${COUNT} leases`);
  console.log(`targets: < 2000 ms ${elapsed < 2000 ? "met" : "MISSED"}; RSS < 80 MB ${rss < 80 ? "met" : "MISSED"}`);
});
