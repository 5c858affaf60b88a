/**
 * Our skel beside the reference's: the same plugin written twice, once on Debian's Go
 * skel (test/oracle/skel-plugin) and once on ours, run with the same variables and
 * stdin. Exit status, output bytes of results, and code/msg/details of errors must
 * agree; the cases avoid what we do differently on purpose (GC/STATUS and the
 * namespace check, which Debian's skel predates; cniVersion in error objects).
 * Needs root (a namespace for ADD) and Go with the reference library.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniError, ErrorCode } from "../spec/error.ts";
import type { Result } from "../spec/types.ts";
import { ALL_VERSIONS } from "../spec/version.ts";
import { isRoot, TestNetns } from "../../test/helpers/netns.ts";
import type { CmdArgs, PluginFuncs, PluginInfo } from "./cmd-args.ts";
import { runPlugin } from "./run.ts";

const ORACLE = join(import.meta.dir, "../../test/oracle");
const hasGo = spawnSync("go", ["version"]).status === 0 && existsSync("/usr/share/gocode/src/github.com/containernetworking/cni/pkg/skel");
const skip = !isRoot ? "needs root: run as root to create namespaces" : !hasGo ? "needs go and golang-github-appc-cni-dev" : "";
const REF_VERSIONS = ALL_VERSIONS.filter((v) => v !== "1.1.0");

function load(args: CmdArgs): void {
  if (args.conf.fail === "cni") throw new CniError(ErrorCode.TryAgainLater, "busy", { details: "lock held" });
  if (args.conf.fail === "plain") throw new Error("boom <here>");
}
const funcs: PluginFuncs = {
  add(args): Result {
    load(args);
    return {
      cniVersion: "1.0.0",
      interfaces: [{ name: args.ifName, mac: "0a:58:0a:01:02:03", sandbox: args.netns }],
      ips: [
        { interface: 0, address: "10.1.2.3/24", gateway: "10.1.2.1" },
        { interface: 0, address: "fd00::3/64" },
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }],
    };
  },
  check: load,
  del: load,
};
const info: PluginInfo = { about: "test-plugin v0", supportedVersions: REF_VERSIONS };

let ns: TestNetns | undefined;
let dir = "";
let goPlugin = "";
beforeAll(() => {
  if (skip) return;
  ns = TestNetns.create("skelref");
  dir = mkdtempSync(join(tmpdir(), "skelref-"));
  const build = spawnSync(join(ORACLE, "build"), [join(dir, "skel-plugin"), join(ORACLE, "skel-plugin")], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`cannot build the reference skel plugin: ${build.stderr}`);
  goPlugin = build.stdout.trim();
}, 180_000);
afterAll(() => {
  ns?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Env = Record<string, string | undefined>;
// "@ns" stands for the test's namespace, which exists only once beforeAll has run.
const full = (command: string, extra: Env = {}): Env => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: "ctr-1",
  CNI_NETNS: "@ns",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
  ...extra,
});
const conf = (extra: object = {}) => JSON.stringify({ cniVersion: "1.0.0", name: "net1", type: "skel-plugin", ...extra });

async function both(env: Env, stdin: string) {
  const clean = Object.fromEntries(
    Object.entries(env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v === "@ns" ? ns!.path : v]),
  ) as Record<string, string>;
  const ref = spawnSync(goPlugin, [], { env: { PATH: process.env.PATH ?? "", ...clean }, input: stdin, encoding: "utf8" });
  const ours = await runPlugin(funcs, info, { env: clean, stdin: new TextEncoder().encode(stdin) });
  return { ref: { exitCode: ref.status, stdout: ref.stdout, stderr: ref.stderr }, ours };
}

function comparable(stdout: string, exitCode: number | null): unknown {
  if (exitCode === 0 || stdout === "") return stdout;
  const { cniVersion: _, ...e } = JSON.parse(stdout);
  // JSON parser messages differ between Go and us: compare up to the parser's text.
  if (e.code === 6) e.msg = String(e.msg).split(": ")[0];
  return e;
}

const cases: [string, Env, string][] = [
  ["no CNI_COMMAND prints the about text", {}, ""],
  ...REF_VERSIONS.map((v): [string, Env, string] => [`ADD at ${v}`, full("ADD"), conf({ cniVersion: v })]),
  ["ADD without cniVersion is 0.1.0", full("ADD"), JSON.stringify({ name: "net1" })],
  ["ADD with nothing set", { CNI_COMMAND: "ADD" }, conf()],
  ["ADD without CNI_PATH", full("ADD", { CNI_PATH: undefined }), conf()],
  ["DEL without CNI_IFNAME", full("DEL", { CNI_IFNAME: undefined }), conf()],
  ["DEL without CNI_NETNS", full("DEL", { CNI_NETNS: undefined }), conf()],
  ["ADD with a bad container id", full("ADD", { CNI_CONTAINERID: "a b" }), conf()],
  ["ADD with a long interface name", full("ADD", { CNI_IFNAME: "a-very-long-ifname" }), conf()],
  ["ADD with a space in the interface name", full("ADD", { CNI_IFNAME: "eth 0" }), conf()],
  ["ADD with interface name ..", full("ADD", { CNI_IFNAME: ".." }), conf()],
  ["ADD with bad JSON", full("ADD"), "{"],
  ["ADD without a name", full("ADD"), JSON.stringify({ cniVersion: "1.0.0" })],
  ["ADD with a bad name", full("ADD"), conf({ name: "a/b" })],
  ["ADD at an unsupported version", full("ADD"), conf({ cniVersion: "0.5.0" })],
  ["ADD at 1.1.0, which this plugin does not list", full("ADD"), conf({ cniVersion: "1.1.0" })],
  ["CHECK at 0.3.1", full("CHECK"), conf({ cniVersion: "0.3.1" })],
  ["CHECK at 0.4.0", full("CHECK"), conf({ cniVersion: "0.4.0" })],
  ["CHECK at 1.0.0", full("CHECK"), conf()],
  ["CHECK with a bad version", full("CHECK"), conf({ cniVersion: "x.1" })],
  ["ADD failing with a CNI error", full("ADD"), conf({ fail: "cni" })],
  ["DEL failing with a plain error", full("DEL"), conf({ fail: "plain" })],
  ["an unknown command", full("FOO"), conf()],
  // Go's decoder stops at 10,000 levels (the config object counts as one).
  ["ADD nested 10,000 deep", full("ADD"), nested(9999, "[", "]")],
  ["ADD nested 10,001 deep", full("ADD"), nested(10000, "[", "]")],
  ["ADD nested 10,001 deep in objects", full("ADD"), nested(10000, '{"a":', "}")],
  ["ADD with 20,000 brackets in a string", full("ADD"), conf({ s: "[".repeat(20000) })],
];

/** A config whose field x holds `depth` levels of open/close. */
function nested(depth: number, open: string, close: string): string {
  return conf({ x: "@" }).replace('"@"', open.repeat(depth) + (open === "[" ? "" : "1") + close.repeat(depth));
}

