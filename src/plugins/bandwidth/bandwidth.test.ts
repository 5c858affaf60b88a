import { describe, expect } from "bun:test";
import { OURS, qdiscs, REF, setUp, shapedConf } from "../../../test/helpers/bandwidth-kit.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { runIn, type Call } from "../../../test/helpers/plugin-run.ts";
import { waitFor } from "../../../test/helpers/wait.ts";
import { ifbName } from "./bandwidth.ts";

const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "bwhost" }, { name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 1, address: "10.9.0.2/24" }],
});

/** tc's view of the shaping, without counters and reference counts. */
function shaping(node: TestNetns, ifb: string) {
  const filters = node.exec(["tc", "filter", "show", "dev", "bwhost", "ingress"]);
  const first = filters.match(/action order 1: (.*)/)?.[1];
  return { host: qdiscs(node, "bwhost"), ifb: qdiscs(node, ifb), redirect: first };
}

/** Removes what the reference leaves on the host veth after its DEL (the veth itself would take it). */
function clearHost(node: TestNetns): void {
  node.exec(["tc", "qdisc", "del", "dev", "bwhost", "root"], { allowFail: true });
  node.exec(["tc", "qdisc", "del", "dev", "bwhost", "ingress"], { allowFail: true });
}

/** Seconds that `bytes` take from `from` to a listener on `addr` in `to`. */
async function transfer(from: TestNetns, to: TestNetns, addr: string, bytes: number): Promise<number> {
  const server = Bun.spawn([
    "ip",
    "netns",
    "exec",
    to.name,
    process.execPath,
    "-e",
    `let n = 0; Bun.listen({ hostname: "${addr}", port: 9000, socket: { data(s, d) { n += d.length; if (n >= ${bytes}) { s.end(); process.exit(0); } } } }); setTimeout(() => process.exit(1), 20000);`,
  ]);
  try {
    await waitFor(() => to.exec(["ss", "-Hltn", "sport = :9000"]).trim() !== "", "the listener on port 9000");
    const t0 = Date.now();
    const client = Bun.spawnSync(["ip", "netns", "exec", from.name, "bash", "-c", `head -c ${bytes} /dev/zero > /dev/tcp/${addr}/9000`], { timeout: 20000 });
    expect(client.exitCode).toBe(0);
    expect(await server.exited).toBe(0);
    return (Date.now() - t0) / 1000;
  } finally {
    server.kill();
  }
}

