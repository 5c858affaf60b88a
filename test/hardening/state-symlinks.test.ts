/**
 * Someone who can write into a state directory plants a symlink at every name our
 * plugins, daemons and runtime write or read there, each pointing at a file of its
 * own (or at a name that does not exist yet). A whole chain (bridge with host-local,
 * portmap, firewall, tuning; the flannel plugin; the cni-ts CLI with its result cache)
 * then runs ADD, CHECK, DEL and GC, and the dhcp daemon starts and stops: every target
 * is unchanged, nothing is created through a dangling link, and what a planted file
 * says (a backup to restore, a cached result) is never used. Neither bridge nor portmap
 * nor sbr keeps files (sbr's lock is the flock on the pod's namespace file, which the
 * skel has checked is one).
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { indexDirOf } from "../../src/ipam/store.ts";
import { ensureBuilt, installedBinDir } from "../helpers/dist.ts";
import { rootTest, withNetns, type TestNetns } from "../helpers/netns.ts";

let work: string;
let dist: string;
let bin: { dir: string; cleanup: () => void };
beforeAll(() => {
  dist = ensureBuilt();
  bin = installedBinDir();
  work = mkdtempSync(join(tmpdir(), "cni-ts-symlinks-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  bin?.cleanup();
});

/** Planted links and what their targets held, to compare at the end. */
class Plants {
  readonly victims = mkdtempSync(join(work, "victims-"));
  readonly #links: { link: string; target: string; content?: string }[] = [];
  #n = 0;

  /** A link at `path` to a new file holding `content`, or (content undefined) to a name that does not exist. */
  plant(path: string, content: string | undefined = `victim of ${path}\n`): void {
    const target = join(this.victims, `${++this.#n}${content === undefined ? "-absent" : ""}`);
    if (content !== undefined) writeFileSync(target, content);
    mkdirSync(join(path, ".."), { recursive: true });
    symlinkSync(target, path);
    this.#links.push({ link: path, target, content });
  }

