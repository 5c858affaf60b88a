import { describe, expect } from "bun:test";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNode } from "../../../test/helpers/node.ts";
import { type Call, GO_PLUGINS, ours, reference, runIn } from "../../../test/helpers/plugin-run.ts";
import { convertResult, parseResult } from "../../spec/result.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";

const OURS = ours("loopback");
const REF = reference("loopback");

function conf(version: string, extra: object = {}): object {
  return { cniVersion: version, name: "lo-net", type: "loopback", ...extra };
}

/** Runs `argv` (ours or the reference) from the node for CNI_NETNS `netns`, CNI_IFNAME lo. */
function call(node: TestNetns, argv: string[], command: Call["command"], netns: string, c: object) {
  return runIn(node, argv, { command, netns, containerID: "lo-test-1", ifName: "lo", conf: c });
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
      withNode(1, (node, [pod]) => {
        const ns = pod!;
        expect(loFlags(ns)).not.toContain("UP");
        const add = call(node, OURS, "ADD", ns.path, conf(version));
        expect(add.code).toBe(0);
        expect(add.json).toEqual(expected(version, ns.path));
        expect(loFlags(ns)).toContain("UP");

        const check = call(node, OURS, "CHECK", ns.path, conf(version));
        if (compareVersions(version, "0.4.0") >= 0) {
          expect(check.code).toBe(0);
          ns.exec(["ip", "link", "set", "lo", "down"]);
          const down = call(node, OURS, "CHECK", ns.path, conf(version));
          expect(down.code).toBe(1);
          expect(down.json).toEqual({ cniVersion: version, code: 999, msg: "loopback interface is down" });
          ns.exec(["ip", "link", "set", "lo", "up"]);
        } else {
          expect(check.json.code).toBe(1);
        }

        const del = call(node, OURS, "DEL", ns.path, conf(version));
        expect(del.code).toBe(0);
        expect(del.json).toBeUndefined();
        expect(loFlags(ns)).not.toContain("UP");
      }),
    );
  }

  rootTest("DEL succeeds when the namespace is gone or not given", () =>
    withNode(1, (node, [pod]) => {
      const path = pod!.path;
      pod!.destroy();
      expect(existsSync(path)).toBe(false);
      expect(call(node, OURS, "DEL", path, conf("1.1.0")).code).toBe(0);
      expect(call(node, OURS, "DEL", "", conf("1.1.0")).code).toBe(0);
    }),
  );

  for (const version of ["0.2.0", "0.4.0", "1.1.0"]) {
    rootTest(`passes a prevResult through unchanged at ${version}`, () =>
      withNode(1, (node, [pod]) => {
        const ns = pod!;
        const prev =
          version === "0.2.0"
            ? { cniVersion: version, ip4: { ip: "10.1.0.2/24", gateway: "10.1.0.1" }, dns: { nameservers: ["10.1.0.1"] } }
            : {
                cniVersion: version,
                interfaces: [{ name: "eth0", sandbox: ns.path }],
                ips: [{ ...(version === "0.4.0" ? { version: "4" } : {}), interface: 0, address: "10.1.0.2/24", gateway: "10.1.0.1" }],
                dns: {},
              };
        const add = call(node, OURS, "ADD", ns.path, conf(version, { prevResult: prev }));
        expect(add.code).toBe(0);
        expect(add.json).toEqual(prev);
        expect(loFlags(ns)).toContain("UP");
      }),
    );
  }

  rootTest("refuses a lo with a non-loopback address", () =>
    withNode(1, (node, [pod]) => {
      pod!.exec(["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
      const add = call(node, OURS, "ADD", pod!.path, conf("1.0.0"));
      expect(add.code).toBe(1);
      expect(add.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: 'loopback interface found with non-loopback address "10.9.9.9"' });
      expect(add.stderr).toBe("");
    }),
  );

  rootTest("ADD of a namespace path that is not a namespace fails before touching anything", () =>
    withNode(0, (node) => {
      const add = call(node, OURS, "ADD", tmpdir(), conf("1.0.0"));
      expect(add.code).toBe(1);
      expect(add.json.code).toBe(4);
    }),
  );
});

