import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onPath, whichOnce } from "./on-path.ts";

describe("whichOnce", () => {
  let dir: string;
  const savedPath = process.env.PATH;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cni-ts-onpath-"));
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  const tool = () => {
    const p = join(dir, "cni-ts-onpath-tool");
    writeFileSync(p, "#!/bin/sh\n");
    chmodSync(p, 0o755);
    return p;
  };

  test("a command found is remembered while PATH stays the same, looked up again when PATH changes", () => {
    const p = tool();
    process.env.PATH = dir;
    expect(whichOnce("cni-ts-onpath-tool")).toBe(p);
    rmSync(p);
    // Remembered: no walk of PATH for it again in this process.
    expect(whichOnce("cni-ts-onpath-tool")).toBe(p);
    // Another PATH (a test's wrapper first, say) is looked up afresh.
    process.env.PATH = `${dir}:/nonexistent-cni-ts`;
    expect(whichOnce("cni-ts-onpath-tool")).toBeNull();
  });

  test("a command not found is looked for again: one installed later is seen", () => {
    process.env.PATH = dir;
    expect(onPath("cni-ts-onpath-tool")).toBe(false);
    tool();
    expect(onPath("cni-ts-onpath-tool")).toBe(true);
  });
});
