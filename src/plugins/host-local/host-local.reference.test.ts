/**
 * host-local against the Go reference (/usr/lib/cni/host-local, Debian's 1.1.1): the
 * same config gives the same results and errors, and the two share one data dir
 * without ever handing out an address the other holds.
 */
import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { GO_PLUGINS, ours as oursProcess, reference as referenceProcess, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { FileLock } from "../../sys/lock.ts";

const OURS = oursProcess("host-local");
const REF = referenceProcess("host-local");
// Debian's reference knows versions up to 1.0.0.
const REF_VERSIONS = ALL_VERSIONS.filter((v) => compareVersions(v, "1.0.0") <= 0);

let node: TestNetns;
let dataDir = "";

/** The node kit: both plugins run in its node, the pod's path is CNI_NETNS, its temp dir holds both data dirs. */
function withHostLocal(fn: (pod: TestNetns) => void | Promise<void>): Promise<void> {
  return withNodeAndPod(
    (n, pod, dir) => {
      node = n;
      // One level down: the owner index beside the data dir stays in the kit's temp dir.
      dataDir = join(dir, "data");
      return fn(pod);
    },
    { prefix: "hlref" },
  );
}

interface Call {
  id?: string;
  ifname?: string;
  netns: string;
  args?: string;
}

function run(argv: string[], command: "ADD" | "CHECK" | "DEL", c: object, o: Call) {
  return runIn(node, argv, { command, conf: c, containerID: o.id ?? "ctr-1", netns: o.netns, ifName: o.ifname ?? "eth0", args: o.args ?? "" });
}

const ours = (command: "ADD" | "CHECK" | "DEL", c: object, o: Call) => run(OURS, command, c, o);

function reference(command: "ADD" | "CHECK" | "DEL", c: object, o: Call) {
  if (!existsSync(REF[0]!)) throw new Error(`${REF[0]} is missing: apt-get install containernetworking-plugins`);
  return run(REF, command, c, o);
}

function conf(version: string, ipam: object, dir = dataDir): object {
  return { cniVersion: version, name: "refnet", type: "bridge", ipam: { type: "host-local", dataDir: dir, ...ipam } };
}

const reserved = (dir: string) =>
  readdirSync(join(dir, "refnet"))
    .filter((f) => !f.startsWith("last_") && f !== "lock")
    .sort();

describe("host-local: same results as the reference", () => {
  for (const version of REF_VERSIONS) {
    rootTest(`same ADD result, files and DEL at ${version}`, () =>
      withHostLocal(async (ns) => {
        const ranges =
          compareVersions(version, "0.3.0") < 0
            ? [[{ subnet: "10.1.2.0/24" }]]
            : [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10" }], [{ subnet: "2001:db8:1::/64" }]];
        const ipam = { ranges, routes: [{ dst: "0.0.0.0/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }] };
        const refDir = join(dataDir, "ref");
        const a = ours("ADD", conf(version, ipam), { netns: ns.path });
        const b = reference("ADD", conf(version, ipam, refDir), { netns: ns.path });
        expect([a.code, b.code]).toEqual([0, 0]);
        expect(a.json).toEqual(b.json);
        expect(reserved(dataDir)).toEqual(reserved(refDir));
        for (const f of readdirSync(join(refDir, "refnet"))) {
          expect(readFileSync(join(dataDir, "refnet", f), "utf8")).toBe(readFileSync(join(refDir, "refnet", f), "utf8"));
        }
        const again = ours("ADD", conf(version, ipam), { netns: ns.path });
        const againRef = reference("ADD", conf(version, ipam, refDir), { netns: ns.path });
        expect([again.json.code, again.json.msg]).toEqual([againRef.json.code, againRef.json.msg]);
        expect([ours("DEL", conf(version, ipam), { netns: ns.path }).code, reference("DEL", conf(version, ipam, refDir), { netns: ns.path }).code]).toEqual([
          0, 0,
        ]);
        expect(reserved(dataDir)).toEqual(reserved(refDir));
      }),
    );
  }

  const errors: [string, object][] = [
    ["overlapping range sets", { ranges: [[{ subnet: "10.1.0.0/16" }], [{ subnet: "10.1.2.0/24" }]] }],
    ["overlap inside a set", { ranges: [[{ subnet: "10.1.0.0/24" }, { subnet: "10.1.0.0/25" }]] }],
    ["a /31", { subnet: "10.1.2.0/31" }],
    ["host bits", { subnet: "10.1.2.3/24" }],
    ["rangeStart outside", { subnet: "10.1.2.0/24", rangeStart: "10.1.3.1" }],
    ["no ranges", {}],
  ];
  for (const [name, ipam] of errors) {
    rootTest(`same message for ${name} (code 7 here, 999 there)`, () =>
      withHostLocal(async (ns) => {
        const a = ours("ADD", conf("1.0.0", ipam), { netns: ns.path });
        const b = reference("ADD", conf("1.0.0", ipam, join(dataDir, "ref")), { netns: ns.path });
        expect(a.json.msg).toBe(b.json.msg);
        expect([a.json.code, b.json.code]).toEqual([7, 999]);
      }),
    );
  }

  rootTest("same exhaustion message", () =>
    withHostLocal(async (ns) => {
      const ipam = { ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.2", rangeEnd: "10.1.2.2" }]] };
      const refDir = join(dataDir, "ref");
      for (const id of ["a", "b"]) {
        const x = ours("ADD", conf("1.0.0", ipam), { netns: ns.path, id });
        const y = reference("ADD", conf("1.0.0", ipam, refDir), { netns: ns.path, id });
        // Debian's reference library prints errors without cniVersion; the spec has it.
        expect(x.json).toEqual(y.json.code ? { cniVersion: "1.0.0", ...y.json } : y.json);
      }
    }),
  );
});

describe("host-local: one data dir shared with the reference", () => {
  rootTest("waits while another process holds <dataDir>/<net>/lock", () =>
    withHostLocal(async (ns) => {
      const c = conf("1.0.0", { subnet: "10.1.2.0/24" });
      expect(ours("ADD", c, { netns: ns.path, id: "first" }).code).toBe(0);
      // flock(1) takes the same flock(2) lock as the Go plugin's go-filemutex.
      const holder = Bun.spawn(["flock", join(dataDir, "refnet", "lock"), "sleep", "0.6"]);
      try {
        using probe = FileLock.open(join(dataDir, "refnet", "lock"));
        while (probe.tryLock()) {
          probe.unlock();
          Bun.sleepSync(5);
        }
        const t0 = performance.now();
        expect(ours("ADD", c, { netns: ns.path, id: "second" }).code).toBe(0);
        expect(performance.now() - t0).toBeGreaterThan(300);
      } finally {
        holder.kill();
      }
    }),
  );

  rootTest("alternating ADDs continue one round-robin; each side DELs and CHECKs the other's", () =>
    withHostLocal(async (ns) => {
      const ipam = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] };
      const c = conf("1.0.0", ipam);
      const got: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = i % 2 ? reference("ADD", c, { netns: ns.path, id: `c${i}` }) : ours("ADD", c, { netns: ns.path, id: `c${i}` });
        expect(r.code).toBe(0);
        got.push(r.json.ips[0].address);
      }
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `10.1.2.${i + 2}/24`));
      // A duplicate ADD is caught across implementations, with the same text.
      const dupOurs = ours("ADD", c, { netns: ns.path, id: "c1" });
      const dupRef = reference("ADD", c, { netns: ns.path, id: "c0" });
      expect(dupOurs.json.msg).toBe("failed to allocate for range 0: 10.1.2.3 has been allocated to c1, duplicate allocation is not allowed");
      expect(dupRef.json.msg).toBe("failed to allocate for range 0: 10.1.2.2 has been allocated to c0, duplicate allocation is not allowed");
      expect(ours("CHECK", c, { netns: ns.path, id: "c1" }).code).toBe(0);
      expect(reference("CHECK", c, { netns: ns.path, id: "c0" }).code).toBe(0);
      expect(ours("DEL", c, { netns: ns.path, id: "c1" }).code).toBe(0);
      expect(reference("DEL", c, { netns: ns.path, id: "c0" }).code).toBe(0);
      expect(reference("CHECK", c, { netns: ns.path, id: "c1" }).code).toBe(1);
      expect(ours("CHECK", c, { netns: ns.path, id: "c0" }).code).toBe(1);
      expect(reserved(dataDir).filter((f) => f.startsWith("10."))).toEqual(Array.from({ length: 8 }, (_, i) => `10.1.2.${i + 4}`).sort());
    }),
  );

  rootTest("a shorter last_reserved_ip written over a longer one (ours in place, Go's truncated) is read as it is by the other", () =>
    withHostLocal((ns) => {
      const c = conf("1.0.0", { ranges: [[{ subnet: "10.1.2.0/24" }]] });
      const last = () => readFileSync(join(dataDir, "refnet", "last_reserved_ip.0"), "utf8");
      const address = (r: { code: number; json: any }) => (expect(r.code).toBe(0), r.json.ips[0].address);
      expect(address(reference("ADD", c, { netns: ns.path, id: "r1", args: "IP=10.1.2.100" }))).toBe("10.1.2.100/24");
      expect(address(ours("ADD", c, { netns: ns.path, id: "o1", args: "IP=10.1.2.5" }))).toBe("10.1.2.5/24");
      // No tail of "10.1.2.100" left ("10.1.2.50" would send the next walk to .51).
      expect(last()).toBe("10.1.2.5");
      expect(address(reference("ADD", c, { netns: ns.path, id: "r2" }))).toBe("10.1.2.6/24");
      expect(address(ours("ADD", c, { netns: ns.path, id: "o2", args: "IP=10.1.2.200" }))).toBe("10.1.2.200/24");
      expect(address(reference("ADD", c, { netns: ns.path, id: "r3", args: "IP=10.1.2.8" }))).toBe("10.1.2.8/24");
      expect(last()).toBe("10.1.2.8");
      expect(address(ours("ADD", c, { netns: ns.path, id: "o3" }))).toBe("10.1.2.9/24");
      expect(address(ours("ADD", c, { netns: ns.path, id: "o4", args: "IP=10.1.2.7" }))).toBe("10.1.2.7/24");
      expect(last()).toBe("10.1.2.7");
      expect(address(reference("ADD", c, { netns: ns.path, id: "r4" }))).toBe("10.1.2.10/24");
    }),
  );

  rootTest(
    "50 ADD processes at once, half ours and half Go's, on one small range: no address twice",
    async () => {
      await withHostLocal(async (ns) => {
        // 60 addresses for 50 attachments, so the walk has to step over taken ones.
        const c = JSON.stringify(conf("1.0.0", { ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.69" }]] }));
        const procs = Array.from({ length: 50 }, (_, i) => {
          // In the node, as runIn runs them, but all at once.
          return Bun.spawn(["ip", "netns", "exec", node.name, ...(i % 2 ? REF : OURS)], {
            env: {
              PATH: process.env.PATH ?? "",
              CNI_COMMAND: "ADD",
              CNI_CONTAINERID: `p${i}`,
              CNI_NETNS: ns.path,
              CNI_IFNAME: "eth0",
              CNI_PATH: GO_PLUGINS,
            },
            stdin: new TextEncoder().encode(c),
            stdout: "pipe",
            stderr: "pipe",
          });
        });
        const results = await Promise.all(
          procs.map(async (p) => {
            const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
            if (code !== 0) throw new Error(`ADD failed (${code}): ${out}${err}`);
            return JSON.parse(out).ips[0].address as string;
          }),
        );
        expect(new Set(results).size).toBe(50);
        const files = reserved(dataDir);
        expect(files.length).toBe(50);
        expect(new Set(results.map((a) => a.split("/")[0]))).toEqual(new Set(files));
        // Every file names exactly the attachment that got the address.
        const owners = new Set(files.map((f) => readFileSync(join(dataDir, "refnet", f), "utf8")));
        expect(owners.size).toBe(50);
      });
    },
    120_000,
  );
});
