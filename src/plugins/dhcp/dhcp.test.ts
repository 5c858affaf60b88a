import { afterEach, describe, expect } from "bun:test";
import { existsSync } from "node:fs";
import { rootTest } from "../../../test/helpers/netns.ts";
import { runPlugin } from "../../skel/run.ts";
import { DhcpLab, dnsmasqClientID } from "../../../test/helpers/dhcp-lab.ts";
import { plugin } from "./dhcp.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

let lab: DhcpLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

function conf(l: DhcpLab, extra: object = {}) {
  return { cniVersion: "1.0.0", name: "dhnet", type: "macvlan", ipam: { type: "dhcp", daemonSocketPath: l.socketPath, ...extra } };
}

/** Our plugin as a runtime drives it: env and stdin in, stdout and exit status out. */
async function ours(l: DhcpLab, command: string, containerID: string, c: object, ifName = "eth0") {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: l.pod.path, CNI_IFNAME: ifName, CNI_PATH: GO_PLUGINS };
  const out = await runPlugin(plugin.funcs, plugin.info, { env, stdin: new TextEncoder().encode(JSON.stringify(c)) });
  return { code: out.exitCode, json: out.stdout.trim() ? JSON.parse(out.stdout) : undefined };
}

/** The Go reference plugin with the same inputs. */
function reference(l: DhcpLab, command: string, containerID: string, c: object, ifName = "eth0") {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: l.pod.path, CNI_IFNAME: ifName, CNI_PATH: GO_PLUGINS };
  const p = Bun.spawnSync(["ip", "netns", "exec", l.node.name, `${GO_PLUGINS}/dhcp`], { env, stdin: new TextEncoder().encode(JSON.stringify(c)) });
  const text = p.stdout.toString().trim();
  return { code: p.exitCode, json: text ? JSON.parse(text) : undefined };
}

function leaseOf(l: DhcpLab, clientID: string) {
  return l.leases().find((x) => x.clientID === dnsmasqClientID(clientID));
}

/** What a main plugin does with the result: put the address on the pod's interface (renewals are unicast to it). */
function configure(l: DhcpLab, address: string, ifName = "eth0") {
  l.pod.exec(["ip", "addr", "add", address, "dev", ifName]);
}

