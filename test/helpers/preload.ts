/**
 * Loaded before every test file (bunfig.toml). A test that times out never reaches its
 * `finally`, and `bun test` runs no exit handlers then, so the namespaces it made would
 * outlive the run: a global afterAll removes whatever is left.
 *
 * The plugin processes the tests start look for `cni-ts daemon` where the run says, not
 * at the node's /run/cni-ts (a daemon running on the machine would take their commands),
 * and cni-ts-shim keeps its page-cache mark there too (src/shim/cni-ts-shim.c): a
 * directory of this run's own, removed at its end. A process started with an environment
 * of its test's own making (no CNI_TS_DAEMON_SOCKET) leaves its mark in /run/cni-ts: the
 * marks this run added there are removed at its end too, and the directory if the run made it.
 */
import { afterAll } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DEFAULT_SOCKET } from "../../src/daemon/protocol.ts";
import { removeLeftoverNetns } from "./netns.ts";

const daemonDir = mkdtempSync(join(tmpdir(), "cnits-run-"));
process.env.CNI_TS_DAEMON_SOCKET ??= join(daemonDir, "daemon.sock");

const nodeDir = dirname(DEFAULT_SOCKET);
const marks = () => (existsSync(nodeDir) ? readdirSync(nodeDir).filter((n) => n.startsWith("page-cache.")) : []);
const nodeDirWas = existsSync(nodeDir);
const marksWere = new Set(marks());

afterAll(() => {
  removeLeftoverNetns();
  rmSync(daemonDir, { recursive: true, force: true });
  for (const m of marks()) if (!marksWere.has(m)) rmSync(join(nodeDir, m), { force: true });
  if (!nodeDirWas) {
    try {
      rmdirSync(nodeDir);
    } catch {
      // not empty: not only this run's
    }
  }
});