  /** Every target as it was: same bytes, or still absent. */
  expectUntouched(): void {
    for (const { link, target, content } of this.#links) {
      if (content === undefined) expect([link, existsSync(target)]).toEqual([link, false]);
      else expect([link, readFileSync(target, "utf8")]).toEqual([link, content]);
    }
    // Nothing else appeared among the targets either.
    expect(readdirSync(this.victims).length).toBe(this.#links.filter((l) => l.content !== undefined).length);
  }
}

describe("planted symlinks in every state directory", () => {
  rootTest("a chain through the CLI: ADD, CHECK, DEL and GC leave every target unchanged", () =>
    withNetns(2, (node: TestNetns, pod: TestNetns) => {
      node.exec(["ip", "link", "set", "lo", "up"]);
      const p = new Plants();
      const dataDir = join(work, "networks");
      const cache = join(work, "cache");
      const tuning = join(work, "tuning");
      const firewall = join(work, "firewall");
      const net = "symnet";
      const id = "sym-ctr-1";
      const confDir = join(work, "net.d");
      mkdirSync(confDir, { recursive: true });
      writeFileSync(
        join(confDir, "10-sym.conflist"),
        JSON.stringify({
          cniVersion: "1.1.0",
          name: net,
          plugins: [
            { type: "bridge", bridge: "cnisym0", isGateway: true, ipMasq: true, ipam: { type: "host-local", subnet: "10.97.0.0/24", dataDir } },
            { type: "portmap", capabilities: { portMappings: true } },
            { type: "firewall", backend: "iptables", stateDir: firewall },
            { type: "tuning", dataDir: tuning, mtu: 1400 },
          ],
        }),
      );

      // host-local: the network's files, the first free address, the probe, and the owner index beside the data dir.
      const netDir = join(dataDir, net);
      p.plant(join(netDir, "last_reserved_ip.0"));
      p.plant(join(netDir, "last_reserved_ip.0.tmp"), undefined);
      p.plant(join(netDir, "10.97.0.2"));
      p.plant(join(netDir, ".cni-ts-probe"), undefined);
      for (const f of [net, `${net}.stamp`, `${net}.tmp`]) p.plant(join(indexDirOf(dataDir), f));
      // Where old versions kept the index, and what they named there.
      p.plant(join(dataDir, ".cni-ts-index", net));
      p.plant(join(dataDir, ".cni-ts-index", `${net}.stamp`));
      // The result cache: a planted entry claims a result the runtime must not believe.
      const entry = join(cache, "results", `${net}-${id}-eth0`);
      p.plant(
        entry,
        JSON.stringify({
          kind: "cniCacheV1",
          containerId: id,
          config: "",
          ifName: "eth0",
          networkName: net,
          result: { cniVersion: "1.1.0", ips: [{ address: "10.97.0.200/24" }] },
        }),
      );
      p.plant(`${entry}.tmp`, undefined);
      // tuning: a planted backup would set the MTU to 1280 on DEL.
      p.plant(join(tuning, `${id}_eth0.json`), JSON.stringify({ mtu: 1280 }));
      p.plant(join(tuning, `${id}_eth0.json.tmp`), undefined);
      // firewall: a planted record names an address whose rules DEL would remove.
      p.plant(join(firewall, `${id}-eth0.json`), JSON.stringify({ containerID: id, ifname: "eth0", network: net, hosts: ["10.97.0.77/32"] }));
      p.plant(join(firewall, `${id}-eth0.json.tmp`), undefined);

      const env = {
        PATH: process.env.PATH!,
        NETCONFPATH: confDir,
        CNI_PATH: bin.dir,
        CNI_CACHE_DIR: cache,
        CNI_CONTAINERID: id,
        CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: 8097, containerPort: 80, protocol: "tcp" }] }),
      };
      const run = (...argv: string[]) => {
        const r = Bun.spawnSync(["ip", "netns", "exec", node.name, dist, ...argv], { env });
        return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
      };

      const add = run("add", net, pod.path);
      expect([add.code, add.stderr]).toEqual([0, ""]);
      // 10.97.0.2 is taken by the planted link: the next address, and the link is still a link.
      expect(JSON.parse(add.stdout).ips[0].address).toBe("10.97.0.3/24");
      expect(lstatSync(join(netDir, "10.97.0.2")).isSymbolicLink()).toBe(true);
      expect(pod.ipJson("link", "show", "eth0")[0].mtu).toBe(1400);
      // The cache entry is ours now: a regular file with the real result.
      expect(lstatSync(entry).isFile()).toBe(true);
      expect(readFileSync(entry, "utf8")).toContain("10.97.0.3/24");
      p.expectUntouched();

      const check = run("check", net, pod.path);
      expect([check.code, check.stdout, check.stderr]).toEqual([0, "", ""]);
      p.expectUntouched();

      // A link planted again after ADD, at the names DEL reads.
      rmSync(join(tuning, `${id}_eth0.json`));
      p.plant(join(tuning, `${id}_eth0.json`), JSON.stringify({ mtu: 1280 }));
      const del = run("del", net, pod.path);
      expect([del.code, del.stderr]).toEqual([0, ""]);
      p.expectUntouched();
      expect(
        readdirSync(netDir)
          .filter((n) => n.startsWith("10.97.0."))
          .sort(),
      ).toEqual(["10.97.0.2"]);

      // GC of the network after a second ADD (the CLI DELs every cached attachment not named valid, then sends GC).
      expect(run("add", net, pod.path).code).toBe(0);
      rmSync(entry);
      p.plant(entry, "{}");
      const gc = run("gc", net);
      expect([gc.code, gc.stderr]).toEqual([0, ""]);
      p.expectUntouched();
    }),
  );

  rootTest("a planted lock file or network directory makes host-local refuse, writing nothing through it", () =>
    withNetns(2, (node: TestNetns, pod: TestNetns) => {
      const p = new Plants();
      const dataDir = join(work, "networks-2");
      p.plant(join(dataDir, "locked", "lock"));
      mkdirSync(join(p.victims, "dir"));
      symlinkSync(join(p.victims, "dir"), join(dataDir, "linked"));
      for (const name of ["locked", "linked"]) {
        const conf = { cniVersion: "1.0.0", name, type: "host-local", subnet: "10.98.0.0/24", dataDir };
        const r = Bun.spawnSync(["ip", "netns", "exec", node.name, join(bin.dir, "host-local")], {
          env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir },
          stdin: new TextEncoder().encode(JSON.stringify({ ...conf, ipam: conf })),
        });
        expect(r.exitCode).toBe(1);
        expect(JSON.parse(r.stdout.toString()).msg).toMatch(name === "locked" ? /ELOOP/ : /a symlink where a directory should be/);
      }
      expect(readdirSync(join(p.victims, "dir"))).toEqual([]);
      rmSync(join(p.victims, "dir"), { recursive: true });
      p.expectUntouched();
    }),
  );

  rootTest("the flannel plugin's saved config, the dhcp daemon's pidfile, the cni-ts daemon's socket", () =>
    withNetns(2, async (node: TestNetns, pod: TestNetns) => {
      const p = new Plants();
      // flannel: the file that DEL reads its delegate from.
      const subnetFile = join(work, "subnet.env");
      writeFileSync(subnetFile, "FLANNEL_NETWORK=10.99.0.0/16\nFLANNEL_SUBNET=10.99.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
      const flannelDir = join(work, "flannel");
      const id = "sym-fl-1";
      p.plant(
        join(flannelDir, id),
        JSON.stringify({
          type: "bridge",
          name: "x",
          cniVersion: "1.0.0",
          bridge: "victim0",
          ipam: { type: "host-local", subnet: "10.99.9.0/24", dataDir: join(work, "nowhere") },
        }),
      );
      p.plant(join(flannelDir, `${id}.tmp`), undefined);
      const conf = { cniVersion: "1.0.0", name: "fl", type: "flannel", subnetFile, dataDir: flannelDir, ipam: { dataDir: join(work, "fl-ipam") } };
      const call = (command: string) =>
        Bun.spawnSync(["ip", "netns", "exec", node.name, join(bin.dir, "flannel")], {
          env: { PATH: process.env.PATH!, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir },
          stdin: new TextEncoder().encode(JSON.stringify(conf)),
        });
      expect(call("ADD").exitCode).toBe(0);
      expect(lstatSync(join(flannelDir, id)).isFile()).toBe(true);
      p.expectUntouched();
      rmSync(join(flannelDir, id));
      p.plant(join(flannelDir, id), JSON.stringify({ type: "bridge", name: "x", cniVersion: "1.0.0", bridge: "victim0" }));
      expect(call("DEL").exitCode).toBe(0);
      p.expectUntouched();

      // dhcp daemon: the pidfile is replaced, its target untouched.
      const pidfile = join(work, "dhcp", "daemon.pid");
      p.plant(pidfile);
      const socket = join(work, "dhcp", "dhcp.sock");
      const daemon = Bun.spawn(["ip", "netns", "exec", node.name, join(bin.dir, "dhcp"), "daemon", "-socketpath", socket, "-pidfile", pidfile], {
        stdout: "ignore",
        stderr: "pipe",
      });
      try {
        for (let i = 0; i < 100 && !existsSync(socket); i++) await Bun.sleep(50);
        expect(existsSync(socket)).toBe(true);
        expect(lstatSync(pidfile).isFile()).toBe(true);
        expect(readFileSync(pidfile, "utf8")).toBe(String(daemon.pid));
        p.expectUntouched();
      } finally {
        daemon.kill("SIGTERM");
        await daemon.exited;
      }
      p.expectUntouched();

      // The cni-ts daemon: a link where its socket goes is refused (not a socket), never followed or removed.
      const cniSocket = join(work, "cni-ts-daemon", "daemon.sock");
      p.plant(cniSocket);
      chmodSync(join(work, "cni-ts-daemon"), 0o700);
      const cd = Bun.spawnSync(["ip", "netns", "exec", node.name, dist, "daemon", "--socket", cniSocket], { timeout: 20_000 });
      expect(cd.exitCode).not.toBe(0);
      expect(cd.stderr.toString()).toContain("a file that is not a socket is there");
      expect(lstatSync(cniSocket).isSymbolicLink()).toBe(true);
      p.expectUntouched();
    }),
  );
});
