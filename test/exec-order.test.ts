/**
 * `npm run build` lays the binary's bytecode out by the order profiles in src/exec-order/
 * (--bytecode-order), which `bun bench/profile-exec.ts --record-order` records from runs of
 * the binary. When code on a command's path changes, its functions and modules get other
 * names there and the layout no longer fits the run: the profiles on main at 11:40 of
 * 2026-11-26 missed 21 functions and 5 modules of a no-op ADD, and recording them again made
 * it at most about 1.5% faster (CPU 0.984 and 0.994 in two runs of 100 interleaved pairs, both
 * binaries fresh copies; such runs differ by about 1.5% from one to the next. An older copy
 * of the very same binary file was measured up to 20% slower than a new one: its page cache
 * filled by the page faults of an exec rather than by a write or a read, so A/B runs compare
 * copies made together). This holds the no-op ADD's profile to the code: the
 * functions ("F") and modules ("M") a run of it records must be in the committed profile, all
 * but a few (MAX_MISSING).
 * Other entries change with edits that do not move the layout (a message in a function the
 * command never runs changes four "S" entries and not the time), so they are not compared.
 */
import { afterAll, describe, expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureBuilt } from "./helpers/dist.ts";
import { rootTest, withNetns } from "./helpers/netns.ts";
import { noopTuningConf } from "./helpers/tuning-kit.ts";

const ROOT = resolve(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "cni-ts-order-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * How many of a run's function and module entries the committed profile may lack: an edit of
 * one function on the path makes two (not a measurable cost); the stale profiles above, 26.
 */
const MAX_MISSING = 10;

/** The function and module entries of an order profile. */
function layoutEntries(text: string): Set<string> {
  return new Set(text.split("\n").filter((l) => l.startsWith("F ") || l.startsWith("M ")));
}

describe("bytecode order profiles", () => {
  rootTest("the no-op ADD's profile names every function and module a no-op ADD runs (else: bun bench/profile-exec.ts --record-order)", () =>
    withNetns(1, (pod) => {
      const dist = ensureBuilt();
      const bin = join(work, "bin");
      const install = Bun.spawnSync([dist, "install", "--bin-dir", bin], { stdout: "pipe", stderr: "pipe" });
      if (!install.success) throw new Error(`install failed: ${install.stderr}`);
      // As bench/profile-exec.ts records it: tuning with nothing to tune, through the shim.
      const conf = noopTuningConf(join(work, "tuning"));
      const recorded = join(work, "noop-add.order");
      const r = Bun.spawnSync([join(bin, "tuning")], {
        env: {
          PATH: process.env.PATH!,
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "order-1",
          CNI_NETNS: pod.path,
          CNI_IFNAME: "eth0",
          CNI_PATH: bin,
          CNI_TS_DAEMON_SOCKET: join(work, "none.sock"),
          BUN_BYTECODE_ORDER_OUT: recorded,
        },
        stdin: new TextEncoder().encode(JSON.stringify(conf)),
        stdout: "pipe",
        stderr: "pipe",
      });
      if (!r.success) throw new Error(`no-op ADD failed: ${r.stdout}${r.stderr}`);
      const committed = layoutEntries(readFileSync(join(ROOT, "src/exec-order/noop-add.order"), "utf8"));
      const run = layoutEntries(readFileSync(recorded, "utf8"));
      expect(run.size).toBeGreaterThan(50);
      // A few may be missing: one edited function on the path is two entries, not a measurable cost.
      const missing = [...run].filter((e) => !committed.has(e));
      if (missing.length > MAX_MISSING) expect(missing).toEqual([]);
    }),
  );
});
