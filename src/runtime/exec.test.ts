import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { PluginFuncs } from "../skel/cmd-args.ts";
import { runPlugin, validatePlugin } from "../skel/run.ts";
import { CniError } from "../spec/error.ts";
import { waitFor } from "../../test/helpers/wait.ts";
import { FakePlugins } from "../../test/helpers/fake-plugins.ts";
import { decodeVersionInfo, defaultExec, findInPath } from "./exec.ts";
import { getVersionInfo, pluginEnv } from "./invoke.ts";
import { PluginError } from "./plugin-error.ts";

const fake = FakePlugins.create("noop", "fail");
afterAll(() => fake.remove());
const quiet = defaultExec({ onStderr: () => {} });
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("findInPath", () => {
  test("finds the first regular file of that name along the path", () => {
    const other = join(fake.root, "other");
    mkdirSync(join(other, "noop"), { recursive: true }); // a directory named like the plugin is skipped
    expect(findInPath("noop", [other, "/nonexistent", fake.binDir])).toBe(join(fake.binDir, "noop"));
  });

  test("rejects a type with a path separator with code 7", () => {
    for (const t of ["../bin/noop", "a/b", "/usr/lib/cni/bridge", ".."]) {
      expect(() => findInPath(t, [fake.binDir])).toThrow(expect.objectContaining({ code: 7 }));
    }
  });

  test("says where it looked when the plugin is missing", () => {
    expect(() => findInPath("nope", [fake.binDir])).toThrow(`failed to find plugin "nope" in path [${fake.binDir}]`);
    expect(() => findInPath("nope", [])).toThrow(/no CNI_PATH/);
  });
});

