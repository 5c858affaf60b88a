import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniError, ErrorCode } from "../spec/error.ts";
import type { Attachment, Result } from "../spec/types.ts";
import { ALL_VERSIONS, compareVersions, CURRENT_VERSION } from "../spec/version.ts";
import { isRoot, rootTest, TestNetns } from "../../test/helpers/netns.ts";
import type { CmdArgs, PluginFuncs, PluginInfo } from "./cmd-args.ts";
import { setNamespaceTypeReader } from "./netns-check.ts";
import { runPlugin } from "./run.ts";

const RESULT: Result = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mac: "0a:58:0a:01:02:03", mtu: 1450, sandbox: "/run/netns/x" }],
  ips: [{ interface: 0, address: "10.1.2.3/24", gateway: "10.1.2.1" }],
  routes: [{ dst: "0.0.0.0/0", table: 0 }],
};

const calls: { command: string; args: CmdArgs; attachments?: Attachment[] }[] = [];
const funcs: PluginFuncs = {
  add: (args) => (calls.push({ command: "ADD", args }), RESULT),
  check: (args) => void calls.push({ command: "CHECK", args }),
  del: (args) => void calls.push({ command: "DEL", args }),
  gc: (args, attachments) => void calls.push({ command: "GC", args, attachments }),
  status: (args) => void calls.push({ command: "STATUS", args }),
};
const info: PluginInfo = { about: "test-plugin v0\nmore text" };

// A namespace that is neither ours nor fake: made by the shared helper as root, else
// unavailable (tests that need it are rootTest).
let ns: TestNetns | undefined;
let dir = "";
beforeAll(() => {
  if (isRoot) ns = TestNetns.create("skel");
  dir = mkdtempSync(join(tmpdir(), "skel-"));
  writeFileSync(join(dir, "regular"), "not a namespace");
});
afterAll(() => {
  ns?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function env(command: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "ctr-1",
    CNI_NETNS: ns?.path ?? "/nonexistent",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
    ...extra,
  };
}

async function run(
  e: Record<string, string | undefined>,
  conf: unknown = { cniVersion: "1.0.0", name: "net1", type: "test" },
  plugin: PluginFuncs = funcs,
  pinfo: PluginInfo = info,
) {
  calls.length = 0;
  const stdin = typeof conf === "string" ? new TextEncoder().encode(conf) : new TextEncoder().encode(JSON.stringify(conf));
  const out = await runPlugin(plugin, pinfo, { env: e, stdin });
  return { ...out, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}

describe("required variables (code 4 naming what is missing)", () => {
  const cases: [string, string[], string[]][] = [
    ["ADD", [], ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]],
    ["CHECK", [], ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]],
    ["DEL", [], ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]],
    ["GC", [], ["CNI_PATH"]],
    ["STATUS", [], ["CNI_PATH"]],
  ];
  for (const [command, , required] of cases) {
    test(`${command} needs ${required.join(", ")}`, async () => {
      const out = await run({ CNI_COMMAND: command });
      expect(out.exitCode).toBe(1);
      // Raised before the skel reads the config, still in the config's version.
      expect(out.json).toEqual({ cniVersion: "1.0.0", code: 4, msg: `required env variables [${required.join(",")}] missing` });
      for (const name of required) {
        const one = await run(env(command, { [name]: "" }));
        expect(one.json.msg).toBe(`required env variables [${name}] missing`);
      }
    });
  }

  test("VERSION needs nothing but CNI_COMMAND, and ignores stdin", async () => {
    const out = await run({ CNI_COMMAND: "VERSION" }, "not json");
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe(`{"cniVersion":"${CURRENT_VERSION}","supportedVersions":${JSON.stringify(ALL_VERSIONS)}}\n`);
    const some = await run({ CNI_COMMAND: "VERSION" }, "", funcs, { about: "x", supportedVersions: ["0.4.0", "1.0.0"] });
    expect(some.json).toEqual({ cniVersion: CURRENT_VERSION, supportedVersions: ["0.4.0", "1.0.0"] });
  });

  test("DEL does not need CNI_NETNS and succeeds when it is gone", async () => {
    expect((await run(env("DEL", { CNI_NETNS: undefined }))).exitCode).toBe(0);
    expect((await run(env("DEL", { CNI_NETNS: "/var/run/netns/gone-for-good" }))).exitCode).toBe(0);
    expect(calls.map((c) => c.command)).toEqual(["DEL"]);
  });

  test("an unknown command is code 4, after the config is read (reference order)", async () => {
    expect((await run({ CNI_COMMAND: "FOO" })).json).toMatchObject({ code: 4, msg: "unknown CNI_COMMAND: FOO" });
    expect((await run({ CNI_COMMAND: "FOO" }, "{")).json.code).toBe(6);
  });
});

