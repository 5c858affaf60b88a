import { describe, expect } from "bun:test";
import { existsSync } from "node:fs";
import { rootTest, withNetns, type TestNetns } from "../../../test/helpers/netns.ts";
import { runPlugin } from "../../skel/run.ts";
import { convertResult, parseResult } from "../../spec/result.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { plugin } from "./loopback.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const REFERENCE = `${GO_PLUGINS}/loopback`;

function env(command: string, netns: string): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: "lo-test-1", CNI_NETNS: netns, CNI_IFNAME: "lo", CNI_PATH: GO_PLUGINS };
}

function conf(version: string, extra: object = {}): object {
  return { cniVersion: version, name: "lo-net", type: "loopback", ...extra };
}

/** Our plugin, driven exactly as a process would be: env and stdin in, stdout and exit code out. */
async function ours(command: string, netns: string, c: object) {
  const out = await runPlugin(plugin.funcs, plugin.info, { env: env(command, netns), stdin: new TextEncoder().encode(JSON.stringify(c)) });
  return { code: out.exitCode, json: out.stdout.trim() ? JSON.parse(out.stdout) : undefined, stderr: out.stderr };
}

/** The Go reference binary with the same env and stdin. */
function reference(command: string, netns: string, c: object) {
  const proc = Bun.spawnSync([REFERENCE], { env: env(command, netns), stdin: new TextEncoder().encode(JSON.stringify(c)) });
  const text = proc.stdout.toString().trim();
  return { code: proc.exitCode, json: text ? JSON.parse(text) : undefined };
}

function loFlags(ns: TestNetns): string[] {
  return ns.ipJson("link", "show", "lo")[0].flags;
}

/** Kernel state of lo, without what differs between two namespaces by nature. */
function loState(ns: TestNetns): unknown {
  return ns.ipJson("addr", "show", "dev", "lo");
}

function expected(version: string, netns: string): object {
  if (compareVersions(version, "0.3.0") < 0) return { cniVersion: version, ip4: { ip: "127.0.0.1/8" }, ip6: { ip: "::1/128" }, dns: {} };
  const v = compareVersions(version, "1.0.0") < 0;
  return {
    cniVersion: version,
    interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: netns }],
    ips: [
      { ...(v ? { version: "4" } : {}), interface: 0, address: "127.0.0.1/8" },
      { ...(v ? { version: "6" } : {}), interface: 0, address: "::1/128" },
    ],
    dns: {},
  };
}

