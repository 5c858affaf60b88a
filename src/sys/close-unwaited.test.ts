import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { closeUnwaited, libcBackend, socket } from "./libc.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_NETFILTER = 12;

/** What descriptors of process (or task) `pid` point at: "socket:[N]", "pipe:[N]", paths. */
function fdTargets(pid: number | "self"): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      out.push(readlinkSync(join(dir, fd)));
    } catch {}
  }
  return out;
}

/** Tasks whose parent is `pid` (a clone without CLONE_THREAD is not listed under /proc/pid/task). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "latin1");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(e));
    } catch {}
  }
  return out;
}

async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await Bun.sleep(10);
  return cond();
}

/**
 * A process (from source, the build's addon) that opens a netfilter socket, closes it
 * unwaited as a plugin process does, says what it had, and lives until its stdin ends.
 */
const CHILD = `
import { closeUnwaited, detachedSendsAsProcess, socket } from ${JSON.stringify(join(import.meta.dir, "libc.ts"))};
import { readlinkSync } from "node:fs";
detachedSendsAsProcess();
const fd = socket(${AF_NETLINK}, ${SOCK_RAW}, ${NETLINK_NETFILTER});
const sock = readlinkSync("/proc/self/fd/" + fd);
const stdout = readlinkSync("/proc/self/fd/1");
closeUnwaited(fd);
console.log(JSON.stringify({ pid: process.pid, sock, stdout }));
for await (const _ of Bun.stdin.stream()) {}
`;

describe("closeUnwaited", () => {
  test("in a plugin process: a task of its own holds the socket (and nothing of the process's) until the process is gone, then ends", async () => {
    ensureBuilt();
    const child = spawn(process.execPath, ["-e", CHILD], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve) => child.stdout!.once("data", (d) => resolve(String(d))));
      const { pid, sock, stdout } = JSON.parse(line) as { pid: number; sock: string; stdout: string };
      // The process's own copy is closed at once.
      expect(fdTargets(pid)).not.toContain(sock);
      // The closer: no thread of the process, holding the socket and its own pipe, not the process's stdout.
      const tasks = childrenOf(pid).filter((t) => fdTargets(t).includes(sock));
      expect(tasks.length).toBe(1);
      const held = fdTargets(tasks[0]!);
      expect(held.length).toBe(2);
      expect(held).not.toContain(stdout);
      expect(held.filter((f) => f.startsWith("pipe:")).length).toBe(1);
      // It waits for the process: still there while the process lives.
      await Bun.sleep(100);
      expect(existsSync(`/proc/${tasks[0]}/fd`) && fdTargets(tasks[0]!).includes(sock)).toBe(true);
      child.stdin!.end();
      await new Promise((resolve) => child.once("exit", resolve));
      // Then closes it and ends (reaped by init or a subreaper).
      expect(await until(() => !existsSync(`/proc/${tasks[0]}/fd`) || !fdTargets(tasks[0]!).includes(sock))).toBe(true);
    } finally {
      child.kill();
    }
  });

  test("in a long-lived process: a detached thread closes it", async () => {
    ensureBuilt();
    expect(libcBackend()).toBe("addon");
    const fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    const sock = readlinkSync(`/proc/self/fd/${fd}`);
    closeUnwaited(fd);
    expect(await until(() => !fdTargets("self").includes(sock))).toBe(true);
    expect(childrenOf(process.pid).filter((t) => fdTargets(t).includes(sock))).toEqual([]);
  });
});
