/**
 * cni-ts-shim answers VERSION itself from the table src/shim/versions.ts generates: for
 * every plugin name its answer is the binary's, byte for byte, and whatever it does not
 * answer (an unknown name, arguments) it hands to the binary, so that is the binary's too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { dropPageCache, pageCacheMark, residentBytes } from "../../test/helpers/page-cache.ts";
import { pluginTypes } from "../plugins/registry.ts";

const binary = ensureBuilt();
const shim = join(dirname(binary), "cni-ts-shim");
const tmp = mkdtempSync(join(tmpdir(), "cnits-shim-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `target` linked as `name` in a dir of its own; stdout, stderr and exit code. */
function runAs(target: string, name: string, args: string[] = [], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmp, "bin-"));
  symlinkSync(target, join(dir, name));
  const r = Bun.spawnSync([join(dir, name), ...args], {
    env: { CNI_COMMAND: "VERSION", CNI_TS_DAEMON_SOCKET: join(tmp, "none.sock"), ...env },
    stdin: new TextEncoder().encode("not a config"),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("cni-ts-shim VERSION", () => {
  test.each(pluginTypes())("%s: the binary's answer, byte for byte", (name) => {
    const ours = runAs(binary, name);
    expect(ours.exitCode).toBe(0);
    expect(JSON.parse(ours.stdout).supportedVersions.length).toBeGreaterThan(0);
    expect(runAs(shim, name)).toEqual(ours);
    expect(runAs(shim, name, [], { CNI_TS_DAEMON: "off" })).toEqual(ours);
  });

  test("answered from the table: no binary beside the shim is needed", () => {
    const dir = mkdtempSync(join(tmp, "alone-"));
    symlinkSync(shim, join(dir, "bridge"));
    const r = Bun.spawnSync([join(dir, "bridge")], { env: { CNI_COMMAND: "VERSION" }, stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString()).toBe(runAs(binary, "bridge").stdout);
  });

  test("an unknown name, or a plugin name with arguments, is the binary's business", () => {
    for (const [name, args] of [
      ["not-a-plugin", []],
      ["cni-ts-shim", []],
      ["bridge", ["extra"]],
    ] as const) {
      const ours = runAs(binary, name, [...args]);
      expect(runAs(shim, name, [...args])).toEqual(ours);
    }
  });
});

describe("cni-ts-shim running the binary", () => {
  /** The shim copied beside a "cni-ts" that prints its environment and a digest of its stdin; what that printed. */
  function envSeen(env: Record<string, string>, stdin = ""): string[] {
    const dir = mkdtempSync(join(tmp, "env-"));
    copyFileSync(shim, join(dir, "cni-ts-shim"));
    writeFileSync(join(dir, "cni-ts"), "#!/bin/sh\nenv\necho STDIN=$(md5sum)\n", { mode: 0o755 });
    symlinkSync(join(dir, "cni-ts-shim"), join(dir, "tuning"));
    const r = Bun.spawnSync([join(dir, "tuning")], {
      env: { CNI_TS_DAEMON_SOCKET: join(tmp, "none.sock"), ...env },
      stdin: new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    // A dead daemon socket is reported on stderr; nothing else is.
    expect([r.exitCode, r.stderr.toString().replace(/^tuning: cni-ts daemon unreachable, running in-process: .*: Connection refused\n$/, "")]).toEqual([0, ""]);
    const lines = r.stdout.toString().split("\n");
    // stdin reaches the binary whole, whether the shim read it or not.
    expect(lines).toContain(`STDIN=${new Bun.CryptoHasher("md5").update(stdin).digest("hex")} -`);
    return lines;
  }

  test("a plugin command runs without JavaScriptCore's JIT, unless the caller says otherwise; a run without a command keeps it", () => {
    expect(envSeen({ CNI_COMMAND: "ADD" })).toContain("BUN_JSC_useJIT=0");
    expect(envSeen({ CNI_COMMAND: "DEL", CNI_TS_DAEMON: "off" })).toContain("BUN_JSC_useJIT=0");
    expect(envSeen({ CNI_COMMAND: "ADD", BUN_JSC_useJIT: "1" })).toContain("BUN_JSC_useJIT=1");
    expect(envSeen({}).some((l) => l.startsWith("BUN_JSC_useJIT="))).toBe(false);
  });

  test("a config of 16 KiB or more keeps the JIT (its work grows with it), with or without a daemon socket; the caller's setting still wins", () => {
    const small = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "tuning", pad: "x".repeat(16384 - 60) });
    const large = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "tuning", pad: "x".repeat(16384) });
    expect(small.length).toBeLessThan(16384);
    const jit = (l: string[]) => l.filter((x) => x.startsWith("BUN_JSC_useJIT="));
    expect(jit(envSeen({ CNI_COMMAND: "ADD" }, small))).toEqual(["BUN_JSC_useJIT=0"]);
    expect(jit(envSeen({ CNI_COMMAND: "ADD" }, large))).toEqual([]);
    expect(jit(envSeen({ CNI_COMMAND: "DEL", CNI_TS_DAEMON: "off" }, large))).toEqual([]);
    // A socket path that is there but dead: the shim read stdin for the daemon and falls back.
    const dead = join(tmp, "dead.sock");
    writeFileSync(dead, "");
    expect(jit(envSeen({ CNI_COMMAND: "ADD", CNI_TS_DAEMON_SOCKET: dead }, large))).toEqual([]);
    expect(jit(envSeen({ CNI_COMMAND: "ADD", CNI_TS_DAEMON_SOCKET: dead }, small))).toEqual(["BUN_JSC_useJIT=0"]);
    expect(jit(envSeen({ CNI_COMMAND: "ADD", BUN_JSC_useJIT: "0" }, large))).toEqual(["BUN_JSC_useJIT=0"]);
  });

  test("a command without a daemon answers as the binary does, stdin whole", () => {
    const conf = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "tuning", prevResult: { cniVersion: "1.0.0" } });
    for (const [stdin, env] of [
      [conf, { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/nonexistent", CNI_IFNAME: "eth0", CNI_PATH: "/nonexistent" }],
      ["not a config", { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/nonexistent", CNI_IFNAME: "eth0", CNI_PATH: "/x" }],
      [conf, { CNI_COMMAND: "DEL", CNI_TS_DAEMON: "off", CNI_CONTAINERID: "c", CNI_IFNAME: "eth0", CNI_PATH: "/x" }],
      [conf, { CNI_COMMAND: "ADD" }],
    ] as const) {
      const run = (target: string) => {
        const dir = mkdtempSync(join(tmp, "fast-"));
        symlinkSync(target, join(dir, "tuning"));
        const r = Bun.spawnSync([join(dir, "tuning")], {
          env: { CNI_TS_DAEMON_SOCKET: join(tmp, "none.sock"), BUN_JSC_useJIT: "0", ...env },
          stdin: new TextEncoder().encode(stdin),
          stdout: "pipe",
          stderr: "pipe",
        });
        return [r.exitCode, r.stdout.toString()];
      };
      const direct = run(binary);
      // ADD prints a result or an error; DEL nothing, with status 0.
      expect(env.CNI_COMMAND === "ADD" ? direct[1] : direct).toEqual(env.CNI_COMMAND === "ADD" ? expect.stringContaining("cniVersion") : [0, ""]);
      expect(run(shim)).toEqual(direct);
    }
  });

  test("the binary accepts it: a no-op tuning ADD through the shim answers as without it", () => {
    const conf = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "tuning", prevResult: { cniVersion: "1.0.0" } });
    const run = (env: Record<string, string>) =>
      Bun.spawnSync([binary, "plugin", "tuning"], {
        env: {
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "c",
          CNI_NETNS: "/nonexistent",
          CNI_IFNAME: "eth0",
          CNI_PATH: "/nonexistent",
          CNI_TS_DAEMON: "off",
          ...env,
        },
        stdin: new TextEncoder().encode(conf),
        stdout: "pipe",
        stderr: "pipe",
      });
    const plain = run({});
    const noJit = run({ BUN_JSC_useJIT: "0" });
    expect([noJit.exitCode, noJit.stdout.toString(), noJit.stderr.toString()]).toEqual([plain.exitCode, plain.stdout.toString(), plain.stderr.toString()]);
  });
});

describe("cni-ts-shim's build", () => {
  // Every plugin run without the daemon starts the shim first; glibc's static start-up
  // (CPU feature probes, IFUNC relocations, TLS) is about 0.25 ms of each (BENCHMARKS.md).
  test.skipIf(!Bun.which("musl-gcc"))("static and on musl libc where musl-gcc is (scripts/build-native.sh)", () => {
    const bytes = readFileSync(shim);
    expect(bytes.includes("/ld-linux")).toBe(false);
    expect(bytes.includes("GLIBC_TUNABLES")).toBe(false);
    expect(readFileSync(join(dirname(binary), "cni-ts-libc.node")).includes("GLIBC_")).toBe(true);
  });
});

describe("cni-ts-shim and the binary's page cache", () => {
  test("the first run after a boot reads the binary through, once; a mark from before the boot is redone", () => {
    const dir = mkdtempSync(join(tmp, "cache-"));
    for (const f of ["cni-ts", "cni-ts-shim", "cni-ts-libc.node"]) copyFileSync(join(dirname(binary), f), join(dir, f));
    symlinkSync(join(dir, "cni-ts-shim"), join(dir, "tuning"));
    const exe = join(dir, "cni-ts");
    // In whole pages, as the cache holds it.
    const size = Math.ceil(statSync(exe).size / 4096) * 4096;
    const socket = join(dir, "run", "daemon.sock");
    const run = (sock = socket) => {
      const r = Bun.spawnSync([join(dir, "tuning")], {
        cwd: dir,
        env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/nonexistent", CNI_IFNAME: "eth0", CNI_PATH: dir, CNI_TS_DAEMON_SOCKET: sock },
        stdin: new TextEncoder().encode(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "tuning", prevResult: { cniVersion: "1.0.0" } })),
        stdout: "pipe",
      });
      // The binary ran (the netns is not there: its error, as JSON).
      expect(JSON.parse(r.stdout.toString()).code).toBeGreaterThan(0);
    };

    dropPageCache(exe);
    expect(residentBytes(exe)).toBeLessThan(size / 10);
    run();
    expect(residentBytes(exe)).toBe(size);
    // The mark, in a directory as the daemon makes its own (0700), and a lock file beside it.
    const mark = pageCacheMark(exe, socket);
    expect(readdirSync(dirname(socket)).sort()).toEqual([basename(mark), `${basename(mark)}.lock`]);
    expect(statSync(dirname(socket)).mode & 0o777).toBe(0o700);

    // Once: with the mark there, a run's own page faults fill the cache, and they leave part of the file out.
    dropPageCache(exe);
    run();
    expect(residentBytes(exe)).toBeLessThan(size);

    // A mark older than the boot (a /run that outlived it) is done again.
    utimesSync(mark, 1, 1);
    dropPageCache(exe);
    run();
    expect(residentBytes(exe)).toBe(size);
    expect(statSync(mark).mtimeMs).toBeGreaterThan(Date.now() - 60_000);

    // A relative socket path: no mark, nor a directory made where the runtime runs us from.
    run("rel/daemon.sock");
    expect(existsSync(join(dir, "rel"))).toBe(false);
  }, 60_000);
});
