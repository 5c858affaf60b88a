/**
 * The array builtins a plugin process calls on its common paths. JavaScriptCore writes
 * map, filter, Array.from and their kin in JavaScript and compiles one from its source at
 * its first call in a process: with the JIT off (a plugin process) 0.05-0.46 ms each
 * (Array.from 0.46, Uint8Array.from 0.22, map 0.19, at 0.12, filter 0.08, some 0.07,
 * forEach 0.05; compiled probes), paid by every process that calls it once. So the no-op
 * ADD, a plain bridge ADD and DEL (host-local in-process), and the netfilter paths of
 * podman's default network (bridge with ipMasq, portmap, firewall; iptables) use loops;
 * this holds them to it, with a build whose entry wraps those builtins before anything
 * else loads and logs where each is first called.
 */
import { afterAll, describe, expect } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bridgeConf, withNode } from "./helpers/bridge-kit.ts";
import { ensureBuilt } from "./helpers/dist.ts";
import { portmapConf } from "./helpers/portmap-kit.ts";
import { rootTest, type TestNetns, withNetns } from "./helpers/netns.ts";
import { noopTuningConf } from "./helpers/tuning-kit.ts";

const ROOT = resolve(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "cni-ts-builtins-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WATCHED = {
  "Array.prototype": ["map", "filter", "some", "every", "find", "findIndex", "findLast", "forEach", "reduce", "flatMap", "flat", "at"],
  Array: ["from", "of"],
  TypedArray: ["from", "of"],
};

/** The entry's first module: wraps the watched builtins; the first call of each, with its stack, goes to $BUILTIN_LOG at exit. */
const WRAP = `
const log = [];
const seen = new Set();
function wrap(obj, name, label) {
  const orig = obj[name];
  Object.defineProperty(obj, name, {
    value: function (...args) {
      if (!seen.has(label)) {
        seen.add(label);
        log.push(label + "\\n" + new Error().stack);
      }
      return orig.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
}
const targets = { "Array.prototype": Array.prototype, Array, TypedArray: Object.getPrototypeOf(Uint8Array) };
const watched = ${JSON.stringify(WATCHED)};
for (const where in watched) for (const name of watched[where]) wrap(targets[where], name, where + "." + name);
process.on("exit", () => {
  let text = "";
  for (let i = 0; i < log.length; i++) text += log[i] + "\\n\\n";
  if (process.env.BUILTIN_LOG) require("node:fs").writeFileSync(process.env.BUILTIN_LOG, text);
});
`;

let built: string | undefined;
/** A plugin dir linking to the wrapped build (the addon beside it, as installed). */
function wrappedBin(): string {
  if (built) return built;
  ensureBuilt();
  writeFileSync(join(work, "wrap.js"), WRAP);
  writeFileSync(join(work, "entry.ts"), `import "./wrap.js";\nimport ${JSON.stringify(join(ROOT, "src/main.ts"))};\n`);
  const exe = join(work, "cni-ts");
  const r = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--bytecode",
      "--splitting",
      "--format=esm",
      join(work, "entry.ts"),
      join(ROOT, "src/daemon/cni-worker.ts"),
      "--outfile",
      exe,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  if (!r.success) throw new Error(`bun build failed: ${r.stderr}`);
  copyFileSync(join(ROOT, "dist/cni-ts-libc.node"), join(work, "cni-ts-libc.node"));
  const bin = join(work, "bin");
  const i = Bun.spawnSync([exe, "install", "--direct", "--bin-dir", bin], { stdout: "pipe", stderr: "pipe" });
  if (!i.success) throw new Error(`install failed: ${i.stderr}`);
  return (built = bin);
}