describe("no CNI_COMMAND", () => {
  test("prints the about text on stderr and exits 0", async () => {
    const out = await run({});
    expect(out).toMatchObject({ exitCode: 0, stdout: "", stderr: `test-plugin v0\nmore text\nCNI protocol versions supported: ${ALL_VERSIONS.join(", ")}\n` });
    expect(calls).toEqual([]);
  });

  test("without an about text it is the reference's missing-variable error", async () => {
    const out = await run({}, undefined, funcs, { about: "" });
    expect(out.json).toMatchObject({ code: 4, msg: "required env variables [CNI_COMMAND] missing" });
  });
});

describe("the error object's cniVersion is the config's whenever it can be read", () => {
  test("errors before the config is read or of a config without a name; CURRENT_VERSION when there is none to read", async () => {
    expect((await run(env("ADD"), { cniVersion: "0.4.0", type: "test" })).json).toEqual({ cniVersion: "0.4.0", code: 7, msg: "missing network name" });
    expect((await run(env("ADD", { CNI_PATH: "" }), { cniVersion: "0.3.1", name: "n" })).json.cniVersion).toBe("0.3.1");
    expect((await run(env("ADD", { CNI_IFNAME: ".." }), { cniVersion: "0.2.0", name: "n" })).json.cniVersion).toBe("0.2.0");
    expect((await run(env("ADD"), "{")).json.cniVersion).toBe(CURRENT_VERSION);
    expect((await run(env("ADD", { CNI_PATH: "" }), { cniVersion: "9.9.9", name: "n" })).json.cniVersion).toBe(CURRENT_VERSION);
  });
});

