/**
 * What a plugin process loads before main() runs: the build splits the binary into chunks
 * (package.json), and every chunk the entry imports statically is one more module to load
 * at start (two fewer took a no-op ADD through the shim from 10.5-11.4 to 9.8-10.5 ms of
 * CPU, interleaved, 100 runs, load 3). A module the entry shares with only some other entry (the
 * daemon's, a plugin's) becomes a chunk of its own, so the entry keeps to one.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "cnits-chunks-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("the entry imports one chunk at start", async () => {
  const r = await Bun.build({
    entrypoints: [join(import.meta.dir, "../src/main.ts"), join(import.meta.dir, "../src/daemon/cni-worker.ts")],
    splitting: true,
    format: "esm",
    target: "bun",
    outdir: out,
  });
  expect(r.success).toBe(true);
  const main = readFileSync(join(out, "main.js"), "utf8");
  const staticImports = [...main.matchAll(/^(?:import|} from|import\s*"[^"]*")[^\n]*"\.\/([^"]+)"/gm)].map((m) => m[1]);
  expect(new Set(staticImports).size).toBe(1);
}, 60_000);