/** Runs one command as a plugin process (JIT off, as the shim starts it); the watched builtins it called, with where, and its result. */
function run(argv: string[], env: Record<string, string>, conf: object): { uses: string[]; result: string } {
  const log = join(work, "builtins.log");
  rmSync(log, { force: true });
  const r = Bun.spawnSync(argv, {
    env: { PATH: process.env.PATH!, CNI_TS_DAEMON: "off", BUN_JSC_useJIT: "0", BUILTIN_LOG: log, ...env },
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (!r.success) throw new Error(`${argv.join(" ")} failed: ${r.stdout}${r.stderr}`);
  const uses = readFileSync(log, "utf8")
    .split("\n\n")
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const [label, , , caller] = b.split("\n");
      return `${label} at ${caller?.trim()}`;
    });
  return { uses, result: r.stdout.toString() };
}

/**
 * The functions one plugin command links (its first call of each) whose code names one of
 * `globals`: JavaScriptCore resolves a function's global names when it links it, and Bun
 * makes some globals only then (Buffer and its prototype: about 0.15 ms with the JIT off,
 * a compiled probe), whether the branch that names it runs or not.
 */
function linkedNaming(argv: string[], env: Record<string, string>, conf: object, globals: string[]): string[] {
  const r = Bun.spawnSync(argv, {
    env: { PATH: process.env.PATH!, CNI_TS_DAEMON: "off", BUN_JSC_useJIT: "0", BUN_JSC_dumpGeneratedBytecodes: "1", ...env },
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (!r.success) throw new Error(`${argv.join(" ")} failed: ${r.stdout}`);
  const found: string[] = [];
  let fn = "";
  for (const line of r.stderr.toString().split("\n")) {
    const head = /^(\S*)#[A-Za-z0-9]{6}:\[/.exec(line);
    if (head) fn = head[1] || "<anonymous>";
    const id = /^ {2}id\d+ = (\S+)$/.exec(line);
    if (id && globals.includes(id[1]!)) found.push(`${fn} names ${id[1]}`);
  }
  return found;
}

/** The watched builtins one plugin command called, with where. */
const firstUses = (argv: string[], env: Record<string, string>, conf: object): string[] => run(argv, env, conf).uses;

/** A plugin of the wrapped build, run in the node namespace. */
const inNode = (node: TestNetns, bin: string, type: string) => ["ip", "netns", "exec", node.name, join(bin, type)];

/** A command's environment for the pod's eth0, the container id the pod's name. */
const env = (command: string, pod: TestNetns, bin: string) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: pod.name,
  CNI_NETNS: pod.path,
  CNI_IFNAME: "eth0",
  CNI_PATH: bin,
});

/** A plain bridge ADD for the pod: the prevResult of the plugins chained after it. */
function bridgeAdd(node: TestNetns, pod: TestNetns, bin: string, dataDir: string): unknown {
  return JSON.parse(run(inNode(node, bin, "bridge"), env("ADD", pod, bin), bridgeConf("1.0.0", dataDir, { isGateway: true })).result);
}

/** The environment of a no-op tuning ADD in `pod`, our plugins in `bin`. */
const noopEnv = (pod: TestNetns, bin: string) => ({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: bin });