describe("container id and interface name", () => {
  test.each([
    ["CNI_CONTAINERID", "-starts-with-dash", { code: 4, msg: "invalid characters in containerID", details: "-starts-with-dash" }],
    ["CNI_CONTAINERID", "has/slash", { code: 4, msg: "invalid characters in containerID", details: "has/slash" }],
    ["CNI_IFNAME", "a-very-long-ifname", { code: 4, msg: "interface name is too long", details: "interface name should be less than 16 characters" }],
    ["CNI_IFNAME", "..", { code: 4, msg: "interface name is . or .." }],
    ["CNI_IFNAME", "eth 0", { code: 4, msg: "interface name contains / or : or whitespace characters" }],
    ["CNI_IFNAME", "eth:0", { code: 4, msg: "interface name contains / or : or whitespace characters" }],
    ["CNI_IFNAME", "eth\u00850", { code: 4, msg: "interface name contains / or : or whitespace characters" }],
  ])("%s=%p", async (name, value, want) => {
    for (const command of ["ADD", "CHECK", "DEL"]) {
      const out = await run(env(command, { [name]: value }), { cniVersion: "1.0.0", name: "n" });
      expect(out.json).toEqual({ cniVersion: "1.0.0", ...want });
    }
    expect(calls).toEqual([]);
  });

  test("a bad container id is reported before missing variables (reference order)", async () => {
    const out = await run({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "bad id" });
    expect(out.json.msg).toBe("invalid characters in containerID");
  });

  test("GC does not look at CNI_CONTAINERID or CNI_IFNAME", async () => {
    const out = await run({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin", CNI_CONTAINERID: "bad id", CNI_IFNAME: "x/y" }, { cniVersion: "1.1.0", name: "n" });
    expect(out.exitCode).toBe(0);
  });
});

describe("stdin", () => {
  test.each([
    ["not JSON", "{", 6, /^error unmarshall network config: /],
    ["an array", "[]", 6, /^error unmarshall network config: /],
    ["a number name", '{"name": 5}', 6, /^error unmarshall network config: /],
    ["no name", '{"cniVersion": "1.0.0"}', 7, /^missing network name$/],
    ["null", "null", 7, /^missing network name$/],
    ["a bad name", '{"name": "a b"}', 7, /^invalid characters found in network name$/],
    ["a number cniVersion", '{"name": "n", "cniVersion": 1}', 6, /^decoding version from network config: /],
  ])("%s is refused", async (_what, stdin, code, msg) => {
    for (const command of ["ADD", "CHECK", "DEL", "GC", "STATUS"]) {
      const out = await run(env(command), stdin);
      expect([out.exitCode, out.json.code]).toEqual([1, code]);
      expect(out.json.msg).toMatch(msg);
    }
    expect(calls).toEqual([]);
  });
});

describe("versions", () => {
  rootTest("an unsupported config version is code 1 with the reference's details", async () => {
    for (const v of ["0.5.0", "1.0", "2.0.0"]) {
      const out = await run(env("ADD"), { cniVersion: v, name: "n" }, funcs, { about: "x", supportedVersions: ["0.4.0", "1.0.0"] });
      expect(out.json).toEqual({
        cniVersion: CURRENT_VERSION,
        code: 1,
        msg: "incompatible CNI versions",
        details: `config is "${v}", plugin supports ["0.4.0" "1.0.0"]`,
      });
    }
  });

  test("a config without cniVersion is 0.1.0", async () => {
    const out = await run(env("DEL"), { name: "n" });
    expect(out.exitCode).toBe(0);
    expect(calls[0]!.args.conf.cniVersion).toBe("0.1.0");
  });

  for (const v of ALL_VERSIONS) {
    const checkOK = compareVersions(v, "0.4.0") >= 0;
    const gcOK = compareVersions(v, "1.1.0") >= 0;
    test(`at ${v}: CHECK ${checkOK ? "runs" : "is refused"}, GC and STATUS ${gcOK ? "run" : "are refused"}`, async () => {
      const conf = { cniVersion: v, name: "n" };
      if (isRoot) {
        const check = await run(env("CHECK"), conf);
        if (checkOK) expect([check.exitCode, calls.length]).toEqual([0, 1]);
        else expect(check.json).toEqual({ cniVersion: v, code: 1, msg: "config version does not allow CHECK" });
      }
      for (const command of ["GC", "STATUS"]) {
        const out = await run(env(command), conf);
        if (gcOK) expect([out.exitCode, out.stdout, calls.map((c) => c.command)]).toEqual([0, "", [command]]);
        else expect(out.json).toEqual({ cniVersion: v, code: 1, msg: `config version does not allow ${command}` });
      }
    });
  }

  test("a plugin that supports nothing that new refuses CHECK", async () => {
    const out = await run(env("CHECK"), { cniVersion: "1.0.0", name: "n" }, funcs, { about: "x", supportedVersions: ["0.4.0"] });
    expect(out.json).toMatchObject({ code: 1, msg: "plugin version does not allow CHECK" });
  });

  test("a malformed config version at CHECK is a decoding failure (reference)", async () => {
    const out = await run(env("CHECK"), { cniVersion: "x.y", name: "n" });
    expect(out.json.code).toBe(6);
  });
});

describe("results and errors", () => {
  for (const v of ALL_VERSIONS) {
    rootTest(`ADD at ${v} prints the result in ${v}, as the reference prints it`, async () => {
      const out = await run(env("ADD"), { cniVersion: v, name: "n", type: "test" });
      expect(out.exitCode).toBe(0);
      expect(out.json.cniVersion).toBe(v);
      // MarshalIndent layout, no trailing newline.
      expect(out.stdout.startsWith(`{\n    "cniVersion": "${v}",\n`)).toBe(true);
      expect(out.stdout.endsWith("}")).toBe(true);
      if (v === "1.1.0") expect(out.json.interfaces[0].mtu).toBe(1450);
      if (v === "1.0.0") expect(out.json.interfaces[0].mtu).toBeUndefined();
      if (compareVersions(v, "0.3.0") < 0) expect(out.json.ip4).toEqual({ ip: "10.1.2.3/24", gateway: "10.1.2.1", routes: [{ dst: "0.0.0.0/0" }] });
      else if (compareVersions(v, "1.0.0") < 0) expect(out.json.ips[0].version).toBe("4");
    });
  }

  rootTest("a CniError from a handler is printed as the spec's object in the config's version", async () => {
    const failing: PluginFuncs = {
      ...funcs,
      add: () => {
        throw new CniError(ErrorCode.TryAgainLater, "busy", { details: "lock held" });
      },
    };
    const out = await run(env("ADD"), { cniVersion: "0.4.0", name: "n" }, failing);
    expect(out).toMatchObject({ exitCode: 1, stderr: "" });
    expect(out.stdout).toBe('{\n    "cniVersion": "0.4.0",\n    "code": 11,\n    "msg": "busy",\n    "details": "lock held"\n}');
  });

  test("a plain Error becomes 999 with its cause logged on stderr", async () => {
    const failing: PluginFuncs = {
      ...funcs,
      del: () => {
        throw new Error("boom <here>");
      },
    };
    const out = await run(env("DEL", { CNI_NETNS: "" }), { cniVersion: "1.0.0", name: "n" }, failing);
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: "boom <here>" });
    expect(out.stdout).toContain("boom \\u003chere\\u003e");
    expect(out.stderr).toStartWith("test-plugin v0: unexpected error: Error: boom <here>\n");
    expect(out.stderr).toContain("run.test.ts");
  });

  test("something thrown that is not an Error is 999 too", async () => {
    const failing: PluginFuncs = {
      ...funcs,
      del: () => {
        throw "a string";
      },
    };
    const out = await run(env("DEL", { CNI_NETNS: "" }), { cniVersion: "1.0.0", name: "n" }, failing);
    expect(out.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: "a string" });
  });

  rootTest("a result that cannot be printed in 0.2.0 is an error, not a partial result", async () => {
    const noIPs: PluginFuncs = { ...funcs, add: () => ({ cniVersion: "1.0.0", interfaces: [{ name: "eth0" }] }) };
    const out = await run(env("ADD"), { cniVersion: "0.2.0", name: "n" }, noIPs);
    expect(out.json).toEqual({ cniVersion: "0.2.0", code: 1, msg: "cannot convert: no valid IP addresses" });
  });
});

