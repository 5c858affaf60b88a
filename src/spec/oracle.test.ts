/**
 * Keeps testdata/convert-golden.json honest: rebuilds the oracle (test/oracle, the
 * reference Go library from Debian) and checks it still prints exactly the goldens.
 * Skipped, saying why, where Go or the library is not installed.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, fixturePath } from "./testdata/load.ts";

const ORACLE_DIR = join(import.meta.dir, "../../test/oracle");
const hasGo = spawnSync("go", ["version"]).status === 0;
const hasLibrary = existsSync("/usr/share/gocode/src/github.com/containernetworking/cni/pkg/types");
const why = !hasGo ? "go is not installed" : "the reference library is not installed";
const oracleTest =
  hasGo && hasLibrary ? test : (name: string) => test.skip(`${name} (${why}: apt-get install -y golang-go golang-github-appc-cni-dev)`, () => {});

oracleTest(
  "the goldens are what the reference library prints today",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "cni-oracle-"));
    try {
      const build = spawnSync(join(ORACLE_DIR, "build"), [join(dir, "oracle")], { encoding: "utf8" });
      expect(build.stderr).toBe("");
      expect(build.status).toBe(0);
      const run = spawnSync(build.stdout.trim(), [], { input: readFileSync(fixturePath("convert-inputs.json")), encoding: "utf8" });
      expect(run.status).toBe(0);
      // If this fails, run test/oracle/generate and review the diff of the goldens.
      expect(JSON.parse(run.stdout)).toEqual(fixture("convert-golden.json"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  180_000,
);
