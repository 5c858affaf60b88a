/**
 * Time from a new lease written to etcd to its route on another node: flanneld (vxlan)
 * runs on a lab node; each sample writes one lease (through curl in etcd's namespace)
 * and polls the node's routes over netlink until the onlink route is there. Target:
 * median under 100 ms. Run as root after `npm run build`: bun bench/flannel-lease-latency.ts [samples]
 */
import { routeList } from "../src/netlink/route.ts";
import { PREFIX, withFlanneld } from "./_flannel.ts";

const SAMPLES = Number(process.argv[2] ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await withFlanneld({ ipMasq: false }, async ({ lab, proc: p, h }) => {
  const total: number[] = [];
  const put: number[] = [];
  for (let i = 1; i <= SAMPLES; i++) {
    const dst = `10.200.${i}.0/24`;
    const attrs = {
      PublicIP: `192.168.0.${i}`,
      PublicIPv6: null,
      BackendType: "vxlan",
      BackendData: { VNI: 1, VtepMAC: `02:00:00:00:00:${i.toString(16).padStart(2, "0")}` },
    };
    const t0 = performance.now();
    lab.etcd!.put(`${PREFIX}/subnets/10.200.${i}.0-24`, JSON.stringify(attrs));
    put.push(performance.now() - t0);
    while (!routeList(h, { family: 4 }).some((r) => r.dst === dst)) {
      if (performance.now() - t0 > 5000) throw new Error(`no route to ${dst} after 5 s\n${p.log()}`);
      await Bun.sleep(1);
    }
    total.push(performance.now() - t0);
  }
  const m = median(total);
  console.log(
    `lease-to-route (vxlan), ${SAMPLES} leases: median ${m.toFixed(1)} ms, min ${Math.min(...total).toFixed(1)}, max ${Math.max(...total).toFixed(1)}`,
  );
  console.log(`  of which the etcd write through curl (process start and etcd's fsync included): median ${median(put).toFixed(1)} ms`);
  console.log(`  route seen after the write returned: median ${median(total.map((t, i) => t - put[i]!)).toFixed(1)} ms`);
  console.log(`  target < 100 ms: ${m < 100 ? "met" : "MISSED"}`);
});
