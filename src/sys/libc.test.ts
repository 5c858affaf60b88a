import { describe, expect, test } from "bun:test";
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { rootTest } from "../../test/helpers/netns.ts";
import { runIn } from "../../test/helpers/plugin-run.ts";
import { tuningConf, withPod } from "../../test/helpers/tuning-kit.ts";
import { ErrnoError, LIBC_ADDON, close, decodeUtf8, ftruncate, libcBackend, link, open, O_RDONLY, O_WRONLY, read, rmdir } from "./libc.ts";

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

  test("a path too long for PATH_MAX is ENAMETOOLONG, never a shortened path; a NUL in it EINVAL", () => {
    const code = (path: string) => {
      try {
        close(open(path, O_RDONLY));
        return "opened";
      } catch (e) {
        return (e as ErrnoError).code;
      }
    };
    // 4,096 bytes with a two-byte character across byte 4,094: a copy into PATH_MAX stops before it.
    expect(code(`/${"\u00e9".repeat(2047)}x`)).toBe("ENAMETOOLONG");
    expect(code(`/${"a".repeat(5000)}`)).toBe("ENAMETOOLONG");
    expect(code("/proc/self/stat\0/x")).toBe("EINVAL");
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

  test("ftruncate cuts an open file to a length, EINVAL on a read-only fd", () => {
    const dir = mkdtempSync(join(dirname(bin), ".ft-"));
    try {
      writeFileSync(join(dir, "a"), "10.1.2.100");
      const fd = open(join(dir, "a"), O_WRONLY);
      ftruncate(fd, 8);
      close(fd);
      expect(readFileSync(join(dir, "a"), "utf8")).toBe("10.1.2.1");
      const ro = open(join(dir, "a"), O_RDONLY);
      try {
        expect(() => ftruncate(ro, 1)).toThrow(expect.objectContaining({ syscall: "ftruncate" }));
      } finally {
        close(ro);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rmdir removes an empty directory, ENOTEMPTY while something is in it, ENOENT once gone", () => {
    const dir = mkdtempSync(join(dirname(bin), ".rd-"));
    try {
      writeFileSync(join(dir, "a"), "x");
      expect(() => rmdir(dir)).toThrow(expect.objectContaining({ code: "ENOTEMPTY", syscall: "rmdir" }));
      rmSync(join(dir, "a"));
      rmdir(dir);
      expect(existsSync(dir)).toBe(false);
      expect(() => rmdir(dir)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("decodeUtf8 is TextDecoder's decode: well-formed, BOM, malformed, overlong, surrogate, truncated, out of range", () => {
    const cases = [
      [],
      [0x7b, 0x7d],
      [0xef, 0xbb, 0xbf, 0x7b, 0x7d],
      [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf],
      [0x61, 0xef, 0xbb, 0xbf],
      [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80],
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf0, 0x9f, 0x98],
      [0x61, 0xff, 0x62],
      [0x80],
      [0xc3],
      [0x00, 0x7f, 0xdf, 0xbf, 0xef, 0xbf, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf],
    ];
    for (const c of cases) expect([c, decodeUtf8(new Uint8Array(c))]).toEqual([c, new TextDecoder().decode(new Uint8Array(c))]);
    const big = new TextEncoder().encode(`{"a":"${"é€😀x".repeat(20000)}"}`);
    expect(decodeUtf8(big)).toBe(new TextDecoder().decode(big));
    expect(decodeUtf8(big.subarray(3, 50))).toBe(new TextDecoder().decode(big.subarray(3, 50)));
  });

  test("writeOut writes all of a large text to a pipe", () => {
    const text = `${"é€😀x".repeat(100000)}\n`;
    const r = spawnSync(
      process.execPath,
      ["-e", `(await import(${JSON.stringify(`${import.meta.dir}/libc.ts`)})).writeOut(1, \`\${"é€😀x".repeat(100000)}\\n\`)`],
      {
        encoding: "utf8",
        maxBuffer: 1 << 24,
      },
    );
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(text);
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
