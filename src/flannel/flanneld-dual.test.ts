/**
 * flanneld dual stack (EnableIPv6) on the lab: IPv4 and IPv6 leases in one etcd key,
 * flannel.1 and flannel-v6.1, subnet.env with FLANNEL_IPV6_*, the plugin's dual-stack
 * delegate, pods reaching each other over both families; and host-gw's IPv6 routes.
 */
import { afterAll, expect } from "bun:test";
import { pings, waitFor } from "../../test/helpers/lab.ts";
import { rootTest, type TestNetns } from "../../test/helpers/netns.ts";
import { addPod, cleanupBin, leases, startFlanneld, subnetEnv, withFlannelLab } from "../../test/helpers/flannel-kit.ts";

afterAll(cleanupBin);

const ping6 = (from: TestNetns, ip: string) => Bun.spawnSync(["ip", "netns", "exec", from.name, "ping", "-6", "-c1", "-W2", ip]).success;

for (const backend of ["vxlan", "host-gw"]) {
  rootTest(
    `dual stack over ${backend}: one lease key for both families, FLANNEL_IPV6_* in subnet.env, pods talk over IPv4 and IPv6`,
    () =>
      withFlannelLab(
        { nodes: 2, network: { EnableIPv6: true, Network: "10.64.0.0/16", IPv6Network: "fd64::/48", Backend: { Type: backend } } },
        async (lab, [a, b]) => {
          await startFlanneld(lab, a);
          await startFlanneld(lab, b);
          const env = subnetEnv(lab, a)!;
          expect(env.FLANNEL_IPV6_NETWORK).toBe("fd64::/48");
          expect(env.FLANNEL_IPV6_SUBNET).toMatch(/^fd64:0:0:[0-9a-f]+::1\/64$/);
          const key = `${env.FLANNEL_SUBNET!.replace(".1/24", ".0-24")}&${env.FLANNEL_IPV6_SUBNET!.replace("::1/64", "::-64")}`;
          const attrs = leases(lab)[key];
          expect(attrs.PublicIPv6).toBe(a.ip6);
          if (backend === "vxlan") {
            const [dev6] = a.ns.ipJson("link", "show", "dev", "flannel-v6.1");
            expect(attrs.BackendV6Data).toEqual({ VNI: 1, VtepMAC: dev6.address });
          }
          const pa = addPod(lab, a, "dpod-a");
          const pb = addPod(lab, b, "dpod-b");
          const [pb6] = pb.pod.ipJson("-6", "addr", "show", "dev", "eth0", "scope", "global").flatMap((l: any) => l.addr_info.map((x: any) => x.local));
          expect(pb6).toMatch(/^fd64:/);
          await waitFor("pod a to reach pod b over IPv4", () => pings(pa.pod, pb.ip));
          await waitFor("pod a to reach pod b over IPv6", () => ping6(pa.pod, pb6));
          if (backend === "host-gw") {
            const snB6 = subnetEnv(lab, b)!.FLANNEL_IPV6_SUBNET!.replace("::1/64", "::/64");
            expect(a.ns.ipJson("-6", "route").some((r: any) => r.dst === snB6 && r.gateway === b.ip6)).toBe(true);
          }
          expect(a.ns.exec(["ip6tables-save", "-t", "nat"])).toContain(
            `-A FLANNEL-POSTRTG -s fd64::/48 ! -d ff00::/8 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
          );
        },
      ),
    90_000,
  );
}
