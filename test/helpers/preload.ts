/**
 * Loaded before every test file (bunfig.toml). A test that times out never reaches its
 * `finally`, and `bun test` runs no exit handlers then, so the namespaces it made would
 * outlive the run: a global afterAll removes whatever is left.
 *
 * The plugin processes the tests start look for `cni-ts daemon` where the run says, not
 * at the node's /run/cni-ts (a daemon running on the machine would take their commands),
 * and the shim keeps its page-cache mark there too (src/shim/cni-ts-shim.c): a directory
 * of this run's own, removed at its end.
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeLeftoverNetns } from "./netns.ts";

const daemonDir = mkdtempSync(join(tmpdir(), "cnits-run-"));
process.env.CNI_TS_DAEMON_SOCKET ??= join(daemonDir, "daemon.sock");

afterAll(() => {
  removeLeftoverNetns();
  rmSync(daemonDir, { recursive: true, force: true });
});