describe("array builtins on a plugin process's common paths", () => {
  rootTest("a no-op tuning ADD calls none", () =>
    withNetns(1, (pod) => {
      const bin = wrappedBin();
      const conf = noopTuningConf(join(work, "tuning"));
      const env = noopEnv(pod, bin);
      expect(firstUses([join(bin, "tuning")], env, conf)).toEqual([]);
    }),
  );

  rootTest("a no-op tuning ADD links no function that names a global Bun makes at first use (Buffer, URL, TextDecoder, TextEncoder, Response)", () =>
    withNetns(1, (pod) => {
      const bin = wrappedBin();
      const conf = noopTuningConf(join(work, "tuning"));
      const env = noopEnv(pod, bin);
      expect(linkedNaming([join(bin, "tuning")], env, conf, ["Buffer", "URL", "TextDecoder", "TextEncoder", "Response"])).toEqual([]);
    }),
  );

  rootTest("a plain bridge ADD and DEL with host-local in-process call none", () =>
    withNode(1, (node, [pod], dataDir) => {
      const bin = wrappedBin();
      const conf = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const uses = (command: string) => firstUses(inNode(node, bin, "bridge"), env(command, pod!, bin), conf);
      expect({ ADD: uses("ADD"), DEL: uses("DEL") }).toEqual({ ADD: [], DEL: [] });
    }),
  );

  rootTest("a plain bridge ADD and DEL with host-local in-process, with the CNI_ARGS a Kubernetes runtime passes, call none", () =>
    withNode(1, (node, [pod], dataDir) => {
      const bin = wrappedBin();
      const conf = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const args = { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=${pod!.name};K8S_POD_UID=0c8d5d6e` };
      const uses = (command: string) => firstUses(inNode(node, bin, "bridge"), { ...env(command, pod!, bin), ...args }, conf);
      expect({ ADD: uses("ADD"), DEL: uses("DEL") }).toEqual({ ADD: [], DEL: [] });
    }),
  );

  rootTest("a plain bridge ADD and DEL with host-local in-process link no function that names Buffer", () =>
    withNode(1, (node, [pod], dataDir) => {
      const bin = wrappedBin();
      const conf = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const naming = (command: string) => linkedNaming(inNode(node, bin, "bridge"), env(command, pod!, bin), conf, ["Buffer"]);
      expect({ ADD: naming("ADD"), DEL: naming("DEL") }).toEqual({ ADD: [], DEL: [] });
    }),
  );

  rootTest("a bridge ADD and DEL with ipMasq (iptables) and hairpinMode, as podman's default network, call none", () =>
    withNode(1, (node, [pod], dataDir) => {
      const bin = wrappedBin();
      const conf = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true, hairpinMode: true });
      const uses = (command: string) => firstUses(inNode(node, bin, "bridge"), env(command, pod!, bin), conf);
      expect({ ADD: uses("ADD"), DEL: uses("DEL") }).toEqual({ ADD: [], DEL: [] });
    }),
  );

  // Two pods for portmap and firewall: the second ADD finds the node's shared chains in place, the usual case.
  rootTest("portmap ADDs (iptables, snat; on a fresh node and a set-up one) and DEL call none", () =>
    withNode(2, (node, pods, dataDir) => {
      const bin = wrappedBin();
      const uses = (command: string, pod: TestNetns, prevResult: unknown) =>
        firstUses(inNode(node, bin, "portmap"), env(command, pod, bin), portmapConf(prevResult, [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }]));
      const [first, second] = [bridgeAdd(node, pods[0]!, bin, dataDir), bridgeAdd(node, pods[1]!, bin, dataDir)];
      expect({ first: uses("ADD", pods[0]!, first), second: uses("ADD", pods[1]!, second), DEL: uses("DEL", pods[1]!, second) }).toEqual({
        first: [],
        second: [],
        DEL: [],
      });
    }),
  );

  rootTest("firewall ADDs (iptables; on a fresh node and a set-up one) and DEL call none", () =>
    withNode(2, (node, pods, dataDir) => {
      const bin = wrappedBin();
      const uses = (command: string, pod: TestNetns, prevResult: unknown) => {
        const conf = { cniVersion: "1.0.0", name: "brnet", type: "firewall", backend: "iptables", stateDir: join(dataDir, "firewall"), prevResult };
        return firstUses(inNode(node, bin, "firewall"), env(command, pod, bin), conf);
      };
      const [first, second] = [bridgeAdd(node, pods[0]!, bin, dataDir), bridgeAdd(node, pods[1]!, bin, dataDir)];
      expect({ first: uses("ADD", pods[0]!, first), second: uses("ADD", pods[1]!, second), DEL: uses("DEL", pods[1]!, second) }).toEqual({
        first: [],
        second: [],
        DEL: [],
      });
    }),
  );
});