describe("our skel against the reference skel", () => {
  for (const [name, env, stdin] of cases) {
    (skip ? test.skip : test)(skip ? `${name} (${skip})` : name, async () => {
      const { ref, ours } = await both(env, stdin);
      expect(ours.exitCode).toBe(ref.exitCode!);
      if (name.startsWith("ADD at")) expect(ours.stdout).toStartWith('{\n    "cniVersion"');
      expect(comparable(ours.stdout, ours.exitCode)).toEqual(comparable(ref.stdout, ref.exitCode));
      if (ours.exitCode === 0) expect(ours.stderr).toBe(ref.stderr);
    });
  }

  (skip ? test.skip : test)(skip ? `too deep (${skip})` : "JSON nested too deep: the reference's exact message", async () => {
    for (const [open, close] of [
      ["[", "]"],
      ['{"a":', "}"],
    ]) {
      const { ref, ours } = await both(full("ADD"), nested(10000, open!, close!));
      expect(JSON.parse(ours.stdout).msg).toBe(JSON.parse(ref.stdout).msg);
      expect(JSON.parse(ours.stdout).msg).toBe(`error unmarshall network config: invalid character '${open![0]}' exceeded max depth`);
    }
  });

  (skip ? test.skip : test)(skip ? `VERSION (${skip})` : "VERSION lists the same versions", async () => {
    const { ref, ours } = await both({ CNI_COMMAND: "VERSION" }, "");
    expect(JSON.parse(ours.stdout).supportedVersions).toEqual(JSON.parse(ref.stdout).supportedVersions);
    // Debian's library answers with the newest version it implements, 1.0.0; we implement 1.1.0.
    expect([JSON.parse(ref.stdout).cniVersion, JSON.parse(ours.stdout).cniVersion]).toEqual(["1.0.0", "1.1.0"]);
  });
});
