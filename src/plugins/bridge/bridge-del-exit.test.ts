import { describe, expect } from "bun:test";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { bridgeConf, callIn, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();

/** Live processes whose environment holds `mark` (a zombie has none to read). */
function marked(mark: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/environ`, "latin1").includes(mark)) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

/** The compiled bridge's DEL in the node as a child process: when its stdout ended and it exited (ms after the start). */
function delTimed(node: TestNetns, pod: TestNetns, conf: object, mark: string): Promise<{ code: number | null; eof: number; exit: number; left: number[] }> {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH!,
      CNI_COMMAND: "DEL",
      CNI_CONTAINERID: "c1",
      CNI_NETNS: pod.path,
      CNI_IFNAME: "eth0",
      CNI_PATH: bin.dir,
      CNI_TS_DAEMON: "off",
      TEST_MARK: mark,
    };
    const start = performance.now();
    let eof = -1;
    const p = spawn("ip", ["netns", "exec", node.name, join(bin.dir, "bridge")], { env, stdio: ["pipe", "pipe", "ignore"] });
    p.stdout!.on("data", () => {});
    p.stdout!.on("end", () => (eof = performance.now() - start));
    p.stdin!.end(JSON.stringify(conf));
    p.on("exit", (code) => {
      const exit = performance.now() - start;
      // What still runs of the plugin once it has exited: at most the deletion's sender and
      // the task that unmaps its memory (src/sys/libc.ts unmapAfterExit).
      resolve({ code, eof, exit, left: marked(mark) });
    });
  });
}

describe("bridge DEL as a plugin process", () => {
  rootTest("exits without waiting for the kernel to free the pair, and leaves no process holding its stdout", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      for (let round = 0; round < 3; round++) {
        expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, containerID: "c1", conf: c }).code).toBe(0);
        const mark = `cni-ts-del-exit-${process.pid}-${round}-${Date.now()}`;
        const r = await delTimed(node, pod!, c, mark);
        expect(r.code).toBe(0);
        expect(r.eof).toBeGreaterThanOrEqual(0);
        for (const pid of r.left) {
          // Neither is a child of ours or holds a pipe (the runtime waits for EOF on stdout):
          // the sender holds its netlink socket, the unmapping task the plugin's pidfd.
          const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
          expect(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])).not.toBe(process.pid);
          let fds: string[] = [];
          try {
            fds = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
          } catch {}
          expect(fds.filter((f) => !f.startsWith("socket:") && f !== "anon_inode:[pidfd]")).toEqual([]);
        }
        expect(veths(node)).toEqual([]);
        expect(veths(pod!)).toEqual([]);
        expect(node.exec(["bridge", "link", "show"])).toBe("");
        // The sender ends once the kernel answers (one RCU grace period, 10-30 ms).
        const until = performance.now() + 1000;
        while (marked(mark).length && performance.now() < until) await Bun.sleep(10);
        expect(marked(mark)).toEqual([]);
      }
    }),
  );
});