describe("execPlugin", () => {
  test("passes stdin and exactly the six CNI_* variables over the inherited environment", async () => {
    fake.clearCalls();
    const env = pluginEnv(
      {
        command: "ADD",
        containerID: "c1",
        netns: "/var/run/netns/x",
        ifName: "eth0",
        args: [
          ["K8S_POD_NAME", "p"],
          ["A", "b=c"],
        ],
        path: ["/a", "/b"],
      },
      { PATH: process.env.PATH, FOO: "bar", CNI_COMMAND: "DEL", CNI_PATH: "/inherited", UNSET: undefined },
    );
    const out = await quiet.execPlugin(join(fake.binDir, "noop"), enc('{"hello":1}'), env);
    expect(JSON.parse(dec(out)).interfaces[0].name).toBe("noop");
    const [call] = fake.calls();
    expect(call!.stdin).toBe('{"hello":1}');
    expect(call!.env.FOO).toBe("bar");
    expect("UNSET" in call!.env).toBe(false);
    const cni = Object.fromEntries(Object.entries(call!.env).filter(([k]) => k.startsWith("CNI_")));
    expect(cni).toEqual({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c1",
      CNI_NETNS: "/var/run/netns/x",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "K8S_POD_NAME=p;A=b=c",
      CNI_PATH: "/a:/b",
    });
  });

  test("decodes the plugin's error object and keeps its stderr", async () => {
    fake.answer("fail", "ADD", { stdout: '{"cniVersion":"1.0.0","code":11,"msg":"try again","details":"busy"}', stderr: "log line\n", exit: 1 });
    const failing = quiet.execPlugin(join(fake.binDir, "fail"), enc("{}"), pluginEnv({ command: "ADD", path: [] }));
    await expect(failing).rejects.toBeInstanceOf(PluginError);
    await expect(failing).rejects.toBeInstanceOf(CniError);
    await expect(failing).rejects.toMatchObject({ code: 11, message: "try again", details: "busy", cniVersion: "1.0.0", stderr: "log line\n", exitCode: 1 });
  });

  test("reports stderr, or the exit status, when the plugin printed no error object", async () => {
    fake.answer("fail", "DEL", { stderr: "panic: oops", exit: 2 });
    await expect(quiet.execPlugin(join(fake.binDir, "fail"), enc("{}"), pluginEnv({ command: "DEL", path: [] }))).rejects.toMatchObject({
      message: 'netplugin failed: "panic: oops"',
    });
    fake.answer("fail", "DEL", { exit: 3 });
    await expect(quiet.execPlugin(join(fake.binDir, "fail"), enc("{}"), pluginEnv({ command: "DEL", path: [] }))).rejects.toMatchObject({
      message: "netplugin failed with no error message: exit status 3",
    });
    fake.answer("fail", "DEL", { stdout: "not json", exit: 1 });
    await expect(quiet.execPlugin(join(fake.binDir, "fail"), enc("{}"), pluginEnv({ command: "DEL", path: [] }))).rejects.toThrow(
      'netplugin failed but error parsing its diagnostic message "not json"',
    );
  });

  test("hands a successful plugin's stderr to onStderr", async () => {
    fake.answer("noop", "DEL", { stderr: "note\n" });
    const seen: string[] = [];
    await defaultExec({ onStderr: (t, p) => seen.push(`${p}:${t}`) }).execPlugin(join(fake.binDir, "noop"), enc("{}"), pluginEnv({ command: "DEL", path: [] }));
    expect(seen).toEqual([`${join(fake.binDir, "noop")}:note\n`]);
  });

  test("kills a plugin that runs past the timeout, with its children, and says so", async () => {
    fake.answer("noop", "CHECK", { sleepSeconds: 31.77 });
    const t0 = performance.now();
    await expect(
      defaultExec({ timeoutMs: 300 }).execPlugin(join(fake.binDir, "noop"), enc("{}"), pluginEnv({ command: "CHECK", path: [] })),
    ).rejects.toMatchObject({ message: `plugin "${join(fake.binDir, "noop")}" timed out after 300 ms and was killed` });
    expect(performance.now() - t0).toBeLessThan(3000);
    // The group gets SIGKILL at once; the kernel reaps it a moment later.
    await waitFor(() => Bun.spawnSync(["pgrep", "-f", "sleep 31.77"]).stdout.toString() === "", "the killed plugin's children to be gone", { timeoutMs: 3000 });
  });

  test("tries again while the binary is still open for writing (ETXTBSY)", async () => {
    const path = join(fake.root, "bin", "late");
    const fd = openSync(path, "w", 0o755);
    writeSync(fd, '#!/bin/sh\necho \'{"cniVersion":"1.0.0"}\'\n');
    setTimeout(() => closeSync(fd), 250);
    const out = await quiet.execPlugin(path, enc("{}"), pluginEnv({ command: "ADD", path: [] }));
    expect(JSON.parse(dec(out)).cniVersion).toBe("1.0.0");
  });

  test("gives up on ETXTBSY after the retries with an I/O error", async () => {
    const path = join(fake.root, "bin", "never");
    const fd = openSync(path, "w", 0o755);
    try {
      await expect(defaultExec({ retries: 2, retryDelayMs: 10 }).execPlugin(path, enc("{}"), pluginEnv({ command: "ADD", path: [] }))).rejects.toMatchObject({
        code: 5,
        message: expect.stringContaining("ETXTBSY"),
      });
    } finally {
      closeSync(fd);
    }
  });

  test("runs and validates a plugin in-process when the hook claims its path", async () => {
    const funcs: PluginFuncs = {
      add: (a) => ({ cniVersion: a.conf.cniVersion, interfaces: [{ name: a.ifName }] }),
      del: () => {
        throw new CniError(7, "bad config", { details: "in-process" });
      },
      validate: (a) => {
        if (a.conf.bad) throw new CniError(7, "bad field");
      },
    };
    const info = { about: "test", supportedVersions: ["0.4.0", "1.0.0"] };
    const ours = join(fake.root, "cni-ts-plugin");
    writeFileSync(ours, "not executable");
    const exec = defaultExec({
      inProcess: (p) => (p === ours ? { run: (inv) => runPlugin(funcs, info, inv), validate: (inv) => validatePlugin(funcs, info, inv) } : undefined),
    });
    expect(await getVersionInfo(exec, ours)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.4.0", "1.0.0"] });
    const conf = enc('{"cniVersion":"1.0.0","name":"n","type":"x"}');
    const base = { containerID: "c", netns: "", ifName: "eth7", path: ["/x"] };
    await expect(exec.execPlugin(ours, conf, pluginEnv({ ...base, command: "DEL" }, {}))).rejects.toMatchObject({
      code: 7,
      message: "bad config",
      details: "in-process",
    });
    const add = pluginEnv({ ...base, netns: "/proc/self/ns/net", command: "ADD" }, { CNI_NETNS_OVERRIDE: "1" });
    await expect(exec.validate!(ours, enc('{"cniVersion":"1.0.0","name":"n","type":"x","bad":true}'), add)).rejects.toMatchObject({
      code: 7,
      message: "bad field",
    });
    await exec.validate!(ours, conf, add);
    await defaultExec().validate!(ours, conf, add);
    const broken = defaultExec({ inProcess: () => ({ run: () => Promise.reject(new Error("boom")), validate: () => Promise.resolve() }) });
    await expect(broken.execPlugin(ours, conf, pluginEnv({ ...base, command: "DEL" }, {}))).rejects.toMatchObject({
      code: 999,
      message: `plugin "${ours}" failed in-process: boom`,
    });
  });
});

describe("VERSION", () => {
  test("probes with dummy values and the current version on stdin", async () => {
    fake.clearCalls();
    expect((await getVersionInfo(quiet, join(fake.binDir, "noop"))).supportedVersions).toContain("1.1.0");
    const [call] = fake.calls();
    expect([call!.env.CNI_COMMAND, call!.env.CNI_NETNS, call!.env.CNI_IFNAME, call!.env.CNI_PATH]).toEqual(["VERSION", "dummy", "dummy", "dummy"]);
    expect(call!.conf).toEqual({ cniVersion: "1.1.0" });
  });

  test("takes a plugin that does not know VERSION for a 0.1.0 plugin", async () => {
    fake.answer("fail", "VERSION", { stdout: '{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}', exit: 1 });
    expect(await getVersionInfo(quiet, join(fake.binDir, "fail"))).toEqual({ cniVersion: "0.1.0", supportedVersions: ["0.1.0"] });
  });

  test("decodes answers as libcni does", () => {
    expect(decodeVersionInfo('{"cniVersion":"0.2.0"}').supportedVersions).toEqual(["0.1.0", "0.2.0"]);
    expect(() => decodeVersionInfo('{"cniVersion":"0.3.0"}')).toThrow("missing field supportedVersions");
    expect(() => decodeVersionInfo('{"supportedVersions":["1.0.0"]}')).toThrow("missing field cniVersion");
    expect(() => decodeVersionInfo("nope")).toThrow(expect.objectContaining({ code: 6 }));
  });
});