describe("handler arguments", () => {
  test("GC gets cni.dev/valid-attachments", async () => {
    const valid = [
      { containerID: "c1", ifname: "eth0" },
      { containerID: "c2", ifname: "net1" },
    ];
    const out = await run({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }, { cniVersion: "1.1.0", name: "n", "cni.dev/valid-attachments": valid });
    expect(out.exitCode).toBe(0);
    expect(calls[0]!.attachments).toEqual(valid);
    const none = await run({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }, { cniVersion: "1.1.0", name: "n" });
    expect([none.exitCode, calls[0]!.attachments]).toEqual([0, []]);
    const bad = await run({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }, { cniVersion: "1.1.0", name: "n", "cni.dev/valid-attachments": [{ ifname: 1 }] });
    expect(bad.json.code).toBe(6);
  });

  test("GC and STATUS succeed by default without a handler", async () => {
    const bare: PluginFuncs = { add: funcs.add, del: funcs.del };
    for (const command of ["GC", "STATUS"]) {
      const out = await run({ CNI_COMMAND: command, CNI_PATH: "/x" }, { cniVersion: "1.1.0", name: "n" }, bare);
      expect([out.exitCode, out.stdout, out.stderr]).toEqual([0, "", ""]);
    }
  });

  test("DEL gets the variables, the split path, stdin and a parsed prevResult", async () => {
    const conf = {
      cniVersion: "0.4.0",
      name: "n",
      type: "t",
      extra: { kept: true },
      prevResult: { cniVersion: "0.4.0", ips: [{ version: "4", address: "10.1.2.3/24" }] },
    };
    await run(env("DEL", { CNI_NETNS: "", CNI_ARGS: "IgnoreUnknown=1;A=B" }), conf);
    const a = calls[0]!.args;
    expect(a).toMatchObject({
      command: "DEL",
      containerID: "ctr-1",
      netns: "",
      ifName: "eth0",
      args: "IgnoreUnknown=1;A=B",
      path: ["/opt/cni/bin", "/usr/lib/cni"],
    });
    expect(a.conf.extra).toEqual({ kept: true });
    expect(a.prevResult).toEqual({ cniVersion: "0.4.0", ips: [{ address: "10.1.2.3/24" }], dns: {} });
    expect(new TextDecoder().decode(a.stdinData)).toBe(JSON.stringify(conf));
  });

  test("a malformed prevResult is a decoding failure before the handler runs", async () => {
    const out = await run(env("DEL", { CNI_NETNS: "" }), { cniVersion: "1.0.0", name: "n", prevResult: { cniVersion: "1.0.0", ips: [{ address: "nope" }] } });
    expect([out.json.code, calls.length]).toEqual([6, 0]);
  });
});