// The reference from Debian is containernetworking-plugins 1.1.1: it knows versions up to 1.0.0.
const REF_VERSIONS = ALL_VERSIONS.filter((v) => compareVersions(v, "1.0.0") <= 0);

describe("loopback plugin against the reference", () => {
  for (const version of REF_VERSIONS) {
    rootTest(`same result and kernel state as ${GO_PLUGINS}/loopback at ${version}`, () =>
      withNode(2, (node, [mine, ref]) => {
        if (!existsSync(REF[0]!)) throw new Error(`${REF[0]} is missing: apt-get install containernetworking-plugins`);
        const [m, r] = [mine!, ref!];
        const a = call(node, OURS, "ADD", m.path, conf(version));
        const b = call(node, REF, "ADD", r.path, conf(version));
        expect([a.code, b.code]).toEqual([0, 0]);
        // The sandbox is the namespace path, which differs by construction.
        b.json.interfaces[0].sandbox = m.path;
        // Below 1.0.0 the reference prints its 1.0.0-shaped result under the old version
        // label (libcni skips conversion when the versions are equal): no "version" in
        // ips at 0.3.x/0.4.0, no ip4/ip6 at 0.1.0/0.2.0. We print the shape the spec
        // gives for each version, with the same content.
        const refResult = compareVersions(version, "1.0.0") < 0 ? convertResult(parseResult({ ...b.json, cniVersion: "1.0.0" }), version) : b.json;
        expect(a.json).toEqual(refResult);
        expect(loState(m)).toEqual(loState(r));

        const both = (command: Call["command"]) => [call(node, OURS, command, m.path, conf(version)), call(node, REF, command, r.path, conf(version))];
        if (compareVersions(version, "0.4.0") >= 0) expect(both("CHECK").map((o) => o.code)).toEqual([0, 0]);
        expect(both("DEL").map((o) => o.code)).toEqual([0, 0]);
        expect(loState(m)).toEqual(loState(r));
        if (compareVersions(version, "0.4.0") >= 0) {
          const [x, y] = both("CHECK");
          expect([x!.code, x!.json.code, x!.json.msg]).toEqual([y!.code, y!.json.code, y!.json.msg]);
        }
      }),
    );
  }

  rootTest("same pass-through of a prevResult", () =>
    withNode(2, (node, [mine, ref]) => {
      const prev = {
        cniVersion: "0.4.0",
        interfaces: [{ name: "eth0", sandbox: "/x" }],
        ips: [{ version: "4", interface: 0, address: "10.1.0.2/24" }],
        dns: {},
      };
      const a = call(node, OURS, "ADD", mine!.path, conf("0.4.0", { prevResult: prev }));
      const b = call(node, REF, "ADD", ref!.path, conf("0.4.0", { prevResult: prev }));
      expect(a.json).toEqual(b.json);
      expect(loState(mine!)).toEqual(loState(ref!));
    }),
  );

  rootTest("same error for a non-loopback address, same DEL of a vanished namespace", () =>
    withNode(2, (node, [mine, ref]) => {
      for (const ns of [mine!, ref!]) ns.exec(["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
      const a = call(node, OURS, "ADD", mine!.path, conf("1.0.0"));
      const b = call(node, REF, "ADD", ref!.path, conf("1.0.0"));
      expect([a.code, a.json.code, a.json.msg]).toEqual([b.code, b.json.code, b.json.msg]);
      const gone = `${mine!.path}-never-made`;
      expect([call(node, OURS, "DEL", gone, conf("1.0.0")).code, call(node, REF, "DEL", gone, conf("1.0.0")).code]).toEqual([0, 0]);
    }),
  );
});
