/**
 * host-local against the Go reference (/usr/lib/cni/host-local, Debian's 1.1.1): the
 * same config gives the same results and errors, and the two share one data dir
 * without ever handing out an address the other holds.
 */
import { afterEach, beforeEach, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootTest, withNetns } from "../../../test/helpers/netns.ts";
import { GO_PLUGINS, ours as oursProcess } from "../../../test/helpers/plugin-run.ts";
import { runPlugin } from "../../skel/run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { FileLock } from "../../sys/lock.ts";
import { plugin } from "./host-local.ts";

const REFERENCE = `${GO_PLUGINS}/host-local`;
// Debian's reference knows versions up to 1.0.0.
const REF_VERSIONS = ALL_VERSIONS.filter((v) => compareVersions(v, "1.0.0") <= 0);

let dataDir = "";
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "cnits-hlref-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

interface Call {
  id?: string;
  ifname?: string;
  netns: string;
  args?: string;
}

function env(command: string, o: Call): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: o.id ?? "ctr-1",
    CNI_NETNS: o.netns,
    CNI_IFNAME: o.ifname ?? "eth0",
    CNI_PATH: GO_PLUGINS,
    CNI_ARGS: o.args ?? "",
  };
}

function parse(stdout: string): any {
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

async function ours(command: string, c: object, o: Call) {
  const out = await runPlugin(plugin.funcs, plugin.info, { env: env(command, o), stdin: new TextEncoder().encode(JSON.stringify(c)) });
  return { code: out.exitCode, json: parse(out.stdout) };
}

function reference(command: string, c: object, o: Call) {
  if (!existsSync(REFERENCE)) throw new Error(`${REFERENCE} is missing: apt-get install containernetworking-plugins`);
  const p = Bun.spawnSync([REFERENCE], { env: env(command, o), stdin: new TextEncoder().encode(JSON.stringify(c)) });
  return { code: p.exitCode, json: parse(p.stdout.toString()) };
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
      withNetns(1, async (ns) => {
        const ranges =
          compareVersions(version, "0.3.0") < 0
            ? [[{ subnet: "10.1.2.0/24" }]]
            : [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10" }], [{ subnet: "2001:db8:1::/64" }]];
        const ipam = { ranges, routes: [{ dst: "0.0.0.0/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }] };
        const refDir = join(dataDir, "ref");
        const a = await ours("ADD", conf(version, ipam), { netns: ns.path });
        const b = reference("ADD", conf(version, ipam, refDir), { netns: ns.path });
        expect([a.code, b.code]).toEqual([0, 0]);
        expect(a.json).toEqual(b.json);
        expect(reserved(dataDir)).toEqual(reserved(refDir));
        for (const f of readdirSync(join(refDir, "refnet"))) {
          expect(readFileSync(join(dataDir, "refnet", f), "utf8")).toBe(readFileSync(join(refDir, "refnet", f), "utf8"));
        }
        const again = await ours("ADD", conf(version, ipam), { netns: ns.path });
        const againRef = reference("ADD", conf(version, ipam, refDir), { netns: ns.path });
        expect([again.json.code, again.json.msg]).toEqual([againRef.json.code, againRef.json.msg]);
        expect([
          (await ours("DEL", conf(version, ipam), { netns: ns.path })).code,
          reference("DEL", conf(version, ipam, refDir), { netns: ns.path }).code,
        ]).toEqual([0, 0]);
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
      withNetns(1, async (ns) => {
        const a = await ours("ADD", conf("1.0.0", ipam), { netns: ns.path });
        const b = reference("ADD", conf("1.0.0", ipam, join(dataDir, "ref")), { netns: ns.path });
        expect(a.json.msg).toBe(b.json.msg);
        expect([a.json.code, b.json.code]).toEqual([7, 999]);
      }),
    );
  }

  rootTest("same exhaustion message", () =>
    withNetns(1, async (ns) => {
      const ipam = { ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.2", rangeEnd: "10.1.2.2" }]] };
      const refDir = join(dataDir, "ref");
      for (const id of ["a", "b"]) {
        const x = await ours("ADD", conf("1.0.0", ipam), { netns: ns.path, id });
        const y = reference("ADD", conf("1.0.0", ipam, refDir), { netns: ns.path, id });
        // Debian's reference library prints errors without cniVersion; the spec has it.
        expect(x.json).toEqual(y.json.code ? { cniVersion: "1.0.0", ...y.json } : y.json);
      }
    }),
  );
});

describe("host-local: one data dir shared with the reference", () => {
  rootTest("waits while another process holds <dataDir>/<net>/lock", () =>
    withNetns(1, async (ns) => {
      const c = conf("1.0.0", { subnet: "10.1.2.0/24" });
      expect((await ours("ADD", c, { netns: ns.path, id: "first" })).code).toBe(0);
      // flock(1) takes the same flock(2) lock as the Go plugin's go-filemutex.
      const holder = Bun.spawn(["flock", join(dataDir, "refnet", "lock"), "sleep", "0.6"]);
      try {
        using probe = FileLock.open(join(dataDir, "refnet", "lock"));
        while (probe.tryLock()) {
          probe.unlock();
          Bun.sleepSync(5);
        }
        const t0 = performance.now();
        expect((await ours("ADD", c, { netns: ns.path, id: "second" })).code).toBe(0);
        expect(performance.now() - t0).toBeGreaterThan(300);
      } finally {
        holder.kill();
      }
    }),
  );

  rootTest("alternating ADDs continue one round-robin; each side DELs and CHECKs the other's", () =>
    withNetns(1, async (ns) => {
      const ipam = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] };
      const c = conf("1.0.0", ipam);
      const got: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = i % 2 ? reference("ADD", c, { netns: ns.path, id: `c${i}` }) : await ours("ADD", c, { netns: ns.path, id: `c${i}` });
        expect(r.code).toBe(0);
        got.push(r.json.ips[0].address);
      }
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `10.1.2.${i + 2}/24`));
      // A duplicate ADD is caught across implementations, with the same text.
      const dupOurs = await ours("ADD", c, { netns: ns.path, id: "c1" });
      const dupRef = reference("ADD", c, { netns: ns.path, id: "c0" });
      expect(dupOurs.json.msg).toBe("failed to allocate for range 0: 10.1.2.3 has been allocated to c1, duplicate allocation is not allowed");
      expect(dupRef.json.msg).toBe("failed to allocate for range 0: 10.1.2.2 has been allocated to c0, duplicate allocation is not allowed");
      expect((await ours("CHECK", c, { netns: ns.path, id: "c1" })).code).toBe(0);
      expect(reference("CHECK", c, { netns: ns.path, id: "c0" }).code).toBe(0);
      expect((await ours("DEL", c, { netns: ns.path, id: "c1" })).code).toBe(0);
      expect(reference("DEL", c, { netns: ns.path, id: "c0" }).code).toBe(0);
      expect(reference("CHECK", c, { netns: ns.path, id: "c1" }).code).toBe(1);
      expect((await ours("CHECK", c, { netns: ns.path, id: "c0" })).code).toBe(1);
      expect(reserved(dataDir).filter((f) => f.startsWith("10."))).toEqual(Array.from({ length: 8 }, (_, i) => `10.1.2.${i + 4}`).sort());
    }),
  );

  rootTest(
    "50 ADD processes at once, half ours and half Go's, on one small range: no address twice",
    async () => {
      await withNetns(1, async (ns) => {
        // 60 addresses for 50 attachments, so the walk has to step over taken ones.
        const c = JSON.stringify(conf("1.0.0", { ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.69" }]] }));
        const procs = Array.from({ length: 50 }, (_, i) => {
          const cmd = i % 2 ? [REFERENCE] : oursProcess("host-local");
          return Bun.spawn(cmd, {
            env: { ...env("ADD", { netns: ns.path, id: `p${i}` }), PATH: process.env.PATH ?? "" },
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
