import { afterAll, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CmdArgs, PluginFuncs } from "../skel/cmd-args.ts";
import { callPlugin, runPlugin, validateCall, validatePlugin } from "../skel/run.ts";
import { CniError } from "../spec/error.ts";
import type { NetConf, Result } from "../spec/types.ts";
import { delegateAdd, delegateCommand, delegateValidate } from "./delegate.ts";
import { defaultExec, type InProcessRunner } from "./exec.ts";

const dir = mkdtempSync(join(tmpdir(), "cni-delegate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "ipam"), "not executable: in-process only");

/** An IPAM plugin whose handlers record what they got and fail on request. */
const seen: CmdArgs[] = [];
const funcs: PluginFuncs = {
  add: (a) => {
    seen.push(a);
    if (a.conf.boom) throw new Error("boom");
    if (a.conf.refuse) throw new CniError(11, "try again", { details: "later" });
    return {
      cniVersion: "1.1.0",
      ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }, { address: "2001:db8::3/64" }],
      routes: [{ dst: "0.0.0.0/0" }],
      dns: { nameservers: ["10.1.2.53"] },
    } satisfies Result;
  },
  del: (a) => {
    seen.push(a);
  },
  validate: (a) => {
    if (a.conf.bad) throw new CniError(7, "bad ipam field");
  },
};
const info = { about: "fake ipam" };

/** The runner as own-plugins makes it, with or without the direct calls. */
function execWith(directCalls: boolean) {
  const runner: InProcessRunner = {
    run: (inv) => runPlugin(funcs, info, inv),
    validate: (inv) => validatePlugin(funcs, info, inv),
    ...(directCalls ? { call: (a: CmdArgs) => callPlugin(funcs, info, a), validateCall: (a: CmdArgs) => validateCall(funcs, info, a) } : {}),
  };
  return defaultExec({ inProcess: (p) => (p === join(dir, "ipam") ? runner : undefined) });
}

function argsFor(version: string, extra: Record<string, unknown> = {}): CmdArgs {
  const conf = { cniVersion: version, name: "net", type: "bridge", ipam: { type: "ipam" }, ...extra } as NetConf;
  return {
    command: "ADD",
    containerID: "ctr",
    netns: "/proc/self/ns/net",
    ifName: "eth0",
    args: "IgnoreUnknown=1;;K=V",
    path: [dir],
    stdinData: new TextEncoder().encode(JSON.stringify(conf)),
    conf,
  };
}

async function outcome<T>(p: Promise<T>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (e) {
    const err = e as CniError & { pluginPath?: string };
    return { name: err.name, code: err.code, message: err.message, details: err.details, cniVersion: err.cniVersion, pluginPath: err.pluginPath };
  }
}

test("an in-process IPAM with the caller's stdin runs directly: the same results and errors as through its protocol, for every version", async () => {
  // The caller's skel allowed its own namespace; the delegate's protocol checks it again.
  const override = process.env.CNI_NETNS_OVERRIDE;
  process.env.CNI_NETNS_OVERRIDE = "1";
  try {
    await compareAll();
  } finally {
    if (override === undefined) delete process.env.CNI_NETNS_OVERRIDE;
    else process.env.CNI_NETNS_OVERRIDE = override;
  }
  // The handler saw the delegate's own command and CNI_ARGS as a process would have them.
  seen.length = 0;
  await delegateCommand("DEL", "ipam", argsFor("1.0.0"), { exec: execWith(true) });
  expect([seen[0]!.command, seen[0]!.args]).toEqual(["DEL", "IgnoreUnknown=1;K=V"]);
});

async function compareAll(): Promise<void> {
  for (const version of ["0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
    for (const extra of [{}, { bad: true }, { refuse: true }, { boom: true }]) {
      const got: unknown[] = [];
      for (const directCalls of [false, true]) {
        const exec = execWith(directCalls);
        const a = argsFor(version, extra);
        got.push([
          await outcome(delegateValidate("ipam", a, { exec })),
          await outcome(delegateAdd("ipam", a, { exec })),
          await outcome(delegateCommand("DEL", "ipam", a, { exec })),
        ]);
      }
      expect([version, extra, got[1]]).toEqual([version, extra, got[0]]);
    }
  }
}

test("a validate then an ADD with the same arguments look the in-process delegate up once; other arguments look again", async () => {
  const exec = execWith(true);
  const findInPath = spyOn(exec, "findInPath");
  const inProcess = spyOn(exec, "inProcess");
  const a = argsFor("1.0.0");
  await delegateValidate("ipam", a, { exec });
  await delegateAdd("ipam", a, { exec });
  expect([findInPath.mock.calls.length, inProcess.mock.calls.length]).toEqual([1, 1]);
  await delegateCommand("DEL", "ipam", argsFor("1.0.0"), { exec });
  expect([findInPath.mock.calls.length, inProcess.mock.calls.length]).toEqual([2, 2]);
});