describe("CNI_NETNS", () => {
  rootTest("a namespace made by the test is accepted for ADD, CHECK and DEL", async () => {
    for (const command of ["ADD", "CHECK", "DEL"]) expect((await run(env(command))).exitCode).toBe(0);
    expect(calls.map((c) => c.command)).toEqual(["DEL"]);
  });

  test.each(["ADD", "CHECK", "DEL"])("%s refuses the plugin's own namespace (code 8, reference text)", async (command) => {
    const out = await run(env(command, { CNI_NETNS: "/proc/self/ns/net" }));
    expect(out.json).toEqual({ cniVersion: "1.0.0", code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(calls).toEqual([]);
  });

  test("CNI_NETNS_OVERRIDE=true allows the plugin's own namespace, as in the reference", async () => {
    expect((await run(env("ADD", { CNI_NETNS: "/proc/self/ns/net", CNI_NETNS_OVERRIDE: "TRUE" }))).exitCode).toBe(0);
    expect((await run(env("ADD", { CNI_NETNS: "/proc/self/ns/net", CNI_NETNS_OVERRIDE: "1" }))).exitCode).toBe(0);
  });

  test.each(["ADD", "CHECK", "DEL"])("%s refuses a regular file (code 4)", async (command) => {
    const path = join(dir, "regular");
    const out = await run(env(command, { CNI_NETNS: path }));
    expect(out.json).toEqual({ cniVersion: "1.0.0", code: 4, msg: `CNI_NETNS "${path}" is not a network namespace` });
  });

  test("refuses another kind of namespace", async () => {
    const out = await run(env("ADD", { CNI_NETNS: "/proc/self/ns/mnt" }));
    expect(out.json).toMatchObject({ code: 4, msg: 'CNI_NETNS "/proc/self/ns/mnt" is a mnt namespace, not a network namespace' });
  });

  rootTest("refuses a bind mount of another kind of namespace (its type from NS_GET_NSTYPE)", async () => {
    const target = join(dir, "uts");
    writeFileSync(target, "");
    const mount = Bun.spawnSync(["mount", "--bind", "/proc/self/ns/uts", target]);
    expect(mount.exitCode).toBe(0);
    try {
      const out = await run(env("ADD", { CNI_NETNS: target }));
      expect(out.json).toMatchObject({ code: 4, msg: `CNI_NETNS "${target}" is a uts namespace, not a network namespace` });
    } finally {
      Bun.spawnSync(["umount", target]);
    }
  });

  rootTest("a wired reader tells a bind mount's type instead of the mount table", async () => {
    const target = join(dir, "uts-wired");
    writeFileSync(target, "");
    expect(Bun.spawnSync(["mount", "--bind", "/proc/self/ns/uts", target]).exitCode).toBe(0);
    const asked: string[] = [];
    setNamespaceTypeReader((p) => {
      asked.push(p);
      return "ipc";
    });
    try {
      const out = await run(env("ADD", { CNI_NETNS: target }));
      expect(out.json).toMatchObject({ code: 4, msg: `CNI_NETNS "${target}" is a ipc namespace, not a network namespace` });
      expect(asked).toEqual([target]);
    } finally {
      setNamespaceTypeReader(undefined);
      Bun.spawnSync(["umount", target]);
    }
  });

  test("ADD refuses a path that does not exist", async () => {
    const out = await run(env("ADD", { CNI_NETNS: "/var/run/netns/gone-for-good" }));
    expect(out.json.code).toBe(4);
    // node:fs's words, as before the check went through statx.
    expect(out.json.msg).toBe(`Cannot use CNI_NETNS "/var/run/netns/gone-for-good": ENOENT: no such file or directory, stat '/var/run/netns/gone-for-good'`);
  });
});
