import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const echo = join(import.meta.dir, "_stdin-echo.ts");
const dir = mkdtempSync(join(tmpdir(), "cnits-stdin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Past the first 64 KiB buffer, so the reader grows it.
const big = new TextEncoder().encode(JSON.stringify({ name: "n", pad: "x".repeat(300_000) }));

test("readStdin reads a pipe to its end, in several reads", () => {
  const r = Bun.spawnSync([process.execPath, echo], { stdin: big, stdout: "pipe" });
  expect(r.exitCode).toBe(0);
  expect(r.stdout.length).toBe(big.length);
  expect(Buffer.compare(r.stdout, Buffer.from(big))).toBe(0);
});

test("readStdin reads a regular file (a runtime's config file, the shim's memfd)", () => {
  const file = join(dir, "conf.json");
  writeFileSync(file, big);
  const r = Bun.spawnSync(["sh", "-c", `exec "$0" "$1" < "$2"`, process.execPath, echo, file], { stdout: "pipe" });
  expect(r.exitCode).toBe(0);
  expect(Buffer.compare(r.stdout, Buffer.from(big))).toBe(0);
});

test("readStdin gives nothing for an empty or closed stdin", () => {
  expect(Bun.spawnSync([process.execPath, echo], { stdin: new Uint8Array(), stdout: "pipe" }).stdout.length).toBe(0);
  const closed = Bun.spawnSync(["sh", "-c", `exec "$0" "$1" <&-`, process.execPath, echo], { stdout: "pipe" });
  expect([closed.exitCode, closed.stdout.length]).toEqual([0, 0]);
});
