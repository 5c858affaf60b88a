import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, installedBinDir } from "../../test/helpers/dist.ts";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { pluginTypes } from "../plugins/registry.ts";
import { containerIDFor } from "./_env.ts";

let bin: string;
let work: string;
let plugins: { dir: string; cleanup: () => void };

beforeAll(() => {
  bin = ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "cni-ts-cli-"));
  plugins = installedBinDir();
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  plugins.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(bin, args, { env: { PATH: process.env.PATH!, ...env }, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function confDir(files: Record<string, object | string>): string {
  const dir = mkdtempSync(join(work, "net.d-"));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === "string" ? body : JSON.stringify(body));
  return dir;
}

describe("cni-ts CLI", () => {
  test("--help and version", () => {
    expect(cli(["--help"]).stdout).toContain("usage: cni-ts COMMAND");
    for (const c of ["add", "check", "del", "gc", "status", "ls", "validate", "install"]) {
      const r = cli([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`usage: cni-ts ${c}`);
    }
    expect(cli(["version"]).stdout).toContain("CNI spec 1.1.0");
    expect(cli(["bogus"]).code).toBe(2);
  });

  test("install links every plugin type to the shim, keeps foreign files, replaces them with --force", () => {
    const dir = join(work, "bin-install");
    const shim = join(bin, "..", "cni-ts-shim");
    mkdirSync(dir);
    writeFileSync(join(dir, "loopback"), "#!/bin/sh\n", { mode: 0o755 });
    const r = cli(["install", "--bin-dir", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("loopback: kept existing");
    for (const t of pluginTypes().filter((t) => t !== "loopback")) expect(readlinkSync(join(dir, t))).toBe(shim);
    expect(lstatSync(join(dir, "loopback")).isSymbolicLink()).toBe(false);
    expect(cli(["install", "--bin-dir", dir, "--force"]).code).toBe(0);
    expect(readlinkSync(join(dir, "loopback"))).toBe(shim);
    expect(cli(["install", "--bin-dir", dir]).stdout).toContain("loopback: already installed");
  });

  test("install --direct links to the binary; a plain install (or --daemon) links back to the shim, no --force needed", () => {
    const dir = join(work, "bin-install-daemon");
    const shim = join(bin, "..", "cni-ts-shim");
    expect(cli(["install", "--direct", "--bin-dir", dir]).code).toBe(0);
    for (const t of pluginTypes()) expect(readlinkSync(join(dir, t))).toBe(bin);
    expect(cli(["install", "--bin-dir", dir]).code).toBe(0);
    for (const t of pluginTypes()) expect(readlinkSync(join(dir, t))).toBe(shim);
    expect(cli(["install", "--direct", "--bin-dir", dir]).code).toBe(0);
    expect(readlinkSync(join(dir, "bridge"))).toBe(bin);
    expect(cli(["install", "--daemon", "--bin-dir", dir]).code).toBe(0);
    expect(readlinkSync(join(dir, "bridge"))).toBe(shim);
    expect(cli(["install", "--daemon", "--direct", "--bin-dir", dir]).code).toBe(2);
  });

  test("ls --json picks the first usable file and says why the others are skipped", () => {
    const dir = confDir({
      "00-broken.conf": "{ not json",
      "05-missing.conflist": { cniVersion: "1.0.0", name: "missing", plugins: [{ type: "no-such-plugin" }] },
      "10-lo.conflist": { cniVersion: "1.0.0", name: "lo", plugins: [{ type: "loopback" }] },
      "20-later.conf": { cniVersion: "1.0.0", name: "later", type: "loopback" },
      "README.md": "not a config",
    });
    const r = cli(["ls", "--json"], { NETCONFPATH: dir, CNI_PATH: plugins.dir });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { file: string; name: string | null; valid: boolean; reason: string; default: boolean }[];
    expect(rows.map((x) => x.file.split("/").pop())).toEqual(["00-broken.conf", "05-missing.conflist", "10-lo.conflist", "20-later.conf"]);
    expect(rows.map((x) => [x.valid, x.default])).toEqual([
      [false, false],
      [false, false],
      [true, true],
      [true, false],
    ]);
    expect(rows[1]!.reason).toContain("no-such-plugin");
    expect(rows[3]!.reason).not.toBe("");
    const text = cli(["ls"], { NETCONFPATH: dir, CNI_PATH: plugins.dir }).stdout;
    expect(text).toContain("default network: lo");
  });

  test("ls exits 1 when nothing is usable", () => {
    const dir = confDir({ "10-x.conf": { cniVersion: "1.0.0", name: "x", type: "nope" } });
    const r = cli(["ls"], { NETCONFPATH: dir, CNI_PATH: plugins.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("no usable network config");
  });

  test("validate reports missing plugins and unsupported versions", () => {
    const dir = confDir({
      "10-ok.conflist": { cniVersion: "1.1.0", name: "ok", plugins: [{ type: "loopback", capabilities: { portMappings: true } }] },
      "20-bad.conflist": { cniVersion: "1.0.0", name: "bad", plugins: [{ type: "nope" }] },
    });
    const ok = cli(["validate", "ok"], { NETCONFPATH: dir, CNI_PATH: plugins.dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("capabilities portMappings");
    const bad = cli(["validate", "bad"], { NETCONFPATH: dir, CNI_PATH: plugins.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('failed to find plugin "nope"');
  });

  test("container id is derived from the netns path as cnitool does", () => {
    expect(containerIDFor("/var/run/netns/x")).toMatch(/^cni-[0-9a-f]{20}$/);
    expect(containerIDFor("/var/run/netns/x")).not.toBe(containerIDFor("/var/run/netns/y"));
  });

  rootTest("add/check/del of loopback through the CLI, with the result cache", () =>
    withNetns(1, (pod) => {
      const dir = confDir({ "99-lo.conf": { cniVersion: "1.1.0", name: "lo", type: "loopback" } });
      const cache = join(work, "cache-cli");
      const env = { NETCONFPATH: dir, CNI_PATH: plugins.dir, CNI_CACHE_DIR: cache, CNI_IFNAME: "lo", CNI_CONTAINERID: "cli-test-1" };
      const add = cli(["add", "lo", pod.path], env);
      expect(add.code).toBe(0);
      const res = JSON.parse(add.stdout);
      expect(res.cniVersion).toBe("1.1.0");
      expect(res.interfaces[0].name).toBe("lo");
      const cacheFile = join(cache, "results", "lo-cli-test-1-lo");
      expect(JSON.parse(readFileSync(cacheFile, "utf8")).kind).toBe("cniCacheV1");
      expect(pod.ipJson("link", "show", "lo")[0].flags).toContain("UP");
      expect(cli(["check", "lo", pod.path], env).code).toBe(0);
      expect(cli(["del", "lo", pod.path], env).code).toBe(0);
      expect(pod.ipJson("link", "show", "lo")[0].flags).not.toContain("UP");
      expect(existsSync(cacheFile)).toBe(false);
      const check = cli(["check", "lo", pod.path], env);
      expect(check.code).toBe(1);
    }),
  );

  rootTest("a container id too long for the cache file name is refused (code 4) before any plugin runs", () =>
    withNetns(1, (pod) => {
      const dir = confDir({ "99-lo.conf": { cniVersion: "1.1.0", name: "lo", type: "loopback" } });
      const cache = join(work, "cache-long-id");
      // "lo-<id>-lo": 249 bytes of id make the 255 a file name may have.
      for (const [len, ok] of [
        [300, false],
        [250, false],
        [249, true],
      ] as const) {
        const env = { NETCONFPATH: dir, CNI_PATH: plugins.dir, CNI_CACHE_DIR: cache, CNI_IFNAME: "lo", CNI_CONTAINERID: "c".repeat(len) };
        const add = cli(["add", "lo", pod.path], env);
        expect(add.stderr).not.toContain("ENAMETOOLONG");
        if (ok) {
          expect(add.code).toBe(0);
          expect(cli(["del", "lo", pod.path], env).code).toBe(0);
          continue;
        }
        expect([add.code, JSON.parse(add.stdout).code]).toEqual([1, 4]);
        expect(JSON.parse(add.stdout).msg).toBe(
          `containerID too long: the cache file name "<network>-<containerID>-<ifName>" would be ${len + 6} bytes, more than 255`,
        );
        expect(pod.ipJson("link", "show", "lo")[0].flags).not.toContain("UP");
        expect(cli(["del", "lo", pod.path], env).code).toBe(1);
      }
      expect(existsSync(join(cache, "results")) ? readdirSync(join(cache, "results")) : []).toEqual([]);
    }),
  );
});
