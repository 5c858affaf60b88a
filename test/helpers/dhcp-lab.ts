/**
 * The lab the dhcp tests run in, all in namespaces the test made: a "server" namespace
 * with dnsmasq on one end of a veth, a pod namespace with the other end as eth0 (and
 * more pairs on request), and a "node" namespace the daemons run in. stop() kills
 * every process by its pidfile and removes namespaces and files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "./dist.ts";
import { TestNetns, sh } from "./netns.ts";
import { GO_PLUGINS } from "./plugin-run.ts";

/** One dnsmasq lease: expiry (epoch seconds), MAC, address, client id as "00:63:31:...". */
export interface DnsmasqLease {
  expiry: number;
  mac: string;
  ip: string;
  clientID: string;
}

/** The client id as dnsmasq prints it: type byte 0 then the text, in hex pairs. */
export function dnsmasqClientID(id: string): string {
  return [0, ...new TextEncoder().encode(id)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export class DhcpLab {
  readonly dir = mkdtempSync(join(tmpdir(), "cnits-dhcp-"));
  readonly server = TestNetns.create("dhsrv");
  readonly pod = TestNetns.create("dhpod");
  readonly node = TestNetns.create("dhnode");
  readonly socketPath = join(this.dir, "run", "dhcp.sock");
  #pids: string[] = [];
  #pairs = 0;

  /** Connects the pod's `ifName` to the server namespace, where the peer is bridged to dnsmasq's bridge. */
  addPodInterface(ifName: string): void {
    const n = this.#pairs++;
    const srvEnd = `srv${n}`;
    sh(["ip", "link", "add", "dhtmp0", "netns", this.server.name, "type", "veth", "peer", "name", "dhtmp1", "netns", this.pod.name]);
    this.server.exec(["ip", "link", "set", "dhtmp0", "name", srvEnd]);
    this.pod.exec(["ip", "link", "set", "dhtmp1", "name", ifName]);
    if (n === 0) {
      this.server.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      this.server.exec(["ip", "addr", "add", "10.9.0.1/24", "dev", "br0"]);
      this.server.exec(["ip", "link", "set", "br0", "up"]);
    }
    this.server.exec(["ip", "link", "set", srvEnd, "master", "br0", "up"]);
  }

  /** Starts dnsmasq on the server's bridge: 10.9.0.50-99, a 2-minute lease (its minimum), router 10.9.0.1. */
  startDnsmasq(extra: string[] = []): void {
    const pid = join(this.dir, "dnsmasq.pid");
    this.server.exec([
      "dnsmasq",
      "--conf-file=/dev/null",
      "--port=0",
      "--interface=br0",
      "--bind-interfaces",
      "--user=root",
      "--no-ping",
      "--dhcp-range=10.9.0.50,10.9.0.99,255.255.255.0,2m",
      "--dhcp-option=option:router,10.9.0.1",
      "--dhcp-authoritative",
      `--dhcp-leasefile=${join(this.dir, "leases")}`,
      `--pid-file=${pid}`,
      "--log-dhcp",
      `--log-facility=${join(this.dir, "dnsmasq.log")}`,
      ...extra,
    ]);
    this.#pids.push(pid);
  }

  /** dnsmasq's lease file, parsed. */
  leases(): DnsmasqLease[] {
    const file = join(this.dir, "leases");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [expiry, mac, ip, , clientID] = l.split(" ");
        return { expiry: Number(expiry), mac: mac!, ip: ip!, clientID: clientID! };
      });
  }

  /** Starts a daemon in the node namespace: ours (`cni-ts plugin dhcp daemon`) or the Go reference; waits for its socket. */
  async startDaemon(kind: "ours" | "go" = "ours", extra: string[] = []): Promise<{ pidfile: string; proc: ReturnType<typeof Bun.spawn> }> {
    const pidfile = join(this.dir, `daemon-${kind}.pid`);
    const cmd = kind === "ours" ? [ensureBuilt(), "plugin", "dhcp", "daemon"] : [`${GO_PLUGINS}/dhcp`, "daemon"];
    const proc = Bun.spawn(["ip", "netns", "exec", this.node.name, ...cmd, "-socketpath", this.socketPath, "-pidfile", pidfile, ...extra], {
      stdout: "ignore",
      stderr: Bun.file(join(this.dir, `daemon-${kind}.log`)),
    });
    this.#pids.push(pidfile);
    // Connect, not just look for the file: a daemon before may have left its socket behind.
    for (let i = 0; i < 200; i++) {
      try {
        (await Bun.connect({ unix: this.socketPath, socket: { data() {} } })).end();
        return { pidfile, proc };
      } catch {
        await Bun.sleep(25);
      }
    }
    throw new Error(`daemon did not start: ${this.log(kind)}`);
  }

  /** A daemon's log. */
  log(kind: "ours" | "go" = "ours"): string {
    const f = join(this.dir, `daemon-${kind}.log`);
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  /** Sends SIGTERM to the process of `pidfile` and waits until it is gone. */
  async kill(pidfile: string): Promise<void> {
    if (!existsSync(pidfile)) return;
    const pid = Number(readFileSync(pidfile, "utf8").trim());
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await Bun.sleep(25);
    }
    process.kill(pid, "SIGKILL");
  }

  /** Kills everything started, removes namespaces and files. */
  async stop(): Promise<void> {
    for (const p of this.#pids) await this.kill(p);
    for (const ns of [this.pod, this.server, this.node]) ns.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
