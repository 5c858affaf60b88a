import { describe, expect } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn, type Call } from "../../../test/helpers/plugin-run.ts";
import { prev, tuningConf, withPod } from "../../../test/helpers/tuning-kit.ts";

const OURS = ours("tuning");
const REF = reference("tuning");

// Debian's reference (v1.1.1) predates txQLen: it is tested on ours alone below.
const settings = {
  sysctl: { "net.ipv4.conf.IFNAME.arp_filter": "1", "net.ipv4.conf.all.log_martians": "1" },
  mac: "c2:11:22:33:44:55",
  mtu: 1400,
  promisc: true,
  allmulti: true,
};

function state(pod: TestNetns) {
  const [l] = pod.ipJson("-d", "link", "show", "dev", "eth0");
  return {
    mac: l.address,
    mtu: l.mtu,
    txqlen: l.txqlen,
    promisc: l.promiscuity > 0,
    allmulti: l.flags.includes("ALLMULTI"),
    arp_filter: pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim(),
    log_martians: pod.exec(["sysctl", "-n", "net.ipv4.conf.all.log_martians"]).trim(),
  };
}

describe("tuning", () => {
  rootTest("the same settings as the reference; DEL restores them; backups are read across", () =>
    withPod((node, pod, dataDir) => {
      const c = tuningConf(dataDir, prev(pod), settings);
      const call = (argv: string[], command: Call["command"], cc: object = c) => runIn(node, argv, { command, netns: pod.path, containerID: "ctr1", conf: cc });
      const before = state(pod);
      expect(call(REF, "ADD").code).toBe(0);
      const theirs = state(pod);
      expect(theirs).toEqual({ mac: "c2:11:22:33:44:55", mtu: 1400, txqlen: before.txqlen, promisc: true, allmulti: true, arp_filter: "1", log_martians: "1" });
      // Their backup, restored by our DEL (link settings; the reference does not back up sysctls).
      expect(call(OURS, "DEL").code).toBe(0);
      expect({ ...state(pod), arp_filter: before.arp_filter, log_martians: before.log_martians }).toEqual(before);
      pod.exec(["sysctl", "-w", "net.ipv4.conf.eth0.arp_filter=" + before.arp_filter, "net.ipv4.conf.all.log_martians=" + before.log_martians]);

      const add = call(OURS, "ADD");
      expect(add.stderr).toBe("");
      expect(add.json.interfaces[0].mac).toBe("c2:11:22:33:44:55");
      expect(state(pod)).toEqual(theirs);
      expect(call(OURS, "CHECK").code).toBe(0);
      // The reference's CHECK accepts our state (without the IFNAME key: v1.1.1's CHECK does not substitute it).
      const { "net.ipv4.conf.IFNAME.arp_filter": _, ...noIfname } = settings.sysctl;
      expect(call(REF, "CHECK", { ...c, sysctl: noIfname }).stdout).toBe("");
      const file = join(dataDir, "ctr1_eth0.json");
      expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ mac: before.mac, mtu: before.mtu, promisc: false, allmulti: false });
      // A retried ADD keeps the originals.
      expect(call(OURS, "ADD").code).toBe(0);
      pod.exec(["ip", "link", "set", "eth0", "mtu", "1300"]);
      expect(call(OURS, "CHECK").code).toBe(1);
      expect(call(OURS, "DEL").code).toBe(0);
      expect(state(pod)).toEqual(before);
      expect(existsSync(file)).toBe(false);
      expect(call(OURS, "DEL").code).toBe(0);
    }),
  );

  rootTest("txQLen set and restored", () =>
    withPod((node, pod, dataDir) => {
      const c = tuningConf(dataDir, prev(pod), { txQLen: 500 });
      const before = state(pod).txqlen;
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "q", conf: c }).code).toBe(0);
      expect(state(pod).txqlen).toBe(500);
      expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, containerID: "q", conf: c }).code).toBe(0);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "q", conf: c }).code).toBe(0);
      expect(state(pod).txqlen).toBe(before);
    }),
  );

  rootTest("sysctls only: no link needed, as for the reference (Multus's auxiliary chain names an interface nobody made); link settings still need it", () =>
    withPod((node, pod, dataDir) => {
      const c = tuningConf(dataDir, { cniVersion: "1.0.0" }, { sysctl: { "net.ipv4.conf.eth0.arp_filter": "1" } });
      const call = (argv: string[], command: Call["command"], cc: object = c) =>
        runIn(node, argv, { command, netns: pod.path, containerID: "aux", ifName: "net9", conf: cc });
      const before = state(pod).arp_filter;
      expect(call(REF, "ADD").code).toBe(0);
      expect(state(pod).arp_filter).toBe("1");
      pod.exec(["sysctl", "-w", `net.ipv4.conf.eth0.arp_filter=${before}`]);
      const add = call(OURS, "ADD");
      expect(add.stderr).toBe("");
      expect(add.json).toEqual({ cniVersion: "1.0.0", dns: {} });
      expect(state(pod).arp_filter).toBe("1");
      expect(call(OURS, "DEL").code).toBe(0);
      expect(state(pod).arp_filter).toBe(before);
      expect(call(OURS, "ADD", { ...c, mtu: 1400 }).json.msg).toBe('failed to get "net9": not found');
      expect(call(REF, "ADD", { ...c, mtu: 1400 }).code).toBe(1);
    }),
  );

  rootTest("nothing to tune: the reference's result, no backup file (as the reference), the link untouched, DEL fine; a missing link is no error", () =>
    withPod((node, pod, dataDir) => {
      const before = state(pod);
      const outs: unknown[] = [];
      for (const [argv, id] of [
        [REF, "noop-go"],
        [OURS, "noop-ts"],
      ] as const) {
        const add = runIn(node, argv, { command: "ADD", netns: pod.path, containerID: id, conf: tuningConf(dataDir, prev(pod)) });
        expect([add.code, add.stderr]).toEqual([0, ""]);
        outs.push(add.json);
        expect(existsSync(join(dataDir, `${id}_eth0.json`))).toBe(false);
        expect(state(pod)).toEqual(before);
        expect(runIn(node, argv, { command: "DEL", netns: pod.path, containerID: id, conf: tuningConf(dataDir, prev(pod)) }).code).toBe(0);
        const noLink = runIn(node, argv, {
          command: "ADD",
          netns: pod.path,
          containerID: id,
          ifName: "net9",
          conf: tuningConf(dataDir, { cniVersion: "1.0.0" }),
        });
        expect([noLink.code, noLink.json]).toEqual([0, { cniVersion: "1.0.0", dns: {} }]);
      }
      expect(outs[1]).toEqual(outs[0]);
    }),
  );

  rootTest("sysctls outside net, traversal and bad values are refused before anything changes", () =>
    withPod((node, pod, dataDir) => {
      for (const extra of [
        { sysctl: { "kernel.hostname": "x" } },
        { sysctl: { "net.ipv4.conf.IFNAME.forwarding/../../../kernel": "1" } },
        { sysctl: { "net..ipv4": "1" } },
        { mac: "zz" },
        { mtu: -1 },
        { promisc: "yes" },
      ]) {
        const r = runIn(node, OURS, {
          command: "ADD",
          netns: pod.path,
          containerID: "ctr1",
          conf: tuningConf(dataDir, prev(pod), extra),
        });
        expect(r.json.code).toBe(7);
      }
      expect(existsSync(join(dataDir, "ctr1_eth0.json"))).toBe(false);
    }),
  );

  rootTest("GC drops the backups of attachments that are gone; DEL without the namespace drops its backup", () =>
    withPod((node, pod, dataDir) => {
      const c = tuningConf(dataDir, prev(pod), { mtu: 1450 });
      for (const id of ["a", "b"]) expect(runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: id, conf: c }).code).toBe(0);
      const gc = { cniVersion: "1.1.0", name: "tun", type: "tuning", dataDir, "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }] };
      expect(runIn(node, OURS, { command: "GC", netns: pod.path, conf: gc }).code).toBe(0);
      expect([existsSync(join(dataDir, "a_eth0.json")), existsSync(join(dataDir, "b_eth0.json"))]).toEqual([true, false]);
      expect(runIn(node, OURS, { command: "DEL", netns: "/var/run/netns/gone", containerID: "a", conf: c }).code).toBe(0);
      expect(existsSync(join(dataDir, "a_eth0.json"))).toBe(false);
    }),
  );
});
