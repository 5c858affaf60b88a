import { describe, expect, test } from "bun:test";
import { linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { rootTest } from "../../test/helpers/netns.ts";
import { runIn } from "../../test/helpers/plugin-run.ts";
import { tuningConf, withPod } from "../../test/helpers/tuning-kit.ts";
import { ErrnoError, LIBC_ADDON, close, libcBackend, link, open, O_RDONLY, read } from "./libc.ts";

const bin = ensureBuilt();

/** A second name for dist/cni-ts in a dir of its own (a hard link: no addon beside it), removed afterwards. */
function withBareBinary<T>(fn: (path: string) => T): T {
  const dir = mkdtempSync(join(dirname(bin), ".bare-"));
  try {
    linkSync(bin, join(dir, "cni-ts"));
    return fn(join(dir, "cni-ts"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const backendOf = (path: string) =>
  spawnSync(path, ["version"], { encoding: "utf8" })
    .stdout.split("\n")
    .find((l) => l.startsWith("libc through"));

describe("libc backends", () => {
  test(`the built binary binds libc through ${LIBC_ADDON} beside its real path, also started through a link`, () => {
    expect(backendOf(bin)).toBe("libc through addon");
    const dir = mkdtempSync(join(dirname(bin), ".link-"));
    try {
      symlinkSync(bin, join(dir, "cni-ts"));
      expect(backendOf(join(dir, "cni-ts"))).toBe("libc through addon");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without the addon beside it, the binary falls back to bun:ffi", () => {
    withBareBinary((bare) => expect(backendOf(bare)).toBe("libc through bun:ffi"));
  });

  test("from source the build's addon is used; failures come back as ErrnoError with the code", () => {
    expect(libcBackend()).toBe("addon");
    const fd = open("/proc/self/stat", O_RDONLY);
    const buf = new Uint8Array(64);
    expect(read(fd, buf, 8)).toBeGreaterThan(0);
    expect(String.fromCharCode(...buf.subarray(8, 8 + String(process.pid).length))).toBe(String(process.pid));
    close(fd);
    let err: unknown;
    try {
      open("/nonexistent/x", O_RDONLY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrnoError);
    expect([(err as ErrnoError).code, (err as ErrnoError).errno, (err as ErrnoError).syscall]).toEqual(["ENOENT", 2, "open"]);
  });

  test("link gives a file a second name, EEXIST when the name is taken", () => {
    const dir = mkdtempSync(join(dirname(bin), ".ln-"));
    try {
      writeFileSync(join(dir, "a"), "x");
      link(join(dir, "a"), join(dir, "b"));
      expect(readFileSync(join(dir, "b"), "utf8")).toBe("x");
      expect(() => link(join(dir, "a"), join(dir, "b"))).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "link" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  rootTest("a tuning ADD and DEL give the same result and link through either backend", () =>
    withPod((node, pod, dataDir) =>
      withBareBinary((bare) => {
        const link = () => pod.ipJson("link", "show", "dev", "eth0")[0];
        const before = link();
        const outs: unknown[] = [];
        for (const argv of [
          [bin, "plugin", "tuning"],
          [bare, "plugin", "tuning"],
        ]) {
          const conf = tuningConf(dataDir, { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: pod.path }], ips: [] }, { mtu: 1280 });
          const add = runIn(node, argv, { command: "ADD", netns: pod.path, containerID: "libc", conf });
          expect([add.code, add.stderr]).toEqual([0, ""]);
          expect(link().mtu).toBe(1280);
          outs.push(add.json);
          expect(runIn(node, argv, { command: "DEL", netns: pod.path, containerID: "libc", conf }).code).toBe(0);
          expect(link().mtu).toBe(before.mtu);
        }
        expect(outs[1]).toEqual(outs[0]);
      }),
    ),
  );
});
