import { describe, expect } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn } from "../../../test/helpers/plugin-run.ts";
import { prev, tuningConf, withAllowlist, withPod } from "../../../test/helpers/tuning-kit.ts";

const OURS = ours("tuning");
const REF = reference("tuning");

describe("tuning: DEL, CHECK messages, duplicates, retried ADD", () => {
  rootTest("DEL restores even when the allow-list or the config changed since the ADD", () =>
    withPod((node, pod, dataDir) => {
      const sysctl = { "net.ipv4.conf.IFNAME.arp_filter": "1" };
      const c = tuningConf(dataDir, prev(pod), { mtu: 1300, sysctl });
      const allowAll = withAllowlist(["^net\\."]);
      const allowNone = withAllowlist(["^nothing$"]);
      try {
        expect(runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "d", wrap: allowAll.wrap, conf: c }).code).toBe(0);
        expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("1");
        // The list no longer allows the sysctl, and the config now has a bad MAC: DEL still restores.
        const del = runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "d", wrap: allowNone.wrap, conf: { ...c, mac: "bad" } });
        expect([del.code, del.stdout]).toEqual([0, ""]);
        expect(pod.ipJson("link", "show", "dev", "eth0")[0].mtu).toBe(1500);
        expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("0");
      } finally {
        allowAll.cleanup();
        allowNone.cleanup();
      }
    }),
  );

  // The reference refuses it since v1.2.0 (Debian's v1.1.1 keeps the last value): ours alone.
  rootTest("a sysctl named twice is refused with the reference's message, before anything changes", () =>
    withPod((node, pod, dataDir) => {
      const raw =
        `{"cniVersion":"1.0.0","name":"tun","type":"tuning","dataDir":${JSON.stringify(dataDir)},"mtu":1300,` +
        `"sysctl":{"net.ipv4.conf.IFNAME.arp_filter":"1","net.ipv4.conf.IFNAME.arp_filter":"0"},"prevResult":${JSON.stringify(prev(pod))}}`;
      const msg = "duplicated sysctl keys are not allowed";
      const mine = runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "dup", conf: raw });
      expect([mine.code, mine.json.code, mine.json.msg]).toEqual([1, 7, msg]);
      expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, containerID: "dup", conf: raw }).json.msg).toBe(msg);
      expect(pod.ipJson("link", "show", "dev", "eth0")[0].mtu).toBe(1500);
    }),
  );

  rootTest("DEL applies nothing of a backup that names a sysctl outside net.*: logged, dropped, DEL succeeds", () =>
    withPod((node, pod, dataDir) => {
      // Its own UTS namespace, so even a wrong DEL cannot touch the machine's domainname;
      // the domainname it ends with goes to stderr after the plugin's own output.
      const wrap = ["unshare", "-u", "sh", "-c", '"$0" "$@"; rc=$?; echo "domainname=$(cat /proc/sys/kernel/domainname)" >&2; exit $rc'];
      const c = tuningConf(dataDir, prev(pod));
      for (const name of ["kernel/domainname", "kernel.domainname", "net/../kernel/domainname"]) {
        const file = join(dataDir, "pw_eth0.json");
        writeFileSync(file, JSON.stringify({ mtu: 1280, sysctl: { "net/ipv4/conf/eth0/arp_filter": "1", [name]: "cni-ts-pwned" } }));
        const del = runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "pw", wrap, conf: c });
        expect([del.code, del.stdout]).toEqual([0, ""]);
        expect(del.stderr).toContain(`tuning: ignoring corrupt backup ${JSON.stringify(file)}`);
        expect(del.stderr).not.toContain("domainname=cni-ts-pwned");
        expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("0");
        expect(pod.ipJson("link", "show", "dev", "eth0")[0].mtu).toBe(1500);
        expect(existsSync(file)).toBe(false);
      }
    }),
  );

  rootTest("CHECK fails with the reference's messages for a changed sysctl and promisc mode", () =>
    withPod((node, pod, dataDir) => {
      const c = tuningConf(dataDir, prev(pod), { sysctl: { "net.ipv4.conf.eth0.arp_filter": "1" } });
      expect(runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "ck", conf: c }).code).toBe(0);
      const both = () => [REF, OURS].map((argv) => runIn(node, argv, { command: "CHECK", netns: pod.path, containerID: "ck", conf: c }).json?.msg);
      expect(both()).toEqual([undefined, undefined]);
      pod.exec(["ip", "link", "set", "eth0", "promisc", "on"]);
      const [refPromisc, ourPromisc] = both();
      expect(refPromisc).toBe("Error: Tuning link eth0 configured promisc is false, current value is 1");
      expect(ourPromisc).toBe(refPromisc);
      pod.exec(["sysctl", "-w", "net.ipv4.conf.eth0.arp_filter=0"]);
      const [refSysctl, ourSysctl] = both();
      expect(refSysctl).toBe("Error: Tuning configured value of /proc/sys/net/ipv4/conf/eth0/arp_filter is 1, current value is 0");
      expect(ourSysctl).toBe(refSysctl);
      expect(runIn(node, OURS, { command: "DEL", netns: pod.path, containerID: "ck", conf: c }).code).toBe(0);
    }),
  );

  rootTest("a retried ADD with more settings records their originals too; DEL restores all", () =>
    withPod((node, pod, dataDir) => {
      const link = () => pod.ipJson("-d", "link", "show", "dev", "eth0")[0];
      const before = { mtu: link().mtu, txqlen: link().txqlen };
      const c = tuningConf(dataDir, prev(pod), { mtu: 1400 });
      const call = (command: "ADD" | "DEL", conf: object) => runIn(node, OURS, { command, netns: pod.path, containerID: "re", conf }).code;
      expect(call("ADD", c)).toBe(0);
      expect(call("ADD", { ...c, mtu: 1300, txQLen: 77 })).toBe(0);
      expect(JSON.parse(readFileSync(join(dataDir, "re_eth0.json"), "utf8"))).toEqual({ mtu: before.mtu, txQLen: before.txqlen });
      expect({ mtu: link().mtu, txqlen: link().txqlen }).toEqual({ mtu: 1300, txqlen: 77 });
      expect(call("DEL", c)).toBe(0);
      expect({ mtu: link().mtu, txqlen: link().txqlen }).toEqual(before);
    }),
  );

  rootTest("a failed ADD puts back what it had changed and leaves no backup (the reference leaves both)", () =>
    withPod((node, pod, dataDir) => {
      // The kernel refuses a multicast MAC, after the sysctl was written.
      const c = tuningConf(dataDir, prev(pod), { sysctl: { "net.ipv4.conf.IFNAME.arp_filter": "1" }, mac: "01:00:5e:00:00:01" });
      const r = runIn(node, OURS, { command: "ADD", netns: pod.path, containerID: "f", conf: c });
      expect([r.code, r.json.code]).toEqual([1, 999]);
      expect(r.json.msg).toContain('failed to tune "eth0"');
      expect(pod.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("0");
      expect(existsSync(join(dataDir, "f_eth0.json"))).toBe(false);
    }),
  );

  rootTest("an interface name with a dot: IFNAME stays one level (current reference; Debian's v1.1.1 splits it)", () =>
    withPod((node, pod, dataDir) => {
      pod.exec(["ip", "link", "set", "eth0", "name", "e.1"]);
      const c = tuningConf(dataDir, prev(pod), { sysctl: { "net.ipv4.conf.IFNAME.arp_filter": "1" } });
      const p = { ...c, prevResult: { ...c.prevResult, interfaces: [{ name: "e.1", sandbox: pod.path }] } };
      const call = (argv: string[], command: "ADD" | "CHECK" | "DEL") =>
        runIn(node, argv, { command, netns: pod.path, containerID: "dot", ifName: "e.1", conf: p });
      expect(call(REF, "ADD").json.msg).toContain("/proc/sys/net/ipv4/conf/e/1/arp_filter");
      expect(call(REF, "DEL").code).toBe(0);
      const add = call(OURS, "ADD");
      expect([add.code, add.stderr]).toEqual([0, ""]);
      expect(pod.exec(["cat", "/proc/sys/net/ipv4/conf/e.1/arp_filter"]).trim()).toBe("1");
      expect(call(OURS, "CHECK").code).toBe(0);
      expect(call(OURS, "DEL").code).toBe(0);
      expect(pod.exec(["cat", "/proc/sys/net/ipv4/conf/e.1/arp_filter"]).trim()).toBe("0");
    }),
  );
});
