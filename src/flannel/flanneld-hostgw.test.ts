/**
 * flanneld on the multi-node lab over host-gw, and its rules: etcd unreachable at
 * start is retried with a clear log line; pods on two nodes talk over plain routes via
 * the other node's address; flannel's FLANNEL-POSTRTG and FLANNEL-FWD rules in flannel's
 * order and comments, put back when removed; with EnableNFTables, flannel's tables.
 */
import { afterAll, expect } from "bun:test";
import { type LabNode, pings, waitFor, withLab } from "../../test/helpers/lab.ts";
import { rootTest } from "../../test/helpers/netns.ts";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { PREFIX, addPod, cleanupBin, nodeSubnet, routes, startFlanneld, subnetEnv, withFlannelLab } from "../../test/helpers/flannel-kit.ts";

afterAll(cleanupBin);

rootTest(
  "host-gw: etcd down at start is waited for; pods talk over routes via the node; masquerade and forward rules as flannel's, put back when removed",
  () =>
    withFlannelLab({ nodes: 2, network: { Network: "10.61.0.0/16", Backend: { Type: "host-gw" } } }, async (lab, [a, b]) => {
      await lab.etcd!.stop();
      const fa = await startFlanneld(lab, a, ["--iptables-resync=1"], false);
      await waitFor("a's log to say etcd is unreachable", () =>
        fa.log().includes("Couldn't fetch network config: cannot reach etcd at http://10.250.0.2:2379"),
      );
      await lab.etcd!.start();
      await waitFor("a to become ready once etcd is back", () => fa.log().includes("flannel is ready"), 15_000);
      await startFlanneld(lab, b);
      expect(subnetEnv(lab, a)!.FLANNEL_MTU).toBe("1500");

      const pa = addPod(lab, a, "pod-a");
      const pb = addPod(lab, b, "pod-b");
      await waitFor("pod a to reach pod b", () => pings(pa.pod, pb.ip));
      const snA = nodeSubnet(lab, a);
      const snB = nodeSubnet(lab, b);
      expect(routes(a)).toContain(`${snB} via ${b.ip} dev eth0`);

      const chain = (table: string, name: string) =>
        a.ns
          .exec(["iptables-save", "-t", table])
          .split("\n")
          .filter((l) => l.startsWith(`-A ${name} `));
      const postrtg = [
        `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${snA} -d 10.61.0.0/16 -m comment --comment "flanneld masq" -j RETURN`,
        `-A FLANNEL-POSTRTG -s 10.61.0.0/16 -d ${snA} -m comment --comment "flanneld masq" -j RETURN`,
        `-A FLANNEL-POSTRTG ! -s 10.61.0.0/16 -d ${snA} -m comment --comment "flanneld masq" -j RETURN`,
        `-A FLANNEL-POSTRTG -s 10.61.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
        `-A FLANNEL-POSTRTG ! -s 10.61.0.0/16 -d 10.61.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
      ];
      expect(chain("nat", "FLANNEL-POSTRTG")).toEqual(postrtg);
      expect(chain("nat", "POSTROUTING")).toContain(`-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG`);
      expect(chain("filter", "FLANNEL-FWD")).toEqual([
        `-A FLANNEL-FWD -s 10.61.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT`,
        `-A FLANNEL-FWD -d 10.61.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT`,
      ]);
      expect(chain("filter", "FORWARD")).toEqual([`-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD`]);
      // The pod's own plugin does not masquerade too (ipMasq = !FLANNEL_IPMASQ).
      expect(chain("nat", "POSTROUTING").filter((l) => l.includes("CNI-"))).toEqual([]);

      // Someone removes a rule and the jump: flanneld puts them back (--iptables-resync=1).
      a.ns.exec([
        "iptables",
        "-t",
        "nat",
        "-D",
        "FLANNEL-POSTRTG",
        "-s",
        "10.61.0.0/16",
        "!",
        "-d",
        "224.0.0.0/4",
        "-m",
        "comment",
        "--comment",
        "flanneld masq",
        "-j",
        "MASQUERADE",
        "--random-fully",
      ]);
      a.ns.exec(["iptables", "-D", "FORWARD", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD"]);
      await waitFor(
        "the rules to come back",
        () => JSON.stringify(chain("nat", "FLANNEL-POSTRTG")) === JSON.stringify(postrtg) && chain("filter", "FORWARD").length === 1,
        5000,
      );
      // Someone removes the route to b: the periodic check puts it back.
      a.ns.exec(["ip", "route", "del", snB]);
      await waitFor("the route to b to come back", () => routes(a).includes(`${snB} via ${b.ip} dev eth0`), 15_000);
    }),
  120_000,
);

rootTest(
  "nftables (EnableNFTables): flannel's tables instead of iptables chains",
  () =>
    withFlannelLab({ nodes: 1, network: { Network: "10.62.0.0/16", EnableNFTables: true, Backend: { Type: "host-gw" } } }, async (lab, [a]) => {
      await startFlanneld(lab, a);
      const sn = nodeSubnet(lab, a);
      const t = a.ns.exec(["nft", "list", "table", "ip", "flannel-ipv4"]);
      for (const rule of [
        "meta mark 0x00004000 return",
        `ip saddr ${sn} ip daddr 10.62.0.0/16 return`,
        `ip saddr 10.62.0.0/16 ip daddr ${sn} return`,
        `ip saddr != ${sn} ip daddr 10.62.0.0/16 return`,
        "ip saddr 10.62.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
        "ip saddr != 10.62.0.0/16 ip daddr 10.62.0.0/16 masquerade fully-random",
        "ip saddr 10.62.0.0/16 accept",
        "ip daddr 10.62.0.0/16 accept",
      ])
        expect(t).toContain(rule);
      expect(a.ns.exec(["iptables-save", "-t", "nat"])).not.toContain("FLANNEL-POSTRTG");
    }),
  60_000,
);

rootTest(
  "etcd outage while running: routes stay, renewals fail and are logged, the lease is renewed when etcd returns and never lapses",
  () =>
    withFlannelLab({ nodes: 2, network: { Network: "10.65.0.0/16", Backend: { Type: "host-gw" } } }, async (lab, [a, b]) => {
      // An 8 s TTL (a test knob; flannel's is 24 h): renewed every 4 s, retried every 2 s.
      const env = { ...process.env, CNI_TS_FLANNELD_LEASE_TTL: "8" } as Record<string, string>;
      const fa = await startFlanneld(lab, a, [], true, env);
      await startFlanneld(lab, b, [], true, env);
      const pa = addPod(lab, a, "opod-a");
      const pb = addPod(lab, b, "opod-b");
      await waitFor("pod a to reach pod b", () => pings(pa.pod, pb.ip));
      const keyA = `${PREFIX}/subnets/${nodeSubnet(lab, a, "-")}`;
      await lab.etcd!.stop();
      await waitFor("a renewal to fail", () => fa.log().includes("Error renewing lease"), 10_000);
      expect(pings(pa.pod, pb.ip)).toBe(true);
      await lab.etcd!.start();
      const renewedBefore = fa.log().split("Lease renewed").length;
      await waitFor("a renewal to succeed", () => fa.log().split("Lease renewed").length > renewedBefore, 10_000);
      // Longer than the TTL after the outage: the lease is still there, the pods still talk.
      await Bun.sleep(9000);
      expect(Object.keys(lab.etcd!.get(keyA))).toEqual([keyA]);
      expect(pings(pa.pod, pb.ip)).toBe(true);
    }),
  90_000,
);

rootTest(
  "vxlan with DirectRouting: nodes on one network get plain routes via each other; /healthz and /readyz",
  () =>
    withFlannelLab({ nodes: 2, network: { Network: "10.68.0.0/16", Backend: { Type: "vxlan", DirectRouting: true } } }, async (lab, [a, b]) => {
      await startFlanneld(lab, a, ["--healthz-ip=127.0.0.1", "--healthz-port=10256"]);
      await startFlanneld(lab, b);
      const snB = nodeSubnet(lab, b);
      await waitFor("the direct route to b", () => routes(a).includes(`${snB} via ${b.ip} dev eth0`));
      const pa = addPod(lab, a, "dr-a");
      const pb = addPod(lab, b, "dr-b");
      await waitFor("pod a to reach pod b", () => pings(pa.pod, pb.ip));
      const get = (path: string) => a.ns.exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:10256${path}`], { allowFail: true });
      expect([get("/healthz"), get("/readyz"), get("/nope")]).toEqual(["200", "200", "404"]);
    }),
  60_000,
);

rootTest(
  "etcd with authentication: --etcd-username/--etcd-password (a token from /v3/auth/authenticate)",
  () =>
    withFlannelLab({ nodes: 1, network: { Network: "10.69.0.0/16", Backend: { Type: "host-gw" } } }, async (lab, [a]) => {
      const call = (path: string, body: unknown) => lab.etcd!.ns.exec(["curl", "-s", "-X", "POST", `${lab.etcd!.endpoint}${path}`, "-d", JSON.stringify(body)]);
      call("/v3/auth/role/add", { name: "root" });
      call("/v3/auth/user/add", { name: "root", password: "s3cret" });
      call("/v3/auth/user/grant", { user: "root", role: "root" });
      expect(call("/v3/auth/enable", {})).not.toContain("error");
      const bad = await startFlanneld(lab, a, ["--etcd-username=root", "--etcd-password=wrong"], false);
      await waitFor("the refusal to be logged", () => bad.log().includes('etcd authentication as "root" failed'), 10_000);
      await bad.stop();
      const good = await startFlanneld(lab, a, ["--etcd-username=root", "--etcd-password=s3cret"]);
      expect(subnetEnv(lab, a)!.FLANNEL_SUBNET).toMatch(/^10\.69\./);
      expect(bad.log() + good.log()).not.toMatch(/wrong|s3cret/);
    }),
  60_000,
);

rootTest(
  "udp and ipsec are refused naming the backend; --iface-regex picks the interface",
  () =>
    withLab({ nodes: 1, etcd: true }, async (lab) => {
      const [a] = lab.nodes as [LabNode];
      for (const type of ["udp", "ipsec"]) {
        lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.69.0.0/16", Backend: { Type: type } }));
        const p = await startFlanneld(lab, a, [], false);
        expect(await p.exited).toBe(1);
        expect(p.log()).toContain(`backend type "${type}" is not supported by cni-ts flanneld`);
      }
      lab.etcd!.put(`${PREFIX}/config`, JSON.stringify({ Network: "10.69.0.0/16", Backend: { Type: "alloc" } }));
      const p = lab.spawn(
        a,
        [ensureBuilt(), "flanneld", `--etcd-endpoints=${lab.etcd!.endpoint}`, "--iface-regex=^eth[0-9]$", `--subnet-file=${lab.dir}/regex.env`],
        { logName: "regex" },
      );
      await waitFor("flanneld ready", () => p.log().includes("flannel is ready"), 15_000);
      expect(p.log()).toContain(`Using interface with name eth0 and address ${a.ip}`);
    }),
  60_000,
);
