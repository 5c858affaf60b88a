/**
 * What the hand-over to `cni-ts daemon` itself costs, without a runtime around it:
 *
 *   shim          a whole plugin process through the C shim: a no-op tuning ADD (exec,
 *                 connect, request, the daemon's work, the answer printed)
 *   round trip    the same request from a Bun client already running (callDaemon)
 *   no work       a request for a type the daemon does not have: the protocol, the
 *                 thread hop and the error answer, no plugin code
 *
 * each with the daemon's commands on worker threads and on its main thread
 * (`--workers 0`), medians after 10 untimed rounds.
 *
 *   bun bench/profile-handover.ts [--runs N]
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { callDaemon } from "../src/daemon/client.ts";
import { BenchNode, DIST, median, noopTuningConf, sh } from "./_node.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "60" } } });
const runs = Number(values.runs);
const w = new BenchNode(1);
const shimBin = join(w.work, "shim-bin");
sh([DIST, "install", "--daemon", "--bin-dir", shimBin]);
sh(["ip", "-n", w.pods[0]!, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
const config = new TextEncoder().encode(noopTuningConf(join(w.work, "tuning")));
const env = (sock: string) => ({
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "noop",
  CNI_NETNS: `/var/run/netns/${w.pods[0]}`,
  CNI_IFNAME: "eth0",
  CNI_PATH: shimBin,
  CNI_TS_DAEMON_SOCKET: sock,
});

console.log(`load ${sh(["cat", "/proc/loadavg"]).split(" ").slice(0, 3).join(" ")}; medians of ${runs}`);
try {
  for (const workers of ["4", "0"]) {
    // The daemon runs in the bench's own namespace, where these processes run (another one refuses them).
    const dir = join(w.work, `d${workers}`);
    mkdirSync(dir, { mode: 0o700 });
    const sock = join(dir, "daemon.sock");
    const d = Bun.spawn([DIST, "daemon", "--socket", sock, "--workers", workers], { stderr: "ignore" });
    for (let i = 0; i < 500 && !existsSync(sock); i++) await Bun.sleep(20);
    const shim: number[] = [];
    const trip: number[] = [];
    const none: number[] = [];
    for (let i = -10; i < runs; i++) {
      let t = Bun.nanoseconds();
      const r = Bun.spawnSync([join(shimBin, "tuning")], { env: env(sock), stdin: config });
      if (!r.success) throw new Error(`tuning through the shim failed: ${r.stderr}`);
      if (i >= 0) shim.push((Bun.nanoseconds() - t) / 1e6);
      t = Bun.nanoseconds();
      const a = await callDaemon(sock, { plugin: "tuning", env: env(sock), config });
      if (a.kind !== "answer") throw new Error(`daemon did not answer: ${a.reason}`);
      if (i >= 0) trip.push((Bun.nanoseconds() - t) / 1e6);
      t = Bun.nanoseconds();
      await callDaemon(sock, { plugin: "no-such-type", env: env(sock), config });
      if (i >= 0) none.push((Bun.nanoseconds() - t) / 1e6);
    }
    const m = (v: number[]) => median(v).toFixed(2);
    console.log(
      `${workers === "0" ? "main thread " : `${workers} workers   `}  shim (no-op tuning ADD) ${m(shim)} ms | round trip ${m(trip)} ms | no work ${m(none)} ms`,
    );
    d.kill("SIGTERM");
    await d.exited;
  }
} finally {
  w.close();
}
