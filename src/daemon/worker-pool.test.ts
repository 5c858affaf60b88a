import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AbandonedError } from "./server.ts";
import { WorkerPool } from "./worker-pool.ts";

const dir = mkdtempSync(join(tmpdir(), "cni-ts-pool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fake = new URL("./_test-worker.ts", import.meta.url);
const req = (command: string, args = "") => ({ env: { CNI_COMMAND: command, CNI_ARGS: args }, config: new Uint8Array() });

test("commands run side by side: one blocked on its thread does not hold up the next", async () => {
  const pool = new WorkerPool(2, fake);
  try {
    const flag = join(dir, "flag");
    // On one thread the BLOCK would never see the flag the FLAG command makes after it.
    const blocked = pool.run(req("BLOCK", flag));
    const flagged = pool.run(req("FLAG", flag));
    const [a, b] = await Promise.all([blocked, flagged]);
    expect(a.stdout).toBe("saw the flag");
    expect(b.stdout).not.toBe(a.stdout);
  } finally {
    pool.close();
  }
});

test("a thread that dies abandons its command (the client then runs it) and is replaced", async () => {
  const pool = new WorkerPool(1, fake);
  try {
    const first = await pool.run(req("ECHO"));
    expect(pool.run(req("EXIT"))).rejects.toBeInstanceOf(AbandonedError);
    await pool.run(req("EXIT")).catch(() => {});
    // The next command runs on the thread that replaced it.
    let next: string | undefined;
    for (let i = 0; i < 500 && next === undefined; i++) {
      next = await pool.run(req("ECHO")).then(
        (a) => a.stdout,
        () => undefined,
      );
      if (next === undefined) await Bun.sleep(20);
    }
    expect(next).toMatch(/^thread \d+$/);
    expect(next).not.toBe(first.stdout);
  } finally {
    pool.close();
  }
});

test("the daemon's own worker runs a command: an unknown plugin type is a CNI error (code 7)", async () => {
  const pool = new WorkerPool(1);
  try {
    const a = await pool.run({ plugin: "no-such-type", env: { CNI_COMMAND: "ADD" }, config: new TextEncoder().encode(`{"cniVersion":"1.0.0"}`) });
    expect(a.exitCode).toBe(1);
    expect(JSON.parse(a.stdout)).toMatchObject({ cniVersion: "1.0.0", code: 7, msg: 'cni-ts daemon: no plugin type "no-such-type" in this binary' });
  } finally {
    pool.close();
  }
});

test("a closed pool abandons what it is given", async () => {
  const pool = new WorkerPool(1, fake);
  pool.close();
  expect(pool.run(req("ECHO"))).rejects.toBeInstanceOf(AbandonedError);
});

test("the size must be a whole number of at least 1", () => {
  expect(() => new WorkerPool(0, fake)).toThrow("Invalid worker count 0");
});