describe("loopback plugin", () => {
  for (const version of ALL_VERSIONS) {
    rootTest(`ADD, CHECK, DEL at ${version}`, () =>
      withNetns(1, async (ns) => {
        expect(loFlags(ns)).not.toContain("UP");
        const add = await ours("ADD", ns.path, conf(version));
        expect(add.code).toBe(0);
        expect(add.json).toEqual(expected(version, ns.path));
        expect(loFlags(ns)).toContain("UP");

        const check = await ours("CHECK", ns.path, conf(version));
        if (compareVersions(version, "0.4.0") >= 0) {
          expect(check.code).toBe(0);
          ns.exec(["ip", "link", "set", "lo", "down"]);
          const down = await ours("CHECK", ns.path, conf(version));
          expect(down.code).toBe(1);
          expect(down.json).toEqual({ cniVersion: version, code: 999, msg: "loopback interface is down" });
          ns.exec(["ip", "link", "set", "lo", "up"]);
        } else {
          expect(check.json.code).toBe(1);
        }

        const del = await ours("DEL", ns.path, conf(version));
        expect(del.code).toBe(0);
        expect(del.json).toBeUndefined();
        expect(loFlags(ns)).not.toContain("UP");
      }),
    );
  }

  rootTest("DEL succeeds when the namespace is gone or not given", async () => {
    let path = "";
    await withNetns(1, (ns) => {
      path = ns.path;
    });
    expect(existsSync(path)).toBe(false);
    expect((await ours("DEL", path, conf("1.1.0"))).code).toBe(0);
    expect((await ours("DEL", "", conf("1.1.0"))).code).toBe(0);
  });

  for (const version of ["0.2.0", "0.4.0", "1.1.0"]) {
    rootTest(`passes a prevResult through unchanged at ${version}`, () =>
      withNetns(1, async (ns) => {
        const prev =
          version === "0.2.0"
            ? { cniVersion: version, ip4: { ip: "10.1.0.2/24", gateway: "10.1.0.1" }, dns: { nameservers: ["10.1.0.1"] } }
            : {
                cniVersion: version,
                interfaces: [{ name: "eth0", sandbox: ns.path }],
                ips: [{ ...(version === "0.4.0" ? { version: "4" } : {}), interface: 0, address: "10.1.0.2/24", gateway: "10.1.0.1" }],
                dns: {},
              };
        const add = await ours("ADD", ns.path, conf(version, { prevResult: prev }));
        expect(add.code).toBe(0);
        expect(add.json).toEqual(prev);
        expect(loFlags(ns)).toContain("UP");
      }),
    );
  }

  rootTest("refuses a lo with a non-loopback address", () =>
    withNetns(1, async (ns) => {
      ns.exec(["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
      const add = await ours("ADD", ns.path, conf("1.0.0"));
      expect(add.code).toBe(1);
      expect(add.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: 'loopback interface found with non-loopback address "10.9.9.9"' });
      expect(add.stderr).toBe("");
    }),
  );

  rootTest("ADD of a namespace path that is not a namespace fails before touching anything", async () => {
    const add = await ours("ADD", "/tmp", conf("1.0.0"));
    expect(add.code).toBe(1);
    expect(add.json.code).toBe(4);
  });
});

// The reference from Debian is containernetworking-plugins 1.1.1: it knows versions up to 1.0.0.
const REF_VERSIONS = ALL_VERSIONS.filter((v) => compareVersions(v, "1.0.0") <= 0);

describe("loopback plugin against the reference", () => {
  for (const version of REF_VERSIONS) {
    rootTest(`same result and kernel state as ${REFERENCE} at ${version}`, () =>
      withNetns(2, async (mine, ref) => {
        if (!existsSync(REFERENCE)) throw new Error(`${REFERENCE} is missing: apt-get install containernetworking-plugins`);
        const a = await ours("ADD", mine.path, conf(version));
        const b = reference("ADD", ref.path, conf(version));
        expect([a.code, b.code]).toEqual([0, 0]);
        // The sandbox is the namespace path, which differs by construction.
        b.json.interfaces[0].sandbox = mine.path;
        // Below 1.0.0 the reference prints its 1.0.0-shaped result under the old version
        // label (libcni skips conversion when the versions are equal): no "version" in
        // ips at 0.3.x/0.4.0, no ip4/ip6 at 0.1.0/0.2.0. We print the shape the spec
        // gives for each version, with the same content.
        const refResult = compareVersions(version, "1.0.0") < 0 ? convertResult(parseResult({ ...b.json, cniVersion: "1.0.0" }), version) : b.json;
        expect(a.json).toEqual(refResult);
        expect(loState(mine)).toEqual(loState(ref));

        if (compareVersions(version, "0.4.0") >= 0) {
          expect([(await ours("CHECK", mine.path, conf(version))).code, reference("CHECK", ref.path, conf(version)).code]).toEqual([0, 0]);
        }
        expect([(await ours("DEL", mine.path, conf(version))).code, reference("DEL", ref.path, conf(version)).code]).toEqual([0, 0]);
        expect(loState(mine)).toEqual(loState(ref));
        if (compareVersions(version, "0.4.0") >= 0) {
          const x = await ours("CHECK", mine.path, conf(version));
          const y = reference("CHECK", ref.path, conf(version));
          expect([x.code, x.json.code, x.json.msg]).toEqual([y.code, y.json.code, y.json.msg]);
        }
      }),
    );
  }

  rootTest("same pass-through of a prevResult", () =>
    withNetns(2, async (mine, ref) => {
      const prev = {
        cniVersion: "0.4.0",
        interfaces: [{ name: "eth0", sandbox: "/x" }],
        ips: [{ version: "4", interface: 0, address: "10.1.0.2/24" }],
        dns: {},
      };
      const a = await ours("ADD", mine.path, conf("0.4.0", { prevResult: prev }));
      const b = reference("ADD", ref.path, conf("0.4.0", { prevResult: prev }));
      expect(a.json).toEqual(b.json);
      expect(loState(mine)).toEqual(loState(ref));
    }),
  );

  rootTest("same error for a non-loopback address, same DEL of a vanished namespace", () =>
    withNetns(2, async (mine, ref) => {
      for (const ns of [mine, ref]) ns.exec(["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
      const a = await ours("ADD", mine.path, conf("1.0.0"));
      const b = reference("ADD", ref.path, conf("1.0.0"));
      expect([a.code, a.json.code, a.json.msg]).toEqual([b.code, b.json.code, b.json.msg]);
      const gone = "/var/run/netns/cnits-never-made";
      expect([(await ours("DEL", gone, conf("1.0.0"))).code, reference("DEL", gone, conf("1.0.0")).code]).toEqual([0, 0]);
    }),
  );
});
