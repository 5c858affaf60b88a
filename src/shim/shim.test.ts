/**
 * cni-ts-shim answers VERSION itself from the table src/shim/versions.ts generates: for
 * every plugin name its answer is the binary's, byte for byte, and whatever it does not
 * answer (an unknown name, arguments) it hands to the binary, so that is the binary's too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
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