describe("dhcp plugin and daemon against dnsmasq", () => {
  rootTest("ADD leases an address (seen in dnsmasq's lease file), CHECK and a repeated ADD keep it, DEL releases it", async () => {
    lab = new DhcpLab();
    lab.addPodInterface("eth0");
    lab.startDnsmasq();
    await lab.startDaemon();
    const add = await ours(lab, "ADD", "c1", conf(lab));
    expect(add.code).toBe(0);
    const ip = add.json.ips[0].address as string;
    expect(ip).toMatch(/^10\.9\.0\.\d+\/24$/);
    expect(add.json).toEqual({ cniVersion: "1.0.0", ips: [{ address: ip, gateway: "10.9.0.1" }], routes: [{ dst: "0.0.0.0/0", gw: "10.9.0.1" }], dns: {} });
    const lease = leaseOf(lab, "c1/dhnet/eth0");
    expect(lease?.ip).toBe(ip.split("/")[0]);
    expect(lease?.mac).toBe(lab.pod.ipJson("link", "show", "eth0")[0].address);

    expect((await ours(lab, "CHECK", "c1", conf(lab))).code).toBe(0);
    expect((await ours(lab, "ADD", "c1", conf(lab))).json).toEqual(add.json);
    expect(lab.leases().length).toBe(1);

    expect((await ours(lab, "DEL", "c1", conf(lab))).code).toBe(0);
    for (let i = 0; i < 40 && leaseOf(lab, "c1/dhnet/eth0"); i++) await Bun.sleep(50);
    expect(leaseOf(lab, "c1/dhnet/eth0")).toBeUndefined();
    // DEL again: nothing left to release is success.
    expect((await ours(lab, "DEL", "c1", conf(lab))).code).toBe(0);
  });

  rootTest("results at older spec versions; provide host-name from CNI_ARGS; request option 121", async () => {
    lab = new DhcpLab();
    lab.addPodInterface("eth0");
    lab.startDnsmasq(["--dhcp-option=121,10.77.0.0/16,10.9.0.254"]);
    await lab.startDaemon();
    const c = { ...conf(lab, { provide: [{ option: "host-name", fromArg: "K8S_POD_NAME" }], request: [{ option: "121" }] }), cniVersion: "0.3.1" };
    const env = {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c2",
      CNI_NETNS: lab.pod.path,
      CNI_IFNAME: "eth0",
      CNI_PATH: GO_PLUGINS,
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web-0",
    };
    const out = await runPlugin(plugin.funcs, plugin.info, { env, stdin: new TextEncoder().encode(JSON.stringify(c)) });
    const r = JSON.parse(out.stdout);
    expect(r.cniVersion).toBe("0.3.1");
    expect(r.ips[0]).toMatchObject({ version: "4", gateway: "10.9.0.1" });
    // Classless routes replace the default route (RFC 3442).
    expect(r.routes).toEqual([{ dst: "10.77.0.0/16", gw: "10.9.0.254" }]);
    const line = (await Bun.file(`${lab.dir}/leases`).text()).trim();
    expect(line.split(" ")[3]).toBe("web-0");
    expect((await ours(lab, "DEL", "c2", c)).code).toBe(0);
  });

  rootTest(
    "the lease is renewed at T1 (dnsmasq told to set T1 to 3 s)",
    async () => {
      lab = new DhcpLab();
      lab.addPodInterface("eth0");
      lab.startDnsmasq(["--dhcp-option=option:T1,3s", "--dhcp-option=option:T2,100s"]);
      await lab.startDaemon();
      const add = await ours(lab, "ADD", "c3", conf(lab));
      configure(lab, add.json.ips[0].address);
      const first = leaseOf(lab, "c3/dhnet/eth0")!.expiry;
      for (let i = 0; i < 100 && (leaseOf(lab, "c3/dhnet/eth0")!.expiry === first || !lab.log().includes("renewed")); i++) await Bun.sleep(100);
      expect(leaseOf(lab, "c3/dhnet/eth0")!.expiry).toBeGreaterThan(first);
      expect(lab.log()).toContain("c3/dhnet/eth0: lease renewed");
      expect((await ours(lab, "DEL", "c3", conf(lab))).code).toBe(0);
    },
    30_000,
  );

  rootTest("GC releases the leases of attachments not listed as valid", async () => {
    lab = new DhcpLab();
    lab.addPodInterface("eth0");
    lab.addPodInterface("eth1");
    lab.startDnsmasq();
    await lab.startDaemon();
    for (const [id, ifName] of [
      ["keep", "eth0"],
      ["gone", "eth0"],
      ["gone", "eth1"],
    ] as const) {
      expect((await ours(lab, "ADD", id, conf(lab), ifName)).code).toBe(0);
    }
    expect(lab.leases().length).toBe(3);
    const gc = {
      ...conf(lab),
      cniVersion: "1.1.0",
      "cni.dev/valid-attachments": [
        { containerID: "keep", ifname: "eth0" },
        { containerID: "gone", ifname: "eth1" },
      ],
    };
    const env = { CNI_COMMAND: "GC", CNI_PATH: GO_PLUGINS };
    expect((await runPlugin(plugin.funcs, plugin.info, { env, stdin: new TextEncoder().encode(JSON.stringify(gc)) })).exitCode).toBe(0);
    // dnsmasq rewrites its lease file in place: a read can catch it empty, so wait for the two.
    for (let i = 0; i < 100 && lab.leases().length !== 2; i++) await Bun.sleep(50);
    expect(
      lab
        .leases()
        .map((x) => x.clientID)
        .sort(),
    ).toEqual([dnsmasqClientID("gone/dhnet/eth1"), dnsmasqClientID("keep/dhnet/eth0")].sort());
    const status = await runPlugin(plugin.funcs, plugin.info, {
      env: { CNI_COMMAND: "STATUS", CNI_PATH: GO_PLUGINS },
      stdin: new TextEncoder().encode(JSON.stringify(gc)),
    });
    expect(status.exitCode).toBe(0);
  });

  rootTest("daemon restart: socket and pidfile removed at SIGTERM; a new daemon leases the same address again, then DEL releases it", async () => {
    lab = new DhcpLab();
    lab.addPodInterface("eth0");
    lab.startDnsmasq();
    const d1 = await lab.startDaemon();
    const add = await ours(lab, "ADD", "c5", conf(lab));
    await lab.kill(d1.pidfile);
    expect(existsSync(lab.socketPath)).toBe(false);
    expect(existsSync(d1.pidfile)).toBe(false);
    const down = await ours(lab, "ADD", "c5", conf(lab));
    expect(down.code).toBe(1);
    expect(down.json.msg).toStartWith("error dialing DHCP daemon");
    await lab.startDaemon();
    // A restarted daemon has no leases (as the reference): DEL is a no-op, ADD or CHECK acquires again.
    expect((await ours(lab, "CHECK", "c5", conf(lab))).code).toBe(0);
    expect((await ours(lab, "ADD", "c5", conf(lab))).json).toEqual(add.json);
    expect((await ours(lab, "DEL", "c5", conf(lab))).code).toBe(0);
    for (let i = 0; i < 40 && leaseOf(lab, "c5/dhnet/eth0"); i++) await Bun.sleep(50);
    expect(leaseOf(lab, "c5/dhnet/eth0")).toBeUndefined();
  });

  rootTest("differential: Go plugin with our daemon and our plugin with the Go daemon give the reference's results", async () => {
    lab = new DhcpLab();
    lab.addPodInterface("eth0");
    lab.startDnsmasq();
    // Reference pair first: the oracle.
    const go = await lab.startDaemon("go");
    const want = reference(lab, "ADD", "c6", conf(lab));
    expect(want.code).toBe(0);
    // Our plugin against the Go daemon (the daemon already holds the lease: same answer).
    expect((await ours(lab, "ADD", "c6", conf(lab))).json).toEqual(want.json);
    expect((await ours(lab, "DEL", "c6", conf(lab))).code).toBe(0);
    for (let i = 0; i < 40 && leaseOf(lab, "c6/dhnet/eth0"); i++) await Bun.sleep(50);
    expect(leaseOf(lab, "c6/dhnet/eth0")).toBeUndefined();
    await lab.kill(go.pidfile);
    // The Debian daemon leaves its socket behind; ours replaces a stale one.
    await lab.startDaemon("ours");
    const viaGo = reference(lab, "ADD", "c6", conf(lab));
    expect(viaGo.json).toEqual(want.json);
    expect(leaseOf(lab, "c6/dhnet/eth0")?.ip).toBe(want.json.ips[0].address.split("/")[0]);
    expect(reference(lab, "DEL", "c6", conf(lab)).code).toBe(0);
    for (let i = 0; i < 40 && leaseOf(lab, "c6/dhnet/eth0"); i++) await Bun.sleep(50);
    expect(leaseOf(lab, "c6/dhnet/eth0")).toBeUndefined();
  });
});
