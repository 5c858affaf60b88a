/**
 * A 50 MB config costs about what it costs the Go plugin, not a second copy on top:
 * peak RSS of our compiled plugin beside Debian's Go host-local, both decoding the same
 * stdin (an unknown command, so nothing else runs). Measured with GNU time.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../helpers/dist.ts";
import { GO_PLUGINS } from "../helpers/plugin-run.ts";

/** GNU time (not the shell's keyword), which reports peak RSS. */
const TIME = Bun.which("time");

let dir = "";
let dist = "";
beforeAll(() => {
  dist = ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "cni-ts-bigconf-"));
  writeFileSync(join(dir, "conf.json"), JSON.stringify({ cniVersion: "1.0.0", name: "big", type: "host-local", pad: Array(500_000).fill("x".repeat(100)) }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Peak RSS in kB of `argv0` run as `name` with the config on stdin. */
function peakRss(bin: string, name: string): number {
  const r = spawnSync(TIME!, ["-f", "%M", "bash", "-c", `exec -a ${name} ${bin} < ${join(dir, "conf.json")} > /dev/null`], {
    encoding: "utf8",
    // No daemon on the machine may take the command: a socket path that does not exist.
    env: {
      PATH: process.env.PATH!,
      CNI_COMMAND: "NOSUCH",
      CNI_CONTAINERID: "x",
      CNI_NETNS: "/x",
      CNI_IFNAME: "eth0",
      CNI_PATH: GO_PLUGINS,
      CNI_TS_DAEMON_SOCKET: join(dir, "no-daemon.sock"),
    },
  });
  return Number(r.stderr.trim().split("\n").pop());
}

const haveTime = TIME !== null && existsSync(`${GO_PLUGINS}/host-local`);
(haveTime ? test : test.skip)(
  "50 MB config: peak RSS under 280 MB, one copy of the config (a second copy made it 350 MB; Go's shown beside)",
  () => {
    const go = peakRss(`${GO_PLUGINS}/host-local`, "host-local");
    const ours = peakRss(dist, "host-local");
    console.log(`50 MB config, peak RSS: Go host-local ${Math.round(go / 1024)} MB, ours ${Math.round(ours / 1024)} MB`);
    expect(go).toBeGreaterThan(0);
    // Go's peak swings between about 125 and 220 MB from run to run (its collector), so
    // it is shown for comparison, not used as the bound. Ours was 350 MB with the extra
    // copy of the config and is 150-210 MB without it: 280 MB is what one copy allows.
    expect(ours).toBeLessThan(280 * 1024);
  },
  120_000,
);
