/**
 * The compiled binary runs as root in whatever directory its caller is in (a runtime's,
 * an operator's shell). A Bun executable would by default read `bunfig.toml` there,
 * whose `preload` runs a script before ours, and `.env`, whose variables join the
 * environment: code and settings from a directory nobody vetted. The build turns both
 * off; this holds it, for a plugin run directly, through the shim, and the CLI.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, installedBinDir } from "./helpers/dist.ts";

const cwd = mkdtempSync(join(tmpdir(), "cni-ts-cwd-"));
const ran = join(cwd, "preload-ran");
const bins = { direct: installedBinDir({ direct: true }), shim: installedBinDir() };
afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
  for (const b of Object.values(bins)) b.cleanup();
});
writeFileSync(join(cwd, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(ran)}, "x");\n`);
writeFileSync(join(cwd, "bunfig.toml"), `preload = ["./preload.ts"]\n`);
// Were .env read, a plugin started without CNI_COMMAND would take VERSION from it and answer it.
writeFileSync(join(cwd, ".env"), "CNI_COMMAND=VERSION\nCNI_TS_ENV_FILE_READ=1\n");

function run(argv: string[], env: Record<string, string> = {}) {
  rmSync(ran, { force: true });
  const r = Bun.spawnSync(argv, { cwd, env: { PATH: process.env.PATH!, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString(), preloaded: existsSync(ran) };
}

describe("the binary ignores bunfig.toml and .env in its working directory", () => {
  for (const [side, b] of Object.entries(bins)) {
    test(`a plugin (${side})`, () => {
      const r = run([join(b.dir, "loopback")]);
      expect(r.preloaded).toBe(false);
      // No CNI_COMMAND in its environment: the plugin's about text (as the reference's
      // skel), not a VERSION answer with CNI_COMMAND taken from .env.
      expect(r.code).toBe(0);
      expect(r.out + r.err).toContain("CNI protocol versions supported");
      expect(r.out).not.toContain("supportedVersions");
    });
  }

  test("the CLI", () => {
    const r = run([ensureBuilt(), "--version"]);
    expect(r.code).toBe(0);
    expect(r.preloaded).toBe(false);
  });

  test("the file would be read by a default build (the test can fail)", () => {
    const hello = join(cwd, "hello.ts");
    writeFileSync(hello, `console.log(process.env.CNI_TS_ENV_FILE_READ ?? "unset");\n`);
    const exe = join(cwd, "hello");
    const b = Bun.spawnSync([process.execPath, "build", "--compile", hello, "--outfile", exe], { stdout: "pipe", stderr: "pipe" });
    expect(b.success).toBe(true);
    const r = run([exe]);
    expect(r.preloaded).toBe(true);
    expect(r.out.trim()).toBe("1");
  });
});