describe("bandwidth", () => {
  const cases = [
    { IngressRate: 8_000_000, IngressBurst: 80_000, egressRate: 4_000_000, egressBurst: 40_000 },
    // Odd numbers (the truncations of the arithmetic) and a rate above 2^32 bytes/s (TCA_TBF_RATE64).
    { ingressRate: 3_000_000, ingressBurst: 12_345, egressRate: 40_000_000_000, egressBurst: 800_000 },
    { egressRate: 1_000_000, egressBurst: 10_000 },
  ];
  for (const limits of cases) {
    rootTest(`the reference's qdiscs and ifb for ${JSON.stringify(limits)}; CHECK both ways; DEL removes the ifb`, () =>
      withNodeAndPod((node, pod) => {
        setUp(node, pod);
        const c = {
          cniVersion: "1.0.0",
          name: "bwnet",
          type: "bandwidth",
          capabilities: { bandwidth: true },
          runtimeConfig: { bandwidth: limits },
          prevResult: prev(pod),
        };
        const call = (argv: string[], command: Call["command"], cc: object = c) =>
          runIn(node, argv, { command, netns: pod.path, containerID: "ctr1", conf: cc });
        const ifb = ifbName("bwnet", "ctr1");
        const ref = call(REF, "ADD");
        expect(ref.code).toBe(0);
        const theirs = shaping(node, ifb);
        expect(call(OURS, "CHECK").code).toBe(0);
        expect(call(REF, "DEL").code).toBe(0);
        clearHost(node);

        const add = call(OURS, "ADD");
        expect(add.stderr).toBe("");
        expect(add.code).toBe(0);
        expect(add.json.interfaces.map((i: any) => i.name)).toEqual(ref.json.interfaces.map((i: any) => i.name));
        expect(shaping(node, ifb)).toEqual(theirs);
        expect(call(OURS, "CHECK").code).toBe(0);
        expect(call(REF, "CHECK").code).toBe(0);
        expect(call(OURS, "DEL").code).toBe(0);
        expect(node.exec(["ip", "link", "show", ifb], { allowFail: true })).toBe("");
        expect(call(OURS, "DEL").code).toBe(0);
      }),
    );
  }

  rootTest("CHECK notices a changed TBF, a missing ifb and a missing redirect", () =>
    withNodeAndPod((node, pod) => {
      setUp(node, pod);
      const c = shapedConf("1.0.0", prev(pod));
      const call = (command: Call["command"]) => runIn(node, OURS, { command, netns: pod.path, containerID: "ctr1", conf: c });
      const ifb = ifbName("bwnet", "ctr1");
      expect(call("ADD").code).toBe(0);
      node.exec(["tc", "qdisc", "replace", "dev", ifb, "root", "handle", "1:", "tbf", "rate", "1mbit", "burst", "10kb", "latency", "25ms"]);
      expect(call("CHECK").json.msg).toBe("Rate doesn't match");
      node.exec(["tc", "qdisc", "del", "dev", "bwhost", "root"]);
      expect(call("CHECK").json.msg).toBe("Failed to find qdisc");
      node.exec(["tc", "qdisc", "add", "dev", "bwhost", "root", "handle", "1:", "tbf", "rate", "8mbit", "burst", "10000b", "limit", "40000"]);
      expect(call("CHECK").json.msg).toBe("Limit doesn't match");
      clearHost(node);
      expect(call("DEL").code).toBe(0);
      expect(call("ADD").code).toBe(0);
      node.exec(["tc", "filter", "del", "dev", "bwhost", "ingress"]);
      expect(call("CHECK").json.msg).toBe(`no redirect from bwhost to ${ifb}`);
      expect(call("DEL").code).toBe(0);
      expect(call("CHECK").json.msg).toBe(`get ifb device: ${ifb} not found`);
    }),
  );

  rootTest("no limits: prevResult passed on, nothing made; bad limits and old versions refused before anything changes", () =>
    withNodeAndPod((node, pod) => {
      setUp(node, pod);
      const base = { cniVersion: "1.0.0", name: "bwnet", type: "bandwidth", prevResult: prev(pod) };
      const none = runIn(node, OURS, { command: "ADD", netns: pod.path, conf: base });
      expect(none.json.interfaces.length).toBe(2);
      for (const bad of [
        { ingressRate: 1000 },
        { egressBurst: 1000 },
        { ingressRate: -1, ingressBurst: 1 },
        { ingressRate: 4, ingressBurst: 100 },
        { egressRate: 1e6, egressBurst: 2 ** 35 * 8 },
      ]) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod.path, conf: { ...base, ...bad } }).json.code).toBe(7);
      }
      const old = runIn(node, OURS, {
        command: "ADD",
        netns: pod.path,
        conf: { ...base, cniVersion: "0.2.0", ingressRate: 1e6, ingressBurst: 1e4, prevResult: undefined },
      });
      expect(old.json.code).toBe(1);
      expect(JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", "bwhost"])).map((q: any) => q.kind)).not.toContain("tbf");
      expect(node.exec(["ip", "-o", "link", "show", "type", "ifb"])).toBe("");
    }),
  );

  rootTest("a failed ADD removes the TBF it put on the host veth and leaves an ifb that was not its own", () =>
    withNodeAndPod((node, pod) => {
      setUp(node, pod);
      const ifb = ifbName("bwnet", "ctr1");
      node.exec(["ip", "link", "add", ifb, "type", "ifb"]);
      const c = shapedConf("1.0.0", prev(pod));
      const r = runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "ctr1", conf: c });
      expect(r.code).toBe(1);
      expect(r.json.msg).toContain("failed to set up bandwidth limits");
      expect(JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", "bwhost"])).map((q: any) => q.kind)).toEqual(["noqueue"]);
      expect(node.exec(["ip", "-o", "link", "show", ifb])).toContain(ifb);
    }),
  );

  rootTest("the shaping is real: bounded transfers each way take as long as the rates say", () =>
    withNodeAndPod(async (node, pod) => {
      setUp(node, pod);
      node.exec(["ip", "addr", "add", "10.9.0.1/24", "dev", "bwhost"]);
      pod.exec(["ip", "addr", "add", "10.9.0.2/24", "dev", "eth0"]);
      // Unshaped, 500 kB between two namespaces take milliseconds.
      expect(await transfer(node, pod, "10.9.0.2", 500_000)).toBeLessThan(0.5);
      // 2 Mbit/s to the pod, 4 Mbit/s from it: 500 kB take about 2 s and 1 s.
      const c = {
        cniVersion: "1.0.0",
        name: "bwnet",
        type: "bandwidth",
        ingressRate: 2_000_000,
        ingressBurst: 200_000,
        egressRate: 4_000_000,
        egressBurst: 200_000,
        prevResult: prev(pod),
      };
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "ctr1", conf: c }).code).toBe(0);
      const toPod = await transfer(node, pod, "10.9.0.2", 500_000);
      expect(toPod).toBeGreaterThan(1.5);
      expect(toPod).toBeLessThan(4);
      const fromPod = await transfer(pod, node, "10.9.0.1", 500_000);
      expect(fromPod).toBeGreaterThan(0.7);
      expect(fromPod).toBeLessThan(2.5);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "ctr1", conf: c }).code).toBe(0);
    }),
  );
});
